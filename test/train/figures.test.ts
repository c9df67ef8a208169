/** Run figures: which pictures each model gets, and the chart/grid details the QA pass fixed. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/ops/index.js';
import { createDataset, type ImageDataset } from '../../src/data/dataset.js';
import { decodePng } from '../../src/io/png.js';
import { buildModel, defaultConfig } from '../../src/models/index.js';
import type { ModelConfig } from '../../src/models/types.js';
import { manualSeed } from '../../src/tensor/random.js';
import { describeModel, filterImages, lossFigureSpec, writeRunFigures } from '../../src/train/figures.js';
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
const dims = (p: string) => {
  const { width, height } = decodePng(readFileSync(p));
  return [width, height];
};

describe('writeRunFigures', () => {
  it('a DAE gets clean / corrupted / denoised rows and weights with visible tile borders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-fig-'));
    const files = await writeRunFigures(dir, model('dae'), history, data());
    expect(files.map((f) => basename(f))).toEqual(
      expect.arrayContaining(['loss.png', 'reconstructions.png', 'denoising.png', 'latent.png', 'manifold.png', 'encoder-weights.png', 'decoder-weights.png']),
    );
    // 16 images per row (n = min(16, data.n)), 3 rows; scale 2 and 2-px padding
    expect(dims(join(dir, 'denoising.png'))).toEqual([16 * 16 + 17 * 2, 3 * 16 + 4 * 2]);
    // the padding of the weight grids is black, not the mid-grey of a zero weight
    const w = decodePng(readFileSync(join(dir, 'encoder-weights.png')));
    expect(w.data[0]).toBe(0);
  });

  it('a CVAE with 3 classes draws 3 rows (labels never exceed its classes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-fig-'));
    const files = await writeRunFigures(dir, model('cvae', { numClasses: 3 }), history, data());
    expect(files.map((f) => basename(f))).toContain('cvae-rows.png');
    expect(dims(join(dir, 'cvae-rows.png'))).toEqual([10 * 16 + 11 * 2, 3 * 16 + 4 * 2]);
  });

  it('a label-conditioned AAE still gets its manifold (its decoder takes no labels)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-fig-'));
    const files = await writeRunFigures(dir, model('aae', { prior: 'swissroll', conditionalPrior: true, numClasses: 3 }), history, data());
    expect(files.map((f) => basename(f))).toEqual(expect.arrayContaining(['samples.png', 'latent.png', 'manifold.png']));
    expect(dims(join(dir, 'manifold.png'))).toEqual([20 * 16, 20 * 16]); // scale 2, no padding
  });

  it('loss.png names the VAE objective by its sign and explains negative nats of a Gaussian decoder', () => {
    type Spec = { title: string | { text: string; subtitle: string[] }; vconcat: { encoding: { y: { title: string } } }[] };
    const bern = lossFigureSpec(model('vae'), history) as unknown as Spec;
    expect(bern.vconcat.map((p) => p.encoding.y.title)).toEqual(['−ELBO (nats/image)', '−log p(x|z) (nats/image)', 'KL(q(z|x) ‖ p(z)) (nats/image)']);
    expect(bern.title).toBe('vae (2-D latent): loss per epoch');
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
