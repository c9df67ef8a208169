// One benchmark configuration, in its own process (spawned by bench/run.mjs):
//
//   node bench/worker.mjs '<json config>'
//
// Prints its logs, then one line `@@BENCH_RESULT {json}`. Kinds of config:
//   { kind: 'train', engine: 'aelab', backend: 'js'|'wasm', threads, model: 'mlp'|'conv', warmup, steps, maxSeconds, dist }
//   { kind: 'train', engine: 'tfjs', backend: 'cpu'|'wasm', model, warmup, steps, maxSeconds }
//   { kind: 'gemm', engine: 'aelab', backend, threads, sizes: [[M, K, N], ...], seconds, dist }
//
// Every training row does the same thing per step: make the (128, 784) input from a Float32Array,
// forward, BCE (mean) against the input, backward, Adam(lr 1e-3) step, and read the loss as a
// number (so no engine can defer work past the clock).
import { pathToFileURL } from 'node:url';
import { batchView, emit, loadImages, peakRssMb } from './common.mjs';
import { BATCH, Budget, LR, median, trainAelab } from './train-loop.mjs';

const bootMs = performance.now(); // ms from process start (performance.timeOrigin) to here
const cfg = JSON.parse(process.argv[2] ?? '{}');

function fail(msg, extra = {}) {
  emit({ ok: false, error: msg, peakRssMb: peakRssMb(), ...extra });
  process.exit(0);
}

process.on('unhandledRejection', (e) => fail(String(e?.message ?? e), { stack: e?.stack }));

/** Progress on stderr after every step: the parent kills a child that stops making progress. */
function beat(i, ms) {
  process.stderr.write(`@@BENCH_STEP ${i} ${ms.toFixed(1)}\n`);
}

// ---- aelab -------------------------------------------------------------------------------------

async function importAelab() {
  const url = pathToFileURL(`${cfg.dist}/index.js`).href;
  return import(url);
}

async function aelabSetBackend(A) {
  if (cfg.backend === 'js') {
    await A.setBackend('js');
    return;
  }
  if (typeof A.setBackend !== 'function') throw new Error('aelab has no setBackend (src/kernels/registry.ts)');
  await A.setBackend(cfg.backend, cfg.threads ? { threads: cfg.threads } : {});
}

async function trainRowAelab() {
  const t0 = performance.now();
  const images = await loadImages((cfg.warmup + cfg.steps) * BATCH, cfg.dataFile);
  const dataMs = performance.now() - t0;

  const t1 = performance.now();
  const A = await importAelab();
  const importMs = performance.now() - t1;

  const t2 = performance.now();
  try {
    await aelabSetBackend(A);
  } catch (e) {
    fail(`${cfg.backend} backend unavailable: ${e.message}`);
  }
  const backendMs = performance.now() - t2;

  const r = trainAelab(A, cfg, images, beat);
  const { buildMs, firstStepMs, firstStepEnd, ...row } = r;
  emit({
    ok: true,
    engine: 'aelab',
    ...row,
    peakRssMb: peakRssMb(),
    data: images.source,
    startup: {
      bootMs, // node start → this script running
      dataMs, // reading the batches (not part of the library's start-up)
      importMs,
      backendMs,
      buildMs,
      firstStepMs,
      // process start → end of the first training step, minus the bench's own data reading
      toFirstStepMs: firstStepEnd - dataMs,
    },
  });
}

async function gemmAelab() {
  const A = await importAelab();
  try {
    await aelabSetBackend(A);
  } catch (e) {
    fail(`${cfg.backend} backend unavailable: ${e.message}`);
  }
  const b = A.getBackend();
  const results = [];
  for (const [M, K, N] of cfg.sizes) {
    const a = b.alloc(M * K);
    const w = b.alloc(K * N);
    const c = b.alloc(M * N);
    for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
    for (let i = 0; i < w.length; i++) w[i] = Math.random() - 0.5;
    const p = { batch: 1, M, N, K, transA: false, transB: false, strideA: 0, strideB: 0 };
    const flop = 2 * M * N * K;
    // Warm up (JIT, thread pool, caches), then time chunks of calls of ≥ ~0.15 s each.
    let calls = 0;
    const w0 = performance.now();
    while (calls < 3 || performance.now() - w0 < 200) {
      b.matmul(a, w, c, p);
      calls++;
    }
    const perCall = (performance.now() - w0) / calls;
    const chunk = Math.max(1, Math.ceil(150 / perCall));
    const rates = [];
    const end = performance.now() + cfg.seconds * 1000;
    while (rates.length < 3 || (performance.now() < end && rates.length < 50)) {
      const s = performance.now();
      for (let k = 0; k < chunk; k++) b.matmul(a, w, c, p);
      rates.push((flop * chunk) / ((performance.now() - s) / 1000) / 1e9);
    }
    // Sanity: one entry of C against a float64 dot product.
    let ref = 0;
    for (let k = 0; k < K; k++) ref += a[k] * w[k * N];
    const err = Math.abs(ref - c[0]) / Math.max(1, Math.abs(ref));
    results.push({ M, K, N, gflops: median(rates), best: Math.max(...rates), chunks: rates.length, relErr: err });
    b.free(a);
    b.free(w);
    b.free(c);
  }
  emit({ ok: true, engine: 'aelab', backend: b.name, threads: b.threads ?? cfg.threads ?? 1, gemm: results, peakRssMb: peakRssMb() });
}

