#!/usr/bin/env node
// Where one training step of a reference model spends its time, kernel by kernel: wraps every
// method of the current backend with a timer, trains the bench's MLP or conv AE (Adam, BCE, batch
// 128) for warm-up + N steps, and prints the mean time per step of each (kernel, op, shape) and
// the time spent outside backend calls (JS: tensors, tape, scheduling).
//
//   node bench/step-breakdown.mjs [--model mlp|conv] [--steps 200] [--warmup 30] [--top 40]
//   AELAB_THREADS=1 node bench/step-breakdown.mjs      # one thread
//
// Runs against dist/ (npm run build). The timers add ~1 µs per call, so the total is a little
// above what `npm run bench` measures for the same model.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aelabModel } from './train-loop.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const which = opt('model', 'mlp');
if (which !== 'mlp' && which !== 'conv') {
  process.stderr.write(`--model: expected mlp or conv, got '${which}'\n`);
  process.exit(2);
}
const steps = Number(opt('steps', '200'));
const warmup = Number(opt('warmup', '30'));
const top = Number(opt('top', '40'));

const A = await import(process.env.AELAB_DIST ?? join(root, 'dist', 'index.js'));
const { backend } = await A.initBackend();
const ds = await A.data.loadDataset('fashion-mnist', { split: 'test' });
A.manualSeed(1);
const model = aelabModel(A.nn, which);
const opt_ = new A.optim.Adam(model.parameters(), { lr: 1e-3 });
const shape = which === 'conv' ? [128, 1, 28, 28] : [128, 784];
const nb = Math.floor(ds.n / 128);

const acc = new Map();
let on = false;
const skip = new Set(['constructor', 'alloc', 'free', 'allocatedBytes', 'dispose']);
for (let proto = Object.getPrototypeOf(backend); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (skip.has(name) || !d || typeof d.value !== 'function' || name.startsWith('_') || Object.hasOwn(backend, name)) continue;
    // public kernel-table methods only (private helpers are not on the Backend interface)
    if (!['matmul', 'unary', 'unaryGrad', 'binary', 'where', 'clamp', 'expand', 'reduce', 'argmax', 'fill', 'copy', 'permute', 'slice', 'sliceAdd', 'indexSelect', 'indexAdd', 'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'upsampleNearest', 'upsampleNearestBackward', 'adamStep', 'sgdStep'].includes(name)) continue;
    const f = d.value;
    backend[name] = function (...a) {
      if (!on) return f.apply(this, a);
      const t0 = performance.now();
      const r = f.apply(this, a);
      const dt = performance.now() - t0;
      let key = name;
      if (['unary', 'unaryGrad', 'binary', 'reduce'].includes(name)) key += ` ${a[0]} (${a[1]?.length ?? ''})`;
      if (name === 'matmul') {
        const p = a[3];
        key += ` ${p.M}×${p.N}×${p.K}${p.transA ? ' Aᵀ' : ''}${p.transB ? ' Bᵀ' : ''}${p.act && p.act !== 'none' ? ` +${p.act}` : ''}`;
      }
      if (name.startsWith('conv2d')) key += ` ${a[a.length - 1].inC}→${a[a.length - 1].outC}`;
      const e = acc.get(key) ?? [0, 0];
      e[0] += dt;
      e[1]++;
      acc.set(key, e);
      return r;
    };
  }
}

const step = (i) => {
  opt_.zeroGrad();
  A.tidy(() => {
    const x = A.tensor(ds.images.subarray((i % nb) * 128 * 784, ((i % nb) + 1) * 128 * 784), shape);
    const l = A.losses.bce(model.forward(x), x);
    l.backward();
    return l.item();
  });
  opt_.step();
};
for (let i = 0; i < warmup; i++) step(i);
on = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step(i);
const total = (performance.now() - t0) / steps;
const rows = [...acc].map(([k, [t, c]]) => [k, t / steps, c / steps]).sort((a, b) => b[1] - a[1]);
const inside = rows.reduce((s, r) => s + r[1], 0);
console.log(`${which} AE, backend ${backend.name}, ${steps} steps: ${total.toFixed(2)} ms per step (${((128 * 1000) / total).toFixed(0)} samples/s)`);
console.log(`  in kernel calls ${inside.toFixed(2)} ms, outside (JS) ${(total - inside).toFixed(2)} ms`);
for (const [k, t, c] of rows.slice(0, top))
  console.log(`${t.toFixed(3).padStart(8)} ms ${(100 * t / total).toFixed(1).padStart(5)}% ${c.toFixed(1).padStart(5)}×  ${k}`);
