import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-cli-'));
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

  it('eval --json gives the loss parts and an IWAE estimate', async () => {
    const r = await runCli('eval', '--run', run, '--json', '--iw', '5', '--backend', 'js');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout).metrics;
    expect(m.loss).toBeGreaterThan(0);
    expect(m['iwLogLikelihood(k=5)']).toBeLessThan(0);
  });

  it('sample, reconstruct and encode write their files', async () => {
    const d = tmp();
    expect((await runCli('sample', '--run', run, '--n', '16', '--out', join(d, 's.png'), '--backend', 'js')).code).toBe(0);
    expect(existsSync(join(d, 's.png'))).toBe(true);
    expect((await runCli('reconstruct', '--run', run, '--n', '8', '--out', join(d, 'r.png'), '--backend', 'js')).code).toBe(0);
    expect(existsSync(join(d, 'r.png'))).toBe(true);
    expect((await runCli('encode', '--run', run, '--out', join(d, 'z.csv'), '--limit', '50', '--backend', 'js')).code).toBe(0);
    const lines = readFileSync(join(d, 'z.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('label,z1,z2');
    expect(lines).toHaveLength(51);
    expect((await runCli('encode', '--run', run, '--out', join(d, 'z.npy'), '--limit', '50', '--backend', 'js')).code).toBe(0);
    const npy = readFileSync(join(d, 'z.npy'));
    expect(npy.subarray(1, 6).toString()).toBe('NUMPY');
    expect(npy.toString('latin1', 10, 80)).toContain("'shape': (50, 2)");
    const bad = await runCli('encode', '--run', run, '--out', join(d, 'z.txt'), '--backend', 'js');
    expect(bad.code).toBe(2);
  });

  it('resume continues the run to more epochs', async () => {
    const r = await runCli('train', '--resume', run, '--epochs', '2', '--quiet', '--backend', 'js', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).epochs).toBe(2);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
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
