/**
 * Losses, each a negative log-likelihood (seed 000's point: training a network is maximum
 * likelihood, and the loss is the likelihood's choice):
 *
 *   Gaussian  p(y|x) = N(y; f(x), σ²I):  −log p = ‖y − f(x)‖² / 2σ² + (d/2)·log 2πσ²
 *             → with σ fixed, minimising MSE is maximising the Gaussian likelihood.
 *   Bernoulli p(y|x) = Π p^y (1−p)^(1−y):  −log p = −Σ y log p + (1−y) log(1−p)  = BCE (summed).
 *   Categorical p(y=c|x) = softmax(f(x))_c:  −log p = cross-entropy.
 *
 * So `mse` and `gaussianNll` differ only by a scale and a constant, and `bce` and
 * `bernoulliNll` only by the reduction (tested in test/nn/losses.test.ts).
 *
 * Every loss takes { reduction: 'mean' | 'sum' | 'none' } (default 'mean', as PyTorch).
 */
import {
  abs,
  add,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  bcePerSample,
  bceWithLogitsPerSample,
  clamp,
  klNormalPerSample,
  exp,
  gather,
  log,
  logSoftmax,
  mean,
  mul,
  neg,
  reshape,
  sub,
  sum,
} from '../ops/index.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  reduction?: Reduction;
}

function reduce(l: Tensor, reduction: Reduction = 'mean'): Tensor {
  switch (reduction) {
    case 'mean':
      return mean(l);
    case 'sum':
      return sum(l);
    case 'none':
      return l;
    default:
      throw new Error(`loss: reduction must be 'mean', 'sum' or 'none', got '${reduction as string}'`);
  }
}

function sameShape(op: string, a: Tensor, b: Tensor, aName = 'input', bName = 'target'): void {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new Error(`${op}: ${aName} and ${bName} must be Tensors`);
  if (a.shape.join() !== b.shape.join())
    throw new Error(`${op}: ${aName} shape [${a.shape.join(', ')}] and ${bName} shape [${b.shape.join(', ')}] differ`);
}

/** Mean squared error (y − ŷ)². */
export function mse(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('mse', input, target);
  const d = sub(input, target);
  return reduce(mul(d, d), opts.reduction);
}

/** Mean absolute error |y − ŷ| (the Laplace negative log-likelihood up to constants). */
export function l1(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('l1', input, target);
  return reduce(abs(sub(input, target)), opts.reduction);
}

/**
 * Binary cross-entropy on probabilities: −[y log p + (1−y) log(1−p)], with each log clamped
 * at −100 as PyTorch does, so p = 0 or 1 gives a finite loss. Probabilities and targets outside
 * [0, 1] (or NaN) are an error naming the first such element, as in PyTorch. The argument of each log is first
 * clamped at the smallest float32, so where the clamp is active (p = 0 or 1 exactly, e.g. a
 * sigmoid saturated in float32) the gradient is 0 instead of 0·∞ = NaN.
 */
export function bce(probs: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bce', probs, target, 'probabilities');
  // One fused kernel forward and one backward (ops/elementwise.ts): the same values and
  // gradients as the composite −(y·lp + (1−y)·lq) over clamp/log/maximum, in two passes
  // over the data instead of about twenty. A batch (rank ≥ 2) reduced to a scalar goes through
  // per-sample sums, whose kernel also keeps the gradient: one pass forward, one scaling back.
  const reduction = opts.reduction ?? 'mean';
  if (probs.shape.length >= 2 && (reduction === 'mean' || reduction === 'sum')) {
    const total = sum(bcePerSample(probs, target, 'bce'));
    return reduction === 'sum' ? total : total.div(probs.size);
  }
  return reduce(binaryCrossEntropy(probs, target, 'bce'), opts.reduction);
}

/** BCE on logits, stable for any |x|: softplus(x) − x·y = max(x,0) − x·y + log(1 + e^−|x|). */
export function bceWithLogits(logits: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bceWithLogits', logits, target, 'logits');
  return reduce(binaryCrossEntropyWithLogits(logits, target), opts.reduction);
}

export interface NllOptions extends LossOptions {
  /** Targets equal to this class are skipped (PyTorch's ignore_index). */
  ignoreIndex?: number;
}

function classTargets(op: string, target: Tensor | ArrayLike<number>, n: number, c: number): Tensor {
  const t = target instanceof Tensor ? target : tensor(Array.from(target));
  if (t.size !== n) throw new Error(`${op}: expected ${n} class targets (one per row), got shape [${t.shape.join(', ')}]`);
  const d = t.data;
  for (let i = 0; i < d.length; i++)
    if (!Number.isInteger(d[i]) || d[i]! < 0 || d[i]! >= c)
      throw new Error(`${op}: target ${d[i]} at position ${i} is not a class index in [0, ${c})`);
  return t;
}

