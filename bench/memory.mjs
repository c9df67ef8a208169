#!/usr/bin/env node
/**
 * Resident memory over a long run: trains the reference MLP autoencoder (bench/train-loop.mjs:
 * 784-512-256-32-256-512-784, BCE, Adam 1e-3, batch 128) for N steps on the default backend,
 * the way a user's loop would (each step in tidy), and prints RSS, heap and backend memory at
 * step 100 (after warm-up) and every 1,000 steps. Issue target: less than 50 MB growth over
 * 5,000 steps.
 *
 *   node bench/memory.mjs [--steps 5000] [--json]
 */
import { loadImages } from './common.mjs';
import { aelabModel, BATCH } from './train-loop.mjs';

const args = process.argv.slice(2);
const at = args.indexOf('--steps');
const steps = at >= 0 ? Number(args[at + 1]) : 5000;
const json = args.includes('--json');
const A = await import(process.env.AELAB_DIST ?? new URL('../dist/index.js', import.meta.url).href);
const images = await loadImages(64 * BATCH);
const nb = Math.floor(images.n / BATCH);
const model = aelabModel(A.nn, 'mlp');
const opt = new A.optim.Adam(model.parameters(), { lr: 1e-3 });
const MB = 1024 * 1024;
const snap = (step) => {
  const m = process.memoryUsage();
  return { step, rssMb: m.rss / MB, heapMb: m.heapUsed / MB, backendMb: A.getBackend().allocatedBytes() / MB };
};
const rows = [];
let base = null;
for (let step = 1; step <= steps; step++) {
  const i = step % nb;
  const loss = A.tidy(() => {
    const x = A.tensor(images.data.subarray(i * BATCH * 784, (i + 1) * BATCH * 784), [BATCH, 784]);
    const l = A.losses.bce(model.forward(x), x);
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l.item();
  });
  if (step === 100 || step % 1000 === 0 || step === steps) {
    const s = { ...snap(step), loss };
    rows.push(s);
    if (step === 100) base = s;
    if (!json)
      console.log(
        `step ${String(step).padStart(5)}  RSS ${s.rssMb.toFixed(1)} MB  heap ${s.heapMb.toFixed(1)} MB  backend ${s.backendMb.toFixed(1)} MB  loss ${loss.toFixed(4)}`,
      );
  }
}
const last = rows[rows.length - 1];
const growth = last.rssMb - base.rssMb;
const result = {
  backend: A.getBackend().name,
  steps,
  rows,
  rssGrowthMb: growth,
  target: 'RSS growth < 50 MB over 5,000 steps',
  pass: growth < 50,
};
if (json) console.log(JSON.stringify(result));
else console.log(`RSS growth from step 100 to ${steps}: ${growth.toFixed(1)} MB (target < 50 MB): ${result.pass ? 'PASS' : 'FAIL'}`);
process.exit(0);
