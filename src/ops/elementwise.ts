/** Elementwise ops with NumPy broadcasting, activations, clamp and where. */
import type { BinaryOp, UnaryGradOp, UnaryOp } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { isGradEnabled, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { asTensor, broadcastShapes, checkTensor, fmt, padShape, type TensorLike } from './util.js';

function binary(op: BinaryOp, a: TensorLike, b: TensorLike, differentiable: boolean): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  checkTensor(op, A, 'first input');
  checkTensor(op, B, 'second input');
  const outShape = broadcastShapes(op, A.shape, B.shape);
  const out = Tensor.uninit(outShape);
  const r = outShape.length;
  getBackend().binary(op, A.data, padShape(A.shape, r), B.data, padShape(B.shape, r), out.data, outShape);
  return differentiable ? record(out, op, [A, B]) : out;
}

export function unaryOp(op: UnaryOp, x: Tensor, p = 0): Tensor {
  checkTensor(op, x);
  const out = Tensor.uninit(x.shape);
  getBackend().unary(op, x.data, out.data, p);
  return op === 'sign' ? out : record(out, op, [x], { p });
}

/** g · f'(x) by a fused kernel (not itself differentiable). `x` is the output y for sigmoid/tanh. */
export function unaryGrad(op: UnaryGradOp, x: Tensor, g: Tensor, p = 0): Tensor {
  const out = Tensor.uninit(x.shape);
  getBackend().unaryGrad(op, x.data, g.data, out.data, p);
  return out;
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  // x + 0 as x·1: a differentiable copy with every bit of x (x + 0 would turn −0 into +0).
  if (typeof b === 'number' && a instanceof Tensor) return b === 0 ? unaryOp('mulScalar', a, 1) : unaryOp('addScalar', a, b);
  if (typeof a === 'number' && b instanceof Tensor) return unaryOp('addScalar', b, a);
  return binary('add', a, b, true);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return unaryOp('addScalar', a, -b);
  if (typeof a === 'number' && b instanceof Tensor) return unaryOp('rsubScalar', b, a);
  return binary('sub', a, b, true);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return unaryOp('mulScalar', a, b);
  if (typeof a === 'number' && b instanceof Tensor) return unaryOp('mulScalar', b, a);
  return binary('mul', a, b, true);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return unaryOp('mulScalar', a, 1 / b);
  return binary('div', a, b, true);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return unaryOp('powScalar', a, b);
  return binary('pow', a, b, true);
}

export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b, true);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b, true);
/** Comparisons give 0/1 float tensors and carry no gradient. */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b, false);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b, false);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b, false);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b, false);
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b, false);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b, false);
/**
 * Elementwise binary cross-entropy −[y log p + (1−y) log(1−p)] of probabilities p against
 * targets y, each log clamped at −100 (as PyTorch), in one fused kernel (losses.bce reduces it).
 */
export const binaryCrossEntropy = (p: TensorLike, y: TensorLike): Tensor => binary('bce', p, y, true);
/** Its derivative in p (a kernel, not differentiable): 0 where a log's clamp is active. */
export const binaryCrossEntropyGrad = (p: TensorLike, y: TensorLike): Tensor => binary('bceGrad', p, y, false);
/**
 * Elementwise binary cross-entropy of logits z against targets y, max(z, 0) − z·y + log(1 + e^−|z|)
 * (= softplus(z) − z·y, stable for any z), in one fused kernel (losses.bceWithLogits reduces it).
 */
export const binaryCrossEntropyWithLogits = (z: TensorLike, y: TensorLike): Tensor => binary('bceLogits', z, y, true);
/** Its derivative in z, sigmoid(z) − y (a kernel, not differentiable). */
export const binaryCrossEntropyWithLogitsGrad = (z: TensorLike, y: TensorLike): Tensor => binary('bceLogitsGrad', z, y, false);
/**
 * (sigmoid(z) − y)² in one kernel, not differentiable: the squared error of the probabilities a
 * logit-output decoder gives, with the same bits as `mul(d, d)` for `d = sub(sigmoid(z), y)`.
 */
