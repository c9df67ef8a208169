/**
 * The lab page: controls, progress and the live views. Training runs in worker.ts; this thread
 * only turns its snapshots into charts (vega-embed, the CLI's Vega-Lite specs) and canvases, so it
 * stays responsive while the model trains.
 */
import { defaultConfig, defaultTrainConfig, models, optim, viz } from 'aelab/browser';
import { drawCurves, drawScatter } from './plot';
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
  loss: $<HTMLCanvasElement>('loss'),
  lossFigure: $<HTMLDivElement>('loss-figure'),
  latentFigure: $<HTMLDivElement>('latent-figure'),
  recon: $<HTMLCanvasElement>('recon'),
  latent: $<HTMLCanvasElement>('latent'),
  latentNote: $<HTMLParagraphElement>('latent-note'),
  decoded: $<HTMLCanvasElement>('decoded'),
  decodedBox: $<HTMLElement>('decoded-box'),
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
window.addEventListener('unhandledrejection', (e) =>
  showError(`lab error: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`),
);

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
  pca: 'pca — principal components (the linear baseline)',
};
for (const k of [...models.MODEL_KINDS, 'pca' as const]) ui.kind.add(new Option(KIND_NAMES[k] ?? k, k, k === 'vae', k === 'vae'));
for (const o of optim.OPTIMIZER_NAMES)
  ui.optimizer.add(new Option(o, o, o === defaultTrainConfig.optimizer, o === defaultTrainConfig.optimizer));
ui.epochs.value = String(defaultTrainConfig.epochs);
ui.batch.value = String(defaultTrainConfig.batchSize);
ui.lr.value = String(defaultTrainConfig.lr);
ui.seed.value = String(defaultTrainConfig.seed);

