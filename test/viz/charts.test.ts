import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '../../src/io/png.js';
import {
  histogramSpec,
  latentScatterSpec,
  lineChartSpec,
  lossCurvesSpec,
  rocSpec,
  type ChartSpec,
} from '../../src/viz/specs.js';
import {
  bundledFontFiles,
  renderSpecToPng,
  renderSpecToSvg,
  saveChart,
  svgToPng,
} from '../../src/viz/render.js';
import { rocCurve } from '../../src/viz/roc.js';

// Set AELAB_VIZ_OUT=folder to keep the rendered charts for a look.
const OUT = process.env.AELAB_VIZ_OUT ?? mkdtempSync(join(tmpdir(), 'aelab-viz-'));
mkdirSync(OUT, { recursive: true });

/** Deterministic pseudo-random numbers (mulberry32) so the charts are the same every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r: () => number) {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Decodes a rendered PNG and measures how much is drawn on it. */
function inspect(png: Uint8Array) {
  const img = decodePng(png);
  const colours = new Set<string>();
  let ink = 0;
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    const o = p * img.channels;
    const rgb = [0, 1, 2].map((c) =>
      Math.round(img.data[o + Math.min(c, img.channels - 1)]! * 255),
    );
    colours.add(rgb.join(','));
    if (rgb.some((v) => v < 240)) ink++;
  }
  return { ...img, colours: colours.size, ink: ink / n };
}

async function renderAndCheck(name: string, spec: ChartSpec, minW = 300, minH = 200) {
  const png = await renderSpecToPng(spec);
  await saveChart(join(OUT, `${name}.png`), spec);
  const info = inspect(png);
  expect(info.width).toBeGreaterThanOrEqual(minW);
  expect(info.height).toBeGreaterThanOrEqual(minH);
  expect(info.width).toBeLessThan(4000);
  expect(info.ink).toBeGreaterThan(0.01); // not blank
  expect(info.ink).toBeLessThan(0.9); // not a solid fill
  expect(info.colours).toBeGreaterThan(20); // antialiased lines and text, several colours
  return info;
}

describe('fonts', () => {
  it('bundles DejaVu Sans so text renders without system fonts', () => {
    const files = bundledFontFiles();
    expect(files.some((f) => f.endsWith('DejaVuSans.ttf'))).toBe(true);
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">' +
      '<text x="5" y="28" font-family="sans-serif" font-size="24">Loss 0.123</text></svg>';
    const withText = inspect(svgToPng(svg, { scale: 1 }));
    expect(withText.ink).toBeGreaterThan(0.03);
    const empty = inspect(
      svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"/>', { scale: 1 }),
    );
    expect(empty.ink).toBe(0);
  });
});

