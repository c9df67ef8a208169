/** The option table of `aelab train`: every option × model pair, the conditional rules, and the defaults. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors.js';
import { trainConfigFromFlags, trainNote, type TrainFlags } from '../../src/cli/train.js';
import {
  checkOptions,
  DEFAULT_LR,
  MODEL_OPTION_KEYS,
  OPTION_RULES,
  TRAINING_OPTION_KEYS,
  type GivenOptions,
  type OptionKey,
  type TrainKind,
} from '../../src/cli/train-options.js';
import { defaultConfig } from '../../src/models/index.js';
import { OPTIMIZER_NAMES } from '../../src/optim/factory.js';
import { runCli } from './helpers.js';

const KINDS: TrainKind[] = ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn', 'pca'];

/**
 * Which option may be given alone with which model (the models' other options at their
 * defaults). Written out by hand, independently of the table in train-options.ts.
 * sparse-ae's --activation is '-': with its default KL penalty and no hidden layers its code is a
 * sigmoid and nothing else has an activation.
 */
const EXPECTED = `
                  ae conv-ae sparse-ae dae vae cvae aae mlp cnn pca
  latent          +  +       +         +   +   +    +   -   -   +
  hidden          +  -       +         +   +   +    +   +   +   -
  channels        -  +       -         -   -   -    -   -   +   -
  activation      +  +       -         +   +   +    +   +   +   -
  loss            +  +       +         +   -   -    +   -   -   -
  decoder         -  -       -         -   +   +    -   -   -   -
  beta            -  -       +         -   +   +    -   -   -   -
  rho             -  -       +         -   -   -    -   -   -   -
  sparsity        -  -       +         -   -   -    -   -   -   -
  noise           -  -       -         +   -   -    -   -   -   -
  noiseLevel      -  -       -         +   -   -    -   -   -   -
  prior           -  -       -         -   -   -    +   -   -   -
  conditionalPrior - -       -         -   -   -    +   -   -   -
  dropout         -  -       -         -   -   -    -   +   +   -
  epochs          +  +       +         +   +   +    +   +   +   -
  batch           +  +       +         +   +   +    +   +   +   -
  lr              +  +       +         +   +   +    +   +   +   -
  optimizer       +  +       +         +   +   +    +   +   +   -
  weightDecay     +  +       +         +   +   +    +   +   +   -
  schedule        +  +       +         +   +   +    +   +   +   -
  clipNorm        +  +       +         +   +   +    +   +   +   -
  earlyStopping   +  +       +         +   +   +    +   +   +   -
  valFraction     +  +       +         +   +   +    +   +   +   -
  seed            +  +       +         +   +   +    +   +   +   -
`;

const SAMPLE: Record<OptionKey, unknown> = {
  latent: 4,
  hidden: [8],
  channels: [4],
  activation: 'tanh',
  loss: 'bce',
  decoder: 'bernoulli',
  beta: 1,
  rho: 0.1,
  sparsity: 'kl',
  noise: 'mask',
  noiseLevel: 0.3,
  prior: 'normal',
  conditionalPrior: true,
  dropout: 0.1,
  epochs: 3,
  batch: 32,
  lr: 0.01,
  optimizer: 'sgd',
  weightDecay: 0.001,
  schedule: 'cosine',
  clipNorm: 1,
  earlyStopping: 2,
  valFraction: 0.2,
  seed: 1,
};

function expectedMatrix(): Map<string, boolean> {
  const lines = EXPECTED.trim().split('\n');
  const kinds = lines[0]!.trim().split(/\s+/);
  const out = new Map<string, boolean>();
  for (const line of lines.slice(1)) {
    const [key, ...cells] = line.trim().split(/\s+/);
    cells.forEach((c, i) => out.set(`${key} × ${kinds[i]}`, c === '+'));
  }
  return out;
}

const rejects = (kind: TrainKind, given: GivenOptions): string | null => {
  try {
    checkOptions(kind, given);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as Error).message;
  }
};

