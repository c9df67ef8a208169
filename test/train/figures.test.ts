/** Run figures: which pictures each model gets, their labels, and the chart and grid details. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/ops/index.js';
import { createDataset, type ImageDataset } from '../../src/data/dataset.js';
import { decodePng } from '../../src/io/png.js';
import { buildModel, defaultConfig } from '../../src/models/index.js';
import type { AutoencoderModel, ModelConfig } from '../../src/models/types.js';
import { manualSeed } from '../../src/tensor/random.js';
import { describeModel, filterImages, gridFigures, lossFigureSpec, MAX_TILES, type FigureOptions, type GridFigure } from '../../src/train/figures.js';
import { writeRunFigures } from '../../src/train/figures-node.js';
import { gridFigureSvg } from '../../src/viz/grid-figure.js';
import type { EpochRecord } from '../../src/train/trainer.js';
import { latentScatterSpec, lineChartSpec, lossCurvesSpec } from '../../src/viz/specs.js';

const S = 8; // 8×8 images keep these fast
function data(n = 24, classes = 3): ImageDataset {
  const images = new Float32Array(n * S * S);
  for (let i = 0; i < images.length; i++) images[i] = ((i * 7919) % 101) / 100;
  return createDataset({ name: 'toy', images, labels: Int32Array.from({ length: n }, (_, i) => i % classes), channels: 1, height: S, width: S });
}
const history: EpochRecord[] = [1, 2].map((e) => ({
  epoch: e - 1,
  step: e * 3,
  lr: 1e-3,
  seconds: 1,
  samplesPerSec: 10,
  train: { loss: 10 / e, recon: 8 / e, kl: 2 / e },
  val: { loss: 11 / e, recon: 9 / e, kl: 2 / e },
}));
const model = (kind: string, o: Record<string, unknown> = {}) => {
  manualSeed(1);
  return buildModel(defaultConfig(kind as never, [1, S, S], { hidden: [16], latent: 2, ...o } as never) as ModelConfig);
};
/** One grid figure of a model, computed as writeRunFigures computes it. */
const figure = (m: unknown, file: string, opts: FigureOptions = {}): GridFigure => {
  const f = gridFigures(m as AutoencoderModel, data(), opts).find((g) => g.file === file);
  if (!f) throw new Error(`no ${file}`);
  return f;
};
const dims = (p: string) => {
  const { width, height } = decodePng(readFileSync(p));
  return [width, height];
};

