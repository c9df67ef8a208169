/**
 * The browser entry in a real browser: src/browser.ts bundled by esbuild, loaded by a page that a
 * loopback server (127.0.0.1) sends with COOP/COEP headers, so the page is cross-origin isolated
 * as the lab's is. A module Web Worker — where the lab trains — imports the bundle, trains a small
 * dense autoencoder with the Trainer's loop for a few epochs on each backend, keeps its
 * checkpoints in memory, reloads the best one into a fresh model, and computes the run's figures
 * as data (image grids as SVG, the latent scatter as a Vega-Lite spec). On wasm the kernels' threads
 * are Web Workers over shared memory. Needs Debian's /usr/bin/chromium (CI installs it); skips
 * with that reason otherwise.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const skipReason = existsSync(CHROMIUM) ? null : `${CHROMIUM} is absent (apt-get install chromium)`;
if (skipReason) console.warn(`test/browser/chromium.test.ts skipped: ${skipReason}`);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Trains on the given backend and returns what the test checks; run by the worker and by the page. */
const TRAIN = `
import * as a from './aelab.js';

export async function train(which) {
  const backend = await a.setBackend(which);
  // 256 images of 8×8 from a 3-D latent: x = sigmoid(codes · mix), a pattern an AE can learn.
  const g = new a.Generator(7);
  const n = 256, d = 64, k = 3;
  const codes = new Float32Array(n * k), mix = new Float32Array(k * d), images = new Float32Array(n * d);
  g.fillNormal(codes, 0, 1);
  g.fillNormal(mix, 0, 1);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += codes[i * k + t] * mix[t * d + j];
      images[i * d + j] = 1 / (1 + Math.exp(-s));
    }
  const train = a.data.createDataset({ name: 'synthetic', images, channels: 1, height: 8, width: 8 });
  const config = a.defaultConfig('ae', [1, 8, 8], { hidden: [32], latent: 3, activation: 'tanh', loss: 'mse' });
  a.manualSeed(1);
  const model = a.buildModel(config);
  const trainer = new a.Trainer(model, train, train, { ...a.defaultTrainConfig, epochs: 4, batchSize: 32, lr: 1e-2, seed: 3 }, { runDir: 'lab' });
  const t0 = performance.now();
  const fit = await trainer.fit();
  const seconds = (performance.now() - t0) / 1000;
  // the best checkpoint, from memory into a fresh model: the same validation loss
  const best = trainer.storage.readCheckpoint('lab/checkpoints/best');
  a.manualSeed(99);
  const again = a.buildModel(config);
  a.decodeCheckpoint(best, again, trainer.storage);
  const reloaded = new a.Trainer(again, train, train, { ...a.defaultTrainConfig, batchSize: 32 }).evaluate(train);
  // one GEMM large enough to wake the kernel threads, against a plain-JavaScript product
  const gq = new a.Generator(11);
  const nq = 320;
  const p = a.randn([nq, nq], { generator: gq }), q = a.randn([nq, nq], { generator: gq });
  const pq = a.matmul(p, q).data;
  let gemmErr = 0;
  for (let i = 0; i < nq; i += 7)
    for (let j = 0; j < nq; j++) {
      let ref = 0;
      for (let t = 0; t < nq; t++) ref += p.data[i * nq + t] * q.data[t * nq + j];
      gemmErr = Math.max(gemmErr, Math.abs(pq[i * nq + j] - ref));
    }
  const png = a.io.encodePng(new Uint8Array(64).fill(128), 8, 8, 1);
  // the run's figures as data: image grids (as SVG) and the latent scatter's Vega-Lite spec
  const grids = a.gridFigures(model, train, { seed: 0 });
  const recon = grids.find((f) => f.file === 'reconstructions.png');
  const svg = a.gridFigureSvg(recon.images, recon.n, 8, 8, { channels: 1, ...recon.options }).svg;
  const latent = a.latentFigure(model, train);
  return {
    backend: backend.name,
    threads: backend.threads ?? 1,
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    losses: fit.history.map((h) => h.train.loss),
    bestValLoss: fit.bestValLoss,
    reloadedLoss: reloaded.loss,
    checkpoints: [...trainer.storage.checkpoints.keys()].sort(),
    modelBytes: best.files.model.length,
    pngSignature: Array.from(png.subarray(0, 4)),
    gemmErr,
    figures: grids.map((f) => f.file),
    svgHasImage: svg.startsWith('<svg') && svg.includes('data:image/png;base64,'),
    latentSchema: latent && latent.$schema,
    seconds,
  };
}
`;

/** The worker: trains on the backend it is sent, posts the result (or the error). */
const WORKER = `
import { train } from './train.js';

self.onmessage = async (ev) => {
  try {
    self.postMessage({ ok: true, result: await train(ev.data.backend) });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
  }
};
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>aelab browser entry</title><link rel="icon" href="data:,">
<script type="module">
  import { train } from './train.js';
  window.trainHere = (backend) => train(backend).then((result) => ({ ok: true, result }), (e) => ({ ok: false, error: String(e && e.stack ? e.stack : e) }));
  window.trainIn = (backend) => new Promise((resolve) => {
    const w = new Worker('./worker.js', { type: 'module' });
    w.onmessage = (ev) => { w.terminate(); resolve(ev.data); };
    w.onerror = (ev) => { w.terminate(); resolve({ ok: false, error: 'worker error: ' + ev.message }); };
    w.postMessage({ backend });
  });
  window.ready = true;
</script>`;

