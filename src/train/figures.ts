/**
 * The pictures of a run, written into `<run>/figures/` as PNG: the ones the lecture notes show.
 *   loss.png            train/validation loss per epoch
 *                       (one panel each for the objective's parts: VAE recon/KL, sparse AE
 *                       recon/sparsity, AAE recon/discriminator/generator)
 *   accuracy.png        train/validation accuracy per epoch (classifiers)
 *   reconstructions.png inputs (top row) over their reconstructions (bottom row)
 *   denoising.png       clean inputs, their corruption, and the denoised reconstruction (DAE)
 *   samples.png         decoded draws from the prior (VAE, CVAE, AAE)
 *   latent.png          2-D codes coloured by label (PCA of the codes when latent > 2); an AAE's
 *                       prior draws in grey underneath
 *   manifold.png        a 20×20 lattice of latent points decoded (2-D latent): Gaussian quantiles
 *                       for the VAE and an AAE with a normal prior, the prior's extent for the
 *                       other AAE priors, the codes' 1st–99th percentiles otherwise
 *   cvae-rows.png       one row per label (CVAE)
 *   encoder-weights.png, decoder-weights.png
 *                       first-layer filters and last-layer weights drawn as images (dense AEs;
 *                       the sparse AE's digit-like filters of seed 004)
 */
import { join } from 'node:path';
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { saveImageGrid } from '../io/png.js';
import { partsNote } from '../models/parts.js';
import type { AutoencoderModel, FamilyModel } from '../models/types.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import { saveChart } from '../viz/render.js';
import { latentScatterSpec, lineChartSpec, lossCurvesSpec, wrapText, type ChartSpec } from '../viz/specs.js';
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

/** A short description of a model for figure titles, e.g. "sparse-ae (β=3, ρ=0.05)". */
export function describeModel(model: FamilyModel): string {
  const c = model.config as unknown as Record<string, unknown>;
  const bits: string[] = [];
  switch (model.kind) {
    case 'vae':
    case 'cvae':
      bits.push(`${String(c.latent)}-D latent`);
      if (c.beta !== 1) bits.push(`β=${String(c.beta)}`);
      if (c.decoder === 'gaussian') bits.push('Gaussian decoder');
      break;
    case 'sparse-ae':
      bits.push(c.sparsity === 'l1' ? `L1, β=${String(c.beta)}` : `β=${String(c.beta)}, ρ=${String(c.rho)}`);
      break;
    case 'dae':
      bits.push(`${String(c.noise)} noise ${String(c.noiseLevel)}`);
      break;
    case 'aae':
      bits.push(`${String(c.prior)} prior${c.conditionalPrior ? ', label-conditioned' : ''}`);
      break;
    case 'ae':
    case 'conv-ae':
      bits.push(`${String(c.latent)}-D code`);
      break;
    default:
      break;
  }
  return bits.length ? `${model.kind} (${bits.join(', ')})` : model.kind;
}

/** The parts of the objective that get a panel of their own in loss.png, by model kind. */
function lossPanels(model: FamilyModel): { metrics: string[]; titles: Record<string, string> } {
  const titles: Record<string, string> = {
    loss: 'loss per image',
    recon: 'reconstruction',
    kl: 'KL(q(z|x) ‖ p(z))',
    sparsity: 'sparsity penalty (before β)',
    disc: 'discriminator loss',
    gen: 'generator loss',
  };
  switch (model.kind) {
    case 'vae':
    case 'cvae': {
      const beta = (model.config as { beta?: number }).beta ?? 1;
      titles.loss = beta === 1 ? '−ELBO (nats/image)' : `recon + ${beta}·KL (nats/image)`;
      titles.recon = '−log p(x|z) (nats/image)';
      titles.kl = 'KL(q(z|x) ‖ p(z)) (nats/image)';
      return { metrics: ['loss', 'recon', 'kl'], titles };
    }
    case 'sparse-ae':
      return { metrics: ['loss', 'recon', 'sparsity'], titles };
    case 'aae':
      titles.recon = 'reconstruction per image';
      return { metrics: ['recon', 'disc', 'gen'], titles };
    case 'mlp':
    case 'cnn':
      titles.loss = 'cross-entropy (nats/image)';
      return { metrics: ['loss'], titles };
    default:
      return { metrics: ['loss'], titles };
  }
}

/**
 * loss.png: train/validation curves of the objective and its parts (one panel each), named by
 * their sign (−ELBO, not ELBO), with a caption where the numbers need one (a Gaussian decoder's
 * negative nats).
 */
