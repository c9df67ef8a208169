/**
 * Elementwise kernels of the reference backend: unary ops, the activations' fused derivatives,
 * broadcasting binary ops, where, clamp, expand, fill and copy.
 */
import type { BinaryOp, F32, Shape, UnaryGradOp, UnaryOp } from '../backend.js';
import { contiguousStrides } from './shape.js';

/** Strides of `shape` inside a broadcast to an output of the same rank: 0 where the dim is 1. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = contiguousStrides(shape);
  return st.map((s, i) => (shape[i] === 1 && outShape[i] !== 1 ? 0 : s));
}

/** sigmoid(v) rounded to float32; two branches keep exp from overflowing for large |v|. */
export function sigmoidF32(v: number): number {
  if (v >= 0) return Math.fround(1 / (1 + Math.exp(-v)));
  const e = Math.exp(v);
  return Math.fround(e / (1 + e));
}

export function unary(op: UnaryOp, x: F32, out: F32, p: number): void {
  const n = out.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = x[i]! * x[i]!;
      return;
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / x[i]!;
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = sigmoidF32(x[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? v : 0;
      }
      return;
    case 'leakyRelu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? v : p * v;
      }
      return;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? v : p * (Math.exp(v) - 1);
      }
      return;
    case 'softplus':
      // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for any x.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case 'addScalar':
      for (let i = 0; i < n; i++) out[i] = x[i]! + p;
      return;
    case 'mulScalar':
      for (let i = 0; i < n; i++) out[i] = x[i]! * p;
      return;
    case 'powScalar':
      if (p === 2) for (let i = 0; i < n; i++) out[i] = x[i]! * x[i]!;
      else if (p === 0.5) for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      else for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, p);
      return;
    case 'rsubScalar':
      for (let i = 0; i < n; i++) out[i] = p - x[i]!;
      return;
    default:
      throw new Error(`js backend: unknown unary op '${op as string}'`);
  }
}

export function unaryGrad(op: UnaryGradOp, x: F32, g: F32, out: F32, p: number): void {
  const n = out.length;
  switch (op) {
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? g[i]! : 0;
      return;
    case 'leakyRelu':
      for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? g[i]! : p * g[i]!;
      return;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? g[i]! : g[i]! * p * Math.exp(v);
      }
      return;
    case 'softplus':
      // d/dx log(1+e^x) = sigmoid(x)
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const s = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
        out[i] = g[i]! * s;
      }
      return;
    case 'sigmoid': // x holds y = sigmoid(input)
      for (let i = 0; i < n; i++) {
        const y = x[i]!;
        out[i] = g[i]! * y * (1 - y);
      }
      return;
    case 'tanh': // x holds y = tanh(input)
      for (let i = 0; i < n; i++) {
        const y = x[i]!;
        out[i] = g[i]! * (1 - y * y);
      }
      return;
    default:
      throw new Error(`js backend: unknown unary grad op '${op as string}'`);
  }
}

/** A primitive binary op as a function of two numbers (selected once per call). */
function binaryScalarFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'pow':
      return Math.pow;
    case 'maximum':
      return (a, b) => (a > b || Number.isNaN(a) ? a : b);
    case 'minimum':
      return (a, b) => (a < b || Number.isNaN(a) ? a : b);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    default:
      throw new Error(`js backend: unknown binary op '${op as string}'`);
  }
}

/** Same-shape fast loops for the arithmetic that dominates training. */
function binarySame(op: BinaryOp, a: F32, b: F32, out: F32): boolean {
  const n = out.length;
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      return true;
    case 'sub':
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      return true;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      return true;
    case 'div':
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
      return true;
    default:
      return false;
  }
}

export function binary(op: BinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void {
  const n = out.length;
  if (n === 0) return;
  if (a.length === n && b.length === n && binarySame(op, a, b, out)) return;
  binaryWith(binaryScalarFn(op), a, aShape, b, bShape, out, outShape);
}

/**
 * out = f(a, b) elementwise with NumPy broadcasting (shapes right-aligned to outShape): the loops
 * behind `binary` and the fused loss ops (losses.ts), specialised for equal lengths and scalars.
 */
export function binaryWith(
  f: (a: number, b: number) => number,
  a: F32,
  aShape: Shape,
  b: F32,
  bShape: Shape,
  out: F32,
  outShape: Shape,
): void {
  const n = out.length;
  if (n === 0) return;
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
    return;
  }
  if (b.length === 1 && a.length === n) {
    const bv = b[0]!;
    for (let i = 0; i < n; i++) out[i] = f(a[i]!, bv);
    return;
  }
  if (a.length === 1 && b.length === n) {
    const av = a[0]!;
    for (let i = 0; i < n; i++) out[i] = f(av, b[i]!);
    return;
  }
  // General N-d broadcast: walk the output with an odometer over all but the last dim and an
  // inner loop over the last dim (stride 0 or 1 for each operand).
  const rank = outShape.length;
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const last = outShape[rank - 1]!;
  const la = sa[rank - 1]!;
  const lb = sb[rank - 1]!;
  const outer = n / last;
  const idx = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  let o = 0;
  for (let r = 0; r < outer; r++) {
    let pa = ia;
    let pb = ib;
    for (let j = 0; j < last; j++) {
      out[o++] = f(a[pa]!, b[pb]!);
      pa += la;
      pb += lb;
    }
    // advance the odometer over dims rank-2 .. 0
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      ia += sa[d]!;
      ib += sb[d]!;
      if (idx[d]! < outShape[d]!) break;
      ia -= sa[d]! * outShape[d]!;
      ib -= sb[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

export function expand(x: F32, xShape: Shape, out: F32, outShape: Shape): void {
  if (x.length === out.length) {
    out.set(x);
    return;
  }
  const zero = new Float32Array(1);
  binary(
    'add',
    x,
    xShape,
    zero,
    outShape.map(() => 1),
    out,
    outShape,
  );
}

export function where(cond: F32, a: F32, b: F32, out: F32): void {
  for (let i = 0; i < out.length; i++) out[i] = cond[i] !== 0 ? a[i]! : b[i]!;
}

export function clamp(x: F32, lo: number, hi: number, out: F32): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

export function fill(out: F32, value: number): void {
  out.fill(value);
}

export function copy(src: F32, out: F32): void {
  out.set(src);
}
