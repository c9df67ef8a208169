/**
 * The loss terms behind nn/losses and the family models: binary cross-entropy of probabilities or
 * of logits (elementwise and summed per sample), the Gaussian KL term, and the VAE's
 * reparameterised sample. Each runs as one fused kernel when the backend has it (FusedKernels in
 * kernels/backend.ts), with a gradient rule in autograd/rules.ts that reuses what the forward
 * pass computed; otherwise as the composite of primitive ops written next to it, whose gradient
 * comes from the primitives' rules. Both give the same values within float rounding (most the
 * same bits, as each doc says).
 */
import { F32_TINY, type FusedBinaryOp } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { isGradEnabled, noGrad, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import {
  add,
  checkBinary,
  clamp,
  div,
  exp,
  fusedBinary,
  ge,
  log,
  maximum,
  mul,
  neg,
  sigmoid,
  softplus,
  sub,
  where,
} from './elementwise.js';
import { sum } from './reduce.js';
import { asTensor, checkTensor, fmt, type TensorLike } from './util.js';

/** 27·2^−149, the smallest float32 whose log is above −100: the BCE log clamp is inactive from it up. */
const E100 = 27 * F32_TINY;

/** max(log(max(x, F32_TINY)), −100): PyTorch's clamped log in binary_cross_entropy. */
function clampedLog(x: Tensor): Tensor {
  return maximum(log(clamp(x, F32_TINY)), -100);
}

/**
 * A loss op of FusedKernels.binary: the fused kernel (recorded under op's name, whose rule is in
 * autograd/rules.ts) when the backend has it, else `composite` of primitive ops (recorded as
 * those, unless the op is not differentiable).
 */
function lossOp(
  op: FusedBinaryOp,
  a: TensorLike,
  b: TensorLike,
  differentiable: boolean,
  composite: (a: Tensor, b: Tensor) => Tensor,
): Tensor {
  if (getBackend().fused?.binary) return fusedBinary(op, a, b, differentiable);
  const A = asTensor(a);
  const B = asTensor(b);
  checkBinary(op, A, B);
  return differentiable ? composite(A, B) : noGrad(() => composite(A, B));
}

/** −[y log p + (1−y) log(1−p)] of primitive ops, each log clamped (the fused kernel's composite). */
const bceComposite = (P: Tensor, Y: Tensor): Tensor => neg(add(mul(Y, clampedLog(P)), mul(sub(1, Y), clampedLog(sub(1, P)))));

/**
 * Elementwise binary cross-entropy −[y log p + (1−y) log(1−p)] of probabilities p against
 * targets y, each log clamped at −100 (as PyTorch); losses.bce reduces it. Both must lie in
 * [0, 1], as PyTorch requires (see checkUnitInterval); `op` names the caller in that error.
 */
export function binaryCrossEntropy(p: TensorLike, y: TensorLike, op = 'binaryCrossEntropy'): Tensor {
  const P = asTensor(p);
  const Y = asTensor(y);
  checkTensor(op, P, 'probabilities');
  checkTensor(op, Y, 'targets');
  checkUnitInterval(op, P, 'probabilities');
  checkUnitInterval(op, Y, 'targets');
  return lossOp('bce', P, Y, true, bceComposite);
}

/**
 * PyTorch's binary_cross_entropy raises "all elements of input should be between 0 and 1" (and
 * the same of target): a value outside [0, 1] means logits or unscaled data were passed where
 * probabilities belong, and the clamped logs would turn it into a finite, meaningless loss.
 * The test is the backend's min and max reductions (SIMD on wasm; both let NaN win, so NaN fails
 * too, as in PyTorch); only a failing tensor is searched for the first offending element.
 */
export function checkUnitInterval(op: string, t: Tensor, name: string): void {
  const n = t.size;
  if (n === 0) return;
  const b = getBackend();
  const out = b.alloc(2, false);
  // taken after the allocation, which may grow (and so detach) wasm memory
  const d = t.data;
  let lo: number;
  let hi: number;
  try {
    b.reduce('min', d, [n], [0], out.subarray(0, 1));
    b.reduce('max', d, [n], [0], out.subarray(1, 2));
    lo = out[0]!;
    hi = out[1]!;
  } finally {
    b.free(out);
  }
  if (lo >= 0 && hi <= 1) return;
  let i = 0;
  while (i < n - 1 && d[i]! >= 0 && d[i]! <= 1) i++;
  const at: number[] = [];
  for (let k = t.shape.length - 1, rest = i; k >= 0; k--) {
    at.unshift(rest % t.shape[k]!);
    rest = Math.floor(rest / t.shape[k]!);
  }
  const hint = name === 'probabilities' ? ' (for logits use bceWithLogits)' : '';
  throw new RangeError(`${op}: all ${name} must be between 0 and 1, but ${name}[${at.join(', ')}] = ${d[i]}${hint}`);
}
/** Its derivative in p (not differentiable): (1−y)/(1−p) − y/p, each term 0 where its log's clamp is active. */
export const binaryCrossEntropyGrad = (p: TensorLike, y: TensorLike): Tensor =>
  lossOp('bceGrad', p, y, false, (P, Y) => {
    const q = sub(1, P);
    return sub(where(ge(q, E100), div(sub(1, Y), q), 0), where(ge(P, E100), div(Y, P), 0));
  });

/**
 * Elementwise binary cross-entropy of logits z against targets y, max(z, 0) − z·y + log(1 + e^−|z|)
 * (= softplus(z) − z·y, stable for any z); losses.bceWithLogits reduces it.
 */
export const binaryCrossEntropyWithLogits = (z: TensorLike, y: TensorLike): Tensor =>
  lossOp('bceLogits', z, y, true, (Z, Y) => sub(softplus(Z), mul(Z, Y)));

/** Its derivative in z, sigmoid(z) − y (not differentiable). */
export const binaryCrossEntropyWithLogitsGrad = (z: TensorLike, y: TensorLike): Tensor =>
  lossOp('bceLogitsGrad', z, y, false, (Z, Y) => sub(sigmoid(Z), Y));

/**
 * (sigmoid(z) − y)², not differentiable: the squared error of the probabilities a logit-output
 * decoder gives, with the same bits as `mul(d, d)` for `d = sub(sigmoid(z), y)`.
 */
export const sigmoidSquaredError = (z: TensorLike, y: TensorLike): Tensor =>
  lossOp('sigmoidSqErr', z, y, false, (Z, Y) => {
    const d = sub(sigmoid(Z), Y);
    return mul(d, d);
  });

/** Σ over every dim but the first: (B, …) → (B). */
function sumPerSample(t: Tensor): Tensor {
  return sum(
    t,
    t.shape.slice(1).map((_, i) => i + 1),
  );
}

/**
 * Per-sample binary cross-entropy of probabilities p against targets y, both (B, …): Σ over each
 * sample's elements of binaryCrossEntropy (each log clamped at −100), shape (B) — the same bits
 * as `sum(binaryCrossEntropy(p, y), [1, …])`. Differentiable; fused, the gradient in p
 * (binaryCrossEntropyGrad) comes from the forward pass, so the backward is one scaling. Both must
 * lie in [0, 1] (checkUnitInterval); `op` names the caller in that error.
 */
export function bcePerSample(p: Tensor, y: Tensor, op = 'bcePerSample'): Tensor {
  sameSamples(op, p, y, 'probabilities', 'targets');
  checkUnitInterval(op, p, 'probabilities');
  checkUnitInterval(op, y, 'targets');
  const kernel = getBackend().fused?.bceRows;
  if (!kernel) return sumPerSample(lossOp('bce', p, y, true, bceComposite));
  return perSampleOp('bcePerSample', p, y, p.requiresGrad, 'grad', (rows, cols, out, grad) => kernel(p.data, y.data, rows, cols, out, grad));
}

/**
 * Per-sample binary cross-entropy of logits z against targets y, both (B, …): Σ over each
 * sample's elements of bceLogits, shape (B) — the same bits as
 * `sum(binaryCrossEntropyWithLogits(z, y), [1, …])`. When `sqErr` (a tensor of B elements) is
 * given it receives each sample's Σ (sigmoid(z) − y)² (as sigmoidSquaredError summed), fused
 * from the same pass. Differentiable; fused, the gradient in z, sigmoid(z) − y, comes from the
 * forward pass too, so the backward is one scaling.
 */
export function bceWithLogitsPerSample(z: Tensor, y: Tensor, sqErr?: Tensor): Tensor {
  const op = 'bceWithLogitsPerSample';
  sameSamples(op, z, y, 'logits', 'targets');
  const rows = z.shape[0]!;
  if (sqErr && sqErr.size !== rows) throw new Error(`${op}: sqErr has ${sqErr.size} elements, the batch has ${rows} samples`);
  const kernel = getBackend().fused?.bceLogitsRows;
  if (!kernel) {
    if (sqErr)
      noGrad(() => {
        const s = sumPerSample(sigmoidSquaredError(z, y));
        getBackend().copy(s.data, sqErr.data);
        s.dispose();
      });
    return sumPerSample(binaryCrossEntropyWithLogits(z, y));
  }
  // (the gradient in y, −z, needs no saved tensor)
  return perSampleOp(op, z, y, z.requiresGrad, 'diff', (rows, cols, out, diff) =>
    kernel(z.data, y.data, rows, cols, out, sqErr ? sqErr.data : null, diff),
  );
}

/**
 * KL(N(μ, σ²) ‖ N(0, I)) of each sample, −½ Σ (1 + log σ² − μ² − σ²) over its elements, from μ
 * and log σ² of shape (B, …): shape (B) — the bits of the composite (add, mul, sub, exp, sum,
 * × −½). Differentiable: d/dμ = μ, d/d log σ² = ½(σ² − 1) (kept from the forward pass when fused).
 */
export function klNormalPerSample(mu: Tensor, logvar: Tensor): Tensor {
  const op = 'klNormalPerSample';
  sameSamples(op, mu, logvar, 'mu', 'logvar');
  const kernel = getBackend().fused?.klNormalRows;
  if (!kernel) return mul(sumPerSample(sub(sub(add(logvar, 1), mul(mu, mu)), exp(logvar))), -0.5);
  return perSampleOp(op, mu, logvar, logvar.requiresGrad, 'dlv', (rows, cols, out, dlv) =>
    kernel(mu.data, logvar.data, rows, cols, out, dlv),
  );
}

/**
 * The reparameterisation z = μ + e^{½ log σ²} ⊙ ε of a Gaussian sample — the bits of
 * add(mu, mul(exp(mul(logvar, 0.5)), eps)). Differentiable in all three.
 */
export function reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor): Tensor {
  const op = 'reparameterize';
  sameSamples(op, mu, logvar, 'mu', 'logvar');
  sameSamples(op, mu, eps, 'mu', 'eps');
  const kernel = getBackend().fused?.reparameterize;
  if (!kernel) return add(mu, mul(exp(mul(logvar, 0.5)), eps));
  const z = Tensor.uninit(mu.shape);
  const half = isGradEnabled() && logvar.requiresGrad ? Tensor.uninit(mu.shape) : null;
  kernel(mu.data, logvar.data, eps.data, z.data, half ? half.data : null);
  return record(z, op, [mu, logvar, eps], { half });
}

/** Checks that a and b are tensors of one shape of rank ≥ 1 (per-sample ops). */
function sameSamples(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  checkTensor(op, a, an);
  checkTensor(op, b, bn);
  if (a.shape.length < 1 || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: ${an} ${fmt(a.shape)} and ${bn} ${fmt(b.shape)} must have the same shape, of rank ≥ 1`);
  }
}

/**
 * The frame of a fused per-sample op over a and b of one (checked) shape (B, …): the (B) output,
 * the per-element gradient factor the kernel also writes (a's shape, saved under `saveAs` when
 * `keep` and the tape will record the op), the kernel call (rows, elements per row) and the record.
 */
function perSampleOp(
  op: string,
  a: Tensor,
  b: Tensor,
  keep: boolean,
  saveAs: string,
  kernel: (rows: number, cols: number, out: Float32Array, aux: Float32Array | null) => void,
): Tensor {
  const rows = a.shape[0]!;
  const out = Tensor.uninit([rows]);
  const aux = keep && isGradEnabled() ? Tensor.uninit(a.shape) : null;
  kernel(rows, rows === 0 ? 0 : a.size / rows, out.data, aux ? aux.data : null);
  return record(out, op, [a, b], { [saveAs]: aux });
}