export function lossFigureSpec(model: FamilyModel, history: readonly EpochRecord[]): ChartSpec {
  const { metrics, titles } = lossPanels(model);
  const present = metrics.filter((m) => history.some((r) => r.train[m] !== undefined || r.val[m] !== undefined));
  const shown = present.length ? present : ['loss'];
  const rows = history.flatMap((r) =>
    shown.flatMap((m) => {
      const pick = (rec: Record<string, number>) => rec[m] ?? (m === 'loss' ? Object.values(rec)[0] : undefined);
      const t = pick(r.train);
      const v = Object.keys(r.val).length ? pick(r.val) : undefined;
      return [
        ...(t !== undefined ? [{ epoch: r.epoch + 1, split: 'train', value: t, metric: m }] : []),
        ...(v !== undefined ? [{ epoch: r.epoch + 1, split: 'validation', value: v, metric: m }] : []),
      ];
    }),
  );
  const note = partsNote(model);
  return lossCurvesSpec(rows, {
    title: `${describeModel(model)}: loss per epoch`,
    ...(note ? { subtitle: wrapText(`note: ${note}`, 80) } : {}),
    xTitle: 'epoch',
    yTitle: titles[shown[0]!],
    metricTitles: titles,
  });
}

/**
 * Weights drawn as images: each filter centred on its mean and scaled by its largest deviation,
 * so mid-grey is "no preference" and black/white the strongest negative/positive weights.
 */
export function filterImages(w: Float32Array, k: number, d: number): Float32Array {
  const out = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const row = w.subarray(j * d, (j + 1) * d);
    let mean = 0;
    for (let i = 0; i < d; i++) mean += row[i]! / d;
    let m = 0;
    for (let i = 0; i < d; i++) m = Math.max(m, Math.abs(row[i]! - mean));
    for (let i = 0; i < d; i++) out[j * d + i] = m > 0 ? 0.5 + (0.5 * (row[i]! - mean)) / m : 0.5;
  }
  return out;
}

/** The q-quantile of values (sorted copy; linear interpolation). */
function quantile(values: ArrayLike<number>, q: number): number {
  const a = Float64Array.from(values as ArrayLike<number>).filter((v) => Number.isFinite(v)).sort();
  if (a.length === 0) return NaN;
  const pos = q * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(a.length - 1, lo + 1);
  return a[lo]! + (a[hi]! - a[lo]!) * (pos - lo);
}

/** g evenly spaced cell centres over [lo, hi]. */
function lattice(lo: number, hi: number, g: number): number[] {
  if (!(hi > lo)) [lo, hi] = [lo - 1, lo + 1];
  return Array.from({ length: g }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / g);
}

