/**
 * Which `aelab train` options apply to which models, the values they may take given the other
 * options, and the defaults that depend on the model or the optimizer. One table decides every
 * option × model pair, so an option that would do nothing (a PCA has no optimizer; `--rho` is
 * the KL penalty's target, which `--sparsity l1` does not have) is an error that names it,
 * never silently ignored.
 */
import { defaultConfig } from '../models/index.js';
import type { ModelKind } from '../models/types.js';
import type { OptimizerName } from '../optim/factory.js';
import { UserError } from './errors.js';

export type TrainKind = ModelKind | 'pca';

/** Options that shape the model (keys of its config). */
export const MODEL_OPTION_KEYS = ['latent', 'hidden', 'channels', 'activation', 'loss', 'decoder', 'beta', 'rho', 'sparsity', 'noise', 'noiseLevel', 'prior', 'conditionalPrior', 'dropout'] as const;
/** Options of the training loop. */
export const TRAINING_OPTION_KEYS = ['epochs', 'batch', 'lr', 'optimizer', 'weightDecay', 'schedule', 'clipNorm', 'earlyStopping', 'valFraction', 'seed'] as const;

export type ModelOptionKey = (typeof MODEL_OPTION_KEYS)[number];
export type TrainingOptionKey = (typeof TRAINING_OPTION_KEYS)[number];
export type OptionKey = ModelOptionKey | TrainingOptionKey;

/** Option values as the user gave them; undefined means "not given". */
export type GivenOptions = { [K in OptionKey]?: unknown };

/** 'noiseLevel' → '--noise-level'. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

// ---- defaults -----------------------------------------------------------------------------------

/**
 * Each optimizer's conventional learning rate, as PyTorch and Keras document them. RMSprop takes
 * Keras' 0.001 (Hinton's lecture 6e suggests the same) rather than PyTorch's 0.01: its step
 * g / √E[g²] is about ±1 per weight, as Adam's is, so it wants Adam's step size; with 0.01 both
 * the default MLP and the default AE end their 10 epochs worse. Adadelta's 1.0 only scales its
 * own unit-correct step.
 */
export const DEFAULT_LR: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.01,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  adadelta: 1.0,
  rmsprop: 0.001,
  adam: 0.001,
  adamw: 0.001,
};

/**
 * The adversarial autoencoder trains a GAN on its codes; GANs want smaller steps than a plain
 * autoencoder (DCGAN's Adam uses 2e-4), so it takes half of the optimizer's rate.
 */
const LR_SCALE: Partial<Record<ModelKind, number>> = { aae: 0.5 };

/** The learning rate used when --lr is not given. */
export function defaultLr(optimizer: OptimizerName, kind: ModelKind): number {
  return DEFAULT_LR[optimizer] * (LR_SCALE[kind] ?? 1);
}

/** AdamW's decoupled weight decay defaults to 0.01 (PyTorch); the others have none by default. */
export function defaultWeightDecay(optimizer: OptimizerName): number {
  return optimizer === 'adamw' ? 0.01 : 0;
}

/**
 * Epochs when --epochs is not given. The sparse autoencoder's filters need 30 (its one layer
 * trains quickly): after 10 the decoder weights are still mostly their random start and the
 * reconstructions little better than the mean digit.
 */
export function defaultEpochs(kind: ModelKind): number {
  return kind === 'sparse-ae' ? 30 : 10;
}

/** Defaults of the training options that do not depend on the model. */
export const TRAIN_DEFAULTS = { batch: 128, optimizer: 'adam' as OptimizerName, schedule: 'none', seed: 0, valFraction: 0.1 } as const;

/** The text --help shows for --lr. */
export function lrHelp(): string {
  const by = new Map<number, string[]>();
  for (const [o, v] of Object.entries(DEFAULT_LR)) by.set(v, [...(by.get(v) ?? []), o]);
  const list = [...by.entries()].map(([v, os]) => `${os.join('/')} ${v}`).join(', ');
  return `learning rate (default: the optimizer's conventional rate — ${list}; half of it for aae)`;
}

// ---- the table ----------------------------------------------------------------------------------

const NETWORKS: readonly ModelKind[] = ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn'];

/** The option values in effect: the given ones over the model's and the trainer's defaults. */
export type Effective = Record<string, unknown>;

interface Rule {
  /** The models the option applies to. */
  models: readonly TrainKind[];
  /** Why the option does nothing with the other options in effect, or null. */
  unused?: (e: Effective) => string | null;
  /** Why its value is out of range given the other options in effect, or null. */
  invalid?: (value: unknown, e: Effective) => string | null;
}