function showConfig(): void {
  const kind = ui.kind.value as LabKind;
  const cfg =
    kind === 'pca'
      ? { kind: 'pca', latent: 32, note: 'fitted in closed form; epochs, batch, lr and optimizer do not apply' }
      : defaultConfig(kind, [1, 28, 28]);
  ui.config.textContent = JSON.stringify(cfg, null, 1);
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
// Views. While a model trains, the live views are drawn on plain canvases (plot.ts says why);
// when a run pauses or ends, the Figures section draws the CLI's Vega-Lite charts of it.

let lossRows: LossPoint[] = [];
let classNames: string[] = [];
let latentDim: number | null = null;
let pending: Snapshot | null = null;
let lastLatent: Snapshot['latent'] = null;
let latentFrame: ReturnType<typeof drawScatter> | null = null;
let marker: [number, number] | null = null;
let figureViews: Result[] = [];

const LOSS_WIDTH = 520;
const LATENT_SIZE = { width: 460, height: 360 };

/** A chart's width: its preferred one, or its section's when that is narrower (a phone). */
function fitWidth(el: HTMLElement, preferred: number): number {
  const avail = el.parentElement?.clientWidth ?? preferred;
  return Math.max(260, Math.min(preferred, avail - 4));
}

function clearCanvas(c: HTMLCanvasElement): void {
  c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
}

function clearFigures(): void {
  for (const v of figureViews) v.finalize();
  figureViews = [];
  ui.lossFigure.replaceChildren();
  ui.latentFigure.replaceChildren();
}

function resetViews(): void {
  lossRows = [];
  lastLatent = null;
  latentFrame = null;
  marker = null;
  pending = null;
  for (const c of [ui.loss, ui.recon, ui.latent, ui.decoded]) clearCanvas(c);
  ui.decodedCaption.textContent = 'hover the plot (2-D latents) to decode a point';
  clearFigures();
}

// The lab's Content-Security-Policy forbids eval: Vega's expressions run in its interpreter.
const EMBED_OPTS = { actions: false, renderer: 'svg' as const, ast: true, expr: expressionInterpreter };

/** The CLI's loss and latent charts of the run so far (not while training: Vega takes its time). */
async function drawFigures(): Promise<void> {
  clearFigures();
  const figures: Promise<Result>[] = [];
  if (lossRows.length) {
    const rows: viz.LossRow[] = lossRows.map((r) => ({ step: r.step, split: r.split, metric: r.metric, value: r.value }));
    figures.push(
      embed(
        ui.lossFigure,
        viz.lossCurvesSpec(rows, { x: 'step', width: 420, height: 150, metricTitles: { ...models.PART_LABELS } }),
        EMBED_OPTS,
      ),
    );
  }
  const l = lastLatent;
  if (l) {
    const points = Array.from(l.x, (x, i) => ({ x, y: l.y[i]!, label: classNames[l.labels[i]!] ?? String(l.labels[i]) }));
    const pcs = l.dim > 2;
    figures.push(
      embed(
        ui.latentFigure,
        viz.latentScatterSpec(points, {
          width: 360,
          height: 300,
          labelOrder: classNames,
          xTitle: pcs ? 'PC 1' : 'z₁',
          yTitle: pcs ? 'PC 2' : 'z₂',
        }),
        EMBED_OPTS,
      ),
    );
  }
  figureViews = await Promise.all(figures);
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

function drawLatent(): void {
  const l = lastLatent;
  if (!l) return;
  const pcs = l.dim > 2;
  const width = fitWidth(ui.latent, LATENT_SIZE.width);
  latentFrame = drawScatter(ui.latent, l, {
    width,
    height: Math.round((width * LATENT_SIZE.height) / LATENT_SIZE.width),
    classNames,
    xTitle: pcs ? 'PC 1' : 'z₁',
    yTitle: pcs ? 'PC 2' : 'z₂',
    marker,
  });
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

ui.latent.addEventListener('mousemove', (ev: MouseEvent) => {
  if (latentDim !== 2 || !latentFrame) return;
  const rect = ui.latent.getBoundingClientRect();
  const px = ev.clientX - rect.left;
  const py = ev.clientY - rect.top;
  const { box } = latentFrame;
  if (px < box.left || px > box.left + box.w || py < box.top || py > box.top + box.h) return;
  const z: [number, number] = [latentFrame.x.invert(px), latentFrame.y.invert(py)];
  marker = z;
  drawLatent();
  requestDecode(z);
});

/**
 * Draws the newest snapshot, one view per animation frame, so that each task stays short even
 * when the training threads hold every core and this thread gets only slices of one.
 */
let drawing = false;
function drawPending(): void {
  if (drawing) return;
  const s = pending;
  pending = null;
  if (!s) return;
  drawing = true;
  const jobs: (() => void)[] = [];
  if (s.recon) jobs.push(() => drawRecon(s.recon!));
  jobs.push(() =>
    drawCurves(ui.loss, lossRows, { width: fitWidth(ui.loss, LOSS_WIDTH), panelHeight: 90, titles: { ...models.PART_LABELS } }),
  );
  if (s.latent) jobs.push(drawLatent);
  const next = (): void => {
    const job = jobs.shift();
    if (!job) {
      drawing = false;
      if (pending) requestAnimationFrame(drawPending);
      return;
    }
    try {
      job();
    } catch (e) {
      showError(`drawing the charts failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    requestAnimationFrame(next);
  };
  next();
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

type Progress = Extract<FromWorker, { type: 'progress' }>;
let progressShown: Progress | null = null;
/** The newest progress, written to the page once per frame (the worker reports every step). */
function showProgress(): void {
  const m = progressShown;
  progressShown = null;
  if (!m) return;
  const total = m.epochs * m.stepsPerEpoch;
  ui.progress.value = total ? m.step / total : 0;
  ui.progressText.textContent = `epoch ${Math.min(m.epoch + 1, m.epochs)}/${m.epochs} · step ${m.step}/${total} · ${Math.round(m.samplesPerSec).toLocaleString('en')} samples/s · ETA ${fmtTime(m.etaSec)}`;
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
      document.body.dataset.stateAt = String(performance.now());
      if (m.state === 'paused' || m.state === 'done')
        // a task of its own after the last snapshot's frame: Vega compiles and lays out for a while
        requestAnimationFrame(() => {
          drawPending();
          setTimeout(
            () =>
              void drawFigures().catch((e: unknown) =>
                showError(`drawing the figures failed: ${e instanceof Error ? e.message : String(e)}`),
              ),
            0,
          );
        });
      if (m.message) {
        progressShown = null;
        ui.progressText.textContent = m.message;
      }
      setButtons();
      return;
    case 'run':
      classNames = m.classNames;
      latentDim = m.latentDim;
      ui.runInfo.textContent = `${m.kind} on ${m.dataSource}: ${m.trainSize} train, ${m.valSize} validation, ${m.testSize} test images`;
      ui.latentNote.textContent =
        m.latentDim === null
          ? 'a classifier has no latent space'
          : m.kind === 'pca'
            ? `${Math.min(2000, m.testSize)} test images on the first two of ${m.latentDim} principal components`
            : m.latentDim === 2
              ? `${Math.min(2000, m.testSize)} test codes coloured by label; hover to decode`
              : `${Math.min(2000, m.testSize)} test codes, top-2 PCA projection of the ${m.latentDim}-D codes`;
      ui.decodeClassLabel.hidden = !(m.needsLabels && m.latentDim === 2);
      ui.decodedBox.hidden = m.latentDim !== 2;
      ui.decodeClass.replaceChildren(...m.classNames.map((c, i) => new Option(c, String(i))));
      return;
    case 'progress':
      if (progressShown === null) requestAnimationFrame(showProgress);
      progressShown = m;
      return;
    case 'snapshot':
      lossRows.push(...m.loss);
      // the data is current at once (the figures read it); only the drawing waits for a frame
      if (m.latent) lastLatent = m.latent;
      pending = { ...m, latent: m.latent ?? pending?.latent ?? null, recon: m.recon ?? pending?.recon ?? null };
      requestAnimationFrame(drawPending);
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
(window as unknown as { aelabLab: unknown }).aelabLab = {
  get latent() {
    return lastLatent;
  },
  get lossRows() {
    return lossRows;
  },
  get latentDim() {
    return latentDim;
  },
};
