/**
 * The pictures of a run, written into `<run>/figures/` as PNG: the ones the lecture notes show.
 *   loss.png            train/validation loss per epoch
 *   reconstructions.png inputs (odd rows) over their reconstructions (even rows)
 *   samples.png         decoded draws from the prior (VAE, CVAE, AAE)
 *   latent.png          2-D codes coloured by label (PCA of the codes when latent > 2)
 *   manifold.png        a 20×20 lattice of latent points decoded (2-D latent; Gaussian quantiles for the VAE)
 *   cvae-rows.png       one row per label (CVAE)
 *   weights.png         first-layer encoder filters and decoder weights drawn as images (sparse AE)
 */
import { join } from 'node:path';
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { saveImageGrid } from '../io/png.js';
import type { AutoencoderModel, FamilyModel } from '../models/types.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import { saveChart } from '../viz/render.js';
import { latentScatterSpec, lineChartSpec, lossCurvesSpec } from '../viz/specs.js';
import type { EpochRecord } from './trainer.js';

export function isAutoencoder(m: FamilyModel): m is AutoencoderModel {
  const a = m as unknown as Partial<Record<'encode' | 'decode', unknown>>;
  return typeof a.encode === 'function' && typeof a.decode === 'function';
}

/** The first n samples of a dataset as a model input tensor. */
export function inputBatch(model: FamilyModel, ds: ImageDataset, start: number, n: number): { x: Tensor; y: Int32Array | null } {
  const d = ds.channels * ds.height * ds.width;
  const m = Math.min(n, ds.n - start);
  const x = ds.images.subarray(start * d, (start + m) * d);
  const shape = model.inputLayout === 'image' ? [m, ds.channels, ds.height, ds.width] : [m, d];
  return { x: tensor(x, shape), y: ds.labels ? ds.labels.slice(start, start + m) : null };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`probit: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Projects rows (n, d) onto their top-2 principal axes (power iteration; d is small: the latent size). */
export function pca2(data: Float32Array, n: number, d: number): Float32Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const va = data[i * d + a]! - mean[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += (va * (data[i * d + b]! - mean[b]!)) / n;
    }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  const axes: Float64Array[] = [];
  const gen = new Generator(3);
  for (let k = 0; k < 2; k++) {
    let v = Float64Array.from({ length: d }, () => gen.normal());
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a]! += cov[a * d + b]! * v[b]!;
      for (const u of axes) {
        let dot = 0;
        for (let a = 0; a < d; a++) dot += w[a]! * u[a]!;
        for (let a = 0; a < d; a++) w[a]! -= dot * u[a]!;
      }
      const norm = Math.hypot(...w) || 1;
      v = w.map((x) => x / norm);
    }
    axes.push(v);
  }
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < 2; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[i * d + j]! - mean[j]!) * axes[k]![j]!;
      out[i * 2 + k] = s;
    }
  return out;
}

export interface FigureOptions {
  /** How many points go into the latent scatter. */
  scatterPoints?: number;
  seed?: number;
}

/** Writes every figure that applies to this model. Returns the paths written. */
export async function writeRunFigures(
  dir: string,
  model: FamilyModel,
  history: readonly EpochRecord[],
  data: ImageDataset,
  opts: FigureOptions = {},
): Promise<string[]> {
  const written: string[] = [];
  const H = data.height;
  const W = data.width;
  const C = data.channels as 1 | 3;
  const gen = new Generator(opts.seed ?? 0);
  const save = async (name: string, images: Float32Array, n: number, cols: number, extra: Parameters<typeof saveImageGrid>[5] = {}) => {
    const p = join(dir, name);
    await saveImageGrid(p, images, n, H, W, { cols, scale: 2, pad: 2, channels: C, background: 0.5, ...extra });
    written.push(p);
  };

  if (history.length > 0) {
    const rows = history.flatMap((r) => [
      { epoch: r.epoch + 1, split: 'train', value: r.train.loss ?? Object.values(r.train)[0] ?? NaN },
      ...(Object.keys(r.val).length ? [{ epoch: r.epoch + 1, split: 'validation', value: r.val.loss ?? Object.values(r.val)[0] ?? NaN }] : []),
    ]);
    const p = join(dir, 'loss.png');
    await saveChart(p, lossCurvesSpec(rows, { title: `${model.kind}: loss per epoch`, yTitle: 'loss (per image)' }));
    written.push(p);
    const accRows = history.flatMap((r) => [
      ...(r.train.acc !== undefined ? [{ x: r.epoch + 1, y: r.train.acc, series: 'train' }] : []),
      ...(r.val.acc !== undefined ? [{ x: r.epoch + 1, y: r.val.acc, series: 'validation' }] : []),
    ]);
    if (accRows.length) {
      const pa = join(dir, 'accuracy.png');
      await saveChart(pa, lineChartSpec(accRows, { title: `${model.kind}: accuracy per epoch`, xTitle: 'epoch', yTitle: 'accuracy' }));
      written.push(pa);
    }
  }
  if (!isAutoencoder(model)) return written;

  model.eval();
  try {
    // reconstructions: 2 rows of 16 pairs (input row above its reconstruction row)
    await noGrad(async () => {
      const n = Math.min(16, data.n);
      const imgs = tidy(() => {
        const { x, y } = inputBatch(model, data, 0, n);
        const r = model.reconstruct(x, y);
        const out = new Float32Array(2 * n * C * H * W);
        out.set(x.data.subarray(0, n * C * H * W), 0);
        out.set(r.data.subarray(0, n * C * H * W), n * C * H * W);
        return out;
      });
      await save('reconstructions.png', imgs, 2 * n, n);

      if (model.sample) {
        const labels = model.needsLabels ? Int32Array.from({ length: 64 }, (_, i) => i % 10) : null;
        const s = tidy(() => model.sample!(64, gen, labels).data.slice());
        await save('samples.png', s, 64, 8);
      }
      if (model.kind === 'cvae' && model.sample) {
        const k = 10;
        const labels = Int32Array.from({ length: k * 10 }, (_, i) => Math.floor(i / 10));
        const s = tidy(() => model.sample!(k * 10, gen, labels).data.slice());
        await save('cvae-rows.png', s, k * 10, 10);
      }

      // latent scatter
      const m = Math.min(opts.scatterPoints ?? 2000, data.n);
      const codes: Float32Array[] = [];
      let latent = model.latentDim;
      for (let s = 0; s < m; s += 500) {
        codes.push(
          tidy(() => {
            const { x, y } = inputBatch(model, data, s, Math.min(500, m - s));
            const z = model.encode(x, y);
            latent = z.shape[1]!;
            return z.data.slice();
          }),
        );
      }
      const all = new Float32Array(m * latent);
      let off = 0;
      for (const c of codes) {
        all.set(c, off);
        off += c.length;
      }
      const xy = latent === 2 ? all : latent > 2 ? pca2(all, m, latent) : null;
      if (xy) {
        const pts = Array.from({ length: m }, (_, i) => ({
          x: xy[i * 2]!,
          y: xy[i * 2 + 1]!,
          label: data.labels ? (data.classNames?.[data.labels[i]!] ?? String(data.labels[i]!)) : 'all',
        }));
        const p = join(dir, 'latent.png');
        await saveChart(
          p,
          latentScatterSpec(pts, {
            title: latent === 2 ? `${model.kind}: 2-D latent codes` : `${model.kind}: latent codes (PCA of ${latent}-D)`,
            xTitle: latent === 2 ? 'z₁' : 'PC 1',
            yTitle: latent === 2 ? 'z₂' : 'PC 2',
          }),
        );
        written.push(p);
      }

      // manifold: decode a 20×20 lattice of the 2-D latent space
      if (latent === 2 && !model.needsLabels) {
        const g = 20;
        const vals: number[] = [];
        if (model.kind === 'vae' || model.kind === 'aae') {
          // Gaussian quantiles cover the prior's mass evenly (Kingma & Welling's figure)
          for (let i = 0; i < g; i++) vals.push(probit((i + 0.5) / g));
        } else {
          let lo = Infinity;
          let hi = -Infinity;
          for (const v of all) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
          for (let i = 0; i < g; i++) vals.push(lo + ((hi - lo) * (i + 0.5)) / g);
        }
        const zs = new Float32Array(g * g * 2);
        for (let r = 0; r < g; r++)
          for (let c = 0; c < g; c++) {
            zs[(r * g + c) * 2] = vals[c]!;
            zs[(r * g + c) * 2 + 1] = vals[g - 1 - r]!;
          }
        const imgs = tidy(() => model.decode(tensor(zs, [g * g, 2])).data.slice());
        await save('manifold.png', imgs, g * g, g, { scale: 1, pad: 0 });
      }
    });

    // weights as images (sparse AE; any dense AE whose first layer sees whole images)
    const linears = model.namedParameters().filter(([n, p]) => n.endsWith('weight') && p.ndim === 2);
    const d = C * H * W;
    const first = linears.find(([, p]) => p.shape[1] === d);
    if (first && (model.kind === 'sparse-ae' || model.kind === 'ae' || model.kind === 'dae')) {
      const [, w] = first;
      const k = Math.min(w.shape[0]!, 100);
      await save('encoder-weights.png', w.data.slice(0, k * d), k, Math.ceil(Math.sqrt(k)), { normalize: 'each' });
      const last = [...linears].reverse().find(([, p]) => p.shape[0] === d);
      if (last) {
        const [, wd] = last;
        // decoder weight (d, h): column j is the image unit j paints
        const h = Math.min(wd.shape[1]!, 100);
        const cols = new Float32Array(h * d);
        for (let j = 0; j < h; j++) for (let i = 0; i < d; i++) cols[j * d + i] = wd.data[i * wd.shape[1]! + j]!;
        await save('decoder-weights.png', cols, h, Math.ceil(Math.sqrt(h)), { normalize: 'each' });
      }
    }
  } finally {
    model.train();
  }
  return written;
}

