/**
 * Chart specs as Vega-Lite JSON. One function per chart; the same spec renders to PNG/SVG in Node
 * (render.ts) and live in the browser lab (vega-embed). This module is pure data in, JSON out: no
 * Node or engine imports, so the browser bundle can use it as is.
 *
 * Data is embedded in the spec (`data.values`), so a spec saved as .json is self-contained.
 * Non-finite numbers are dropped (a diverged run's NaN loss would otherwise break the scales).
 */

import type { TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface ChartOptions {
  title?: string;
  /** Smaller text under the title, one string per line (a caption: what the numbers mean). */
  subtitle?: string | string[];
  /** Plot area size in CSS pixels (axes and legend come on top). */
  width?: number;
  height?: number;
}

interface AxisOptions {
  xTitle?: string;
  yTitle?: string;
  /** Logarithmic y axis; values ≤ 0 are dropped since log scales cannot show them. */
  logY?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracy. */
  yDomain?: [number, number];
}

const DEFAULT_W = 480;
const DEFAULT_H = 300;

// Splits keep the same colour in every chart: train blue, validation orange, test green
// (category10's first three), others after them in order of appearance.
const SPLIT_ORDER = ['train', 'validation', 'test'];
const CATEGORY10 = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

function base(opts: ChartOptions, square = false): Record<string, unknown> {
  const s: Record<string, unknown> = {
    $schema: VEGA_LITE_SCHEMA,
    width: opts.width ?? (square ? 320 : DEFAULT_W),
    height: opts.height ?? (square ? 320 : DEFAULT_H),
    background: 'white',
    padding: 8,
    config: {
      view: { stroke: '#ddd' },
      title: { fontSize: 15, anchor: 'start', offset: 10 },
      // labelFlush would shift the end labels inwards, so "0.0" sat visibly right of its tick
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelFlush: false },
      legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 320 },
    },
  };
  if (opts.subtitle) s.title = { text: opts.title ?? '', subtitle: opts.subtitle };
  else if (opts.title) s.title = opts.title;
  return s;
}

/** Splits text into lines of at most `width` characters at spaces (a longer word gets a line of its own). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Orders category names: known ones first in the given order, the rest as first seen. */
function orderedDomain(values: Iterable<string>, first: readonly string[] = []): string[] {
  const seen = new Set<string>();
  for (const v of values) seen.add(v);
  const out = first.filter((f) => seen.has(f));
  for (const v of seen) if (!out.includes(v)) out.push(v);
  return out;
}

function colourRange(n: number): string[] {
  return Array.from({ length: n }, (_, i) => CATEGORY10[i % CATEGORY10.length]!);
}

/**
 * The x channel: integer data (epochs, component counts) gets whole-number ticks, so two epochs
 * do not show a 1.0, 1.1, …, 2.0 axis.
 */
function xEncoding(title: string, xs: Iterable<number>): Record<string, unknown> {
  let integers = true;
  for (const x of xs) if (!Number.isInteger(x)) integers = false;
  const enc: Record<string, unknown> = { field: 'x', type: 'quantitative', title, scale: { zero: false } };
  if (integers) enc.axis = { tickMinStep: 1, format: 'd' };
  return enc;
}

function yScale(opts: AxisOptions): Record<string, unknown> {
  const s: Record<string, unknown> = { zero: false };
  if (opts.logY) s.type = 'log';
  if (opts.yDomain) s.domain = opts.yDomain;
  return s;
}

// ---------------------------------------------------------------------------------------------

export interface LossRow {
  epoch?: number;
  step?: number;
  /** 'train', 'validation', 'test' or any other series name. */
  split: string;
  value: number;
  /** Metric name ('loss', 'accuracy', ...): several metrics give one panel each. */
  metric?: string;
}

export interface LossCurvesOptions extends ChartOptions, AxisOptions {
  /** Which x to plot; default 'epoch' when every row has one, else 'step'. */
  x?: 'epoch' | 'step';
  /** Draw a dot at each point (default: when a series has at most 40 points). */
  points?: boolean;
  /** y-axis titles of the metric panels, by metric name (default: the name). */
  metricTitles?: Record<string, string>;
}