export const sigmoidSquaredError = (z: TensorLike, y: TensorLike): Tensor => binary('sigmoidSqErr', z, y, false);

/**
 * Per-sample binary cross-entropy of probabilities p against targets y, both (B, …): Σ over each
 * sample's elements of binaryCrossEntropy (each log clamped at −100), shape (B), in one pass over
 * the data — the same bits as `sum(binaryCrossEntropy(p, y), [1, …])`. Differentiable; the
 * gradient in p (binaryCrossEntropyGrad) comes from the forward pass, so the backward is one
 * scaling.
 */
export function bcePerSample(p: Tensor, y: Tensor): Tensor {
  return perSampleOp('bcePerSample', p, y, 'probabilities', 'targets', p.requiresGrad, 'grad', (rows, cols, out, grad) =>
    getBackend().bceRows(p.data, y.data, rows, cols, out, grad),
  );
}

/**
 * Per-sample binary cross-entropy of logits z against targets y, both (B, …): Σ over each
 * sample's elements of bceLogits, shape (B), in one pass over the data — the same bits as
 * `sum(binaryCrossEntropyWithLogits(z, y), [1, …])`. When `sqErr` (a tensor of B elements) is
 * given it receives each sample's Σ (sigmoid(z) − y)² (as sigmoidSquaredError summed) from the
 * same pass. Differentiable; the gradient in z, sigmoid(z) − y, comes from the forward pass too,
 * so the backward is one scaling.
 */
export function bceWithLogitsPerSample(z: Tensor, y: Tensor, sqErr?: Tensor): Tensor {
  const op = 'bceWithLogitsPerSample';
  // (the gradient in y, −z, needs no saved tensor)
  return perSampleOp(
    op,
    z,
    y,
    'logits',
    'targets',
    z.requiresGrad,
    'diff',
    (rows, cols, out, diff) => getBackend().bceLogitsRows(z.data, y.data, rows, cols, out, sqErr ? sqErr.data : null, diff),
    (rows) => {
      if (sqErr && sqErr.size !== rows) throw new Error(`${op}: sqErr has ${sqErr.size} elements, the batch has ${rows} samples`);
    },
  );
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
 * The frame of the per-sample ops over a and b of one shape (B, …): the checks, the (B) output,
 * the per-element gradient factor the kernel also writes (a's shape, saved under `saveAs` when
 * `keep` and the tape will record the op), the kernel call (rows, elements per row) and the record.
 * `checkRows` checks what else depends on the batch size, before anything is allocated.
 */
function perSampleOp(
  op: string,
  a: Tensor,
  b: Tensor,
  an: string,
  bn: string,
  keep: boolean,
  saveAs: string,
  kernel: (rows: number, cols: number, out: Float32Array, aux: Float32Array | null) => void,
  checkRows?: (rows: number) => void,
): Tensor {
  sameSamples(op, a, b, an, bn);
  const rows = a.shape[0]!;
  checkRows?.(rows);
  const out = Tensor.uninit([rows]);
  const aux = keep && isGradEnabled() ? Tensor.uninit(a.shape) : null;
  kernel(rows, rows === 0 ? 0 : a.size / rows, out.data, aux ? aux.data : null);
  return record(out, op, [a, b], { [saveAs]: aux });
}

/**
 * KL(N(μ, σ²) ‖ N(0, I)) of each sample, −½ Σ (1 + log σ² − μ² − σ²) over its elements, from μ
 * and log σ² of shape (B, …): shape (B), in one pass — the bits of the composite (add, mul, sub,
 * exp, sum, × −½). Differentiable: d/dμ = μ, d/d log σ² = ½(σ² − 1) (kept from the forward pass).
 */
export function klNormalPerSample(mu: Tensor, logvar: Tensor): Tensor {
  return perSampleOp('klNormalPerSample', mu, logvar, 'mu', 'logvar', logvar.requiresGrad, 'dlv', (rows, cols, out, dlv) =>
    getBackend().klNormalRows(mu.data, logvar.data, rows, cols, out, dlv),
  );
}

/**
 * The reparameterisation z = μ + e^{½ log σ²} ⊙ ε of a Gaussian sample, in one kernel — the bits
 * of add(mu, mul(exp(mul(logvar, 0.5)), eps)). Differentiable in all three.
 */
export function reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor): Tensor {
  const op = 'reparameterize';
  sameSamples(op, mu, logvar, 'mu', 'logvar');
  sameSamples(op, mu, eps, 'mu', 'eps');
  const z = Tensor.uninit(mu.shape);
  const half = isGradEnabled() && logvar.requiresGrad ? Tensor.uninit(mu.shape) : null;
  getBackend().reparameterize(mu.data, logvar.data, eps.data, z.data, half ? half.data : null);
  return record(z, op, [mu, logvar, eps], { half });
}

