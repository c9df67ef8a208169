#!/usr/bin/env node
// Where one training step of a reference model spends its time, kernel by kernel: wraps each
// method of the current backend's kernel table with a timer, trains the bench's MLP or conv AE
// exactly as `npm run bench` does (train-loop.mjs: Adam, BCE, batch 128, Fashion-MNIST), or the
// quality bench's VAE (784-400-20, bench/quality.mjs) or the default CNN classifier through the
// Trainer, and prints the mean
// time per timed step of each (kernel, op, shape) and the time spent outside kernel calls (JS:
// tensors, tape, the Trainer's loop, scheduling).
//
//   node bench/step-breakdown.mjs [--model mlp|conv|vae|cnn] [--steps 200] [--warmup 30] [--top 40]
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
const viaTrainer = model === 'vae' || model === 'cnn';
if (!['mlp', 'conv', 'vae', 'cnn'].includes(model)) {
  process.stderr.write(`--model: expected mlp, conv, vae or cnn, got '${model}'\n`);
  process.exit(2);
}
const steps = Number(argValue(args, 'steps', '200'));
const warmup = Number(argValue(args, 'warmup', '30'));
const top = Number(argValue(args, 'top', '40'));

const A = await import(process.env.AELAB_DIST ?? join(root, 'dist', 'index.js'));
const { backend } = await A.initBackend();

/**
 * The kernel table's methods (Backend in src/kernels/backend.ts; the js backend is that table):
 * the primitives and the fused kernels (`fused`, absent in older builds), minus memory management.
 */
const { jsBackend } = await import(join(dirname(process.env.AELAB_DIST ?? join(root, 'dist', 'index.js')), 'kernels', 'js', 'index.js'));
const methods = (t) =>
  Object.keys(t ?? {}).filter((k) => typeof t[k] === 'function' && !['alloc', 'free', 'allocatedBytes', 'allocBytes'].includes(k));
const KERNELS = [
  ...methods(jsBackend).map((k) => [backend, k]),
  ...(backend.fused ? methods(jsBackend.fused).map((k) => [backend.fused, k]) : []),
];
const label = (name, a) => {
  if (['unary', 'unaryGrad', 'binary', 'reduce'].includes(name)) return `${name} ${a[0]} (${a[1]?.length ?? ''})`;
  if (name === 'matmul' || name === 'matmulEpilogue') {
    const p = a[3];
    return `matmul ${p.M}×${p.N}×${p.K}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}${p.act && p.act !== 'none' ? ` +${p.act}` : ''}`;
  }
  if (name.startsWith('conv2d')) return `${name} ${a[a.length - 1].inC}→${a[a.length - 1].outC}`;
  return name;
};
const acc = new Map();
let on = false;
for (const [table, name] of KERNELS) {
  if (typeof table[name] !== 'function') continue;
  const f = table[name].bind(table);
  table[name] = (...a) => {
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

let n;
let total; // ms per timed step
if (viaTrainer) {
  // A family model through the Trainer, one epoch over the first (warmup + steps) × 128
  // Fashion-MNIST training images; the timers run from step warmup + 1 to warmup + steps,
  // reported after each step.
  const all = await A.data.loadDataset('fashion-mnist', { split: 'train' });
  if (warmup + steps > Math.floor(all.n / 128)) throw new Error(`--warmup + --steps: at most ${Math.floor(all.n / 128)} (one epoch)`);
  const train = A.data.subset(
    all,
    Array.from({ length: (warmup + steps) * 128 }, (_, i) => i),
  );
  A.manualSeed(1);
  const cfg =
    model === 'vae'
      ? A.models.defaultConfig('vae', [1, 28, 28], { hidden: [400], latent: 20, activation: 'relu', decoder: 'bernoulli', beta: 1 })
      : A.models.defaultConfig('cnn', [1, 28, 28], {});
  let t0 = 0;
  const reporter = {
    epochStart() {},
    epochEnd() {},
    message() {},
    step(i) {
      if (i === warmup) {
        on = true;
        t0 = performance.now();
      } else if (i === warmup + steps) {
        on = false;
        total = (performance.now() - t0) / steps;
      }
    },
  };
  const tc = { ...A.defaultTrainConfig, epochs: 1, batchSize: 128, lr: 1e-3, optimizer: 'adam', seed: 1 };
  await new A.Trainer(A.models.buildModel(cfg), train, null, tc, { reporter }).fit();
  n = steps;
} else {
  // Timers on from the first timed step (beat(i) comes after step i).
  const images = await loadImages(20 * 128);
  const r = trainAelab(A, { model, warmup, steps, maxSeconds: Infinity }, images, (i) => {
    if (i === warmup - 1) on = true;
  });
  n = r.timedSteps;
  total = (128 * 1000) / r.samplesPerSec;
}
const rows = [...acc].map(([k, [t, c]]) => [k, t / n, c / n]).sort((a, b) => b[1] - a[1]);
const inside = rows.reduce((s, row) => s + row[1], 0);
console.log(
  `${{ vae: 'VAE 784-400-20 (Trainer)', cnn: 'CNN classifier (Trainer)' }[model] ?? `${model} AE`}, backend ${backend.name}, ${n} timed steps: ${total.toFixed(2)} ms per step (${((128 * 1000) / total).toFixed(0)} samples/s)`,
);
console.log(`  in kernel calls ${inside.toFixed(2)} ms, outside (JS) ${(total - inside).toFixed(2)} ms`);
for (const [k, t, c] of rows.slice(0, top))
  console.log(`${t.toFixed(3).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)}% ${c.toFixed(1).padStart(5)}×  ${k}`);
