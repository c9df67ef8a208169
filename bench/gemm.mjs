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
import { spawnSync } from 'node:child_process';
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
const results = new Map();
for (const threads of threadCounts) {
  const be = await createWasmBackend({ threads });
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
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      for (let i = 0; i < inner; i++) be.matmul(a, b, c, p);
      rates.push((flops * inner) / ((performance.now() - t) * 1e6));
    }
    const cpu = process.cpuUsage(cpu0);
    const cores = (cpu.user + cpu.system) / 1e3 / (performance.now() - wall0);
    results.set(`${s.name}|${threads}`, [median(rates), Math.max(...rates), cores]);
    be.free(a);
    be.free(b);
    be.free(c);
  }
  await be.dispose();
}

console.log(
  `wasm GEMM, GFLOP/s: median of ${reps} (best); ${os.cpus()[0]?.model ?? 'cpu'}; ` +
    `load average ${loadBefore} before, ${os.loadavg()[0].toFixed(2)} after`,
);
const multi = threadCounts.length > 1;
const header = ['shape', ...threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''}`), ...(multi ? ['speed-up', 'cores'] : [])];
const rows = shapes.map((s) => {
  const v = threadCounts.map((t) => results.get(`${s.name}|${t}`));
  const cells = v.map(([med, best]) => `${med.toFixed(1)} (${best.toFixed(1)})`);
  const last = v[v.length - 1];
  return [s.name, ...cells, ...(multi ? [`${(last[0] / v[0][0]).toFixed(2)}×`, last[2].toFixed(2)] : [])];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
