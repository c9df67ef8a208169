import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { decodePng } from '../../src/io/png.js';
import { runCli } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-cli-'));

/** Reads a NumPy .npy file (format 1.0, little-endian float32 or int32), as numpy.load would. */
function readNpy(b: Buffer): { descr: string; shape: number[]; data: Float32Array | Int32Array } {
  expect(b.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const len = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + len);
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').filter((x) => x.trim()).map(Number);
  const body = b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.length);
  return { descr, shape, data: descr === '<f4' ? new Float32Array(body) : new Int32Array(body) };
}
const quick = ['--limit', '600', '--epochs', '1', '--batch', '64', '--quiet', '--backend', 'js'];

describe('aelab: bad arguments give one clear line and exit code 2', () => {
  it.each([
    [['train', '--model', 'nope'], /--model.*(choices|one of).*vae/],
    [['train', '--epochs', '0'], /--epochs must be an integer ≥ 1, got '0'/],
    [['train', '--lr', 'fast'], /--lr must be a number, got 'fast'/],
    [['train', '--hidden', '12,abc'], /--hidden must be a comma-separated list/],
    [['train', '--optimizer', 'adamax'], /--optimizer.*adam/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['eval'], /required option '--run <dir>'/],
  ])('%j', async (args, re) => {
    const r = await runCli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a missing dataset says how to get one', async () => {
    const r = await runCli('train', '--data', '/nonexistent/folder', '--quiet', '--backend', 'js');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no dataset '\/nonexistent\/folder'.*--data PATH/s);
  });

  it('a run folder that is not one is named', async () => {
    const d = tmp();
    const r = await runCli('eval', '--run', d, '--backend', 'js');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${d} is not an aelab run folder (no config.json)`);
  });

  it('--help lists the commands', async () => {
    const r = await runCli('--help');
    expect(r.code).toBe(0);
    for (const c of ['train', 'eval', 'sample', 'reconstruct', 'encode', 'anomaly', 'summary']) expect(r.stdout).toContain(c);
  });
});

describe('aelab train and the commands that read a run folder', () => {
  let run = '';
  beforeAll(async () => {
    run = join(tmp(), 'vae');
    const r = await runCli('train', '--model', 'vae', '--latent', '2', '--hidden', '64', '--out', run, ...quick, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.runDir).toBe(run);
    expect(out.test.loss).toBeGreaterThan(0);
  }, 120_000);

  it('writes config, metrics, checkpoints, result and figures', () => {
    for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'checkpoints/last/model.safetensors', 'checkpoints/best/optimizer.json'])
      expect(existsSync(join(run, f)), f).toBe(true);
    for (const f of ['loss.png', 'reconstructions.png', 'samples.png', 'latent.png', 'manifold.png'])
      expect(existsSync(join(run, 'figures', f)), f).toBe(true);
  });

  it('refuses to overwrite an existing run folder', async () => {
    const r = await runCli('train', '--out', run, ...quick);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists and is not empty.*--resume/);
  });

  it('eval names each quantity by its sign: neg_elbo (positive nats) and log_px_iwae (a log-likelihood, negative)', async () => {
    const r = await runCli('eval', '--run', run, '--json', '--iw', '5', '--backend', 'js');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const m = out.metrics;
    expect(m.loss).toBeGreaterThan(0);
    expect(m.neg_elbo).toBeGreaterThan(0);
    expect(m.log_px_iwae).toBeLessThan(0);
    expect(-m.log_px_iwae).toBeLessThan(m.neg_elbo + 1); // log p(x) ≥ ELBO, up to the estimate's noise
    expect(Object.keys(m)).not.toContain('elbo');
    expect(out.iwSamples).toBe(5);
    expect(out.about.neg_elbo).toMatch(/^−ELBO = recon \+ kl/);
    expect(out.about.log_px_iwae).toMatch(/log-likelihood/);
    const text = await runCli('eval', '--run', run, '--iw', '5', '--backend', 'js');
    expect(text.stdout).toMatch(/\n  neg_elbo +\d[\d.]* +−ELBO = recon \+ kl per image in nats/);
    expect(text.stdout).toMatch(/\n  log_px_iwae +-\d[\d.]* +importance-weighted estimate of log p\(x\).*; k = 5 importance samples/);
  });

  it('result.json names the parts by sign and says what each is', () => {
    const res = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
    expect(res.test.neg_elbo).toBeGreaterThan(0);
    expect(res.test).not.toHaveProperty('elbo');
    expect(Object.keys(res.about).sort()).toEqual(Object.keys(res.test).sort());
    const line = JSON.parse(readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n')[0]!);
    expect(line.train.neg_elbo).toBeGreaterThan(0);
  });

  it('sample, reconstruct and encode write their files', async () => {
    const d = tmp();
    expect((await runCli('sample', '--run', run, '--n', '16', '--out', join(d, 's.png'), '--backend', 'js')).code).toBe(0);
    expect(existsSync(join(d, 's.png'))).toBe(true);
    expect((await runCli('reconstruct', '--run', run, '--n', '8', '--out', join(d, 'r.png'), '--backend', 'js')).code).toBe(0);
    // a labelled figure: title, row labels and class labels around the 2×8 grid (zoom 2)
    const r = decodePng(readFileSync(join(d, 'r.png')), { channels: 1 });
    const grid = { width: 8 * 28 + 9, height: 2 * 28 + 3 };
    expect(r.width).toBeGreaterThan(2 * (grid.width + 16 + 'reconstruction'.length * 6));
    expect(r.height).toBeGreaterThan(2 * (grid.height + 16 + 14 + 10));
    // the top-left corner holds the title's text: dark pixels on white
    expect(Array.from(r.data.subarray(0, 40 * r.width)).filter((v) => v < 0.5).length).toBeGreaterThan(50);
    expect((await runCli('encode', '--run', run, '--out', join(d, 'z.csv'), '--limit', '50', '--backend', 'js')).code).toBe(0);
    const lines = readFileSync(join(d, 'z.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('label,z1,z2');
    expect(lines).toHaveLength(51);
    const enc = await runCli('encode', '--run', run, '--out', join(d, 'z.npy'), '--limit', '50', '--backend', 'js');
    expect(enc.code).toBe(0);
    expect(enc.stdout).toContain(`and their labels to ${join(d, 'z.labels.npy')} (int32, 50)`);
    // the .npy pair holds what the CSV holds: codes and labels, row for row
    const codes = readNpy(readFileSync(join(d, 'z.npy')));
    const labels = readNpy(readFileSync(join(d, 'z.labels.npy')));
    expect([codes.descr, codes.shape]).toEqual(['<f4', [50, 2]]);
    expect([labels.descr, labels.shape]).toEqual(['<i4', [50]]);
    const rows = lines.slice(1).map((l) => l.split(',').map(Number));
    expect(Array.from(labels.data)).toEqual(rows.map((r) => r[0]));
    expect(Array.from(codes.data)).toEqual(rows.flatMap((r) => r.slice(1).map(Math.fround)));
    const bad = await runCli('encode', '--run', run, '--out', join(d, 'z.txt'), '--backend', 'js');
    expect(bad.code).toBe(2);
  });

  it('resume continues the run to more epochs', async () => {
    const r = await runCli('train', '--resume', run, '--epochs', '2', '--quiet', '--backend', 'js', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).epochs).toBe(2);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  }, 120_000);

  it("an earlier version's run (metrics with 'elbo') resumes, and its metrics.jsonl then says 'neg_elbo' throughout", async () => {
    const d = join(tmp(), 'old');
    cpSync(run, d, { recursive: true });
    const mp = join(d, 'metrics.jsonl');
    writeFileSync(mp, readFileSync(mp, 'utf8').replaceAll('"neg_elbo"', '"elbo"'));
    expect(readFileSync(mp, 'utf8')).toContain('"elbo"');
    const epochs = readFileSync(mp, 'utf8').trim().split('\n').length;
    const r = await runCli('train', '--resume', d, '--epochs', String(epochs + 1), '--quiet', '--backend', 'js', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(mp, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(epochs + 1);
    expect(lines.join('\n')).not.toContain('"elbo"');
    for (const l of lines) expect(JSON.parse(l).train.neg_elbo).toBeGreaterThan(0);
    expect((await runCli('eval', '--run', d, '--backend', 'js')).code).toBe(0);
  }, 120_000);

  it('a broken config.json is reported with its path', async () => {
    const d = tmp();
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.json'), '{ nope');
    const r = await runCli('eval', '--run', d, '--backend', 'js');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(d, 'config.json'));
  });
});

describe('other commands', () => {
  it('summary counts the conv AE of the benchmark', async () => {
    const r = await runCli('summary', '--model', 'conv-ae', '--latent', '16', '--channels', '32,64', '--json', '--backend', 'js');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    // Conv(1→32): 320, Conv(32→64): 18,496, Linear 3136→16: 50,192, 16→3136: 53,312, ConvT(64→32): 18,464, ConvT(32→1): 289
    expect(s.totalParams).toBe(320 + 18496 + 50192 + 53312 + 18464 + 289);
  });

  it('sample refuses a model without a prior', async () => {
    const run = join(tmp(), 'ae');
    expect((await runCli('train', '--model', 'ae', '--latent', '4', '--hidden', '32', '--out', run, ...quick, '--no-figures')).code).toBe(0);
    const r = await runCli('sample', '--run', run, '--backend', 'js');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no prior/);
  }, 120_000);

  it('anomaly trains on one digit and separates the others (AUC > 0.8)', async () => {
    const run = join(tmp(), 'anomaly');
    const r = await runCli('anomaly', '--model', 'ae', '--normal', '1', '--latent', '8', '--hidden', '64', '--epochs', '5', '--batch', '32', '--quiet', '--backend', 'js', '--out', run, '--json');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.auc).toBeGreaterThan(0.8);
    expect(existsSync(join(run, 'figures', 'anomaly-roc.png'))).toBe(true);
  }, 120_000);

  it('pca fits, writes its run folder and evaluates', async () => {
    const run = join(tmp(), 'pca');
    const r = await runCli('train', '--model', 'pca', '--latent', '16', '--out', run, '--limit', '2000', '--quiet', '--json', '--backend', 'js');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.explainedVariance).toBeGreaterThan(0.4);
    const e = await runCli('eval', '--run', run, '--json', '--backend', 'js');
    expect(JSON.parse(e.stdout).metrics.mse).toBeCloseTo(res.testMse, 5);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Usage errors, wrong runs and broken files

const oneLine = (r: { stderr: string }) => {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

describe('usage errors are one sentence on one line', () => {
  it.each([
    [['train', '--epochs', '1.5'], /^aelab: --epochs must be an integer ≥ 1, got '1\.5' \(see 'aelab train --help'\)$/],
    [['eval', '--run', 'x', '--split', 'validation'], /^aelab: --split must be one of train, test; got 'validation' \(see 'aelab eval --help'\)$/],
    [['train', 'extra'], /^aelab: aelab train takes no positional arguments \(got 1\)/],
    [['train', '--rho', '1'], /^aelab: --rho must be < 1, got 1 /],
    [['frobnicate'], /^aelab: unknown command 'frobnicate' \(see 'aelab --help'\)$/],
    [['anomaly', '--normal', '1', '--classes', '2'], /unknown option '--classes'/],
    [['anomaly', '--normal', '1', '--model', 'cvae'], /--model must be one of ae, conv-ae, sparse-ae, dae, vae, aae; got 'cvae'/],
  ])('%j', async (args, re) => {
    const r = await runCli(...(args as string[]));
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr.trim()).toMatch(re as RegExp);
  });

  it('model options that do not apply to the model are named, with the ones that do', async () => {
    const r = await runCli('train', '--model', 'conv-ae', '--hidden', '64', '--prior', 'mixture', '--backend', 'js');
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain('--hidden, --prior do not apply to --model conv-ae (its options: --latent, --channels, --activation, --loss)');
    const p = await runCli('train', '--model', 'pca', '--beta', '2', '--backend', 'js');
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('--beta does not apply to --model pca (PCA is fitted in closed form, not trained; its options: --latent)');
  });

  it('a model config the model rejects is a usage error', async () => {
    const out = join(tmp(), 'odd');
    const r = await runCli('train', '--model', 'aae', '--prior', 'swissroll', '--latent', '3', '--out', out, ...quick);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model options: .*latent must be even, got 3/);
    expect(existsSync(out)).toBe(false);
  });

  it('--classes with a class the data lacks fails before anything is written', async () => {
    const out = join(tmp(), 'cls');
    const r = await runCli('train', '--model', 'ae', '--classes', '3,12', '--out', out, ...quick);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain('--classes: class 12 does not occur in mnist (its classes: 0–9)');
    expect(existsSync(out)).toBe(false);
  });

  it('anomaly checks --normal before training', async () => {
    const out = join(tmp(), 'an');
    const all = await runCli('anomaly', '--normal', '0-9', '--out', out, ...quick);
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/--normal 0–9 covers every class of the test images/);
    const missing = await runCli('anomaly', '--normal', '12', '--out', out, ...quick);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--normal: class 12 does not occur in mnist');
    expect(existsSync(out)).toBe(false);
  });

  it('anomaly --no-figures draws nothing; the per-class table is in label order', async () => {
    const out = join(tmp(), 'an');
    const r = await runCli('anomaly', '--normal', '3,5', '--latent', '4', '--hidden', '16', '--out', out, ...quick, '--no-figures');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'figures', 'anomaly-roc.png'))).toBe(false);
    expect(r.stdout).not.toContain('figures:');
    expect(r.stdout).toContain('trained on classes 3, 5');
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d( \(normal\))?\s+\d/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/)[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(rows[3]).toContain('3 (normal)');
  }, 60_000);
});

describe('run folders: wrong runs, broken files, nothing good overwritten', () => {
  let run = '';
  let ae = '';
  let pca = '';
  beforeAll(async () => {
    const d = tmp();
    run = join(d, 'vae');
    ae = join(d, 'ae');
    pca = join(d, 'pca');
    expect((await runCli('train', '--model', 'vae', '--latent', '2', '--hidden', '64', '--out', run, ...quick)).code).toBe(0);
    expect((await runCli('train', '--model', 'ae', '--latent', '4', '--hidden', '32', '--out', ae, ...quick, '--no-figures')).code).toBe(0);
    expect((await runCli('train', '--model', 'pca', '--latent', '8', '--out', pca, '--limit', '600', '--quiet', '--backend', 'js')).code).toBe(0);
  }, 120_000);

  it('--resume of a finished run is refused and leaves the folder as it was', async () => {
    const files = ['config.json', 'metrics.jsonl', 'result.json', 'checkpoints/last/model.safetensors'];
    const before = files.map((f) => readFileSync(join(run, f)));
    const r = await runCli('train', '--resume', run, '--quiet', '--backend', 'js');
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toContain(`${run} has already trained 1 epoch (all it was configured for); pass --epochs N with N > 1`);
    files.forEach((f, i) => expect(readFileSync(join(run, f)).equals(before[i]!), f).toBe(true));
    const lr = await runCli('train', '--resume', run, '--lr', '0.1', '--epochs', '3', '--backend', 'js');
    expect(lr.code).toBe(2);
    expect(lr.stderr).toMatch(/--lr cannot be changed/);
  });

  it('sample: --label needs a conditional model; --out must be .png; the training figures are kept', async () => {
    const label = await runCli('sample', '--run', run, '--label', '3', '--backend', 'js');
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/--label needs a conditional model/);
    const jpg = await runCli('sample', '--run', run, '--out', join(tmp(), 's.jpg'), '--backend', 'js');
    expect(jpg.code).toBe(2);
    expect(jpg.stderr).toContain('--out must name a .png file');
    const fig = join(run, 'figures', 'samples.png');
    const before = readFileSync(fig);
    const s = await runCli('sample', '--run', run, '--n', '4', '--seed', '5', '--json', '--backend', 'js');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).file).toBe(join(run, 'figures', 'sample-seed5.png'));
    const r = await runCli('reconstruct', '--run', run, '--n', '3', '--json', '--backend', 'js');
    expect(JSON.parse(r.stdout).file).toBe(join(run, 'figures', 'reconstruct-test-3.png'));
    expect(readFileSync(fig).equals(before)).toBe(true);
    expect(readFileSync(join(run, 'figures', 'reconstructions.png')).length).toBeGreaterThan(0);
  });

  it('a command given the wrong kind of run says so', async () => {
    const iw = await runCli('eval', '--run', ae, '--iw', '5', '--backend', 'js');
    expect(iw.code).toBe(2);
    expect(iw.stderr).toContain(`--iw needs a VAE or CVAE run; ${ae} holds 'ae'`);
    const s = await runCli('sample', '--run', pca, '--backend', 'js');
    expect(s.code).toBe(2);
    oneLine(s);
    expect(s.stderr).toContain(`${pca} is a PCA run, which has no prior to sample from`);
  });

  it('PCA runs reconstruct and summarise', async () => {
    const out = join(tmp(), 'pca-r.png');
    const r = await runCli('reconstruct', '--run', pca, '--n', '4', '--out', out, '--json', '--backend', 'js');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).meanError).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
    const s = await runCli('summary', '--run', pca, '--json', '--backend', 'js');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ kind: 'pca', components: 8, inputDim: 784, totalParams: 8 * 784 + 784 });
  });

  it('a truncated best checkpoint is named in one line, and --weights last still works', async () => {
    const d = join(tmp(), 'trunc');
    cpSync(run, d, { recursive: true });
    const f = join(d, 'checkpoints', 'best', 'model.safetensors');
    writeFileSync(f, readFileSync(f).subarray(0, 3000));
    const r = await runCli('eval', '--run', d, '--backend', 'js');
    expect(r.code).toBe(1);
    oneLine(r);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toMatch(/truncated.*try --weights last/);
    expect((await runCli('eval', '--run', d, '--weights', 'last', '--backend', 'js')).code).toBe(0);
  });

  it('weights of another model kind: one line with the first mismatch', async () => {
    const d = join(tmp(), 'swap');
    cpSync(run, d, { recursive: true });
    cpSync(join(ae, 'checkpoints', 'best', 'model.safetensors'), join(d, 'checkpoints', 'best', 'model.safetensors'));
    const r = await runCli('eval', '--run', d, '--backend', 'js');
    expect(r.code).toBe(1);
    oneLine(r);
    expect(r.stderr).toMatch(/does not fit this model: 'encoder\.0\.weight': expected shape \[64, 784\], got \[32, 784\] \(and \d+ more differences\)/);
  });

  it('a config.json without its data field names the field', async () => {
    const d = join(tmp(), 'cfg');
    cpSync(run, d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    delete cfg.data;
    writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    for (const args of [['eval', '--run', d], ['train', '--resume', d, '--epochs', '3']]) {
      const r = await runCli(...args, '--backend', 'js');
      expect(r.code).toBe(1);
      oneLine(r);
      expect(r.stderr).toContain(`${join(d, 'config.json')}: field 'data.spec'`);
    }
  });

  it('--data with images of another size names both shapes', async () => {
    const csv = join(tmp(), 'small.csv');
    writeFileSync(csv, Array.from({ length: 5 }, (_, i) => [i % 2, ...Array.from({ length: 100 }, () => 128)].join(',')).join('\n') + '\n');
    const r = await runCli('eval', '--run', run, '--data', csv, '--backend', 'js');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--data ${csv} has 1×10×10 images, but this run's model takes 1×28×28`);
  });
});