/** Column j of every row of an (n, 2) array. */
function column(xy: Float32Array, j: number): Float32Array {
  const out = new Float32Array(xy.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = xy[i * 2 + j]!;
  return out;
}

type PriorModel = AutoencoderModel & { config: { prior?: string }; samplePrior?: (n: number, gen: Generator, labels?: Int32Array | null) => Tensor };

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
  const name = describeModel(model);
  const save = async (file: string, images: Float32Array, n: number, cols: number, extra: Parameters<typeof saveImageGrid>[5] = {}) => {
    const p = join(dir, file);
    await saveImageGrid(p, images, n, H, W, { cols, scale: 2, pad: 2, channels: C, background: 0.5, ...extra });
    written.push(p);
  };

  if (history.length > 0) {
    const p = join(dir, 'loss.png');
    await saveChart(p, lossFigureSpec(model, history));
    written.push(p);
    const accRows = history.flatMap((r) => [
      ...(r.train.acc !== undefined ? [{ x: r.epoch + 1, y: r.train.acc, series: 'train' }] : []),
      ...(r.val.acc !== undefined ? [{ x: r.epoch + 1, y: r.val.acc, series: 'validation' }] : []),
    ]);
    if (accRows.length) {
      const pa = join(dir, 'accuracy.png');
      await saveChart(pa, lineChartSpec(accRows, { title: `${name}: accuracy per epoch`, xTitle: 'epoch', yTitle: 'accuracy', seriesTitle: 'split', seriesOrder: ['train', 'validation'] }));
      written.push(pa);
    }
  }
  if (!isAutoencoder(model) || data.n === 0) return written;

  model.eval();
  try {
    const numClasses = Math.max(1, (model.config as { numClasses?: number }).numClasses ?? 10);
    // each step runs under noGrad (noGrad around an async function would end at its first await)
    const nt = <T>(fn: () => T): T => noGrad(() => tidy(fn));
    await (async () => {
      // reconstructions: a row of inputs above a row of their reconstructions
      const n = Math.min(16, data.n);
      const D = C * H * W;
      const imgs = nt(() => {
        const { x, y } = inputBatch(model, data, 0, n);
        const r = model.reconstruct(x, y);
        const out = new Float32Array(2 * n * D);
        out.set(x.data.subarray(0, n * D), 0);
        out.set(r.data.subarray(0, n * D), n * D);
        return out;
      });
      await save('reconstructions.png', imgs, 2 * n, n);

      // denoising: clean, corrupted, denoised
      const dae = model as unknown as { corrupt?: (x: Tensor, g: Generator) => Tensor };
      if (model.kind === 'dae' && typeof dae.corrupt === 'function') {
        const rows = nt(() => {
          const { x } = inputBatch(model, data, 0, n);
          const noisy = dae.corrupt!(x, new Generator(opts.seed ?? 0));
          const r = model.reconstruct(noisy);
          const out = new Float32Array(3 * n * D);
          out.set(x.data.subarray(0, n * D), 0);
          out.set(noisy.data.subarray(0, n * D), n * D);
          out.set(r.data.subarray(0, n * D), 2 * n * D);
          return out;
        });
        await save('denoising.png', rows, 3 * n, n);
      }

      if (model.sample) {
        const labels = model.needsLabels ? Int32Array.from({ length: 64 }, (_, i) => i % numClasses) : null;
        const s = nt(() => model.sample!(64, gen, labels).data.slice());
        await save('samples.png', s, 64, 8);
      }
      if (model.kind === 'cvae' && model.sample) {
        const k = Math.min(numClasses, 20);
        const labels = Int32Array.from({ length: k * 10 }, (_, i) => Math.floor(i / 10));
        const s = nt(() => model.sample!(k * 10, gen, labels).data.slice());
        await save('cvae-rows.png', s, k * 10, 10);
      }

      // latent scatter
      const m = Math.min(opts.scatterPoints ?? 2000, data.n);
      const codes: Float32Array[] = [];
      let latent = model.latentDim;
      for (let s = 0; s < m; s += 500) {
        codes.push(
          nt(() => {
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
      const pm = model as PriorModel;
      const prior = model.kind === 'aae' && typeof pm.samplePrior === 'function' && latent === 2 ? nt(() => pm.samplePrior!(2000, new Generator((opts.seed ?? 0) + 1), null).data.slice()) : null;
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
            title: latent === 2 ? `${name}: latent codes` : `${name}: latent codes (top-2 PCA projection)`,
            ...(data.classNames ? { labelOrder: data.classNames } : {}),
            xTitle: latent === 2 ? 'z₁' : 'PC 1',
            yTitle: latent === 2 ? 'z₂' : 'PC 2',
            ...(prior ? { reference: Array.from({ length: prior.length / 2 }, (_, i) => ({ x: prior[i * 2]!, y: prior[i * 2 + 1]! })), referenceLabel: `draws from the ${pm.config.prior} prior` } : {}),
          }),
        );
        written.push(p);
      }

      // manifold: decode a 20×20 lattice of the 2-D latent space (the CVAE's rows figure covers it)
      if (latent === 2 && model.kind !== 'cvae') {
        const g = 20;
        let xs: number[];
        let ys: number[];
        const gaussian = model.kind === 'vae' || (model.kind === 'aae' && pm.config.prior === 'normal');
        if (gaussian) {
          // Gaussian quantiles cover the prior's mass evenly (Kingma & Welling's figure)
          xs = Array.from({ length: g }, (_, i) => probit((i + 0.5) / g));
          ys = xs;
        } else {
          // the prior's extent (AAE) or where the codes are, ignoring the outermost 1%
          const pts = prior ?? all;
          xs = lattice(quantile(column(pts, 0), 0.01), quantile(column(pts, 0), 0.99), g);
          ys = lattice(quantile(column(pts, 1), 0.01), quantile(column(pts, 1), 0.99), g);
        }
        const zs = new Float32Array(g * g * 2);
        for (let r = 0; r < g; r++)
          for (let c = 0; c < g; c++) {
            zs[(r * g + c) * 2] = xs[c]!;
            zs[(r * g + c) * 2 + 1] = ys[g - 1 - r]!; // z₂ grows upwards, as in latent.png
          }
        const imgs = nt(() => model.decode(tensor(zs, [g * g, 2])).data.slice());
        await save('manifold.png', imgs, g * g, g, { scale: 2, pad: 0 });
      }
    })();

    // weights as images (dense AEs whose first layer sees whole images): black borders between
    // the tiles, since a filter's own values span the whole grey range
    const linears = model.namedParameters().filter(([, p]) => p.ndim === 2);
    const d = C * H * W;
    const first = linears.find(([nm, p]) => nm.endsWith('weight') && p.shape[1] === d);
    if (first && (model.kind === 'sparse-ae' || model.kind === 'ae' || model.kind === 'dae')) {
      const [, w] = first;
      const k = Math.min(w.shape[0]!, 100);
      await save('encoder-weights.png', filterImages(w.data, k, d), k, Math.ceil(Math.sqrt(k)), { background: 0 });
      const last = [...linears].reverse().find(([nm, p]) => nm.endsWith('weight') && p.shape[0] === d);
      if (last) {
        const [, wd] = last;
        // decoder weight (d, h): column j is the image unit j paints
        const h = Math.min(wd.shape[1]!, 100);
        const cols = new Float32Array(h * d);
        for (let j = 0; j < h; j++) for (let i = 0; i < d; i++) cols[j * d + i] = wd.data[i * wd.shape[1]! + j]!;
        await save('decoder-weights.png', filterImages(cols, h, d), h, Math.ceil(Math.sqrt(h)), { background: 0 });
      }
    }
  } finally {
    model.train();
  }
  return written;
}