// ---- TensorFlow.js -----------------------------------------------------------------------------

async function trainTfjs() {
  const nSteps = cfg.warmup + cfg.steps;
  const images = await loadImages(nSteps * BATCH, cfg.dataFile);
  // Quiet the "install tfjs-node" banner: it cannot install here.
  const log = console.log;
  console.log = (...a) => (String(a[0]).includes('tfjs-node') || String(a[0]).startsWith('====') ? undefined : log(...a));
  const tf = await import('@tensorflow/tfjs-core');
  const tfl = await import('@tensorflow/tfjs-layers');
  let threads = 1;
  let version = tf.version_core;
  if (cfg.backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const { createRequire } = await import('node:module');
    const { dirname, join } = await import('node:path');
    const require = createRequire(import.meta.url);
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
  }
  const okSet = await tf.setBackend(cfg.backend);
  await tf.ready();
  if (!okSet || tf.getBackend() !== cfg.backend) fail(`TF.js backend '${cfg.backend}' did not initialise (got '${tf.getBackend()}')`);
  const notes = [];
  if (cfg.backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    notes.push(`wasm SIMD ${simd ? 'on' : 'off'}, multithreading ${mt ? 'on' : 'off (not in Node)'}`);
    threads = mt ? (await import('node:os')).availableParallelism() : 1;
  }

  const L = tfl.layers;
  const model = tfl.sequential();
  if (cfg.model === 'mlp') {
    model.add(L.dense({ units: 512, activation: 'relu', inputShape: [784] }));
    model.add(L.dense({ units: 256, activation: 'relu' }));
    model.add(L.dense({ units: 32 }));
    model.add(L.dense({ units: 256, activation: 'relu' }));
    model.add(L.dense({ units: 512, activation: 'relu' }));
    model.add(L.dense({ units: 784, activation: 'sigmoid' }));
  } else {
    // NHWC (TF.js' native layout). 'same' padding with stride 2 gives the same sizes
    // (28→14→7→14→28) and the same FLOPs as PyTorch's padding=1 / outputPadding=1.
    model.add(L.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', inputShape: [28, 28, 1] }));
    model.add(L.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
    model.add(L.flatten());
    model.add(L.dense({ units: 16 }));
    model.add(L.dense({ units: 3136, activation: 'relu' }));
    model.add(L.reshape({ targetShape: [7, 7, 64] }));
    model.add(L.conv2dTranspose({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
    model.add(L.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }));
  }
  model.compile({ optimizer: tf.train.adam(LR), loss: 'binaryCrossentropy' });
  const shape = cfg.model === 'conv' ? [BATCH, 28, 28, 1] : [BATCH, 784];

  const losses = [];
  const stepMs = [];
  let timedMs = 0;
  const budget = new Budget(cfg);
  for (let i = 0; budget.more(); i++) {
    const s = performance.now();
    const x = tf.tensor(batchView(images, i), shape);
    let l;
    try {
      l = await model.trainOnBatch(x, x);
    } catch (e) {
      const m = String(e?.message ?? e);
      const why = /Conv2DBackpropFilter|not registered/i.test(m) ? `TF.js ${cfg.backend} backend cannot train this model: ${m}` : m;
      fail(why, { engine: 'tfjs', backend: cfg.backend, model: cfg.model });
    }
    x.dispose();
    const e = performance.now();
    beat(i, e - s);
    losses.push(Array.isArray(l) ? l[0] : l);
    if (budget.record(e - s)) {
      stepMs.push(e - s);
      timedMs += e - s;
    }
  }
  emit({
    ok: true,
    engine: 'tfjs',
    version,
    backend: tf.getBackend(),
    threads,
    model: cfg.model,
    warmupSteps: budget.warmDone,
    timedSteps: stepMs.length,
    samplesPerSec: (stepMs.length * BATCH * 1000) / timedMs,
    medianStepMs: median(stepMs),
    losses,
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
    peakRssMb: peakRssMb(),
    data: images.source,
    notes,
  });
}

try {
  if (cfg.kind === 'train' && cfg.engine === 'aelab') await trainRowAelab();
  else if (cfg.kind === 'train' && cfg.engine === 'tfjs') await trainTfjs();
  else if (cfg.kind === 'gemm' && cfg.engine === 'aelab') await gemmAelab();
  else fail(`worker: unknown config ${JSON.stringify(cfg)}`);
} catch (e) {
  fail(String(e?.message ?? e), { stack: e?.stack });
}
// The wasm backend's worker threads would keep the process alive.
process.exit(0);
