/**
 * Batch transforms for autoencoders: scaling, binarisation and the corruptions of denoising
 * autoencoders (Vincent et al., 2010: additive Gaussian, salt-and-pepper, masking). They work on a
 * flat Float32Array (any layout), in place by default or into `out`, always clip to [0, 1], and
 * draw every random number from the Generator they are given, in element order — so the same seed
 * gives the same corruption.
 */

import type { Generator } from '../tensor/random.js';
import { DataError } from './errors.js';

function target(x: Float32Array, out: Float32Array | undefined, op: string): Float32Array {
  if (out === undefined) return x;
  if (out.length !== x.length) throw new DataError(`${op}: out has ${out.length} values but x has ${x.length}`);
  return out;
}

function checkFraction(f: number, op: string): void {
  if (!(f >= 0 && f <= 1)) throw new DataError(`${op}: fraction must be in [0, 1], got ${f}`);
}

const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** y = clip(x, 0, 1). NaN becomes 0. */
export function clip01(x: Float32Array, out?: Float32Array): Float32Array {
  const y = target(x, out, 'clip01');
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    y[i] = v > 0 ? (v < 1 ? v : 1) : 0;
  }
  return y;
}

/** y = clip(factor·x + offset, 0, 1), e.g. scale(x, 1/255) for raw bytes, or contrast changes. */
export function scale(x: Float32Array, factor: number, offset = 0, out?: Float32Array): Float32Array {
  const y = target(x, out, 'scale');
  for (let i = 0; i < x.length; i++) y[i] = clamp(factor * x[i]! + offset);
  return y;
}

/** y = 1 if x > threshold else 0 (fixed binarisation, e.g. for a Bernoulli decoder). */
export function binarize(x: Float32Array, threshold = 0.5, out?: Float32Array): Float32Array {
  const y = target(x, out, 'binarize');
  for (let i = 0; i < x.length; i++) y[i] = x[i]! > threshold ? 1 : 0;
  return y;
}

/**
 * y ~ Bernoulli(x): 1 with probability x (dynamic binarisation, as used for VAEs on MNIST, where
 * every epoch sees a fresh binary sample of each image).
 */
export function binarizeStochastic(x: Float32Array, generator: Generator, out?: Float32Array): Float32Array {
  const y = target(x, out, 'binarizeStochastic');
  for (let i = 0; i < x.length; i++) y[i] = generator.random() < x[i]! ? 1 : 0;
  return y;
}

/** y = clip(x + σ·ε, 0, 1), ε ~ N(0, 1): additive isotropic Gaussian noise. */
export function gaussianNoise(x: Float32Array, sigma: number, generator: Generator, out?: Float32Array): Float32Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new DataError(`gaussianNoise: sigma must be ≥ 0, got ${sigma}`);
  const y = target(x, out, 'gaussianNoise');
  // The normals in blocks from fillNormal (the same stream as normal() one by one, in float64 so
  // every value is what it was): ~2× faster than a normal() call per element.
  const n = x.length;
  for (let i0 = 0; i0 < n; i0 += NOISE_BLOCK) {
    const m = Math.min(NOISE_BLOCK, n - i0);
    const eps = generator.fillNormal(m === NOISE_BLOCK ? noiseBlock : noiseBlock.subarray(0, m));
    for (let j = 0; j < m; j++) y[i0 + j] = clamp(x[i0 + j]! + sigma * eps[j]!);
  }
  return y;
}
const NOISE_BLOCK = 4096;
const noiseBlock = new Float64Array(NOISE_BLOCK);

export interface CorruptionOptions {
  /**
   * Values per sample (C·H·W). When given, exactly round(fraction·D) elements of every sample are
   * corrupted, chosen at random — Vincent et al.'s definition. Default: each element independently
   * with probability `fraction` (the same on average, cheaper).
   */
  sampleSize?: number;
}

/**
 * Corrupts y in place at the elements CorruptionOptions selects: each one set to 0 (masking), or
 * to 0 or 1 with equal probability (`saltPepper`, one more draw per chosen element). Written
 * without a callback per element: a call per pixel dominated the cost of corrupting a batch.
 */