export const OPTION_RULES: Readonly<Record<OptionKey, Rule>> = {
  latent: { models: ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'pca'] },
  hidden: { models: ['ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn'] },
  channels: { models: ['conv-ae', 'cnn'] },
  activation: {
    models: NETWORKS,
    // with the KL penalty the code is a sigmoid, and without hidden layers nothing else has an activation
    unused: (e) =>
      e.kind === 'sparse-ae' && e.sparsity === 'kl' && Array.isArray(e.hidden) && e.hidden.length === 0
        ? 'does not apply to --model sparse-ae without --hidden layers: its code units are sigmoids (the KL penalty needs activations in (0, 1)) and nothing else has an activation'
        : null,
  },
  loss: { models: ['ae', 'conv-ae', 'sparse-ae', 'dae', 'aae'] },
  decoder: { models: ['vae', 'cvae'] },
  beta: { models: ['sparse-ae', 'vae', 'cvae'] },
  rho: {
    models: ['sparse-ae'],
    unused: (e) => (e.sparsity === 'l1' ? 'does not apply to --sparsity l1 (ρ is the target activation of the KL penalty)' : null),
  },
  sparsity: { models: ['sparse-ae'] },
  noise: { models: ['dae'] },
  noiseLevel: {
    models: ['dae'],
    invalid: (v, e) =>
      e.noise !== 'gaussian' && typeof v === 'number' && v > 1
        ? `is the fraction of pixels --noise ${String(e.noise)} changes, so it must be ≤ 1; got ${v}`
        : null,
  },
  prior: { models: ['aae'] },
  conditionalPrior: { models: ['aae'] },
  dropout: { models: ['mlp', 'cnn'] },
  // PCA is fitted in closed form: nothing of the training loop applies to it
  epochs: { models: NETWORKS },
  batch: { models: NETWORKS },
  lr: { models: NETWORKS },
  optimizer: { models: NETWORKS },
  weightDecay: { models: NETWORKS },
  schedule: { models: NETWORKS },
  clipNorm: { models: NETWORKS },
  earlyStopping: {
    models: NETWORKS,
    unused: (e) => (e.valFraction === 0 ? 'watches the validation loss, but --val-fraction 0 holds out no validation images' : null),
    invalid: (v, e) =>
      typeof v === 'number' && typeof e.epochs === 'number' && v >= e.epochs
        ? `${v} can never stop a run of ${e.epochs} epochs (--epochs); give a patience below the epochs`
        : null,
  },
  valFraction: { models: NETWORKS },
  seed: { models: NETWORKS },
};

/** The options in effect for a kind: its model defaults and the trainer's, under the given ones. */
export function effectiveOptions(kind: TrainKind, given: GivenOptions): Effective {
  const base: Effective = { kind, valFraction: TRAIN_DEFAULTS.valFraction };
  if (kind !== 'pca') {
    Object.assign(base, defaultConfig(kind, [1, 28, 28]), { epochs: defaultEpochs(kind) });
  }
  for (const [k, v] of Object.entries(given)) if (v !== undefined) base[k] = v;
  return base;
}

/**
 * Rejects given options that do not apply to the kind, that do nothing with the other options in
 * effect, or whose value is out of range given them. `keys` limits the check to the options a
 * command has (summary has no training options). Runs before any data is loaded.
 */
export function checkOptions(kind: TrainKind, given: GivenOptions, keys: readonly OptionKey[] = [...MODEL_OPTION_KEYS, ...TRAINING_OPTION_KEYS]): void {
  const present = keys.filter((k) => given[k] !== undefined);
  const foreign = present.filter((k) => !OPTION_RULES[k].models.includes(kind));
  if (foreign.length) {
    const own = MODEL_OPTION_KEYS.filter((k) => OPTION_RULES[k].models.includes(kind)).map(flagName);
    const note = kind === 'pca' ? 'PCA is fitted in closed form, not trained; ' : '';
    throw new UserError(
      `${foreign.map(flagName).join(', ')} ${foreign.length === 1 ? 'does' : 'do'} not apply to --model ${kind} (${note}its options: ${own.join(', ') || 'none'})`,
      2,
    );
  }
  const e = effectiveOptions(kind, given);
  for (const k of present) {
    const rule = OPTION_RULES[k];
    const why = rule.unused?.(e) ?? rule.invalid?.(given[k], e);
    if (why) throw new UserError(`${flagName(k)} ${why}`, 2);
  }
}
