/**
 * The pictures of a run, the ones the lecture notes show: computed here as data (image grids by
 * gridFigures, chart specs by lossFigureSpec and latentFigure) with no Node import, so the browser
 * lab draws the same figures; figures-node.ts writes them into `<run>/figures/` as PNG.
 * Every figure has a title naming the model (e.g. "sparse-ae (β=6, ρ=0.1)") and says what it
 * shows; image grids label their rows and columns (viz/grid-figure.ts).
 *   loss.png            train/validation loss per epoch
 *                       (one panel each for the objective's parts: VAE −ELBO/−log p(x|z)/KL,
 *                       sparse AE recon/sparsity, AAE recon/discriminator/generator)
 *   accuracy.png        train/validation accuracy per epoch (classifiers)
 *   reconstructions.png inputs ('input' row, class labels above) over their reconstructions
 *   denoising.png       'clean', 'corrupted' and 'denoised' rows (DAE), the corruption in words
 *   samples.png         decoded draws from the prior (VAE, AAE); one column per class for the
 *                       CVAE and a label-conditioned AAE
 *   latent.png          2-D codes coloured by label (PCA of the codes when latent > 2); an AAE's
 *                       prior draws in grey underneath
 *   manifold.png        a 20×20 lattice of latent points decoded (2-D latent), z₁ and z₂ on the
 *                       axes and their range in the subtitle: Gaussian quantiles for the VAE and
 *                       an AAE with a normal prior, the prior's extent for the other AAE priors,
 *                       the codes' 1st–99th percentiles otherwise
 *   cvae-rows.png       one row per class, one draw of z per column (a column is one style)
 *   encoder-weights.png, decoder-weights.png
 *                       first-layer filters and last-layer weights drawn as images, every unit
 *                       up to MAX_TILES (dense AEs; the sparse AE's stroke filters of seed 004)
 *
 * Over 600 lines on purpose: one function per figure, each short, and the table of which model
 * writes which figure is the file itself; the drawing is in viz/.
 */
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { partsNote } from '../models/parts.js';
import type { AutoencoderModel, FamilyModel } from '../models/types.js';
import { randn, tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import { gridCols, type GridFigureOptions } from '../viz/grid-figure.js';
import { latentScatterSpec, lossCurvesSpec, wrapText, type ChartSpec } from '../viz/specs.js';
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
  /** Which images the figures show, for their captions: 'test' (default), 'validation', 'training'. */
  split?: string;
  /** How the model was trained, e.g. 'sgd, lr 0.01, batch 128': the loss and accuracy charts' subtitle. */
  trainNote?: string;
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
      titles.loss = `recon + ${(model.config as { beta?: number }).beta}·sparsity, per image`;
      titles.recon = reconTitle(model);
      return { metrics: ['loss', 'recon', 'sparsity'], titles };
    case 'aae':
      titles.recon = reconTitle(model);
      return { metrics: ['recon', 'disc', 'gen'], titles };
    case 'mlp':
    case 'cnn':
      titles.loss = 'cross-entropy (nats/image)';
      return { metrics: ['loss'], titles };
    default:
      titles.loss = reconTitle(model);
      return { metrics: ['loss'], titles };
  }
}

/** The reconstruction term of an autoencoder by its likelihood: nats for BCE, squared error for MSE. */
function reconTitle(model: FamilyModel): string {
  return (model.config as { loss?: string }).loss === 'mse' ? 'squared error Σ(x − x̂)² per image' : '−log p(x|x̂) (nats/image)';
}

/**
 * loss.png: train/validation curves of the objective and its parts (one panel each), named by
 * their sign (−ELBO, not ELBO), with a caption where the numbers need one (a Gaussian decoder's
 * negative nats).
 */