/**
 * Training curves: one line per split, coloured consistently (train blue, validation orange).
 * Rows with several `metric` values give one panel per metric, each with its own y scale.
 */
export function lossCurvesSpec(rows: readonly LossRow[], opts: LossCurvesOptions = {}): ChartSpec {
  const xField = opts.x ?? (rows.every((r) => r.epoch !== undefined) ? 'epoch' : 'step');
  const values: { x: number; split: string; value: number; metric: string }[] = [];
  for (const r of rows) {
    const x = r[xField];
    if (x === undefined || !Number.isFinite(x) || !Number.isFinite(r.value)) continue;
    if (opts.logY && r.value <= 0) continue;
    values.push({ x, split: String(r.split), value: r.value, metric: r.metric ?? 'loss' });
  }
  const splits = orderedDomain(
    values.map((v) => v.split),
    SPLIT_ORDER,
  );
  const metrics = orderedDomain(values.map((v) => v.metric));
  const perSeries = new Map<string, number>();
  for (const v of values) {
    const k = `${v.split}\u0000${v.metric}`;
    perSeries.set(k, (perSeries.get(k) ?? 0) + 1);
  }
  const showPoints = opts.points ?? Math.max(0, ...perSeries.values()) <= 40;
  const xTitle = opts.xTitle ?? xField;
  const yTitle = opts.yTitle ?? (metrics.length === 1 ? metrics[0]! : 'value');
  const panel = (title: string) => ({
    mark: { type: 'line', point: showPoints ? { size: 25 } : false, strokeWidth: 2 },
    encoding: {
      x: xEncoding(xTitle, values.map((v) => v.x)),
      y: { field: 'value', type: 'quantitative', title, scale: yScale(opts) },
      color: {
        field: 'split',
        type: 'nominal',
        title: 'split',
        scale: { domain: splits, range: colourRange(splits.length) },
      },
      order: { field: 'x', type: 'quantitative' },
    },
  });
  const spec = base(opts);
  spec.data = { values };
  if (metrics.length > 1) {
    // One panel per metric, stacked, each titled by its metric and with its own y scale; the
    // split colours (and legend) are shared.
    const { width, height, ...rest } = spec;
    return {
      ...rest,
      vconcat: metrics.map((m) => ({
        width,
        height: Math.round((height as number) * 0.7),
        transform: [{ filter: { field: 'metric', equal: m } }],
        ...panel(opts.metricTitles?.[m] ?? m),
      })),
      resolve: { scale: { y: 'independent' } },
    } as unknown as ChartSpec;
  }
  const inner = panel(yTitle);
  return { ...spec, ...inner } as unknown as ChartSpec;
}

// ---------------------------------------------------------------------------------------------

export interface LatentPoint {
  x: number;
  y: number;
  label: string | number;
}

export interface LatentScatterOptions extends ChartOptions {
  xTitle?: string;
  yTitle?: string;
  /** Legend title (default 'label'). */
  labelTitle?: string;
  /** Legend (and colour) order of the labels, e.g. a dataset's class names in label order. */
  labelOrder?: readonly string[];
  /** Point area in square pixels (default 10). */
  size?: number;
  /** Point opacity (default 0.85: opaque enough to read colours, dense clusters still show). */
  opacity?: number;
  /**
   * Reference points drawn in light grey underneath, e.g. draws from an adversarial
   * autoencoder's prior, to compare the codes with the distribution they should match.
   */
  reference?: readonly { x: number; y: number }[];
  /** What the reference points are, shown in the subtitle (default 'reference'). */
  referenceLabel?: string;
}

/**
 * A 2-D latent space, one colour per class label (10-colour categorical palette; 20 beyond 10
 * labels). Numeric labels sort numerically in the legend.
 */