export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
export const log = (x: Tensor): Tensor => unaryOp('log', x);
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
export const sign = (x: Tensor): Tensor => unaryOp('sign', x);
export const square = (x: Tensor): Tensor => unaryOp('square', x);
export const reciprocal = (x: Tensor): Tensor => unaryOp('reciprocal', x);
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => unaryOp('leakyRelu', x, negativeSlope);
export const elu = (x: Tensor, alpha = 1): Tensor => unaryOp('elu', x, alpha);

/** softplus(x) = (1/β)·log(1 + e^{βx}); linear above the threshold, as PyTorch. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  if (beta === 1 && threshold >= 20) return unaryOp('softplus', x);
  const bx = beta === 1 ? x : mul(x, beta);
  const sp = beta === 1 ? unaryOp('softplus', bx) : mul(unaryOp('softplus', bx), 1 / beta);
  // Above the threshold PyTorch returns x itself; the stable formula differs there by < 2e-9·x.
  return where(gt(bx, threshold), x, sp);
}

/**
 * PReLU: max(0, x) + a·min(0, x) with a learnable slope a, one per channel (dim 1) or shared.
 * Written as relu(x) − a·relu(−x) so its gradient comes from the rules of its parts.
 */
export function prelu(x: Tensor, a: Tensor): Tensor {
  checkTensor('prelu', x);
  let slope = a;
  if (a.size !== 1) {
    if (x.ndim < 2 || x.shape[1] !== a.size)
      throw new Error(`prelu: weight has ${a.size} slopes but input ${fmt(x.shape)} has ${x.shape[1] ?? 0} channels (dim 1)`);
    const s = x.shape.map((_, i) => (i === 1 ? a.size : 1));
    slope = reshapeShared(a, s);
  }
  return sub(relu(x), mul(slope, relu(neg(x))));
}

/** A differentiable reshape without importing shape.ts (avoids an import cycle). */
function reshapeShared(a: Tensor, shape: number[]): Tensor {
  const out = a.shareWith(shape);
  return record(out, 'reshape', [a], { shape: a.shape.slice() });
}

/** Clamps into [lo, hi]; the gradient passes where the input was inside the range. */
export function clamp(x: Tensor, lo = -Infinity, hi = Infinity): Tensor {
  checkTensor('clamp', x);
  if (lo > hi) throw new Error(`clamp: min ${lo} is greater than max ${hi}`);
  const out = Tensor.uninit(x.shape);
  getBackend().clamp(x.data, lo, hi, out.data);
  return record(out, 'clamp', [x], { lo, hi });
}

/** cond ? a : b elementwise, broadcasting all three. cond is any tensor (nonzero = true). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  checkTensor('where', cond, 'condition');
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, A.shape), B.shape);
  const c = expandData(cond, shape);
  const ea = expandData(A, shape);
  const eb = expandData(B, shape);
  const out = Tensor.uninit(shape);
  getBackend().where(c, ea, eb, out.data);
  return record(out, 'where', [A, B], { cond: new Float32Array(c) });
}

function expandData(t: Tensor, shape: number[]): Float32Array {
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t.data;
  const out = Tensor.uninit(shape);
  getBackend().expand(t.data, padShape(t.shape, shape.length), out.data, shape);
  return out.data;
}