describe('chart specs render to PNG', () => {
  it('loss curves by split, with log y, and one panel per metric', async () => {
    const rows = [];
    for (let epoch = 1; epoch <= 20; epoch++) {
      rows.push({ epoch, split: 'train', value: 0.3 * Math.exp(-epoch / 5) + 0.02 });
      rows.push({ epoch, split: 'validation', value: 0.3 * Math.exp(-epoch / 6) + 0.03 });
    }
    rows.push({ epoch: 21, split: 'train', value: NaN }); // dropped, not drawn
    const spec = lossCurvesSpec(rows, {
      title: 'MLP autoencoder — reconstruction loss',
      logY: true,
      yTitle: 'MSE',
    });
    const s = spec as { data: { values: unknown[] }; encoding: { y: { scale: { type: string } } } };
    expect(s.data.values).toHaveLength(40);
    expect(s.encoding.y.scale.type).toBe('log');
    await renderAndCheck('loss_curves', spec);

    const multi = rows
      .filter((r) => Number.isFinite(r.value))
      .flatMap((r) => [
        { ...r, metric: 'loss' },
        { ...r, metric: 'accuracy', value: 1 - r.value },
      ]);
    const facet = lossCurvesSpec(multi, { title: 'classifier' }) as { vconcat?: unknown[] };
    expect(facet.vconcat).toHaveLength(2);
    await renderAndCheck('loss_curves_metrics', facet as ChartSpec, 300, 400);

    const steps = lossCurvesSpec([
      { step: 0, split: 'train', value: 1 },
      { step: 100, split: 'train', value: 0.5 },
    ]) as { encoding: { x: { title: string } } };
    expect(steps.encoding.x.title).toBe('step');
  });

  it('latent scatter coloured by label', async () => {
    const r = rng(1);
    const points = [];
    for (let i = 0; i < 2000; i++) {
      const label = i % 10;
      const a = (label / 10) * 2 * Math.PI;
      points.push({
        x: 3 * Math.cos(a) + gauss(r) * 0.6,
        y: 3 * Math.sin(a) + gauss(r) * 0.6,
        label,
      });
    }
    const spec = latentScatterSpec(points, { title: 'Latent space (2-D)' });
    const s = spec as { encoding: { color: { scale: { domain: string[]; scheme: string } } } };
    expect(s.encoding.color.scale.domain).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
    ]);
    expect(s.encoding.color.scale.scheme).toBe('category10');
    const info = await renderAndCheck('latent_scatter', spec);
    expect(info.colours).toBeGreaterThan(50);
  });

  it('overlaid histograms with shared bins and a threshold', async () => {
    const r = rng(2);
    const normal = Array.from({ length: 3000 }, () => Math.abs(0.02 + 0.01 * gauss(r)));
    const anomalous = Array.from({ length: 300 }, () => Math.abs(0.06 + 0.02 * gauss(r)));
    const spec = histogramSpec(
      { normal, anomalous },
      {
        title: 'Reconstruction error',
        xTitle: 'MSE per image',
        normalize: 'density',
        threshold: { value: 0.04, label: 'threshold' },
      },
    );
    const s = spec as {
      layer: { data: { values: { group: string; start: number; y: number }[] } }[];
    };
    const values = s.layer[0]!.data.values;
    // Same 40 bins for both groups; each density integrates to 1.
    expect(values.filter((v) => v.group === 'normal')).toHaveLength(40);
    const w = values[1]!.start - values[0]!.start;
    for (const g of ['normal', 'anomalous']) {
      const area = values.filter((v) => v.group === g).reduce((a, v) => a + v.y * w, 0);
      expect(area).toBeCloseTo(1, 6);
    }
    await renderAndCheck('histogram', spec);
    const counts = histogramSpec({ a: [1, 2, 2, 3] }, { bins: 2 }) as {
      data: { values: { y: number }[] };
    };
    expect(counts.data.values.map((v) => v.y)).toEqual([1, 3]);
    expect(() => histogramSpec({ a: [1] }, { bins: 0 })).toThrow(
      'histogramSpec: bins must be a positive integer, got 0',
    );
  });

  it('ROC curve with the diagonal and the AUC in the title', async () => {
    const r = rng(3);
    const scores: number[] = [];
    const labels: (0 | 1)[] = [];
    for (let i = 0; i < 600; i++) {
      const y = i % 4 === 0 ? 1 : 0;
      scores.push(gauss(r) + 1.5 * y);
      labels.push(y);
    }
    const { points, auc } = rocCurve(scores, labels);
    const spec = rocSpec(points, auc, { name: 'Anomaly ROC' });
    expect((spec as { title: string }).title).toBe(`Anomaly ROC (AUC = ${auc.toFixed(4)})`);
    await renderAndCheck('roc', spec);
  });

  it('general multi-series line chart', async () => {
    const rows = [];
    const opt = ['SGD', 'Momentum', 'Nesterov', 'Adagrad', 'Adadelta', 'RMSprop', 'Adam'];
    for (const [k, series] of opt.entries()) {
      for (let x = 0; x <= 200; x += 5) {
        rows.push({ x, y: 2.3 * Math.exp(-x / (20 + 25 * (6 - k))) + 0.05, series });
      }
    }
    const spec = lineChartSpec(rows, {
      title: 'Optimizers on MNIST',
      xTitle: 'iteration',
      yTitle: 'training loss',
      seriesTitle: 'optimizer',
    });
    const s = spec as { encoding: { color: { scale: { domain: string[] } } } };
    expect(s.encoding.color.scale.domain).toEqual(opt);
    await renderAndCheck('line_chart', spec);
    const acc = lineChartSpec(
      [1, 2, 3].flatMap((e) => [
        { x: e, y: 0.9 + e / 100, series: 'B: 2 hidden' },
        { x: e, y: 0.11, series: 'C: 15 hidden' },
      ]),
      { yDomain: [0, 1], xTitle: 'epoch', yTitle: 'accuracy' },
    ) as { encoding: { y: { scale: { domain: number[] } } } };
    expect(acc.encoding.y.scale.domain).toEqual([0, 1]);
  });
});

describe('renderers', () => {
  const spec = lineChartSpec([
    { x: 0, y: 1, series: 'a' },
    { x: 1, y: 2, series: 'a' },
  ]);

  it('renders SVG with the axis titles as text', async () => {
    const svg = await renderSpecToSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('>x</text>');
    expect(svg).toContain('>y</text>');
  });

  it('scales the PNG', async () => {
    const one = decodePng(await renderSpecToPng(spec, { scale: 1 }));
    const two = decodePng(await renderSpecToPng(spec, { scale: 2 }));
    expect(two.width).toBe(one.width * 2);
    await expect(renderSpecToPng(spec, { scale: 0 })).rejects.toThrow(
      'renderSpecToPng: scale must be a positive number, got 0',
    );
  });

  it('saves PNG, SVG and JSON by extension', async () => {
    await saveChart(join(OUT, 'small.svg'), spec);
    await saveChart(join(OUT, 'small.json'), spec);
    expect(readFileSync(join(OUT, 'small.svg'), 'utf8')).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(join(OUT, 'small.json'), 'utf8'))).toEqual(spec);
    await expect(saveChart(join(OUT, 'small.gif'), spec)).rejects.toThrow(
      /saveChart: .*small\.gif: extension must be \.png, \.svg or \.json/,
    );
  });

  it('reports an invalid spec clearly', async () => {
    await expect(
      renderSpecToSvg({ mark: 'nonsense', data: { values: [] } } as unknown as ChartSpec),
    ).rejects.toThrow(/renderSpecToSvg: invalid Vega-Lite spec: /);
  });
});