function corruptChosen(
  y: Float32Array,
  fraction: number,
  generator: Generator,
  options: CorruptionOptions,
  op: string,
  saltPepper: boolean,
): Float32Array {
  const n = y.length;
  const d = options.sampleSize;
  if (d === undefined) {
    for (let i = 0; i < n; i++) if (generator.random() < fraction) y[i] = saltPepper ? +(generator.random() >= 0.5) : 0;
    return y;
  }
  if (!Number.isInteger(d) || d < 1 || n % d !== 0) {
    throw new DataError(`${op}: sampleSize ${d} does not divide the batch's ${n} values`);
  }
  const k = Math.round(fraction * d);
  const idx = new Int32Array(d);
  for (let base = 0; base < n; base += d) {
    for (let i = 0; i < d; i++) idx[i] = i;
    // Partial Fisher–Yates: the first k slots become a uniform random k-subset.
    for (let j = 0; j < k; j++) {
      const r = j + Math.floor(generator.random() * (d - j));
      const t = idx[j]!;
      idx[j] = idx[r]!;
      idx[r] = t;
      y[base + idx[j]!] = saltPepper ? +(generator.random() >= 0.5) : 0;
    }
  }
  return y;
}

/** Salt-and-pepper: a `fraction` of elements set to 0 or 1 with equal probability. */
export function saltAndPepper(
  x: Float32Array,
  fraction: number,
  generator: Generator,
  out?: Float32Array,
  options: CorruptionOptions = {},
): Float32Array {
  checkFraction(fraction, 'saltAndPepper');
  return corruptChosen(clip01(x, target(x, out, 'saltAndPepper')), fraction, generator, options, 'saltAndPepper', true);
}

/** Masking noise: a `fraction` of elements set to 0. */
export function randomMask(
  x: Float32Array,
  fraction: number,
  generator: Generator,
  out?: Float32Array,
  options: CorruptionOptions = {},
): Float32Array {
  checkFraction(fraction, 'randomMask');
  return corruptChosen(clip01(x, target(x, out, 'randomMask')), fraction, generator, options, 'randomMask', false);
}

// ---------------------------------------------------------------------------------------------
// Named corruptions, for configs and the CLI (`--noise gaussian:0.3`).

export type NoiseSpec =
  | { type: 'none' }
  | { type: 'gaussian'; sigma: number }
  | { type: 'salt-pepper'; fraction: number }
  | { type: 'mask'; fraction: number }
  | { type: 'binarize'; threshold: number }
  | { type: 'binarize-stochastic' };

/** A transform applied to a batch in place. */
export type BatchTransform = (x: Float32Array, generator: Generator) => Float32Array;

/**
 * Parses 'none', 'gaussian:0.3', 'salt-pepper:0.2' (or 'sp:0.2'), 'mask:0.25',
 * 'binarize[:0.5]', 'binarize:stochastic'.
 */
export function parseNoiseSpec(text: string): NoiseSpec {
  const [rawKind, rawArg] = text.trim().toLowerCase().split(':', 2) as [string, string | undefined];
  const kind = rawKind.trim();
  const num = (what: string, dflt?: number): number => {
    if (rawArg === undefined || rawArg.trim() === '') {
      if (dflt !== undefined) return dflt;
      throw new DataError(`noise '${text}': ${kind} needs a ${what}, e.g. '${kind}:0.3'`);
    }
    const v = Number(rawArg);
    if (!Number.isFinite(v) || v < 0) throw new DataError(`noise '${text}': ${what} must be a non-negative number, got '${rawArg}'`);
    return v;
  };
  const fraction = () => {
    const f = num('fraction');
    checkFraction(f, `noise '${text}'`);
    return f;
  };
  switch (kind) {
    case 'none':
    case '':
      return { type: 'none' };
    case 'gaussian':
    case 'normal':
      return { type: 'gaussian', sigma: num('sigma') };
    case 'salt-pepper':
    case 'salt-and-pepper':
    case 'saltpepper':
    case 'sp':
      return { type: 'salt-pepper', fraction: fraction() };
    case 'mask':
    case 'masking':
      return { type: 'mask', fraction: fraction() };
    case 'binarize':
    case 'binarise':
      if (rawArg?.trim() === 'stochastic') return { type: 'binarize-stochastic' };
      return { type: 'binarize', threshold: num('threshold', 0.5) };
    default:
      throw new DataError(
        `unknown noise '${text}': expected none, gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION, binarize[:THRESHOLD] or binarize:stochastic`,
      );
  }
}

/** The in-place transform for a NoiseSpec (identity for 'none'). */
export function noiseTransform(spec: NoiseSpec, options: CorruptionOptions = {}): BatchTransform {
  switch (spec.type) {
    case 'none':
      return (x) => x;
    case 'gaussian':
      return (x, g) => gaussianNoise(x, spec.sigma, g);
    case 'salt-pepper':
      return (x, g) => saltAndPepper(x, spec.fraction, g, undefined, options);
    case 'mask':
      return (x, g) => randomMask(x, spec.fraction, g, undefined, options);
    case 'binarize':
      return (x) => binarize(x, spec.threshold);
    case 'binarize-stochastic':
      return (x, g) => binarizeStochastic(x, g);
  }
}
