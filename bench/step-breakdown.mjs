#!/usr/bin/env node
// Where one training step of a reference model spends its time, kernel by kernel: wraps each
// method of the current backend's kernel table with a timer, trains the bench's MLP or conv AE
// exactly as `npm run bench` does (train-loop.mjs: Adam, BCE, batch 128, Fashion-MNIST), and
// prints the mean time per timed step of each (kernel, op, shape) and the time spent outside
// kernel calls (JS: tensors, tape, scheduling).
//
//   node bench/step-breakdown.mjs [--model mlp|conv] [--steps 200] [--warmup 30] [--top 40]
//   AELAB_THREADS=1 node bench/step-breakdown.mjs      # one thread
//
// Runs against dist/ (npm run build). The timers add ~1 µs per call, so the total is a little
// above what `npm run bench` measures for the same model.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue, loadImages } from './common.mjs';
import { trainAelab } from './train-loop.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const model = argValue(args, 'model', 'mlp');
if (model !== 'mlp' && model !== 'conv') {
  process.stderr.write(`--model: expected mlp or conv, got '${model}'\n`);
  process.exit(2);
}
const steps = Number(argValue(args, 'steps', '200'));
const warmup = Number(argValue(args, 'warmup', '30'));
const top = Number(argValue(args, 'top', '40'));

const A = await import(process.env.AELAB_DIST ?? join(root, 'dist', 'index.js'));
const { backend } = await A.initBackend();
const images = await loadImages(20 * 128);

/** The kernel table's methods (Backend in src/kernels/backend.ts; the js backend is that table), minus memory management. */
const { jsBackend } = await import(join(dirname(process.env.AELAB_DIST ?? join(root, 'dist', 'index.js')), 'kernels', 'js', 'index.js'));
const KERNELS = Object.keys(jsBackend).filter((k) => typeof jsBackend[k] === 'function' && !['alloc', 'free', 'allocatedBytes'].includes(k));
const label = (name, a) => {
  if (['unary', 'unaryGrad', 'binary', 'reduce'].includes(name)) return `${name} ${a[0]} (${a[1]?.length ?? ''})`;
  if (name === 'matmul') {
    const p = a[3];
    return `matmul ${p.M}×${p.N}×${p.K}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}${p.act && p.act !== 'none' ? ` +${p.act}` : ''}`;
  }
  if (name.startsWith('conv2d')) return `${name} ${a[a.length - 1].inC}→${a[a.length - 1].outC}`;
  return name;
};
const acc = new Map();
let on = false;
for (const name of KERNELS) {
  const f = backend[name].bind(backend);
  backend[name] = (...a) => {
    if (!on) return f(...a);
    const t0 = performance.now();
    const r = f(...a);
    const dt = performance.now() - t0;
    const key = label(name, a);
    const e = acc.get(key) ?? [0, 0];
    e[0] += dt;
    e[1]++;
    acc.set(key, e);
    return r;
  };
}

// Timers on from the first timed step (beat(i) comes after step i).
const r = trainAelab(A, { model, warmup, steps, maxSeconds: Infinity }, images, (i) => {
  if (i === warmup - 1) on = true;
});
const n = r.timedSteps;
const total = (128 * 1000) / r.samplesPerSec;
const rows = [...acc].map(([k, [t, c]]) => [k, t / n, c / n]).sort((a, b) => b[1] - a[1]);
const inside = rows.reduce((s, row) => s + row[1], 0);
console.log(`${model} AE, backend ${backend.name}, ${n} timed steps: ${total.toFixed(2)} ms per step (${r.samplesPerSec.toFixed(0)} samples/s)`);
console.log(`  in kernel calls ${inside.toFixed(2)} ms, outside (JS) ${(total - inside).toFixed(2)} ms`);
for (const [k, t, c] of rows.slice(0, top))
  console.log(`${t.toFixed(3).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)}% ${c.toFixed(1).padStart(5)}×  ${k}`);
