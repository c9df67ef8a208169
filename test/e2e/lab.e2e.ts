/**
 * The web lab in Chromium, served by the real `aelab lab` command: isolation and threads, the
 * default VAE training live (loss falls, scatter fills, a hover decodes an image), every model
 * kind taking a few steps, no console errors, and no main-thread task over 50 ms while training.
 * Screenshots go to a temp folder (printed) for a person to look at.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.AELAB_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = mkdtempSync(join(tmpdir(), 'aelab-lab-e2e-'));

let server: ChildProcess;
let url: string;
let browser: Browser;

/** Starts `aelab lab --port 0` and reads the URL it prints. */
async function startLab(): Promise<string> {
  server = spawn(process.execPath, [join(ROOT, 'bin', 'aelab.js'), 'lab', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aelab lab printed no URL in 20 s:\n${out}`)), 20_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('exit', (code) => reject(new Error(`aelab lab exited (${code}):\n${out}`)));
  });
}

interface PageLog {
  errors: string[];
}

async function openLab(): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const log: PageLog = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(e.message));
  // long tasks from the first byte on; the test reads the ones seen while training
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: { start: number; duration: number }[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('engine')?.dataset.threads !== undefined, null, { timeout: 30_000 });
  return { page, log };
}

/** The train rows of the 'loss' metric, in step order. */
async function trainLoss(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const lab = (window as unknown as { aelabLab: { lossRows: { split: string; metric: string; value: number }[] } }).aelabLab;
    return lab.lossRows.filter((r) => r.split === 'train' && r.metric === 'loss').map((r) => r.value);
  });
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) throw new Error('web/dist is not built: run npm run build:web first');
  url = await startLab();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  console.log(`screenshots: ${SHOTS}`);
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGINT');
});

describe('the lab in Chromium', () => {
  it('is cross-origin isolated and the engine runs wasm on every core', async () => {
    const { page, log } = await openLab();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const engine = await page.locator('#engine').textContent();
    expect(engine).toMatch(/engine: wasm/);
    expect(await page.locator('#engine').getAttribute('data-threads')).toBe(String(cores));
    // every control has an accessible name
    for (const name of ['Data', 'Model', 'Epochs', 'Batch size', 'Learning rate', 'Optimizer', 'Seed'])
      await expect(page.getByLabel(name, { exact: true }).count()).resolves.toBe(1);
    for (const name of ['Train', 'Pause', 'Resume', 'Stop', 'Reset'])
      await expect(page.getByRole('button', { name, exact: true }).count()).resolves.toBe(1);
    // Fashion-MNIST is offered when the server found it
    const options = await page.locator('#data option').allTextContents();
    expect(options[0]).toMatch(/MNIST \(embedded/);
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it("fits a phone's width: nothing wider than the page after a run", async () => {
    const { page, log } = await openLab();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#epochs').fill('1');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 60_000 });
    await expect.poll(() => page.locator('#loss-figure svg').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('trains the default VAE live: loss falls, the scatter fills, a hover decodes; no long task on the page', async () => {
    const { page, log } = await openLab();
    expect(await page.locator('#kind').inputValue()).toBe('vae');
    await page.locator('#epochs').fill('10');
    const t0 = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'training', null, { timeout: 30_000 });
    // snapshots arrive at least twice a second: count them over 3 s of training
    const before = (await trainLoss(page)).length;
    await page.waitForTimeout(3000);
    const during = (await trainLoss(page)).length;
    expect(during - before).toBeGreaterThanOrEqual(6);
    // a screenshot makes the page paint on demand: its own long task, not the lab's
    const shot0 = await page.evaluate(() => performance.now());
    await page.screenshot({ path: join(SHOTS, 'vae-training.png'), fullPage: true });
    const shot1 = await page.evaluate(() => performance.now());
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 180_000 });
    // the end of training: the figures (Vega, slow by design) are drawn after it
    const t1 = Number(await page.evaluate(() => document.body.dataset.stateAt));
    const losses = await trainLoss(page);
    expect(losses.length).toBeGreaterThan(8);
    // the average of the last few snapshots is far below the first one
    const tail = losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(tail).toBeLessThan(losses[0]! * 0.6);
    const latent = await page.evaluate(() => {
      const l = (window as unknown as { aelabLab: { latent: { x: Float32Array; labels: Int32Array } | null } }).aelabLab.latent;
      return l ? { n: l.x.length, classes: new Set(l.labels).size } : null;
    });
    expect(latent).toEqual({ n: 2000, classes: 10 });
    // the CLI's figures of the finished run
    await expect.poll(() => page.locator('#latent-figure svg').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => page.locator('#loss-figure svg').count(), { timeout: 20_000 }).toBe(1);
    // reconstructions drawn: the lower half of the canvas is not blank
    const reconInk = await page.evaluate(() => {
      const c = document.getElementById('recon') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, c.height / 2, c.width, c.height / 2).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) s += d[i]!;
      return s / (d.length / 4) / 255;
    });
    expect(reconInk).toBeGreaterThan(0.03);
    // hover the latent plot's middle: the decoded image appears with its z
    await page.locator('#latent').scrollIntoViewIfNeeded();
    const box = (await page.locator('#latent').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.45);
    await expect.poll(() => page.locator('#decoded-caption').textContent(), { timeout: 5000 }).toMatch(/decoded at z = \(-?\d/);
    await page.waitForTimeout(300);
    const decodedInk = await page.evaluate(() => {
      const c = document.getElementById('decoded') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) s += d[i]!;
      return s / (d.length / 4) / 255;
    });
    expect(decodedInk).toBeGreaterThan(0.03);
    await page.screenshot({ path: join(SHOTS, 'vae-done-hover.png'), fullPage: true });
    const longTasks = await page.evaluate(
      ([a, b, s0, s1]) =>
        (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks.filter(
          (t) => t.start >= a! && t.start <= b! && !(t.start + t.duration >= s0! && t.start <= s1!),
        ),
      [t0, t1, shot0, shot1],
    );
    console.log(`long tasks while training: ${JSON.stringify(longTasks)}`);
    expect(longTasks.filter((t) => t.duration > 50)).toEqual([]);
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('trains what `aelab train` trains: the same settings give the same validation losses', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aelab-lab-e2e-cli-'));
    try {
      const cli = spawnSync(
        process.execPath,
        [join(ROOT, 'bin', 'aelab.js'), 'train', '--model', 'ae', '--epochs', '2', '--seed', '3', '--out', join(out, 'run')],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(cli.status, cli.stderr).toBe(0);
      const cliVal = readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { val: { loss: number } }).val.loss);
      const { page, log } = await openLab();
      await page.locator('#kind').selectOption('ae');
      await page.locator('#epochs').fill('2');
      await page.locator('#seed').fill('3');
      await page.getByRole('button', { name: 'Train', exact: true }).click();
      await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 120_000 });
      const labVal = await page.evaluate(() =>
        (window as unknown as { aelabLab: { lossRows: { split: string; metric: string; value: number }[] } }).aelabLab.lossRows
          .filter((r) => r.split === 'validation' && r.metric === 'loss')
          .map((r) => r.value),
      );
      expect(labVal.length).toBe(2);
      // same data split and order, same seed, same kernels (deterministic across thread counts)
      expect(labVal).toEqual(cliVal);
      expect(log.errors).toEqual([]);
      await page.close();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('pauses, resumes and stops', async () => {
    const { page, log } = await openLab();
    await page.locator('#kind').selectOption('ae');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'training', null, { timeout: 30_000 });
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'paused');
    const stepAt = async () => Number(/step (\d+)/.exec((await page.locator('#progress-text').textContent()) ?? '')?.[1] ?? NaN);
    await page.waitForTimeout(300);
    const s1 = await stepAt();
    await page.waitForTimeout(1000);
    expect(await stepAt()).toBe(s1);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(stepAt, { timeout: 10_000 }).toBeGreaterThan(s1);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 });
    expect(await page.locator('#progress-text').textContent()).toMatch(/stopped after \d+ steps/);
    await page.getByRole('button', { name: 'Reset', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('shows a bad setting as an error in the page and keeps working', async () => {
    const { page, log } = await openLab();
    await page.locator('#lr').fill('0');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await expect.poll(() => page.locator('#error').textContent(), { timeout: 30_000 }).toMatch(/lr/);
    expect(await page.locator('#error').isVisible()).toBe(true);
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.locator('#lr').fill('0.001');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => /step [1-9]/.test(document.getElementById('progress-text')?.textContent ?? ''), null, {
      timeout: 30_000,
    });
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 });
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('trains on Fashion-MNIST when the server lists it', async (ctx) => {
    const { page, log } = await openLab();
    const option = await page.locator('#data option[value="server:fashion-mnist"]').count();
    if (option === 0) ctx.skip(); // no dataset-fashion-mnist on this machine
    await page.locator('#data').selectOption('server:fashion-mnist');
    await page.locator('#kind').selectOption('ae');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => /step \d{2}/.test(document.getElementById('progress-text')?.textContent ?? ''), null, {
      timeout: 60_000,
    });
    expect(await page.locator('#run-info').textContent()).toMatch(/fashion-mnist .*54000 train, 6000 validation, 10000 test images/);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 30_000 });
    await page.locator('#latent').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'fashion-ae.png'), fullPage: true });
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('fits PCA as `aelab train --model pca` does: 32 components, codes and reconstructions shown', async () => {
    const { page, log } = await openLab();
    await page.locator('#kind').selectOption('pca');
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 120_000 });
    const text = (await page.locator('#progress-text').textContent()) ?? '';
    expect(text).toMatch(/fitted 32 components .* explained variance (\d+\.\d)% · MSE per pixel: train 0\.0\d+, test 0\.0\d+/);
    const explained = Number(/explained variance ([\d.]+)%/.exec(text)![1]);
    expect(explained).toBeGreaterThan(60);
    expect(explained).toBeLessThan(100);
    const latent = await page.evaluate(
      () => (window as unknown as { aelabLab: { latent: { x: Float32Array } | null } }).aelabLab.latent?.x.length,
    );
    expect(latent).toBe(2000);
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.locator('#latent').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'kind-pca.png'), fullPage: true });
    expect(log.errors).toEqual([]);
    await page.close();
  });

  it('every model kind takes a few steps without an error', async () => {
    const { page, log } = await openLab();
    const kinds = await page.locator('#kind option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(kinds).toEqual(['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn', 'pca']);
    for (const kind of kinds.filter((k) => k !== 'pca')) {
      await page.locator('#kind').selectOption(kind);
      await page.getByRole('button', { name: 'Train', exact: true }).click();
      await page.waitForFunction(() => /step [3-9]|step \d\d/.test(document.getElementById('progress-text')?.textContent ?? ''), null, {
        timeout: 60_000,
      });
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 60_000 });
      expect(await page.locator('#error').isHidden(), `${kind}: ${await page.locator('#error').textContent()}`).toBe(true);
      await page.screenshot({ path: join(SHOTS, `kind-${kind}.png`) });
      await page.getByRole('button', { name: 'Reset', exact: true }).click();
      await page.waitForFunction(() => document.body.dataset.state === 'idle');
    }
    expect(log.errors).toEqual([]);
    await page.close();
  });
});