interface TrainResult {
  backend: string;
  threads: number;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  losses: number[];
  bestValLoss: number;
  reloadedLoss: number;
  checkpoints: string[];
  modelBytes: number;
  pngSignature: number[];
  gemmErr: number;
  figures: string[];
  svgHasImage: boolean;
  latentSchema: string | null;
  seconds: number;
}

describe.skipIf(skipReason !== null)(`the browser entry in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let server: Server;
  let browser: Browser;
  let page: Page;
  let plainPage: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aelab-chromium-'));
    await esbuild.build({
      entryPoints: [join(root, 'src', 'browser.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(dir, 'aelab.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'train.js'), TRAIN);
    writeFileSync(join(dir, 'worker.js'), WORKER);
    writeFileSync(join(dir, 'index.html'), PAGE);
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
    server = createServer((req, res) => {
      // /plain/… serves the same files without the isolation headers (the lab as static files).
      const url = (req.url ?? '/').split('?')[0]!;
      const plain = url.startsWith('/plain/');
      const rest = plain ? url.slice('/plain'.length) : url;
      const name = rest === '/' ? 'index.html' : rest.slice(1);
      const file = join(dir, name);
      if (!/^[\w.-]+$/.test(name) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      // Cross-origin isolation, as `aelab lab` serves the lab: SharedArrayBuffer and so wasm threads.
      res.writeHead(200, {
        'Content-Type': types[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
        ...(!plain && { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }),
      });
      res.end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const port = (server.address() as AddressInfo).port;
    page = await openPage(`http://127.0.0.1:${port}/`);
    plainPage = await openPage(`http://127.0.0.1:${port}/plain/`);
  }, 60_000);

  async function openPage(url: string): Promise<Page> {
    const p = await browser.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await p.goto(url);
    await p.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    return p;
  }

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Trains in a Web Worker of the page `on`, or on the page's main thread. */
  async function trainIn(backend: 'js' | 'wasm', on = page, where: 'worker' | 'main' = 'worker'): Promise<TrainResult> {
    type Run = (b: string) => Promise<{ ok: boolean; result?: TrainResult; error?: string }>;
    const out = await on.evaluate(
      ([b, w]) => (window as unknown as { trainIn: Run; trainHere: Run })[w === 'main' ? 'trainHere' : 'trainIn'](b),
      [backend, where] as const,
    );
    if (!out.ok) throw new Error(`training on ${backend} in Chromium failed: ${out.error}`);
    return out.result!;
  }

  function expectTrained(r: TrainResult): void {
    expect(r.losses).toHaveLength(4);
    for (const l of r.losses) expect(Number.isFinite(l)).toBe(true);
    expect(r.losses[3]!).toBeLessThan(0.8 * r.losses[0]!);
    expect(r.checkpoints).toEqual(['lab/checkpoints/best', 'lab/checkpoints/last']);
    expect(r.modelBytes).toBeGreaterThan(4 * (64 * 32 + 32 * 3));
    expect(r.reloadedLoss).toBe(r.bestValLoss);
    expect(r.pngSignature).toEqual([0x89, 0x50, 0x4e, 0x47]);
    // float32 sums of 320 products of N(0, 1) pairs (|sum| ~ 18): rounding stays far below 1e-2
    expect(r.gemmErr).toBeLessThan(1e-2);
    expect(r.figures).toContain('reconstructions.png');
    expect(r.svgHasImage).toBe(true);
    expect(r.latentSchema).toMatch(/vega-lite/);
    expect(pageErrors).toEqual([]);
  }

  it('trains a small autoencoder on the js backend in a Web Worker: the loss falls, checkpoints stay in memory', async () => {
    const r = await trainIn('js');
    expect(r.backend).toBe('js');
    expectTrained(r);
  }, 20_000);

  it('trains it on the wasm backend, its kernel threads Web Workers in the cross-origin-isolated page', async () => {
    const r = await trainIn('wasm');
    expect(r.backend).toBe('wasm');
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.threads).toBe(Math.min(r.hardwareConcurrency, 64));
    expectTrained(r);
  }, 20_000);

  it('trains it on wasm in a page without cross-origin isolation too: one thread, unshared memory', async () => {
    const r = await trainIn('wasm', plainPage);
    expect(r.backend).toBe('wasm');
    expect(r.crossOriginIsolated).toBe(false);
    expect(r.threads).toBe(1);
    expectTrained(r);
  }, 20_000);

  it("trains it with wasm threads on the page's main thread too, where Atomics.wait is not allowed (the caller spins)", async () => {
    const r = await trainIn('wasm', page, 'main');
    expect(r.backend).toBe('wasm');
    expect(r.threads).toBe(Math.min(r.hardwareConcurrency, 64));
    expectTrained(r);
  }, 20_000);
});