export function latentScatterSpec(
  points: readonly LatentPoint[],
  opts: LatentScatterOptions = {},
): ChartSpec {
  const values = points
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .map((p) => ({ x: p.x, y: p.y, label: String(p.label) }));
  let labels = [...new Set(values.map((v) => v.label))];
  const numeric = points.length > 0 && points.every((p) => typeof p.label === 'number');
  labels.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  if (opts.labelOrder) labels = orderedDomain(labels, opts.labelOrder);
  const spec = base(opts, true);
  const x = { field: 'x', type: 'quantitative', title: opts.xTitle ?? 'z₁', scale: { zero: false } };
  const y = { field: 'y', type: 'quantitative', title: opts.yTitle ?? 'z₂', scale: { zero: false } };
  const codes = {
    data: { values },
    mark: {
      type: 'circle',
      size: opts.size ?? 10,
      opacity: opts.opacity ?? 0.85,
      stroke: null,
    },
    encoding: {
      x,
      y,
      color: {
        field: 'label',
        type: 'nominal',
        title: opts.labelTitle ?? 'label',
        scale: { domain: labels, scheme: labels.length > 10 ? 'category20' : 'category10' },
        legend: { symbolOpacity: 1, symbolSize: 60 },
      },
    },
  };
  const ref = (opts.reference ?? []).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ref.length === 0) return { ...spec, ...codes } as unknown as ChartSpec;
  const grey = `grey: ${opts.referenceLabel ?? 'reference'}`;
  return {
    ...spec,
    title: { text: opts.title ?? '', subtitle: opts.subtitle ? [...[opts.subtitle].flat(), grey] : grey },
    layer: [
      {
        data: { values: ref.map((p) => ({ x: p.x, y: p.y })) },
        mark: { type: 'circle', size: opts.size ?? 10, opacity: 0.35, color: '#9a9a9a', stroke: null },
        encoding: { x, y },
      },
      codes,
    ],
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------------------------------------

export interface HistogramOptions extends ChartOptions {
  xTitle?: string;
  /** Number of equal-width bins over the range of all groups (default 40). */
  bins?: number;
  /**
   * y axis: 'count' (default), 'fraction' (count / group size) or 'density' (fraction / bin
   * width). Fraction and density compare groups of very different sizes, e.g. 9,000 normal vs
   * 1,000 anomalous reconstruction errors.
   */
  normalize?: 'count' | 'fraction' | 'density';
  /** A vertical line, e.g. the anomaly threshold, with its label. */
  threshold?: { value: number; label?: string };
  /** Fixed [min, max] range to bin over (values outside are dropped). */
  domain?: [number, number];
}

/**
 * Overlaid histograms, one per group, sharing one set of bins. Bins are computed here (not by
 * Vega) so every group uses identical edges and the spec stays small for large inputs.
 */
export function histogramSpec(
  groups: Record<string, ArrayLike<number>>,
  opts: HistogramOptions = {},
): ChartSpec {
  const nb = opts.bins ?? 40;
  if (!Number.isSafeInteger(nb) || nb < 1) {
    throw new Error(`histogramSpec: bins must be a positive integer, got ${nb}`);
  }
  const names = Object.keys(groups);
  let lo = Infinity;
  let hi = -Infinity;
  if (opts.domain) [lo, hi] = opts.domain;
  else {
    for (const g of names) {
      const a = groups[g]!;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        if (!Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!(hi >= lo)) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const w = (hi - lo) / nb;
  const mode = opts.normalize ?? 'count';
  const values: { group: string; start: number; end: number; y: number }[] = [];
  for (const g of names) {
    const a = groups[g]!;
    const counts = new Float64Array(nb);
    let total = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (!Number.isFinite(v) || v < lo || v > hi) continue;
      // The last bin is closed on the right so the maximum lands in it.
      counts[Math.min(nb - 1, Math.floor((v - lo) / w))]! += 1;
      total++;
    }
    for (let b = 0; b < nb; b++) {
      let y = counts[b]!;
      if (mode !== 'count' && total > 0) y /= total;
      if (mode === 'density') y /= w;
      values.push({ group: g, start: lo + b * w, end: lo + (b + 1) * w, y });
    }
  }
  const yTitle = mode === 'count' ? 'count' : mode === 'fraction' ? 'fraction' : 'density';
  const bars = {
    mark: { type: 'rect', opacity: 0.5, stroke: null },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: opts.xTitle ?? 'value', bin: 'binned' },
      x2: { field: 'end' },
      y: { field: 'y', type: 'quantitative', title: yTitle, stack: null },
      color: {
        field: 'group',
        type: 'nominal',
        title: 'group',
        scale: { domain: names, range: colourRange(names.length) },
      },
    },
  };
  const spec = base(opts);
  if (!opts.threshold) return { ...spec, data: { values }, ...bars } as unknown as ChartSpec;
  const t = opts.threshold;
  const rule = {
    data: { values: [{ t: t.value, label: t.label ?? `threshold ${fmt(t.value)}` }] },
    layer: [
      {
        mark: { type: 'rule', color: '#333', strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, dy: 2, baseline: 'top', color: '#333' },
        encoding: {
          x: { field: 't', type: 'quantitative' },
          y: { value: 0 },
          text: { field: 'label' },
        },
      },
    ],
  };
  return {
    ...spec,
    layer: [{ data: { values }, ...bars }, rule],
  } as unknown as ChartSpec;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(+v.toPrecision(4)) : v.toExponential(2);
}