describe('the option × model table', () => {
  it('covers every option and every model', () => {
    const m = expectedMatrix();
    expect(m.size).toBe((MODEL_OPTION_KEYS.length + TRAINING_OPTION_KEYS.length) * KINDS.length);
  });

  it.each(KINDS)('%s: each option alone is accepted exactly where it applies', (kind) => {
    const m = expectedMatrix();
    for (const key of [...MODEL_OPTION_KEYS, ...TRAINING_OPTION_KEYS]) {
      const msg = rejects(kind, { [key]: SAMPLE[key] });
      const ok = m.get(`${key} × ${kind}`);
      expect(msg === null, `${key} × ${kind}: ${msg}`).toBe(ok);
      if (msg) expect(msg).toContain(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    }
  });

  it("the model options agree with the models' own configs", () => {
    for (const kind of KINDS.filter((k) => k !== 'pca'))
      for (const key of MODEL_OPTION_KEYS)
        expect(OPTION_RULES[key].models.includes(kind), `${key} × ${kind}`).toBe(key in defaultConfig(kind as never, [1, 28, 28]));
  });

  it('names every foreign option at once, with the options the model has', () => {
    expect(rejects('pca', { optimizer: 'sgd', epochs: 3 })).toBe(
      '--epochs, --optimizer do not apply to --model pca (PCA is fitted in closed form, not trained; its options: --latent)',
    );
    expect(rejects('conv-ae', { hidden: [64], prior: 'mixture' })).toBe('--hidden, --prior do not apply to --model conv-ae (its options: --latent, --channels, --activation, --loss)');
  });
});

describe('options that depend on other options', () => {
  it('--noise-level is a fraction (≤ 1) for salt-pepper and mask, any σ ≥ 0 for gaussian', () => {
    expect(rejects('dae', { noise: 'salt-pepper', noiseLevel: 5 })).toBe('--noise-level is the fraction of pixels --noise salt-pepper changes, so it must be ≤ 1; got 5');
    expect(rejects('dae', { noise: 'mask', noiseLevel: 1.5 })).toMatch(/--noise-level .* must be ≤ 1/);
    expect(rejects('dae', { noise: 'mask', noiseLevel: 1 })).toBeNull();
    expect(rejects('dae', { noise: 'gaussian', noiseLevel: 5 })).toBeNull();
    expect(rejects('dae', { noiseLevel: 5 })).toBeNull(); // gaussian by default
  });

  it('--rho belongs to the KL penalty; --activation to sparse AEs with hidden layers or an L1 penalty', () => {
    expect(rejects('sparse-ae', { sparsity: 'l1', rho: 0.1 })).toMatch(/^--rho does not apply to --sparsity l1/);
    expect(rejects('sparse-ae', { activation: 'relu' })).toMatch(/^--activation does not apply to --model sparse-ae without --hidden layers/);
    expect(rejects('sparse-ae', { activation: 'relu', hidden: [64] })).toBeNull();
    expect(rejects('sparse-ae', { activation: 'relu', sparsity: 'l1' })).toBeNull();
  });

  it('--early-stopping needs validation images and a patience below the epochs', () => {
    expect(rejects('ae', { earlyStopping: 2, valFraction: 0 })).toMatch(/^--early-stopping watches the validation loss, but --val-fraction 0/);
    expect(rejects('ae', { earlyStopping: 10 })).toBe('--early-stopping 10 can never stop a run of 10 epochs (--epochs); give a patience below the epochs');
    expect(rejects('ae', { earlyStopping: 10, epochs: 20 })).toBeNull();
  });
});

describe('defaults that depend on the model and the optimizer', () => {
  const flags = (o: Partial<TrainFlags>): TrainFlags => ({ model: 'ae', data: 'mnist', figures: false, ...o });

  it("each optimizer gets its conventional learning rate unless --lr is given", () => {
    expect(DEFAULT_LR).toEqual({ sgd: 0.01, momentum: 0.01, nesterov: 0.01, adagrad: 0.01, adadelta: 1, rmsprop: 0.001, adam: 0.001, adamw: 0.001 });
    for (const o of OPTIMIZER_NAMES) {
      expect(trainConfigFromFlags('ae', flags({ optimizer: o })).lr, o).toBe(DEFAULT_LR[o]);
      expect(trainConfigFromFlags('aae', flags({ optimizer: o })).lr, o).toBe(DEFAULT_LR[o] / 2);
      expect(trainConfigFromFlags('ae', flags({ optimizer: o, lr: 0.3 })).lr, o).toBe(0.3);
    }
    expect(trainConfigFromFlags('ae', flags({})).optimizer).toBe('adam');
  });

  it('AdamW keeps its decoupled weight decay of 0.01; the sparse AE trains 30 epochs', () => {
    expect(trainConfigFromFlags('ae', flags({ optimizer: 'adamw' })).weightDecay).toBe(0.01);
    expect(trainConfigFromFlags('ae', flags({ optimizer: 'adamw', weightDecay: 0 })).weightDecay).toBe(0);
    expect(trainConfigFromFlags('ae', flags({ optimizer: 'sgd' })).weightDecay).toBe(0);
    expect(trainConfigFromFlags('sparse-ae', flags({})).epochs).toBe(30);
    expect(trainConfigFromFlags('vae', flags({})).epochs).toBe(10);
  });

  it('the figures say how the run trained', () => {
    expect(trainNote(trainConfigFromFlags('mlp', flags({ optimizer: 'sgd' })))).toBe('sgd, lr 0.01, batch 128');
    expect(trainNote(trainConfigFromFlags('ae', flags({ optimizer: 'adamw', schedule: 'cosine', clipNorm: 1 })))).toBe(
      'adamw, lr 0.001, batch 128, weight decay 0.01, cosine schedule, gradient norm clipped to 1',
    );
  });
});

describe('aelab train with the option table', () => {
  it('--model pca with training options, and --noise-level out of range, are one-line usage errors before any data is read', async () => {
    for (const [args, msg] of [
      [['--model', 'pca', '--optimizer', 'sgd', '--epochs', '3'], '--epochs, --optimizer do not apply to --model pca'],
      [['--model', 'dae', '--noise', 'salt-pepper', '--noise-level', '5'], '--noise-level is the fraction of pixels --noise salt-pepper changes, so it must be ≤ 1; got 5'],
    ] as const) {
      const r = await runCli('train', ...args, '--backend', 'js');
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toContain('data:');
    }
  });

  it('--help shows the learning rate each optimizer gets', async () => {
    const r = await runCli('train', '--help');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('sgd/momentum/nesterov/adagrad 0.01, adadelta 1, rmsprop/adam/adamw 0.001');
  });

  // the defaults used to give every optimizer Adam's 1e-3, at which SGD and Adadelta barely move
  it.each([
    ['sgd', 0.01, 0.4],
    ['adadelta', 1, 0.7],
  ] as const)('--optimizer %s alone learns: its default lr %s is recorded and accuracy clears %s', async (opt, lr, acc) => {
    const run = join(mkdtempSync(join(tmpdir(), 'aelab-opt-')), opt);
    const r = await runCli('train', '--model', 'mlp', '--optimizer', opt, '--hidden', '64', '--limit', '2000', '--epochs', '3', '--batch', '32', '--backend', 'js', '--quiet', '--json', '--no-figures', '--out', run);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).train).toMatchObject({ optimizer: opt, lr });
    expect(JSON.parse(r.stdout).test.acc).toBeGreaterThan(acc);
  }, 60_000);
});
