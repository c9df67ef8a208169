// GEMM throughput of the wasm backend (GFLOP/s), 1 thread vs all threads.
//
//   node bench/gemm.mjs [--reps 15] [--threads 2] [--quick]
//
// Loading: the kernels are imported from source. This script first runs tools/build-wasm.mjs
// (no-op when up to date), then transpiles src/kernels/**/*.ts with the TypeScript compiler API
// (transpile only, no type check) into .cache/bench-kernels/ and imports the result, so it runs
// without a full `npm run build` and always measures the current sources.
//
// Shapes: 512³, and the three GEMMs of one 784→512 dense layer at batch 128 as backprop runs
// them (forward x·Wᵀ, input gradient g·W, weight gradient gᵀ·x), plus the same forward with
// plain (untransposed) operands, and the five large GEMMs of the VAE 784-400-20. Each figure is the median of `reps` timed runs after warm-up,
// with the best run in parentheses. On a shared machine other processes' load shows up
// directly in these numbers, so the load average is printed, and for the multi-threaded runs
// "cores" = CPU time / wall time: how many cores the process actually got (2.0 means both
// threads ran in parallel throughout; 1.0 means they time-shared one core).
//
// "% of peak": each median as a share of the machine's WebAssembly SIMD arithmetic peak at that
// moment — bench/fma-peak.ts, 12 independent f32x4 multiply-add chains with no memory access
// (the same fused or unfused multiply-add as the GEMM micro-kernel), run on as many threads
// right before each shape. That is the most any 4-lane kernel can issue; a GEMM near 100% can
// only get faster with wider vectors, which WebAssembly does not have.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import ts from 'typescript';
import { argValue } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const v = argValue(argv, name, undefined);
  return v === undefined ? dflt : Number(v);
};
const reps = opt('reps', argv.includes('--quick') ? 5 : 15);
const maxThreads = opt('threads', os.availableParallelism());