// ---------------------------------------------------------------------------------------------

export interface RocOptions extends ChartOptions {
  /** Curve name shown in the title before the AUC (default 'ROC'). */
  name?: string;
}

/** ROC curve (TPR against FPR) with the chance diagonal; the AUC is in the title. */
export function rocSpec(
  points: readonly { fpr: number; tpr: number }[],
  auc: number,
  opts: RocOptions = {},
): ChartSpec {
  const values = points
    .filter((p) => Number.isFinite(p.fpr) && Number.isFinite(p.tpr))
    .map((p, i) => ({ i, fpr: p.fpr, tpr: p.tpr }));
  const title = opts.title ?? `${opts.name ?? 'ROC'} (AUC = ${auc.toFixed(4)})`;
  const axis = (t: string) => ({ type: 'quantitative', title: t, scale: { domain: [0, 1] } });
  return {
    ...base({ ...opts, title }, true),
    layer: [
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
        encoding: {
          x: { field: 'fpr', ...axis('false positive rate') },
          y: { field: 'tpr', ...axis('true positive rate') },
        },
      },
      {
        data: { values },
        mark: { type: 'line', color: CATEGORY10[0], strokeWidth: 2, interpolate: 'linear' },
        encoding: {
          x: { field: 'fpr', ...axis('false positive rate') },
          y: { field: 'tpr', ...axis('true positive rate') },
          // Keep the curve's own order: several points share an FPR on vertical steps.
          order: { field: 'i', type: 'quantitative' },
        },
      },
    ],
  } as unknown as ChartSpec;
}

// ---------------------------------------------------------------------------------------------

export interface LineRow {
  x: number;
  y: number;
  series: string;
}

export interface LineChartOptions extends ChartOptions, AxisOptions {
  /** Legend title (default 'series'). */
  seriesTitle?: string;
  /** Draw a dot at each point (default: when a series has at most 40 points). */
  points?: boolean;
  /** Series order in the legend and colours (default: first seen). */
  seriesOrder?: string[];
}

/**
 * General multi-series line chart: optimizer comparisons (loss per step, one line per
 * optimizer), accuracy per epoch for several networks, and the like.
 */
export function lineChartSpec(rows: readonly LineRow[], opts: LineChartOptions = {}): ChartSpec {
  const values = rows
    .filter((r) => Number.isFinite(r.x) && Number.isFinite(r.y) && !(opts.logY && r.y <= 0))
    .map((r) => ({ x: r.x, y: r.y, series: String(r.series) }));
  const series = orderedDomain(
    values.map((v) => v.series),
    opts.seriesOrder ?? [],
  );
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v.series, (counts.get(v.series) ?? 0) + 1);
  const showPoints = opts.points ?? Math.max(0, ...counts.values()) <= 40;
  return {
    ...base(opts),
    data: { values },
    mark: { type: 'line', point: showPoints ? { size: 25 } : false, strokeWidth: 2 },
    encoding: {
      x: xEncoding(opts.xTitle ?? 'x', values.map((v) => v.x)),
      y: { field: 'y', type: 'quantitative', title: opts.yTitle ?? 'y', scale: yScale(opts) },
      color: {
        field: 'series',
        type: 'nominal',
        title: opts.seriesTitle ?? 'series',
        scale: { domain: series, range: colourRange(series.length) },
      },
      order: { field: 'x', type: 'quantitative' },
    },
  } as unknown as ChartSpec;
}
