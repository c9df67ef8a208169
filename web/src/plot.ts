/**
 * Live charts on a plain canvas, for the views redrawn while a model trains: Vega's dataflow (run
 * by its interpreter, since the lab's Content-Security-Policy forbids eval) spends 50–400 ms per
 * update of 2,000 points when the training threads hold both cores, and the page must never block
 * for 50 ms. These draw in a few milliseconds. Colours and layout follow the Vega-Lite specs of
 * src/viz/specs.ts, which draw the same charts once training stops.
 */

/** Vega's category10, the palette of the specs' label colours (train blue, validation orange). */
export const CATEGORY10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LinearScale {
  (v: number): number;
  invert(p: number): number;
  ticks: number[];
}

/** "Nice" ticks (1, 2, 5 × 10^k steps) over [lo, hi]. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Maps [d0, d1] onto [r0, r1] (a padded domain so points at the edge stay visible). */
export function linearScale(d0: number, d1: number, r0: number, r1: number, tickCount = 5): LinearScale {
  if (!(d1 > d0)) {
    d0 -= 0.5;
    d1 += 0.5;
  }
  const f = ((v: number) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0)) as LinearScale;
  f.invert = (p: number) => d0 + ((p - r0) / (r1 - r0)) * (d1 - d0);
  f.ticks = niceTicks(d0, d1, tickCount);
  return f;
}

function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

/** A canvas sized for the device's pixel ratio; returns its 2-D context in CSS pixels. */
function prepare(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const g = canvas.getContext('2d');
  if (!g) return null;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = '10px system-ui, sans-serif';
  return g;
}

interface Frame {
  x: LinearScale;
  y: LinearScale;
}

/** A chart's frame and its plot box in CSS pixels of the canvas. */
export interface PlotFrame extends Frame {
  box: { left: number; top: number; w: number; h: number };
}

/** Axes with ticks and grid lines inside the plot box [left, top, w, h]. */
function axes(
  g: CanvasRenderingContext2D,
  box: { left: number; top: number; w: number; h: number },
  f: Frame,
  xTitle: string,
  yTitle: string,
): void {
  g.strokeStyle = '#ddd';
  g.fillStyle = '#333';
  g.lineWidth = 1;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of f.x.ticks) {
    const px = Math.round(f.x(t)) + 0.5;
    g.beginPath();
    g.moveTo(px, box.top);
    g.lineTo(px, box.top + box.h);
    g.stroke();
    g.fillText(fmt(t), px, box.top + box.h + 3);
  }
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of f.y.ticks) {
    const py = Math.round(f.y(t)) + 0.5;
    g.beginPath();
    g.moveTo(box.left, py);
    g.lineTo(box.left + box.w, py);
    g.stroke();
    g.fillText(fmt(t), box.left - 4, py);
  }
  g.strokeStyle = '#888';
  g.strokeRect(box.left + 0.5, box.top + 0.5, box.w, box.h);
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillText(xTitle, box.left + box.w / 2, box.top + box.h + 28);
  g.save();
  // at the canvas's left edge, clear of the tick labels
  g.translate(10, box.top + box.h / 2);
  g.rotate(-Math.PI / 2);
  g.textBaseline = 'middle';
  g.fillText(yTitle, 0, 0);
  g.restore();
}