async function loadKernels() {
  const r = spawnSync(process.execPath, [join(root, 'tools', 'build-wasm.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const srcDir = join(root, 'src', 'kernels');
  const outDir = join(root, '.cache', 'bench-kernels');
  const walk = (d) =>
    readdirSync(d).flatMap((f) => {
      const p = join(d, f);
      if (statSync(p).isDirectory()) return f === 'assembly' || f === 'build' ? [] : walk(p);
      return p.endsWith('.ts') ? [p] : [];
    });
  for (const file of walk(srcDir)) {
    const out = join(outDir, relative(srcDir, file)).replace(/\.ts$/, '.js');
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js);
  }
  return import(pathToFileURL(join(outDir, 'wasm', 'index.js')).href);
}

/**
 * The wasm SIMD arithmetic peak (bench/fma-peak.ts: 12 independent multiply-add chains, no
 * memory traffic), in GFLOP/s summed over `threads` worker threads running at once, the median
 * of 5 runs of ~0.2 s. `relaxed` picks the fused multiply-add build, as the kernels' loader does.
 */
function compilePeak(relaxed) {
  const out = join(root, '.cache', `fma-peak-${relaxed ? 'relaxed' : 'simd'}.wasm`);
  const asc = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'asc.cmd' : 'asc');
  const r = spawnSync(
    asc,
    [
      join(root, 'bench', 'fma-peak.ts'),
      '-o',
      out,
      '-O3',
      '--runtime',
      'stub',
      '--use',
      'abort=',
      '--use',
      `RELAXED=${relaxed ? 1 : 0}`,
      '--enable',
      relaxed ? 'simd,relaxed-simd' : 'simd',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32' },
  );
  if (r.status !== 0) throw new Error(`asc failed on bench/fma-peak.ts: ${r.stderr}`);
  return readFileSync(out);
}
const PEAK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const f = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes)).exports.peak;
f(1e6);
parentPort.on('message', (n) => { const t = performance.now(); f(n); parentPort.postMessage(performance.now() - t); });
`;
/** Worker threads that run the peak loop on request; measure(n) → GFLOP/s of all of them at once. */
function peakProbe(bytes, threads) {
  const workers = Array.from({ length: threads }, () => new Worker(PEAK_WORKER, { eval: true, workerData: { bytes } }));
  const once = (w, n) =>
    new Promise((res) => {
      w.once('message', res);
      w.postMessage(n);
    });
  return {
    /** Median of `runs` runs of ~30 ms each (at ~48 GFLOP/s per thread). */
    async measure(runs = 1) {
      const n = 1.5e7;
      const rates = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await Promise.all(workers.map((w) => once(w, n)));
        rates.push((threads * n * 96) / ((performance.now() - t0) * 1e6));
      }
      return median(rates);
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const shapes = [
  { name: '512×512×512 (NN)', M: 512, N: 512, K: 512, transA: false, transB: false },
  { name: '512×512×512 (NT)', M: 512, N: 512, K: 512, transA: false, transB: true },
  { name: 'dense fwd 128×784 · (512×784)ᵀ', M: 128, N: 512, K: 784, transA: false, transB: true },
  { name: 'dense fwd 128×784 · 784×512', M: 128, N: 512, K: 784, transA: false, transB: false },
  { name: 'dense dX  128×512 · 512×784', M: 128, N: 784, K: 512, transA: false, transB: false },
  { name: 'dense dW  (128×512)ᵀ · 128×784', M: 512, N: 784, K: 128, transA: true, transB: false },
  // the VAE's 784→400 and 400→784 layers (bench/quality.mjs)
  { name: 'VAE enc fwd 128×784 · (400×784)ᵀ', M: 128, N: 400, K: 784, transA: false, transB: true },
  { name: 'VAE dec fwd 128×400 · (784×400)ᵀ', M: 128, N: 784, K: 400, transA: false, transB: true },
  { name: 'VAE dec dX  128×784 · 784×400', M: 128, N: 400, K: 784, transA: false, transB: false },
  { name: 'VAE enc dW  (128×400)ᵀ · 128×784', M: 400, N: 784, K: 128, transA: true, transB: false },
  { name: 'VAE dec dW  (128×784)ᵀ · 128×400', M: 784, N: 400, K: 128, transA: true, transB: false },
];

const { createWasmBackend } = await loadKernels();
const loadBefore = os.loadavg()[0].toFixed(2);
const threadCounts = [...new Set([1, maxThreads])];
// The arithmetic peak of the build the backend runs, before and after the GEMMs (a shared
// machine's speed drifts): each GEMM figure is then also a share of the peak.
const probe = await createWasmBackend({ threads: 1 });
const peakBytes = compilePeak(probe.simd === 'relaxed-simd');
const peakKind = probe.simd === 'relaxed-simd' ? 'fused multiply-add (relaxed SIMD)' : 'multiply + add (baseline SIMD)';
await probe.dispose();
const peaks = new Map();
const results = new Map();
for (const threads of threadCounts) {
  const be = await createWasmBackend({ threads });
  const peak = peakProbe(peakBytes, threads);
  for (const s of shapes) {
    const a = be.alloc(s.M * s.K);
    const b = be.alloc(s.K * s.N);
    const c = be.alloc(s.M * s.N);
    for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
    for (let i = 0; i < b.length; i++) b[i] = Math.random() - 0.5;
    const p = { batch: 1, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, strideA: 0, strideB: 0 };
    const flops = 2 * s.M * s.N * s.K;
    // Warm up (tier-up to optimised code), then time batches of calls lasting ≥ 20 ms.
    const t0 = performance.now();
    let inner = 0;
    while (performance.now() - t0 < 100 || inner < 3) {
      be.matmul(a, b, c, p);
      inner++;
    }
    inner = Math.max(1, Math.ceil((inner * 20) / (performance.now() - t0)));
    const rates = [];
    let cpuMs = 0;
    // Each timed run right after a peak measurement: a shared machine's speed drifts within
    // seconds, so the share of the peak is the median of the runs' own ratios.
    const shares = [];
    const peakRates = [];
    let busy = 0;
    for (let r = 0; r < reps; r++) {
      const pk = await peak.measure();
      const cpu0 = process.cpuUsage();
      const t = performance.now();
      for (let i = 0; i < inner; i++) be.matmul(a, b, c, p);
      const dt = performance.now() - t;
      const cpu = process.cpuUsage(cpu0);
      cpuMs += (cpu.user + cpu.system) / 1e3;
      busy += dt;
      rates.push((flops * inner) / (dt * 1e6));
      peakRates.push(pk);
      shares.push(rates[r] / pk);
    }
    peaks.set(`${s.name}|${threads}`, [median(peakRates), median(shares)]);
    // (CPU time of the GEMM runs only, not of the peak measurements between them)
    const cores = cpuMs / busy;
    results.set(`${s.name}|${threads}`, [median(rates), Math.max(...rates), cores]);
    be.free(a);
    be.free(b);
    be.free(c);
  }
  await peak.close();
  await be.dispose();
}

const allPeaks = (t) => shapes.map((s) => peaks.get(`${s.name}|${t}`)[0]);
console.log(
  `wasm SIMD peak (f32x4 ${peakKind}, no memory traffic; medians, measured before every timed run), GFLOP/s: ` +
    threadCounts
      .map((t) => `${t} thread${t > 1 ? 's' : ''} ${Math.min(...allPeaks(t)).toFixed(1)}–${Math.max(...allPeaks(t)).toFixed(1)}`)
      .join(', '),
);
console.log(
  `wasm GEMM, GFLOP/s: median of ${reps} (best); ${os.cpus()[0]?.model ?? 'cpu'}; ` +
    `load average ${loadBefore} before, ${os.loadavg()[0].toFixed(2)} after`,
);
const multi = threadCounts.length > 1;
const header = [
  'shape',
  ...threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''}`),
  ...threadCounts.map((t) => `% of peak (${t})`),
  ...(multi ? ['speed-up', 'cores'] : []),
];
const rows = shapes.map((s) => {
  const v = threadCounts.map((t) => results.get(`${s.name}|${t}`));
  const cells = v.map(([med, best]) => `${med.toFixed(1)} (${best.toFixed(1)})`);
  const shares = threadCounts.map((t) => `${(100 * peaks.get(`${s.name}|${t}`)[1]).toFixed(0)}%`);
  const last = v[v.length - 1];
  return [s.name, ...cells, ...shares, ...(multi ? [`${(last[0] / v[0][0]).toFixed(2)}×`, last[2].toFixed(2)] : [])];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