/** Negative log-likelihood of class indices under log-probabilities (N, C). */
export function nll(logProbs: Tensor, target: Tensor | ArrayLike<number>, opts: NllOptions = {}): Tensor {
  if (logProbs.ndim !== 2) throw new Error(`nll: expected log-probabilities of shape (N, C), got [${logProbs.shape.join(', ')}]`);
  const [N, C] = logProbs.shape as [number, number];
  const ignore = opts.ignoreIndex;
  const raw = target instanceof Tensor ? target.data : target;
  if (raw.length !== N)
    throw new Error(
      `nll: expected ${N} class targets (one per row), got ${target instanceof Tensor ? `shape [${target.shape.join(', ')}]` : `${raw.length}`}`,
    );
  const keepMask = new Float32Array(N);
  const idx = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const ti = raw[i]!;
    const skip = ignore !== undefined && ti === ignore;
    keepMask[i] = skip ? 0 : 1;
    idx[i] = skip ? 0 : ti;
  }
  classTargets('nll', idx, N, C);
  const picked = reshape(gather(logProbs, 1, tensor(idx, [N, 1])), [N]);
  const l = neg(mul(picked, tensor(keepMask)));
  const red = opts.reduction ?? 'mean';
  if (red === 'mean') {
    const count = keepMask.reduce((a, b) => a + b, 0);
    return mul(sum(l), 1 / count);
  }
  return reduce(l, red);
}

/**
 * Cross-entropy of logits (N, C) against class indices (N) or against probabilities / one-hot
 * rows of the same shape as the logits.
 */
export function crossEntropy(logits: Tensor, target: Tensor | ArrayLike<number>, opts: NllOptions = {}): Tensor {
  if (logits.ndim !== 2) throw new Error(`crossEntropy: expected logits of shape (N, C), got [${logits.shape.join(', ')}]`);
  const lp = logSoftmax(logits, 1);
  if (target instanceof Tensor && target.shape.join() === logits.shape.join()) {
    const l = neg(sum(mul(target, lp), 1));
    return reduce(l, opts.reduction);
  }
  return nll(lp, target, opts);
}

/**
 * KL(N(μ, diag σ²) ‖ N(0, I)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), summed over the latent dims
 * of each sample (dims ≥ 1), then reduced over the batch.
 */
export function klNormal(mu: Tensor, logvar: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('klNormal', mu, logvar, 'mu', 'logvar');
  // (B, …): one fused pass (per-sample sums, gradient kept for the backward)
  if (mu.shape.length >= 2) return reduce(klNormalPerSample(mu, logvar), opts.reduction);
  const terms = sub(sub(add(logvar, 1), mul(mu, mu)), exp(logvar));
  const axes = mu.shape.map((_, i) => i).slice(1);
  const perSample = mul(axes.length ? sum(terms, axes) : terms, -0.5);
  return reduce(perSample, opts.reduction);
}

export interface GaussianNllOptions extends LossOptions {
  /** Include the constant ½·log 2π. */
  full?: boolean;
  /** Variances are clamped below at eps for stability. */
  eps?: number;
}

/** Gaussian negative log-likelihood ½(log σ² + (y − μ)²/σ²) [+ ½ log 2π], as torch's gaussian_nll_loss. */
export function gaussianNll(input: Tensor, target: Tensor, variance: Tensor | number, opts: GaussianNllOptions = {}): Tensor {
  sameShape('gaussianNll', input, target);
  let v = variance instanceof Tensor ? variance : tensor(variance);
  if (v.ndim === input.ndim - 1 && v.shape.every((d, i) => d === input.shape[i])) v = reshape(v, [...v.shape, 1]);
  if (v.size !== 1 && v.ndim !== input.ndim)
    throw new Error(`gaussianNll: variance shape [${v.shape.join(', ')}] does not fit input shape [${input.shape.join(', ')}]`);
  const vd = v.data;
  for (let i = 0; i < vd.length; i++) if (vd[i]! < 0) throw new Error(`gaussianNll: variance has a negative entry at position ${i}`);
  const vc = clamp(v, opts.eps ?? 1e-6);
  const d = sub(input, target);
  let l = mul(add(log(vc), div2(mul(d, d), vc)), 0.5);
  if (opts.full) l = add(l, 0.5 * Math.log(2 * Math.PI));
  return reduce(l, opts.reduction);
}

const div2 = (a: Tensor, b: Tensor): Tensor => a.div(b);

/** Bernoulli negative log-likelihood of a batch: BCE summed over each sample's dims, then reduced over the batch. */
export function bernoulliNll(probs: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bernoulliNll', probs, target, 'probabilities');
  // (B, …): one fused pass (per-sample sums, gradient kept for the backward)
  if (probs.shape.length >= 2) return reduce(bcePerSample(probs, target, 'bernoulliNll'), opts.reduction);
  const l = reduce(binaryCrossEntropy(probs, target, 'bernoulliNll'), 'none');
  const axes = probs.shape.map((_, i) => i).slice(1);
  return reduce(axes.length ? sum(l, axes) : l, opts.reduction);
}

/** Bernoulli NLL from logits (the numerically stable form a VAE decoder should use). */
export function bernoulliNllWithLogits(logits: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bernoulliNllWithLogits', logits, target, 'logits');
  // (B, …): one fused pass (per-sample sums, gradient kept for the backward)
  if (logits.shape.length >= 2) return reduce(bceWithLogitsPerSample(logits, target), opts.reduction);
  return reduce(bceWithLogits(logits, target, { reduction: 'none' }), opts.reduction);
}

/** Likelihood names for the same functions (seed 000's vocabulary). */
export const gaussianNllUnitVariance = (input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor =>
  gaussianNll(input, target, 1, opts);
export const categoricalNll = crossEntropy;
