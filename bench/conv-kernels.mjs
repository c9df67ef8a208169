// Micro-benchmark of the wasm conv kernels on the conv AE's two layer geometries (batch 128,
// 3×3, stride 2, padding 1), and of max pooling (2×2, stride 2) and its gradient on the CNN
// classifier's two geometries. Run after `npm run build` (imports ../dist/):
//   node bench/conv-kernels.mjs          one thread
//   T=2 node bench/conv-kernels.mjs      two threads
// Prints the median (and the best) over R rounds (default 9) of the mean of 5 calls, per kernel;
// on a shared machine compare medians of several runs, or the bests. AELAB_DIST=DIR measures
// another build (e.g. a copy of an older dist/ inside the repository, so that its imports resolve).
// With T=2 the 1→32 layer at batch 128 is below the thread pool's wake-up size: it runs on the
// calling thread unless the workers are still spinning from a bigger kernel (B=256 shows it
// threaded).
const dist = process.env.AELAB_DIST || '../dist';
const { createWasmBackend } = await import(`${dist}/kernels/wasm/index.js`);

const b = await createWasmBackend({ threads: Number(process.env.T || 1) });
const R = Number(process.env.R || 9);
const B = Number(process.env.B || 128);
const geo = (inC, hw, outC) => ({
  batch: B,
  inC,
  inH: hw,
  inW: hw,
  outC,
  outH: hw / 2,
  outW: hw / 2,
  kH: 3,
  kW: 3,
  strideH: 2,
  strideW: 2,
  padH: 1,
  padW: 1,
  dilH: 1,
  dilW: 1,
  groups: 1,
});
const geos = [
  ['conv 1->32 28->14 ', geo(1, 28, 32)],
  ['conv 32->64 14->7 ', geo(32, 14, 64)],
];
let s = 1;
const rnd = (n) => {
  const a = b.alloc(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
};
/** Median and best (ms) over R rounds of the mean of 5 calls, after 5 warm-up calls. */
function time(f) {
  for (let i = 0; i < 5; i++) f();
  const ts = [];
  for (let r = 0; r < R; r++) {
    const t = performance.now();
    for (let i = 0; i < 5; i++) f();
    ts.push((performance.now() - t) / 5);
  }
  ts.sort((a, c) => a - c);
  return [ts[ts.length >> 1], ts[0]];
}
for (const [name, p] of geos) {
  const x = rnd(p.batch * p.inC * p.inH * p.inW),
    w = rnd(p.outC * p.inC * p.kH * p.kW),
    bias = rnd(p.outC);
  const g = rnd(p.batch * p.outC * p.outH * p.outW);
  const out = b.alloc(g.length),
    dw = b.alloc(w.length),
    dx = b.alloc(x.length);
  const flops = 2 * p.batch * p.outC * p.outH * p.outW * p.inC * p.kH * p.kW;
  for (const [op, f] of [
    ['fwd  ', () => b.conv2d(x, w, bias, out, p)],
    ['bwdIn', () => b.conv2dBackwardInput(g, w, dx, p)],
    ['bwdW ', () => b.conv2dBackwardWeight(x, g, dw, p)],
  ]) {
    const [med, best] = time(f);
    console.log(
      `${name}${op} ${med.toFixed(2).padStart(6)} ms ${(flops / med / 1e6).toFixed(1).padStart(5)} GFLOP/s  (best ${best.toFixed(2)} ms)`,
    );
  }
}
// max pooling 2×2 / stride 2 on the CNN classifier's feature maps
for (const [name, C, hw] of [
  ['maxpool 32x28x28 ', 32, 28],
  ['maxpool 64x14x14 ', 64, 14],
]) {
  const p = { batch: B, channels: C, inH: hw, inW: hw, outH: hw / 2, outW: hw / 2, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 };
  const x = rnd(B * C * hw * hw);
  const g = rnd(B * C * (hw / 2) ** 2);
  const out = b.alloc(g.length),
    idx = b.alloc(g.length),
    dx = b.alloc(x.length);
  for (const [op, f] of [
    ['fwd  ', () => b.maxPool2d(x, out, idx, p)],
    ['bwd  ', () => b.maxPool2dBackward(g, idx, dx, p)],
  ]) {
    const [med, best] = time(f);
    console.log(`${name}${op} ${med.toFixed(2).padStart(6)} ms  (best ${best.toFixed(2)} ms)`);
  }
}
await b.dispose();
process.exit(0);