export function lossFigureSpec(model: FamilyModel, history: readonly EpochRecord[], opts: Pick<FigureOptions, 'trainNote'> = {}): ChartSpec {
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
  const subtitle = [...(opts.trainNote ? [opts.trainNote] : []), ...(note ? wrapText(`note: ${note}`, 80) : [])];
  return lossCurvesSpec(rows, {
    title: `${describeModel(model)}: loss per epoch`,
    ...(subtitle.length ? { subtitle } : {}),
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

/** An image grid figure, computed and ready to render (saveGridFigure). */
export interface GridFigure {
  /** File name inside the figures folder. */
  file: string;
  /** n images of (C, H, W), planar. */
  images: Float32Array;
  n: number;
  options: GridFigureOptions;
}

/** The most units or components a weights figure draws (a 32×32 grid of tiles). */
export const MAX_TILES = 1024;

/** A class label as a figure shows it: the dataset's class name, else the number. */
export function className(data: Pick<ImageDataset, 'classNames'>, label: number): string {
  return data.classNames?.[label] ?? String(label);
}

/** A latent coordinate for an axis label, with as many decimals as the spacing `step` needs. */
export function fmtCoord(v: number, step: number): string {
  const decimals = Math.min(3, Math.max(0, Math.ceil(-Math.log10(Math.abs(step) || 1))));
  const t = v.toFixed(decimals);
  return (/^-0(\.0+)?$/.test(t) ? t.slice(1) : t).replace('-', '−');
}

/** What a noise corruption does, in words, for the denoising figure. */
function noiseWords(noise: string, level: number): string {
  if (noise === 'gaussian') return `Gaussian noise of σ = ${level} added, clipped to [0, 1]`;
  const pct = `${+(level * 100).toFixed(1)}%`;
  return noise === 'salt-pepper' ? `${pct} of the pixels set to 0 or 1 (salt and pepper)` : `${pct} of the pixels set to 0 (masking)`;
}

/** The grid of an image batch: rows of inputs and model outputs with their labels. */
interface GridContext {
  model: AutoencoderModel;
  data: ImageDataset;
  name: string;
  /** 'test', 'validation' or 'training': which images the figures show. */
  split: string;
  gen: Generator;
  seed: number;
  numClasses: number;
  /** Runs a step without gradients, freeing its tensors. */
  nt: <T>(fn: () => T) => T;
}

const TILE = { pad: 1, background: 0.5 } as const;

function reconstructionsFigure(c: GridContext): GridFigure {
  const { model, data } = c;
  const n = Math.min(16, data.n);
  const D = data.channels * data.height * data.width;
  const images = c.nt(() => {
    const { x, y } = inputBatch(model, data, 0, n);
    const r = model.reconstruct(x, y);
    const out = new Float32Array(2 * n * D);
    out.set(x.data.subarray(0, n * D), 0);
    out.set(r.data.subarray(0, n * D), n * D);
    return out;
  });
  const vae = model.kind === 'vae' || model.kind === 'cvae';
  return {
    file: 'reconstructions.png',
    images,
    n: 2 * n,
    options: {
      ...TILE,
      cols: n,
      title: `${c.name}: reconstructions`,
      subtitle: `the first ${n} ${c.split} images (top) and their reconstructions (bottom)${vae ? ', decoded from the posterior mean' : ''}`,
      rowLabels: ['input', 'reconstruction'],
      ...(data.labels ? { colLabels: Array.from(data.labels.subarray(0, n), (l) => className(data, l)), colTitle: 'label' } : {}),
    },
  };
}

function denoisingFigure(c: GridContext, dae: { corrupt: (x: Tensor, g: Generator) => Tensor }): GridFigure {
  const { model, data } = c;
  const n = Math.min(16, data.n);
  const D = data.channels * data.height * data.width;
  const images = c.nt(() => {
    const { x } = inputBatch(model, data, 0, n);
    const noisy = dae.corrupt(x, new Generator(c.seed));
    const r = model.reconstruct(noisy);
    const out = new Float32Array(3 * n * D);
    out.set(x.data.subarray(0, n * D), 0);
    out.set(noisy.data.subarray(0, n * D), n * D);
    out.set(r.data.subarray(0, n * D), 2 * n * D);
    return out;
  });
  const cfg = model.config as { noise?: string; noiseLevel?: number };
  return {
    file: 'denoising.png',
    images,
    n: 3 * n,
    options: {
      ...TILE,
      cols: n,
      title: `${c.name}: denoising`,
      subtitle: `the first ${n} ${c.split} images, corrupted (${noiseWords(String(cfg.noise), Number(cfg.noiseLevel))}), and what the model reconstructs from the corrupted copy`,
      rowLabels: ['clean', 'corrupted', 'denoised'],
      ...(data.labels ? { colLabels: Array.from(data.labels.subarray(0, n), (l) => className(data, l)), colTitle: 'label' } : {}),
    },
  };
}

/** Where the samples come from, in words. */
function priorWords(model: AutoencoderModel): string {
  const prior = (model as PriorModel).config.prior;
  return model.kind === 'aae' ? `the ${String(prior)} prior` : 'z ~ N(0, I)';
}

function samplesFigure(c: GridContext): GridFigure {
  const { model } = c;
  if (model.needsLabels || (model.kind === 'aae' && (model.config as { conditionalPrior?: boolean }).conditionalPrior)) {
    // one column per class, each cell its own draw
    const k = Math.min(c.numClasses, 20);
    const rows = Math.max(1, Math.floor(64 / k));
    const labels = Int32Array.from({ length: rows * k }, (_, i) => i % k);
    const images = c.nt(() => model.sample!(rows * k, c.gen, labels).data.slice());
    return {
      file: 'samples.png',
      images,
      n: rows * k,
      options: {
        ...TILE,
        cols: k,
        title: `${c.name}: samples`,
        subtitle: `decoded draws from ${priorWords(model)}, one column per class, each cell a draw of its own`,
        colLabels: Array.from({ length: k }, (_, l) => className(c.data, l)),
        colTitle: 'class',
      },
    };
  }
  const images = c.nt(() => model.sample!(64, c.gen, null).data.slice());
  return { file: 'samples.png', images, n: 64, options: { ...TILE, cols: 8, title: `${c.name}: samples`, subtitle: `64 decoded draws from ${priorWords(model)}` } };
}

/**
 * cvae-rows.png: one draw of z per column, decoded as every class down the column, so a column
 * shows one style (slant, thickness) as each digit and a row one class in ten styles.
 */
export function cvaeRowsFigure(c: GridContext): GridFigure {
  const { model } = c;
  const k = Math.min(c.numClasses, 20);
  const styles = 10;
  const L = model.latentDim;
  const z1 = c.nt(() => randn([styles, L], { generator: c.gen }).data.slice());
  const z = new Float32Array(k * styles * L);
  for (let r = 0; r < k; r++) z.set(z1, r * styles * L); // row r: the same styles
  const labels = Int32Array.from({ length: k * styles }, (_, i) => Math.floor(i / styles));
  const images = c.nt(() => model.decode(tensor(z, [k * styles, L]), labels).data.slice());
  return {
    file: 'cvae-rows.png',
    images,
    n: k * styles,
    options: {
      ...TILE,
      cols: styles,
      title: `${c.name}: one style per column`,
      subtitle: 'each column one draw z ~ N(0, I), decoded as every class: the column keeps its style, the row its class',
      rowLabels: Array.from({ length: k }, (_, l) => className(c.data, l)),
      rowTitle: 'class',
      colLabels: Array.from({ length: styles }, (_, i) => String(i + 1)),
      colTitle: 'draw of z (the same down each column)',
    },
  };
}

/**
 * manifold.png: decode a g×g lattice of the 2-D latent space (the CVAE's rows figure covers it),
 * with the z value of every column and row on the axes.
 */
function manifoldFigure(c: GridContext, codes: () => Float32Array, prior: Float32Array | null): GridFigure {
  const { model } = c;
  const g = 20;
  const pm = model as PriorModel;
  const gaussian = model.kind === 'vae' || (model.kind === 'aae' && pm.config.prior === 'normal');
  let xs: number[];
  let ys: number[];
  let range: string;
  if (gaussian) {
    // Gaussian quantiles cover the prior's mass evenly (Kingma & Welling's figure)
    xs = Array.from({ length: g }, (_, i) => probit((i + 0.5) / g));
    ys = xs;
    range = `the ${(100 * 0.5) / g}%–${100 - (100 * 0.5) / g}% quantiles of N(0, 1), evenly spaced in probability`;
  } else {
    // the prior's extent (AAE) or where the codes are, ignoring the outermost 1%
    const pts = prior ?? codes();
    xs = lattice(quantile(column(pts, 0), 0.01), quantile(column(pts, 0), 0.99), g);
    ys = lattice(quantile(column(pts, 1), 0.01), quantile(column(pts, 1), 0.99), g);
    range = prior ? `the 1st–99th percentiles of ${String(pm.config.prior)} prior draws` : 'the 1st–99th percentiles of the codes';
  }
  const zs = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++)
    for (let col = 0; col < g; col++) {
      zs[(r * g + col) * 2] = xs[col]!;
      zs[(r * g + col) * 2 + 1] = ys[g - 1 - r]!; // z₂ grows upwards, as in latent.png
    }
  const images = c.nt(() => model.decode(tensor(zs, [g * g, 2])).data.slice());
  const stepX = (xs[g - 1]! - xs[0]!) / (g - 1);
  const stepY = (ys[g - 1]! - ys[0]!) / (g - 1);
  const ends = (v: number[], step: number) => `${fmtCoord(v[0]!, step / 10)} to ${fmtCoord(v[g - 1]!, step / 10)}`;
  return {
    file: 'manifold.png',
    images,
    n: g * g,
    options: {
      pad: 0,
      background: 0.5,
      cols: g,
      title: `${c.name}: the decoded latent space`,
      subtitle: `each cell decodes the z at its column (z₁) and row (z₂), a ${g}×${g} lattice: z₁ from ${ends(xs, stepX)}, z₂ from ${ends(ys, stepY)} (${range})`,
      colLabels: xs.map((v) => fmtCoord(v, stepX)),
      colTitle: 'z₁',
      rowLabels: [...ys].reverse().map((v) => fmtCoord(v, stepY)),
      rowTitle: 'z₂',
    },
  };
}

/**
 * Weights drawn as images (dense AEs whose first layer sees whole images): the first layer's
 * rows (what each unit responds to) and the last layer's columns (the image each unit draws),
 * every unit up to MAX_TILES, black borders between the tiles, since a filter's own values span
 * the whole grey range.
 */
function weightFigures(model: FamilyModel, data: ImageDataset, name: string): GridFigure[] {
  const d = data.channels * data.height * data.width;
  const linears = model.namedParameters().filter(([, p]) => p.ndim === 2);
  const first = linears.find(([nm, p]) => nm.endsWith('weight') && p.shape[1] === d);
  if (!first || !(model.kind === 'sparse-ae' || model.kind === 'ae' || model.kind === 'dae')) return [];
  // with no hidden layers the first layer's units are the code (the sparse AE's default)
  const code = ((model.config as { hidden?: number[] }).hidden ?? []).length === 0;
  const what = code ? 'code units' : 'first-layer units';
  const shown = (k: number, total: number) => (k === total ? `all ${total} ${what}` : `the first ${k} of ${total} ${what}`);
  const legend = 'each tile one unit, centred on its mean (grey) and scaled to its largest deviation: white positive, black negative';
  const rowStarts = (k: number, cols: number) => Array.from({ length: Math.ceil(k / cols) }, (_, r) => String(r * cols + 1));
  const out: GridFigure[] = [];
  const [, w] = first;
  const total = w.shape[0]!;
  const k = Math.min(total, MAX_TILES);
  const cols = gridCols(k);
  out.push({
    file: 'encoder-weights.png',
    images: filterImages(w.data, k, d),
    n: k,
    options: {
      pad: 1,
      background: 0,
      cols,
      title: `${name}: encoder weights`,
      subtitle: [`what each unit responds to: ${shown(k, total)}`, legend],
      rowLabels: rowStarts(k, cols),
      rowTitle: 'unit',
    },
  });
  const last = [...linears].reverse().find(([nm, p]) => nm.endsWith('weight') && p.shape[0] === d);
  if (last) {
    const [, wd] = last;
    // decoder weight (d, h): column j is the image unit j paints
    const h = wd.shape[1]!;
    const kd = Math.min(h, MAX_TILES);
    const colsD = gridCols(kd);
    const cols2 = new Float32Array(kd * d);
    for (let j = 0; j < kd; j++) for (let i = 0; i < d; i++) cols2[j * d + i] = wd.data[i * h + j]!;
    out.push({
      file: 'decoder-weights.png',
      images: filterImages(cols2, kd, d),
      n: kd,
      options: {
        pad: 1,
        background: 0,
        cols: colsD,
        title: `${name}: decoder weights`,
        subtitle: [`the image each unit draws: ${code ? shown(kd, h) : `all ${kd === h ? h : `the first ${kd} of ${h}`} units of the last hidden layer`}`, legend],
        rowLabels: rowStarts(kd, colsD),
        rowTitle: 'unit',
      },
    });
  }
  return out;
}

/** The codes of up to m images (m, latent). */
function encodeAll(c: GridContext, m: number): { codes: Float32Array; latent: number } {
  const parts: Float32Array[] = [];
  let latent = c.model.latentDim;
  for (let s = 0; s < m; s += 500) {
    parts.push(
      c.nt(() => {
        const { x, y } = inputBatch(c.model, c.data, s, Math.min(500, m - s));
        const z = c.model.encode(x, y);
        latent = z.shape[1]!;
        return z.data.slice();
      }),
    );
  }
  const codes = new Float32Array(m * latent);
  let off = 0;
  for (const p of parts) {
    codes.set(p, off);
    off += p.length;
  }
  return { codes, latent };
}

function figureContext(model: AutoencoderModel, data: ImageDataset, opts: FigureOptions): GridContext {
  const seed = opts.seed ?? 0;
  return {
    model,
    data,
    name: describeModel(model),
    split: opts.split ?? 'test',
    gen: new Generator(seed),
    seed,
    numClasses: Math.max(1, (model.config as { numClasses?: number }).numClasses ?? 10),
    // each step runs under noGrad (noGrad around an async function would end at its first await),
    // and its tensors are freed
    nt: <T>(fn: () => T): T => noGrad(() => tidy(fn)),
  };
}

/**
 * The image-grid figures of an autoencoder (reconstructions, denoising, samples, CVAE rows,
 * manifold, weights), computed but not written; writeRunFigures renders them.
 */
export function gridFigures(model: AutoencoderModel, data: ImageDataset, opts: FigureOptions = {}): GridFigure[] {
  const c = figureContext(model, data, opts);
  const out: GridFigure[] = [];
  model.eval();
  try {
    out.push(reconstructionsFigure(c));
    const dae = model as unknown as { corrupt?: (x: Tensor, g: Generator) => Tensor };
    if (model.kind === 'dae' && typeof dae.corrupt === 'function') out.push(denoisingFigure(c, dae as { corrupt: (x: Tensor, g: Generator) => Tensor }));
    if (model.sample) out.push(samplesFigure(c));
    if (model.kind === 'cvae') out.push(cvaeRowsFigure(c));
    if (model.latentDim === 2 && model.kind !== 'cvae') out.push(manifoldFigure(c, () => encodeAll(c, Math.min(opts.scatterPoints ?? 2000, data.n)).codes, priorDraws(c)));
    out.push(...weightFigures(model, data, c.name));
  } finally {
    model.train();
  }
  return out;
}

/** 2000 draws from an AAE's prior (2-D latent), shown under its codes and bounding its manifold. */
function priorDraws(c: GridContext): Float32Array | null {
  const pm = c.model as PriorModel;
  if (c.model.kind !== 'aae' || typeof pm.samplePrior !== 'function' || c.model.latentDim !== 2) return null;
  return c.nt(() => pm.samplePrior!(2000, new Generator(c.seed + 1), null).data.slice());
}

/** latent.png: the codes coloured by label (their top-2 PCA projection when latent > 2). */
export function latentFigure(model: AutoencoderModel, data: ImageDataset, opts: FigureOptions = {}): ChartSpec | null {
  const c = figureContext(model, data, opts);
  model.eval();
  try {
    const m = Math.min(opts.scatterPoints ?? 2000, data.n);
    const { codes, latent } = encodeAll(c, m);
    const xy = latent === 2 ? codes : latent > 2 ? pca2(codes, m, latent) : null;
    if (!xy) return null;
    const prior = priorDraws(c);
    const pm = model as PriorModel;
    const pts = Array.from({ length: m }, (_, i) => ({
      x: xy[i * 2]!,
      y: xy[i * 2 + 1]!,
      label: data.labels ? className(data, data.labels[i]!) : 'all',
    }));
    return latentScatterSpec(pts, {
        title: latent === 2 ? `${c.name}: latent codes` : `${c.name}: latent codes (top-2 PCA projection)`,
        subtitle: `the codes of ${m} ${c.split} images, coloured by class`,
        ...(data.classNames ? { labelOrder: data.classNames } : {}),
        xTitle: latent === 2 ? 'z₁' : 'PC 1',
        yTitle: latent === 2 ? 'z₂' : 'PC 2',
        ...(prior ? { reference: Array.from({ length: prior.length / 2 }, (_, i) => ({ x: prior[i * 2]!, y: prior[i * 2 + 1]! })), referenceLabel: `draws from the ${pm.config.prior} prior` } : {}),
      });
  } finally {
    model.train();
  }
}