describe('more commands', () => {
  it('a CVAE run: eval --iw passes the labels, sample --label checks the class', async () => {
    const run = join(tmp(), 'cvae');
    expect((await runCli('train', '--model', 'cvae', '--hidden', '32', '--out', run, ...quick, '--no-figures')).code).toBe(0);
    const e = await runCli('eval', '--run', run, '--iw', '2', '--json', '--backend', 'js');
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).metrics.log_px_iwae).toBeLessThan(0);
    const bad = await runCli('sample', '--run', run, '--label', '12', '--backend', 'js');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--label 12 is not a class of this run (its classes: 0–9)');
    const ok = await runCli('sample', '--run', run, '--label', '7', '--n', '4', '--json', '--backend', 'js');
    expect(JSON.parse(ok.stdout).file).toBe(join(run, 'figures', 'sample-seed0-label7.png'));
  }, 60_000);

  it('a Gaussian-decoder VAE says why its nats can be negative, in the progress output and in eval', async () => {
    const run = join(tmp(), 'gauss');
    const quickLoud = quick.filter((a) => a !== '--quiet');
    const r = await runCli('train', '--model', 'vae', '--decoder', 'gaussian', '--hidden', '32', '--out', run, ...quickLoud, '--no-figures');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('note: the Gaussian decoder scores pixels with a density, which can exceed 1, so −log p(x|z), −ELBO and the loss can be negative nats');
    const e = await runCli('eval', '--run', run, '--backend', 'js');
    expect(e.stdout).toMatch(/\nnote: the Gaussian decoder scores pixels with a density/);
    const b = await runCli('train', '--model', 'vae', '--hidden', '32', '--out', join(tmp(), 'bern'), ...quickLoud, '--no-figures');
    expect(b.stderr).not.toContain('note:');
  }, 60_000);

  it('a run that diverges in its first epoch leaves no half-made run folder and does not promise a checkpoint', async () => {
    const run = join(tmp(), 'nan');
    const r = await runCli('train', '--model', 'vae', '--hidden', '32', '--lr', '1e9', '--optimizer', 'sgd', '--out', run, ...quick);
    expect(r.code).toBe(3);
    oneLine(r);
    expect(r.stderr).toMatch(/became (NaN|Infinity|-Infinity).*no checkpoint to keep.*smaller learning rate/);
    expect(existsSync(run)).toBe(false);
  });

  it('--out naming a file is refused', async () => {
    const f = join(tmp(), 'file');
    writeFileSync(f, 'keep me');
    const r = await runCli('train', '--out', f, ...quick);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${f} is a file, not a folder`);
    expect(readFileSync(f, 'utf8')).toBe('keep me');
  });

  it('summary works for conditional models', async () => {
    for (const args of [['--model', 'cvae'], ['--model', 'aae', '--conditional-prior']]) {
      const r = await runCli('summary', ...args, '--json', '--backend', 'js');
      expect(r.code, args.join(' ')).toBe(0);
      expect(JSON.parse(r.stdout).totalParams).toBeGreaterThan(0);
    }
  });

  it('a CSV has no test split: no test metrics on the training images', async () => {
    const d = tmp();
    const csv = join(d, 'digits.csv');
    writeFileSync(csv, Array.from({ length: 40 }, (_, i) => [i % 3, ...Array.from({ length: 16 }, (_, j) => (i * j) % 256)].join(',')).join('\n') + '\n');
    const run = join(d, 'run');
    const r = await runCli('train', '--model', 'ae', '--data', csv, '--latent', '2', '--hidden', '8', '--out', run, '--epochs', '1', '--backend', 'js', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).test).toBeNull();
    expect(r.stderr).toMatch(/has no separate test split/);
    expect(existsSync(join(run, 'result.json'))).toBe(false);
    expect(existsSync(join(run, 'figures', 'latent.png'))).toBe(true);
  }, 60_000);

  it('Ctrl-C saves a checkpoint and exits 130', async () => {
    const run = join(tmp(), 'int');
    let stderr = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      stderr += String(s);
      // interrupt once the first epoch is done
      if (/epoch 1\/3/.test(String(s))) setImmediate(() => process.emit('SIGINT'));
      return true;
    });
    let code: number;
    try {
      code = await main(['node', 'aelab', 'train', '--model', 'ae', '--latent', '4', '--hidden', '16', '--limit', '600', '--epochs', '3', '--batch', '32', '--backend', 'js', '--out', run]);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/checkpoint saved/);
    expect(existsSync(join(run, 'checkpoints', 'last', 'model.safetensors'))).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(0);
  }, 120_000);
});