describe('writeRunFigures', () => {
  it('a DAE gets clean / corrupted / denoised rows, labelled, and weights with visible tile borders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-fig-'));
    const m = model('dae');
    const files = await writeRunFigures(dir, m, history, data());
    expect(files.map((f) => basename(f))).toEqual(
      expect.arrayContaining(['loss.png', 'reconstructions.png', 'denoising.png', 'latent.png', 'manifold.png', 'encoder-weights.png', 'decoder-weights.png']),
    );
    const den = figure(m, 'denoising.png');
    expect(den.n).toBe(3 * 16);
    expect(den.options).toMatchObject({ cols: 16, rowLabels: ['clean', 'corrupted', 'denoised'], colLabels: Array.from({ length: 16 }, (_, i) => String(i % 3)), colTitle: 'label' });
    expect([den.options.subtitle].flat().join(' ')).toContain('Gaussian noise of σ = 0.5 added, clipped to [0, 1]');
    // the PNG is the labelled figure at zoom 2: words around the grid
    const { layout } = gridFigureSvg(den.images, den.n, S, S, den.options);
    expect(dims(join(dir, 'denoising.png'))).toEqual([2 * layout.width, 2 * layout.height]);
    expect(layout.grid).toMatchObject({ width: 16 * 8 + 17, height: 3 * 8 + 4 });
    // the padding of the weight grids is black, not the mid-grey of a zero weight
    const wf = figure(m, 'encoder-weights.png');
    const wl = gridFigureSvg(wf.images, wf.n, S, S, wf.options).layout;
    const w = decodePng(readFileSync(join(dir, 'encoder-weights.png')), { channels: 1 });
    expect(w.data[2 * wl.grid.y * w.width + 2 * wl.grid.x]).toBe(0);
  });

  it('reconstructions: input and reconstruction rows, the class of each column, the split in the subtitle', () => {
    const f = figure(model('ae'), 'reconstructions.png', { split: 'validation' });
    expect(f.options).toMatchObject({ rowLabels: ['input', 'reconstruction'], colTitle: 'label', title: 'ae (2-D code): reconstructions' });
    expect(f.options.colLabels).toEqual(Array.from({ length: 16 }, (_, i) => String(i % 3)));
    expect(f.options.subtitle).toContain('the first 16 validation images (top)');
  });

  it('cvae-rows: one z per column, the same in every row (class); samples: one column per class', () => {
    const m = model('cvae', { numClasses: 3 }) as AutoencoderModel;
    const calls: { z: Float32Array; L: number; y: Int32Array | null }[] = [];
    const decode = m.decode.bind(m);
    m.decode = (z, y) => {
      calls.push({ z: z.data.slice(), L: z.shape[1]!, y: y ?? null });
      return decode(z, y);
    };
    const figs = gridFigures(m, data());
    const rows = figs.find((f) => f.file === 'cvae-rows.png')!;
    expect(rows.n).toBe(30);
    expect(rows.options).toMatchObject({ cols: 10, rowLabels: ['0', '1', '2'], rowTitle: 'class', colLabels: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'] });
    const call = calls.find((c) => c.y?.length === 30)!;
    const { z, L, y } = call;
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 10; c++) {
        expect(y![r * 10 + c]).toBe(r);
        expect(Array.from(z.subarray((r * 10 + c) * L, (r * 10 + c + 1) * L)), `row ${r}, column ${c}`).toEqual(Array.from(z.subarray(c * L, (c + 1) * L)));
      }
    // and the ten columns are ten different draws
    expect(new Set(Array.from({ length: 10 }, (_, c) => z[c * L])).size).toBe(10);
    const samples = figs.find((f) => f.file === 'samples.png')!;
    expect(samples.options).toMatchObject({ cols: 3, colLabels: ['0', '1', '2'], colTitle: 'class' });
  });

  it('manifold: the z value of every column and row on the axes, and the range in the subtitle', () => {
    const f = figure(model('vae'), 'manifold.png');
    expect(f.n).toBe(400);
    const cols = f.options.colLabels!.map((v) => Number(v.replace('−', '-')));
    const rows = f.options.rowLabels!.map((v) => Number(v.replace('−', '-')));
    expect(cols).toHaveLength(20);
    expect(cols[0]).toBeCloseTo(-1.96, 1);
    expect(cols[19]).toBeCloseTo(1.96, 1);
    expect([...cols].sort((a, b) => a - b)).toEqual(cols); // z₁ grows to the right
    expect(rows).toEqual([...cols].reverse()); // z₂ grows upwards
    expect(f.options).toMatchObject({ colTitle: 'z₁', rowTitle: 'z₂' });
    expect([f.options.subtitle].flat().join(' ')).toContain('z₁ from −1.96 to 1.96, z₂ from −1.96 to 1.96 (the 2.5%–97.5% quantiles of N(0, 1)');
  });

  it('a label-conditioned AAE still gets its manifold (its decoder takes no labels), over its prior', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-fig-'));
    const m = model('aae', { prior: 'swissroll', conditionalPrior: true, numClasses: 3 });
    const files = await writeRunFigures(dir, m, history, data());
    expect(files.map((f) => basename(f))).toEqual(expect.arrayContaining(['samples.png', 'latent.png', 'manifold.png']));
    const f = figure(m, 'manifold.png');
    expect(f.options.pad).toBe(0);
    expect([f.options.subtitle].flat().join(' ')).toContain('the 1st–99th percentiles of swissroll prior draws');
  });

  it('weights: every unit, the count and β/ρ in the title', () => {
    const m = model('sparse-ae', { hidden: [], latent: 150, beta: 3, rho: 0.05 });
    const enc = figure(m, 'encoder-weights.png');
    const dec = figure(m, 'decoder-weights.png');
    expect([enc.n, dec.n]).toEqual([150, 150]);
    expect(dec.options.title).toBe('sparse-ae (β=3, ρ=0.05): decoder weights');
    expect([dec.options.subtitle].flat()[0]).toBe('the image each unit draws: all 150 code units');
    expect([enc.options.subtitle].flat()[0]).toBe('what each unit responds to: all 150 code units');
    expect(enc.options.rowLabels).toEqual(['1', '16', '31', '46', '61', '76', '91', '106', '121', '136']); // 15 columns: 150 = 15 × 10
    // decoder column j is unit j's image
    const w = m.namedParameters().find(([nm]) => nm === 'decoder.0.weight')![1];
    expect(Array.from(dec.images.subarray(149 * S * S, 150 * S * S))).toEqual(Array.from(filterImages(Float32Array.from({ length: S * S }, (_, i) => w.data[i * 150 + 149]!), 1, S * S)));
    const many = model('ae', { hidden: [], latent: 1100 });
    expect(figure(many, 'encoder-weights.png').n).toBe(MAX_TILES);
    expect([figure(many, 'encoder-weights.png').options.subtitle].flat()[0]).toBe(`what each unit responds to: the first ${MAX_TILES} of 1100 code units`);
  });

  it('loss.png names the VAE objective by its sign and explains negative nats of a Gaussian decoder', () => {
    type Spec = { title: string | { text: string; subtitle: string[] }; vconcat: { encoding: { y: { title: string } } }[] };
    const bern = lossFigureSpec(model('vae'), history) as unknown as Spec;
    expect(bern.vconcat.map((p) => p.encoding.y.title)).toEqual(['−ELBO (nats/image)', '−log p(x|z) (nats/image)', 'KL(q(z|x) ‖ p(z)) (nats/image)']);
    expect(bern.title).toBe('vae (2-D latent): loss per epoch');
    const noted = lossFigureSpec(model('vae'), history, { trainNote: 'sgd, lr 0.01, batch 128' }) as unknown as Spec;
    expect(noted.title).toEqual({ text: 'vae (2-D latent): loss per epoch', subtitle: ['sgd, lr 0.01, batch 128'] });
    const gauss = lossFigureSpec(model('vae', { decoder: 'gaussian' }), history) as unknown as Spec;
    const t = gauss.title as { text: string; subtitle: string[] };
    expect(t.text).toBe('vae (2-D latent, Gaussian decoder): loss per epoch');
    expect(t.subtitle.join(' ')).toBe(
      'note: the Gaussian decoder scores pixels with a density, which can exceed 1, so −log p(x|z), −ELBO and the loss can be negative nats (and log p(x) positive)',
    );
    expect(Math.max(...t.subtitle.map((l) => l.length))).toBeLessThanOrEqual(80);
  });

  it('describes models in titles', () => {
    expect(describeModel(model('sparse-ae', { hidden: [], latent: 4, beta: 3, rho: 0.05 }))).toBe('sparse-ae (β=3, ρ=0.05)');
    expect(describeModel(model('aae', { prior: 'mixture' }))).toBe('aae (mixture prior)');
    expect(describeModel(model('vae'))).toBe('vae (2-D latent)');
  });
});

