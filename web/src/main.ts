/**
 * The lab page: controls, progress and the live views. Training runs in worker.ts; this thread
 * only turns its snapshots into charts (vega-embed, the CLI's Vega-Lite specs) and canvases, so it
 * stays responsive while the model trains.
 */
import { defaultConfig, defaultTrainConfig, models, optim, viz } from 'aelab/browser';
import embed, { type Result } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import type { DataChoice, FromWorker, LabKind, LossPoint, RunState, Snapshot, ToWorker } from './protocol';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`lab page: element #${id} is missing`);
  return el as T;
};

const ui = {
  engine: $<HTMLParagraphElement>('engine'),
  form: $<HTMLFormElement>('controls'),
  data: $<HTMLSelectElement>('data'),
  kind: $<HTMLSelectElement>('kind'),
  epochs: $<HTMLInputElement>('epochs'),
  batch: $<HTMLInputElement>('batch'),
  lr: $<HTMLInputElement>('lr'),
  optimizer: $<HTMLSelectElement>('optimizer'),
  seed: $<HTMLInputElement>('seed'),
  train: $<HTMLButtonElement>('train'),
  pause: $<HTMLButtonElement>('pause'),
  resume: $<HTMLButtonElement>('resume'),
  stop: $<HTMLButtonElement>('stop'),
  reset: $<HTMLButtonElement>('reset'),
  config: $<HTMLPreElement>('config'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $<HTMLParagraphElement>('progress-text'),
  runInfo: $<HTMLParagraphElement>('run-info'),
  error: $<HTMLParagraphElement>('error'),
  loss: $<HTMLDivElement>('loss'),
  recon: $<HTMLCanvasElement>('recon'),
  latent: $<HTMLDivElement>('latent'),
  latentNote: $<HTMLParagraphElement>('latent-note'),
  decoded: $<HTMLCanvasElement>('decoded'),
  decodedCaption: $<HTMLElement>('decoded-caption'),
  decodeClassLabel: $<HTMLDivElement>('decode-class-label'),
  decodeClass: $<HTMLSelectElement>('decode-class'),
};

// ---------------------------------------------------------------------------------------------
// Errors: shown in the page, never only in the console.

function showError(message: string): void {
  ui.error.textContent = message;
  ui.error.hidden = false;
}
function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}
window.addEventListener('error', (e) => showError(`lab error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`lab error: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`));

// ---------------------------------------------------------------------------------------------
// Controls, filled from the library's own lists and defaults.

const KIND_NAMES: Record<LabKind, string> = {
  ae: 'ae — deep autoencoder',
  'conv-ae': 'conv-ae — convolutional AE',
  'sparse-ae': 'sparse-ae — sparse AE',
  dae: 'dae — denoising AE',
  vae: 'vae — variational AE',
  cvae: 'cvae — conditional VAE',
  aae: 'aae — adversarial AE',
  mlp: 'mlp — MLP classifier',
  cnn: 'cnn — CNN classifier',
};
for (const k of models.MODEL_KINDS) ui.kind.add(new Option(KIND_NAMES[k] ?? k, k, k === 'vae', k === 'vae'));
for (const o of optim.OPTIMIZER_NAMES) ui.optimizer.add(new Option(o, o, o === defaultTrainConfig.optimizer, o === defaultTrainConfig.optimizer));
ui.epochs.value = String(defaultTrainConfig.epochs);
ui.batch.value = String(defaultTrainConfig.batchSize);
ui.lr.value = String(defaultTrainConfig.lr);
ui.seed.value = String(defaultTrainConfig.seed);

function showConfig(): void {
  ui.config.textContent = JSON.stringify(defaultConfig(ui.kind.value as LabKind, [1, 28, 28]), null, 1);
}
ui.kind.addEventListener('change', showConfig);
showConfig();

/** Datasets the server offers (aelab lab --data …); absent on a plain static host. */
async function listServerData(): Promise<void> {
  try {
    const res = await fetch(new URL('data/index.json', document.baseURI));
    if (!res.ok) return;
    const index = (await res.json()) as { datasets?: { name: string; kind: string; source?: string }[] };
    for (const d of index.datasets ?? []) {
      if (d.kind !== 'idx') continue;
      ui.data.add(new Option(`${d.name}${d.source ? ` (${d.source})` : ''}`, `server:${d.name}`));
    }
  } catch {
    // no server index: the embedded digits only
  }
}
void listServerData();

// ---------------------------------------------------------------------------------------------
// The worker.

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'aelab-trainer' });
const send = (m: ToWorker & { base?: string }): void => worker.postMessage(m);
worker.addEventListener('error', (e) => showError(`training worker failed: ${e.message}`));

let state: RunState = 'idle';
let engineReady = false;

function setButtons(): void {
  const busy = state === 'training' || state === 'paused' || state === 'loading' || state === 'stopping';
  ui.train.disabled = !engineReady || busy;
  ui.pause.disabled = state !== 'training';
  ui.resume.disabled = state !== 'paused';
  ui.stop.disabled = state !== 'training' && state !== 'paused';
  ui.reset.disabled = busy || state === 'idle';
  for (const el of [ui.data, ui.kind, ui.epochs, ui.batch, ui.lr, ui.optimizer, ui.seed]) el.disabled = busy;
}
setButtons();

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!ui.form.reportValidity()) return;
  clearError();
  resetViews();
  const dataValue = ui.data.value;
  const data: DataChoice = dataValue.startsWith('server:') ? { source: 'server', name: dataValue.slice(7) } : { source: 'embedded' };
  send({
    type: 'start',
    base: document.baseURI,
    data,
    kind: ui.kind.value as LabKind,
    train: {
      epochs: Number(ui.epochs.value),
      batchSize: Number(ui.batch.value),
      lr: Number(ui.lr.value),
      optimizer: ui.optimizer.value as (typeof optim.OPTIMIZER_NAMES)[number],
      seed: Number(ui.seed.value),
    },
  });
});
ui.pause.addEventListener('click', () => send({ type: 'pause' }));
ui.resume.addEventListener('click', () => send({ type: 'resume' }));
ui.stop.addEventListener('click', () => send({ type: 'stop' }));
ui.reset.addEventListener('click', () => {
  send({ type: 'reset' });
  resetViews();
  ui.progress.value = 0;
  ui.progressText.textContent = 'idle';
  ui.runInfo.textContent = '';
});

// ---------------------------------------------------------------------------------------------
// Views.

let lossRows: LossPoint[] = [];
let lossKeys = '';
let lossView: Result | null = null;
let latentView: Result | null = null;
let latentLabels = '';
let classNames: string[] = [];
let latentDim: number | null = null;
let pending: Snapshot | null = null;
let lastLatent: Snapshot['latent'] = null;

function resetViews(): void {
  lossRows = [];
  lossKeys = '';
  lossView?.finalize();
  lossView = null;
  latentView?.finalize();
  latentView = null;
  latentLabels = '';
  lastLatent = null;
  ui.loss.replaceChildren();
  ui.latent.replaceChildren();
  const g = ui.recon.getContext('2d');
  g?.clearRect(0, 0, ui.recon.width, ui.recon.height);
  const d = ui.decoded.getContext('2d');
  d?.clearRect(0, 0, ui.decoded.width, ui.decoded.height);
}

// The lab's Content-Security-Policy forbids eval: Vega's expressions run in its interpreter.
const EMBED_OPTS = { actions: false, renderer: 'canvas' as const, ast: true, expr: expressionInterpreter };

/** The spec's inline values become a named data set, so later updates replace only the data. */
function namedData<T extends object>(spec: T, name: string): T {
  const s = spec as { data?: { values?: unknown } };
  if (s.data && 'values' in s.data) s.data = { name, values: s.data.values } as typeof s.data;
  return spec;
}

async function drawLoss(): Promise<void> {
  const rows: viz.LossRow[] = lossRows.map((r) => ({ step: r.step, split: r.split, metric: r.metric, value: r.value }));
  const keys = [...new Set(rows.map((r) => `${r.split}/${r.metric}`))].sort().join(',');
  const spec = namedData(viz.lossCurvesSpec(rows, { x: 'step', width: 420, height: 150 }), 'rows');
  if (lossView && keys === lossKeys) {
    const values = (spec as unknown as { data: { values: unknown[] } }).data.values;
    await lossView.view.data('rows', values).runAsync();
    return;
  }
  lossKeys = keys;
  lossView?.finalize();
  lossView = await embed(ui.loss, spec, EMBED_OPTS);
}

function drawRecon(r: NonNullable<Snapshot['recon']>): void {
  const { n, h, w } = r;
  if (ui.recon.width !== n * w || ui.recon.height !== 2 * h) {
    ui.recon.width = n * w;
    ui.recon.height = 2 * h;
  }
  const g = ui.recon.getContext('2d');
  if (!g) return;
  const img = g.createImageData(n * w, 2 * h);
  for (let row = 0; row < 2; row++) {
    const src = row === 0 ? r.inputs : r.outputs;
    for (let k = 0; k < n; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const v = Math.round(255 * Math.min(1, Math.max(0, src[k * h * w + y * w + x]!)));
          const o = 4 * ((row * h + y) * n * w + k * w + x);
          img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
          img.data[o + 3] = 255;
        }
  }
  g.putImageData(img, 0, 0);
}

function drawDecoded(pixels: Float32Array, h: number, w: number): void {
  ui.decoded.width = w;
  ui.decoded.height = h;
  const g = ui.decoded.getContext('2d');
  if (!g) return;
  const img = g.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  g.putImageData(img, 0, 0);
}

async function drawLatent(l: NonNullable<Snapshot['latent']>): Promise<void> {
  lastLatent = l;
  const label = (k: number) => classNames[k] ?? String(k);
  const points = Array.from(l.x, (x, i) => ({ x, y: l.y[i]!, label: label(l.labels[i]!) }));
  const labels = [...new Set(points.map((p) => p.label))].sort().join(',');
  const spec = namedData(
    viz.latentScatterSpec(points, {
      width: 360,
      height: 300,
      labelOrder: classNames,
      xTitle: l.dim === 2 ? 'z₁' : 'PC 1',
      yTitle: l.dim === 2 ? 'z₂' : 'PC 2',
    }),
    'codes',
  );
  if (latentView && labels === latentLabels) {
    await latentView.view.data('codes', (spec as unknown as { data: { values: unknown[] } }).data.values).runAsync();
    return;
  }
  latentLabels = labels;
  latentView?.finalize();
  latentView = await embed(ui.latent, spec, EMBED_OPTS);
  attachHover(latentView);
}

// Hover decoding: one request in flight; the newest point wins.
let decodeId = 0;
let decodeBusy = false;
let decodeNext: [number, number] | null = null;

function requestDecode(z: [number, number]): void {
  if (decodeBusy) {
    decodeNext = z;
    return;
  }
  decodeBusy = true;
  send({ type: 'decode', z, label: Number(ui.decodeClass.value || 0), id: ++decodeId });
  ui.decodedCaption.textContent = `decoded at z = (${z[0].toFixed(2)}, ${z[1].toFixed(2)})`;
}

function attachHover(result: Result): void {
  const view = result.view;
  const canvas = ui.latent.querySelector('canvas');
  if (!canvas) return;
  canvas.addEventListener('mousemove', (ev: MouseEvent) => {
    if (latentDim !== 2) return;
    const rect = canvas.getBoundingClientRect();
    const [ox, oy] = view.origin();
    // canvas pixels → the plot's coordinates → data space through the chart's own scales
    const px = ev.clientX - rect.left - ox;
    const py = ev.clientY - rect.top - oy;
    if (px < 0 || py < 0 || px > view.width() || py > view.height()) return;
    const sx = view.scale('x') as ((v: number) => number) & { invert(p: number): number };
    const sy = view.scale('y') as ((v: number) => number) & { invert(p: number): number };
    requestDecode([sx.invert(px), sy.invert(py)]);
  });
}

let drawing = false;
async function drawPending(): Promise<void> {
  if (drawing) return;
  drawing = true;
  try {
    while (pending) {
      const s = pending;
      pending = null;
      if (s.recon) drawRecon(s.recon);
      await drawLoss();
      if (s.latent) await drawLatent(s.latent);
    }
  } catch (e) {
    showError(`drawing the charts failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    drawing = false;
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

worker.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'ready':
      engineReady = true;
      ui.engine.textContent =
        `engine: ${m.backend}, ${m.threads} thread${m.threads === 1 ? '' : 's'}` +
        (m.isolated ? '' : ' — this page is not cross-origin isolated, so the engine runs on one thread (serve it with `aelab lab`)') +
        (m.note ? ` (${m.note})` : '');
      ui.engine.dataset.threads = String(m.threads);
      setButtons();
      return;
    case 'state':
      state = m.state;
      document.body.dataset.state = m.state;
      if (m.message) ui.progressText.textContent = m.message;
      setButtons();
      return;
    case 'run':
      classNames = m.classNames;
      latentDim = m.latentDim;
      ui.runInfo.textContent = `${m.kind} on ${m.dataSource}`;
      ui.latentNote.textContent =
        m.latentDim === null
          ? 'a classifier has no latent space'
          : m.latentDim === 2
            ? `${Math.min(2000, m.testSize)} test codes coloured by label; hover to decode`
            : `${Math.min(2000, m.testSize)} test codes, top-2 PCA projection of the ${m.latentDim}-D codes`;
      ui.decodeClassLabel.hidden = !(m.needsLabels && m.latentDim === 2);
      ui.decodeClass.replaceChildren(...m.classNames.map((c, i) => new Option(c, String(i))));
      return;
    case 'progress': {
      const total = m.epochs * m.stepsPerEpoch;
      ui.progress.value = total ? m.step / total : 0;
      ui.progressText.textContent = `epoch ${Math.min(m.epoch + 1, m.epochs)}/${m.epochs} · step ${m.step}/${total} · ${Math.round(m.samplesPerSec).toLocaleString('en')} samples/s · ETA ${fmtTime(m.etaSec)}`;
      return;
    }
    case 'snapshot':
      lossRows.push(...m.loss);
      pending = { ...m, latent: m.latent ?? pending?.latent ?? null, recon: m.recon ?? pending?.recon ?? null };
      requestAnimationFrame(() => void drawPending());
      return;
    case 'decoded':
      drawDecoded(m.pixels, m.h, m.w);
      decodeBusy = false;
      if (decodeNext) {
        const z = decodeNext;
        decodeNext = null;
        requestDecode(z);
      }
      return;
    case 'error':
      showError(m.message);
      decodeBusy = false;
      return;
  }
});

// for the end-to-end test and the curious: the last latent codes drawn
(window as unknown as { aelabLab: unknown }).aelabLab = { get latent() { return lastLatent; }, get lossRows() { return lossRows; }, get latentView() { return latentView; }, get latentDim() { return latentDim; } };
