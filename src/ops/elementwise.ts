/**
 * Elementwise ops with NumPy broadcasting, activations, clamp and where: the primitive unary and
 * binary kernels, plus the activations' derivatives (a fused kernel, or their composite).
 */
import type { BinaryOp, FusedBinaryOp, UnaryGradOp, UnaryOp } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { noGrad, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { asTensor, broadcastShapes, checkTensor, fmt, padShape, type TensorLike } from './util.js';

/**
 * A two-input elementwise op over broadcast shapes: a primitive (`binary`), or a fused loss op
 * of FusedKernels.binary (the caller checks the backend has it).
 */
function binary(op: BinaryOp | FusedBinaryOp, a: TensorLike, b: TensorLike, differentiable: boolean, fused = false): Tensor {
  const A = asTensor(a);
  const B = asTensor(b);
  const outShape = checkBinary(op, A, B);
  const out = Tensor.uninit(outShape);
  const r = outShape.length;
  const be = getBackend();
  if (fused) be.fused!.binary!(op as FusedBinaryOp, A.data, padShape(A.shape, r), B.data, padShape(B.shape, r), out.data, outShape);
  else be.binary(op as BinaryOp, A.data, padShape(A.shape, r), B.data, padShape(B.shape, r), out.data, outShape);
  return differentiable ? record(out, op, [A, B]) : out;
}

/** Checks the inputs of a two-input op and returns their broadcast shape (errors name the op). */
export function checkBinary(op: string, a: Tensor, b: Tensor): number[] {
  checkTensor(op, a, 'first input');
  checkTensor(op, b, 'second input');
  return broadcastShapes(op, a.shape, b.shape);
}

/** A fused two-input loss op (FusedKernels.binary); differentiable ones have a rule in autograd/rules.ts. */
export function fusedBinary(op: FusedBinaryOp, a: TensorLike, b: TensorLike, differentiable: boolean): Tensor {
  return binary(op, a, b, differentiable, true);
}

export function unaryOp(op: UnaryOp, x: Tensor, p = 0): Tensor {
  checkTensor(op, x);
  const out = Tensor.uninit(x.shape);
  getBackend().unary(op, x.data, out.data, p);
  return op === 'sign' ? out : record(out, op, [x], { p });
}

/**
 * g · f'(x), not differentiable: the backend's fused kernel, or the composite of primitives it
 * stands for. `x` is the output y for sigmoid/tanh (f' = y(1 − y) and 1 − y²).
 */
export function unaryGrad(op: UnaryGradOp, x: Tensor, g: Tensor, p = 0): Tensor {
  const kernel = getBackend().fused?.unaryGrad;
  if (!kernel) return noGrad(() => unaryGradComposite(op, x, g, p));
  const out = Tensor.uninit(x.shape);
  kernel(op, x.data, g.data, out.data, p);
  return out;
}

function unaryGradComposite(op: UnaryGradOp, x: Tensor, g: Tensor, p: number): Tensor {
  switch (op) {
    case 'relu':
      return where(gt(x, 0), g, 0);
    case 'leakyRelu':
      return where(gt(x, 0), g, mul(g, p));
    case 'elu': // α·eˣ below 0
      return where(gt(x, 0), g, mul(mul(g, p), exp(x)));
    case 'softplus': // d/dx log(1 + eˣ) = sigmoid(x)
      return mul(g, sigmoid(x));
    case 'sigmoid':
      return mul(mul(g, x), sub(1, x));
    case 'tanh':
      return mul(g, sub(1, mul(x, x)));
    default:
      throw new Error(`unaryGrad: unknown op '${op as string}'`);
  }
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
 * erf(x), a composite: Abramowitz & Stegun 7.1.26, erf(|x|) ≈ 1 − (a₁t + … + a₅t⁵)·e^{−x²} with
 * t = 1/(1 + p|x|) (absolute error ≤ 1.5e-7, below float32's resolution near 1), odd in x.
 */
export function erf(x: Tensor): Tensor {
  const ax = abs(x);
  const t = reciprocal(add(mul(ax, 0.3275911), 1));
  // Horner: t·(a₁ + t·(a₂ + t·(a₃ + t·(a₄ + t·a₅))))
  let poly = mul(t, 1.061405429);
  for (const a of [-1.453152027, 1.421413741, -0.284496736]) poly = mul(t, add(poly, a));
  poly = mul(t, add(poly, 0.254829592));
  return mul(sign(x), sub(1, mul(poly, exp(neg(square(ax))))));
}

/**
 * GELU(x) = x·Φ(x), Φ the standard normal CDF: `approximate` 'none' is 0.5·x·(1 + erf(x/√2)) and
 * 'tanh' is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as torch.nn.functional.gelu. A composite:
 * its gradient comes from the rules of its parts.
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh')
    throw new Error(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
  const inner = approximate === 'none' ? erf(mul(x, Math.SQRT1_2)) : tanh(mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)));
  return mul(mul(x, 0.5), add(inner, 1));
}

/** SiLU (swish): x·sigmoid(x), as torch.nn.functional.silu. A composite. */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));

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
