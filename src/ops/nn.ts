/** Functional building blocks of layers: dropout and batch normalisation, made of ops. */
import { noGrad } from '../autograd/tape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';
import { checkTensor, fmt } from './util.js';

/** Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p). */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  checkTensor('dropout', x);
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const mask = Tensor.uninit(x.shape);
  const m = mask.data;
  const keepScale = p === 1 ? 0 : 1 / (1 - p);
  // keepScale·(u ≥ p) without a branch, because the coin flips defeat branch prediction; the
  // same values as `u >= p ? keepScale : 0`.
  for (let i = 0; i < m.length; i++) m[i] = keepScale * +(generator.random() >= p);
  return mul(x, mask);
}

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over every dim but 1 (the feature/channel dim) of (N, C) or (N, C, H, W):
 *   y = (x − μ) / √(σ² + ε) · γ + β,
 * with batch statistics (biased σ²) in training — running statistics updated with the unbiased
 * variance and `momentum`, as PyTorch — and the running statistics in evaluation.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  checkTensor('batchNorm', x);
  if (x.ndim < 2) throw new Error(`batchNorm: expected at least 2-D input (N, C, …), got ${fmt(x.shape)}`);
  const C = x.shape[1]!;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const)
    if (t && t.size !== C) throw new Error(`batchNorm: ${name} has ${t.size} elements, input ${fmt(x.shape)} has ${C} channels`);
  let mu: Tensor;
  let v: Tensor;
  if (opts.training || !runningMean || !runningVar) {
    const n = x.size / C;
    if (opts.training && n <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
    mu = mean(x, axes, true);
    const d = sub(x, mu);
    v = mul(sum(mul(d, d), axes, true), 1 / n);
    if (opts.training && runningMean && runningVar) {
      noGrad(() => {
        const rm = runningMean.data;
        const rv = runningVar.data;
        const md = mu.data;
        const vd = v.data;
        for (let c = 0; c < C; c++) {
          rm[c] = (1 - momentum) * rm[c]! + momentum * md[c]!;
          rv[c] = (1 - momentum) * rv[c]! + (momentum * vd[c]! * n) / Math.max(n - 1, 1);
        }
      });
    }
  } else {
    mu = reshape(runningMean, bshape);
    v = reshape(runningVar, bshape);
  }
  let y = div(sub(x, mu), sqrt(add(v, eps)));
  if (weight) y = mul(y, reshape(weight, bshape));
  if (bias) y = add(y, reshape(bias, bshape));
  return y;
}