describe('figure helpers and chart specs', () => {
  it('filterImages centres each filter on grey and scales by its largest deviation', () => {
    const out = filterImages(Float32Array.from([1, 2, 3, 5, 5, 5]), 2, 3);
    expect(Array.from(out)).toEqual([0, 0.5, 1, 0.5, 0.5, 0.5]);
  });

  it('integer x data (epochs, components) gets whole-number ticks', () => {
    const loss = lossCurvesSpec([
      { epoch: 1, split: 'train', value: 3 },
      { epoch: 2, split: 'train', value: 2 },
    ]) as unknown as { encoding: { x: { axis?: { tickMinStep?: number; format?: string } } } };
    expect(loss.encoding.x.axis).toEqual({ tickMinStep: 1, format: 'd' });
    const frac = lineChartSpec([{ x: 0.5, y: 1, series: 'a' }]) as unknown as { encoding: { x: { axis?: unknown } } };
    expect(frac.encoding.x.axis).toBeUndefined();
  });

  it('loss panels take their y titles from metricTitles', () => {
    const spec = lossCurvesSpec(
      [
        { epoch: 1, split: 'train', value: 3, metric: 'loss' },
        { epoch: 1, split: 'train', value: 1, metric: 'kl' },
      ],
      { metricTitles: { loss: 'negative ELBO', kl: 'KL' } },
    ) as unknown as { vconcat: { encoding: { y: { title: string } } }[] };
    expect(spec.vconcat.map((p) => p.encoding.y.title)).toEqual(['negative ELBO', 'KL']);
  });

  it('a latent scatter can show reference points (prior draws) underneath', () => {
    const spec = latentScatterSpec([{ x: 0, y: 0, label: 1 }], { title: 't', reference: [{ x: 1, y: 1 }], referenceLabel: 'prior' }) as unknown as {
      layer: { data: { values: unknown[] } }[];
      title: { subtitle: string };
    };
    expect(spec.layer).toHaveLength(2);
    expect(spec.layer[0]!.data.values).toEqual([{ x: 1, y: 1 }]);
    expect(spec.title.subtitle).toBe('grey: prior');
  });
});
