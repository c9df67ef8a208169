#!/usr/bin/env node
/**
 * Micro-benchmarks of the wasm backend's fixed costs (medians of 5 rounds):
 *   - per-call overhead of small kernels (binary and unary on 64 floats, 100,000 calls);
 *   - fill and copy of 100,352 floats (a 128×784 batch) in wasm memory;
 *   - one fused Adam step over 652,000 parameters (the VAE 784-400-20).
 *
 *   node bench/overhead.mjs        (T=2 for two threads; AELAB_DIST=dir to test another build)
 */
const dist = process.env.AELAB_DIST ?? new URL('../dist', import.meta.url).pathname;
const { createWasmBackend } = await import(`${dist}/kernels/wasm/index.js`);
const b = await createWasmBackend({ threads: Number(process.env.T || 1) });

function median(f, rounds = 5) {
  const ts = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return ts.sort((x, y) => x - y)[rounds >> 1];
}

const small = [b.alloc(64), b.alloc(64), b.alloc(64)];
const CALLS = 100_000;
const perCall = (ms) => `${((ms * 1e6) / CALLS).toFixed(0)} ns/call`;
console.log(
  'binary add, 64 floats ',
  perCall(
    median(() => {
      for (let i = 0; i < CALLS; i++) b.binary('add', small[0], [64], small[1], [64], small[2], [64]);
    }),
  ),
);
console.log(
  'unary relu, 64 floats ',
  perCall(
    median(() => {
      for (let i = 0; i < CALLS; i++) b.unary('relu', small[0], small[2], 0);
    }),
  ),
);

const n = 100_352;
const [a, c] = [b.alloc(n), b.alloc(n)];
const per = (ms, reps) => `${((ms * 1000) / reps).toFixed(1)} µs`;
console.log(
  'fill 100,352 floats   ',
  per(
    median(() => {
      for (let i = 0; i < 1000; i++) b.fill(a, 0);
    }),
    1000,
  ),
);
console.log(
  'copy 100,352 floats   ',
  per(
    median(() => {
      for (let i = 0; i < 1000; i++) b.copy(a, c);
    }),
    1000,
  ),
);

const m = 652_000;
const [p, g, mm, v] = [b.alloc(m), b.alloc(m), b.alloc(m), b.alloc(m)];
for (let i = 0; i < m; i++) g[i] = Math.sin(i);
const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, step: 0 };
console.log(
  'Adam, 652,000 params  ',
  per(
    median(() => {
      for (let i = 0; i < 100; i++) {
        hp.step++;
        (b.fused ?? b).adamStep(p, g, mm, v, null, hp);
      }
    }),
    100,
  ),
);
await b.dispose();