function legend(g: CanvasRenderingContext2D, x: number, y: number, title: string, items: { label: string; color: string }[]): void {
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  g.fillStyle = '#333';
  g.font = 'bold 10px system-ui, sans-serif';
  g.fillText(title, x, y);
  g.font = '10px system-ui, sans-serif';
  items.forEach((it, i) => {
    g.fillStyle = it.color;
    g.beginPath();
    g.arc(x + 4, y + 14 + i * 13, 4, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = '#333';
    g.fillText(it.label, x + 12, y + 14 + i * 13);
  });
}

export interface ScatterData {
  x: Float32Array;
  y: Float32Array;
  labels: Int32Array;
}

/**
 * The latent scatter: one dot per code, coloured by label. Returns the data↔pixel scales, for
 * turning the mouse position into a latent point.
 */
export function drawScatter(
  canvas: HTMLCanvasElement,
  d: ScatterData,
  opts: { width: number; height: number; classNames: readonly string[]; xTitle: string; yTitle: string; marker?: [number, number] | null },
): PlotFrame {
  const box = { left: 48, top: 8, w: opts.width - 48 - 90, h: opts.height - 8 - 36 };
  const [x0, x1] = extent(d.x);
  const [y0, y1] = extent(d.y);
  const padX = (x1 - x0) * 0.04 || 0.5;
  const padY = (y1 - y0) * 0.04 || 0.5;
  const f: PlotFrame = {
    x: linearScale(x0 - padX, x1 + padX, box.left, box.left + box.w),
    y: linearScale(y0 - padY, y1 + padY, box.top + box.h, box.top),
    box,
  };
  const g = prepare(canvas, opts.width, opts.height);
  if (!g) return f;
  axes(g, box, f, opts.xTitle, opts.yTitle);
  const palette = opts.classNames.length > 10 ? null : CATEGORY10;
  const colour = (k: number) => (palette ? palette[k % 10]! : `hsl(${(k * 360) / Math.max(opts.classNames.length, 1)}, 65%, 45%)`);
  g.save();
  g.beginPath();
  g.rect(box.left, box.top, box.w, box.h);
  g.clip();
  g.globalAlpha = 0.85;
  // one path per label: 10 fills instead of 2,000
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < d.x.length; i++) {
    const k = d.labels[i]!;
    let list = byLabel.get(k);
    if (!list) byLabel.set(k, (list = []));
    list.push(i);
  }
  for (const [k, list] of byLabel) {
    g.fillStyle = colour(k);
    g.beginPath();
    for (const i of list) {
      const px = f.x(d.x[i]!);
      const py = f.y(d.y[i]!);
      g.moveTo(px + 1.8, py);
      g.arc(px, py, 1.8, 0, 2 * Math.PI);
    }
    g.fill();
  }
  g.globalAlpha = 1;
  if (opts.marker) {
    const [mx, my] = [f.x(opts.marker[0]), f.y(opts.marker[1])];
    g.strokeStyle = '#000';
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(mx - 6, my);
    g.lineTo(mx + 6, my);
    g.moveTo(mx, my - 6);
    g.lineTo(mx, my + 6);
    g.stroke();
  }
  g.restore();
  const labels = [...byLabel.keys()].sort((a, b) => a - b);
  legend(
    g,
    box.left + box.w + 12,
    box.top + 6,
    'label',
    labels.map((k) => ({ label: opts.classNames[k] ?? String(k), color: colour(k) })),
  );
  return f;
}

export interface CurvePoint {
  step: number;
  split: 'train' | 'validation';
  metric: string;
  value: number;
}

const SPLIT_COLOURS: Record<string, string> = { train: CATEGORY10[0]!, validation: CATEGORY10[1]! };

/** Loss curves: one panel per metric (loss first), train and validation lines. */
export function drawCurves(
  canvas: HTMLCanvasElement,
  rows: readonly CurvePoint[],
  opts: { width: number; panelHeight: number; titles?: Record<string, string> },
): void {
  const metrics = [...new Set(rows.map((r) => r.metric))].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
  const panelH = opts.panelHeight;
  const height = Math.max(1, metrics.length) * (panelH + 44) + 4;
  const g = prepare(canvas, opts.width, height);
  if (!g) return;
  const [s0, s1] = extent(rows.map((r) => r.step));
  metrics.forEach((m, i) => {
    const box = { left: 64, top: 6 + i * (panelH + 44), w: opts.width - 64 - 90, h: panelH };
    const mine = rows.filter((r) => r.metric === m);
    const [v0, v1] = extent(mine.map((r) => r.value));
    const pad = (v1 - v0) * 0.05 || Math.abs(v0) * 0.05 || 0.5;
    const f: Frame = {
      x: linearScale(Math.min(0, s0), s1, box.left, box.left + box.w),
      y: linearScale(v0 - pad, v1 + pad, box.top + box.h, box.top, 4),
    };
    axes(g, box, f, 'step', opts.titles?.[m] ?? m);
    for (const split of ['train', 'validation'] as const) {
      const pts = mine.filter((r) => r.split === split).sort((a, b) => a.step - b.step);
      if (!pts.length) continue;
      g.strokeStyle = g.fillStyle = SPLIT_COLOURS[split]!;
      g.lineWidth = 2;
      g.beginPath();
      pts.forEach((p, j) => (j ? g.lineTo(f.x(p.step), f.y(p.value)) : g.moveTo(f.x(p.step), f.y(p.value))));
      g.stroke();
      if (pts.length <= 40 || split === 'validation')
        for (const p of pts) {
          g.beginPath();
          g.arc(f.x(p.step), f.y(p.value), 2.5, 0, 2 * Math.PI);
          g.fill();
        }
    }
    if (i === 0)
      legend(
        g,
        box.left + box.w + 12,
        box.top + 6,
        'split',
        ['train', 'validation'].map((s) => ({ label: s, color: SPLIT_COLOURS[s]! })),
      );
  });
}
