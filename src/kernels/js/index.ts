/**
 * The reference backend: plain, readable TypeScript over Float32Arrays. It runs everywhere and is
 * what every other backend is tested against. Loops are flat and cache-friendly (innermost loop
 * over contiguous memory), with no per-element function calls.
 */
import type {
  AdadeltaParams,
  AdagradParams,
  AdamParams,
  Backend,
  BinaryOp,
  Conv2dParams,
  F32,
  MatmulParams,
  Pool2dParams,
  ReduceOp,
  RmspropParams,
  SgdParams,
  Shape,
  UnaryGradOp,
  UnaryOp,
} from '../backend.js';
import { F32_TINY } from '../backend.js';
import { gemm } from './gemm.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';

function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides of `shape` inside a broadcast to an output of the same rank: 0 where the dim is 1. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = contiguousStrides(shape);
  return st.map((s, i) => (shape[i] === 1 && outShape[i] !== 1 ? 0 : s));
}

/** sigmoid(v) rounded to float32; two branches keep exp from overflowing for large |v|. */
function sigmoidF32(v: number): number {
  if (v >= 0) return Math.fround(1 / (1 + Math.exp(-v)));
  const e = Math.exp(v);
  return Math.fround(e / (1 + e));
}

function unary(op: UnaryOp, x: F32, out: F32, p: number): void {
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

function unaryGrad(op: UnaryGradOp, x: F32, g: F32, out: F32, p: number): void {
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

/** 27·2^−149, the smallest float32 whose log is above −100: the clamp is inactive from it up. */
const E100_F32 = 27 * F32_TINY;

/** log(max(x, TINY)) clamped below at −100 (PyTorch's binary_cross_entropy clamp). */
function bceLog(x: number): number {
  return Math.max(Math.log(Math.max(x, F32_TINY)), -100);
}

/** Applies a binary op elementwise; `f` is selected once per call, and the loops are specialised. */
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
    case 'bce':
      return (p, y) => -(y * bceLog(p) + (1 - y) * bceLog(Math.fround(1 - p)));
    case 'bceGrad':
      return (p, y) => {
        const q = Math.fround(1 - p);
        return (q >= E100_F32 ? (1 - y) / q : 0) - (p >= E100_F32 ? y / p : 0);
      };
    case 'bceLogits':
      return (z, y) => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    case 'bceLogitsGrad':
      return (z, y) => 1 / (1 + Math.exp(-z)) - y;
    case 'sigmoidSqErr':
      return (z, y) => {
        const d = Math.fround(sigmoidF32(z) - y);
        return d * d;
      };
    default:
      throw new Error(`js backend: unknown binary op '${op as string}'`);
  }
}

/**
 * Per-row sums of a binary op's values over (rows, cols) a and b, as reduce('sum') makes them
 * (float64 over the float32 values): loss[r] = Σ f, sq[r] = Σ fq when given, aux = g per element.
 */
function rowTerms(
  op: string,
  a: F32,
  b: F32,
  rows: number,
  cols: number,
  f: (a: number, b: number) => number,
  loss: F32,
  g: ((a: number, b: number) => number) | null,
  aux: F32 | null,
  fq: ((a: number, b: number) => number) | null = null,
  sq: F32 | null = null,
): void {
  const n = rows * cols;
  if (a.length !== n || b.length !== n) throw new Error(`${op}: inputs must hold ${rows}×${cols} floats, got ${a.length} and ${b.length}`);
  for (let r = 0, i = 0; r < rows; r++) {
    let tl = 0;
    let tq = 0;
    for (let c = 0; c < cols; c++, i++) {
      const ai = a[i]!;
      const bi = b[i]!;
      tl += Math.fround(f(ai, bi));
      if (sq) tq += Math.fround(fq!(ai, bi));
      if (aux) aux[i] = g!(ai, bi);
    }
    loss[r] = tl;
    if (sq) sq[r] = tq;
  }
}

/** The binary ops' values (bce, bceGrad), row sums as reduce('sum') makes them. */
function bceRows(p: F32, y: F32, rows: number, cols: number, loss: F32, grad: F32 | null): void {
  rowTerms('bceRows', p, y, rows, cols, binaryScalarFn('bce'), loss, binaryScalarFn('bceGrad'), grad);
}

/** The binary ops' values (bceLogits, bceLogitsGrad, sigmoidSqErr), row sums as reduce('sum') makes them. */
function bceLogitsRows(z: F32, y: F32, rows: number, cols: number, loss: F32, sq: F32 | null, diff: F32 | null): void {
  const fq = binaryScalarFn('sigmoidSqErr');
  rowTerms('bceLogitsRows', z, y, rows, cols, binaryScalarFn('bceLogits'), loss, binaryScalarFn('bceLogitsGrad'), diff, fq, sq);
}

/** Each step rounded to float32 as the separate kernels store it; row sums in float64 (reduce). */
function klNormalRows(mu: F32, lv: F32, rows: number, cols: number, out: F32, dlv: F32 | null): void {
  const f = Math.fround;
  for (let r = 0, i = 0; r < rows; r++) {
    let t = 0;
    for (let c = 0; c < cols; c++, i++) {
      const l = lv[i]!;
      const m = mu[i]!;
      const e = f(Math.exp(l));
      t += f(f(f(l + 1) - f(m * m)) - e);
      if (dlv) dlv[i] = f(e - 1) * 0.5;
    }
    out[r] = -0.5 * f(t);
  }
}

function reparameterize(mu: F32, lv: F32, eps: F32, z: F32, half: F32 | null): void {
  const f = Math.fround;
  for (let i = 0; i < z.length; i++) {
    const se = f(f(Math.exp(f(lv[i]! * 0.5))) * eps[i]!);
    z[i] = mu[i]! + se;
    if (half) half[i] = se * 0.5;
  }
}

/** k / 255 rounded to float32, for k = 0..255 (the datasets' scaling of 8-bit pixels). */
const UNIT8 = Float32Array.from({ length: 256 }, (_, k) => k / 255);

function gatherRows8(src: Uint8Array, d: number, idx: Int32Array, out: F32): void {
  const m = idx.length;
  const rows = d === 0 ? 0 : Math.floor(src.length / d);
  if (out.length < m * d) throw new Error(`gatherRows8: out has ${out.length} elements, ${m} rows of ${d} need ${m * d}`);
  for (let j = 0; j < m; j++) {
    const r = idx[j]!;
    if (!(r >= 0 && r < rows)) throw new Error(`gatherRows8: index ${r} at position ${j} is not a row of the ${rows} in src`);
    const s = r * d;
    const o = j * d;
    for (let k = 0; k < d; k++) out[o + k] = UNIT8[src[s + k]!]!;
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

function binary(op: BinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void {
  const n = out.length;
  if (n === 0) return;
  const full = a.length === n && b.length === n;
  if (full && binarySame(op, a, b, out)) return;
  const f = binaryScalarFn(op);
  if (full) {
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

function expand(x: F32, xShape: Shape, out: F32, outShape: Shape): void {
  if (x.length === out.length) {
    out.set(x);
    return;
  }
  const zero = new Float32Array(1);
  binary('add', x, xShape, zero, outShape.map(() => 1), out, outShape);
}

function reduce(op: ReduceOp, x: F32, shape: Shape, axes: readonly number[], out: F32): void {
  const rank = shape.length;
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  out.fill(init);
  if (x.length === 0) return;
  // Output strides in the keepdim shape, zeroed on reduced axes, so each input element maps to
  // its output slot by the same odometer walk as binary broadcasting.
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  const keep = shape.map((d, i) => (reduced[i] ? 1 : d));
  const os = contiguousStrides(keep).map((s, i) => (reduced[i] ? 0 : s));
  const last = rank === 0 ? 1 : shape[rank - 1]!;
  const lo = rank === 0 ? 0 : os[rank - 1]!;
  const outer = x.length / last;
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let i = 0;
  for (let r = 0; r < outer; r++) {
    if (lo === 0) {
      // reducing the last axis: accumulate a run in a register
      let acc = out[base]!;
      if (op === 'sum') for (let j = 0; j < last; j++) acc += x[i++]!;
      else if (op === 'max')
        for (let j = 0; j < last; j++) {
          const v = x[i++]!;
          if (v > acc || Number.isNaN(v)) acc = v;
        }
      else
        for (let j = 0; j < last; j++) {
          const v = x[i++]!;
          if (v < acc || Number.isNaN(v)) acc = v;
        }
      out[base] = acc;
    } else {
      let o = base;
      if (op === 'sum') for (let j = 0; j < last; j++, o += lo) out[o] = out[o]! + x[i++]!;
      else if (op === 'max')
        for (let j = 0; j < last; j++, o += lo) {
          const v = x[i++]!;
          if (v > out[o]! || Number.isNaN(v)) out[o] = v;
        }
      else
        for (let j = 0; j < last; j++, o += lo) {
          const v = x[i++]!;
          if (v < out[o]! || Number.isNaN(v)) out[o] = v;
        }
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += os[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= os[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

function argmax(x: F32, shape: Shape, axis: number, out: F32): void {
  const size = shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  const outer = x.length / (size * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * size * inner + k;
      let best = -Infinity;
      let bi = 0;
      for (let j = 0; j < size; j++) {
        const v = x[base + j * inner]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bi = j;
        }
      }
      out[o * inner + k] = bi;
    }
  }
}

function permute(x: F32, shape: Shape, perm: readonly number[], out: F32): void {
  const rank = shape.length;
  const inStr = contiguousStrides(shape);
  const outShape = perm.map((p) => shape[p]!);
  const src = perm.map((p) => inStr[p]!); // input stride for each output dim
  if (rank === 2 && perm[0] === 1) {
    // plain 2-D transpose, blocked for the cache
    const R = shape[0]!;
    const C = shape[1]!;
    const B = 32;
    for (let i0 = 0; i0 < R; i0 += B)
      for (let j0 = 0; j0 < C; j0 += B) {
        const i1 = Math.min(i0 + B, R);
        const j1 = Math.min(j0 + B, C);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * R + i] = x[i * C + j]!;
      }
    return;
  }
  const last = outShape[rank - 1] ?? 1;
  const ls = src[rank - 1] ?? 0;
  const outer = out.length / Math.max(last, 1);
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let o = 0;
  for (let r = 0; r < outer; r++) {
    let p = base;
    for (let j = 0; j < last; j++, p += ls) out[o++] = x[p]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += src[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= src[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/** Walks the sliced positions of x in output order, calling `visit(inputIndex, outputIndex)` per run. */
/** Walks a strided slice run by run (exported for the wasm backend's row-copy fast path). */
export function sliceWalk(
  shape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  outShape: Shape,
  run: (inBase: number, inStep: number, outBase: number, len: number) => void,
): void {
  const rank = shape.length;
  const n = outShape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (rank === 0) {
    run(0, 1, 0, 1);
    return;
  }
  const st = contiguousStrides(shape);
  let base = 0;
  for (let d = 0; d < rank; d++) base += starts[d]! * st[d]!;
  const step = st.map((s, d) => s * steps[d]!);
  const last = outShape[rank - 1]!;
  const outer = n / last;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  for (let r = 0; r < outer; r++) {
    run(base, step[rank - 1]!, o, last);
    o += last;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += step[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= step[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

function slice(x: F32, shape: Shape, starts: readonly number[], steps: readonly number[], out: F32, outShape: Shape): void {
  sliceWalk(shape, starts, steps, outShape, (ib, is, ob, len) => {
    for (let j = 0, p = ib; j < len; j++, p += is) out[ob + j] = x[p]!;
  });
}

function sliceAdd(g: F32, gShape: Shape, starts: readonly number[], steps: readonly number[], out: F32, shape: Shape): void {
  sliceWalk(shape, starts, steps, gShape, (ib, is, ob, len) => {
    for (let j = 0, p = ib; j < len; j++, p += is) out[p] = out[p]! + g[ob + j]!;
  });
}

/** [outer, size, inner] of an axis: the index of element (o, i, j) is (o·size + i)·inner + j. */
export function axisSizes(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return [outer, shape[axis]!, inner];
}

function indexSelect(x: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  const [outer, size, inner] = axisSizes(shape, axis);
  const m = idx.length;
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++) {
      const src = (o * size + idx[k]!) * inner;
      const dst = (o * m + k) * inner;
      for (let j = 0; j < inner; j++) out[dst + j] = x[src + j]!;
    }
}

function indexAdd(g: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  const [outer, size, inner] = axisSizes(shape, axis);
  const m = idx.length;
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++) {
      const dst = (o * size + idx[k]!) * inner;
      const src = (o * m + k) * inner;
      for (let j = 0; j < inner; j++) out[dst + j] = out[dst + j]! + g[src + j]!;
    }
}

function maxPool2d(x: F32, out: F32, idx: F32, p: Pool2dParams): void {
  // Geometry in locals: V8 does not hoist the property reads out of the inner loops.
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW } = p;
  const planes = p.batch * p.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let c = 0; c < planes; c++) {
    const xb = c * inPlane;
    let o = c * outPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      const khLo = Math.max(0, -h0);
      const khHi = Math.min(kH, inH - h0);
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const kwLo = Math.max(0, -w0);
        const kwHi = Math.min(kW, inW - w0);
        let best = -Infinity;
        let bi = -1;
        for (let kh = khLo; kh < khHi; kh++) {
          const row = (h0 + kh) * inW + w0;
          for (let kw = kwLo; kw < kwHi; kw++) {
            const v = x[xb + row + kw]!;
            // the first element, anything larger, or NaN (which then sticks, as in PyTorch)
            if (v > best || bi < 0 || v !== v) {
              best = v;
              bi = row + kw;
            }
          }
        }
        out[o] = bi < 0 ? -Infinity : best;
        idx[o] = bi < 0 ? -1 : xb + bi;
      }
    }
  }
}

function maxPool2dBackward(g: F32, idx: F32, out: F32, _p: Pool2dParams): void {
  out.fill(0);
  for (let i = 0; i < g.length; i++) {
    const j = idx[i]!;
    if (j >= 0) out[j] = out[j]! + g[i]!;
  }
}

function avgPool2d(x: F32, out: F32, p: Pool2dParams): void {
  const planes = p.batch * p.channels;
  const inPlane = p.inH * p.inW;
  const outPlane = p.outH * p.outW;
  for (let c = 0; c < planes; c++)
    for (let oh = 0; oh < p.outH; oh++)
      for (let ow = 0; ow < p.outW; ow++) {
        const h0 = oh * p.strideH - p.padH;
        const w0 = ow * p.strideW - p.padW;
        // countIncludePad: the divisor counts padded positions inside the padded input
        const hEnd = Math.min(h0 + p.kH, p.inH + p.padH);
        const wEnd = Math.min(w0 + p.kW, p.inW + p.padW);
        const count = (hEnd - h0) * (wEnd - w0);
        let s = 0;
        for (let ih = Math.max(h0, 0); ih < Math.min(hEnd, p.inH); ih++)
          for (let iw = Math.max(w0, 0); iw < Math.min(wEnd, p.inW); iw++) s += x[c * inPlane + ih * p.inW + iw]!;
        out[c * outPlane + oh * p.outW + ow] = s / count;
      }
}

function avgPool2dBackward(g: F32, out: F32, p: Pool2dParams): void {
  out.fill(0);
  const planes = p.batch * p.channels;
  const inPlane = p.inH * p.inW;
  const outPlane = p.outH * p.outW;
  for (let c = 0; c < planes; c++)
    for (let oh = 0; oh < p.outH; oh++)
      for (let ow = 0; ow < p.outW; ow++) {
        const h0 = oh * p.strideH - p.padH;
        const w0 = ow * p.strideW - p.padW;
        const hEnd = Math.min(h0 + p.kH, p.inH + p.padH);
        const wEnd = Math.min(w0 + p.kW, p.inW + p.padW);
        const gv = g[c * outPlane + oh * p.outW + ow]! / ((hEnd - h0) * (wEnd - w0));
        for (let ih = Math.max(h0, 0); ih < Math.min(hEnd, p.inH); ih++)
          for (let iw = Math.max(w0, 0); iw < Math.min(wEnd, p.inW); iw++) {
            const j = c * inPlane + ih * p.inW + iw;
            out[j] = out[j]! + gv;
          }
      }
}

function upsampleNearest(x: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
  const W = w * sw;
  let o = 0;
  for (let c = 0; c < planes; c++)
    for (let i = 0; i < h; i++) {
      const row = c * h * w + i * w;
      const start = o;
      for (let j = 0; j < w; j++) {
        const v = x[row + j]!;
        for (let r = 0; r < sw; r++) out[o++] = v;
      }
      for (let r = 1; r < sh; r++) {
        out.copyWithin(o, start, start + W);
        o += W;
      }
    }
}

function upsampleNearestBackward(g: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
  out.fill(0);
  const W = w * sw;
  for (let c = 0; c < planes; c++)
    for (let I = 0; I < h * sh; I++) {
      const row = c * h * w + Math.floor(I / sh) * w;
      const gRow = (c * h * sh + I) * W;
      for (let J = 0; J < W; J++) {
        const j = row + ((J / sw) | 0);
        out[j] = out[j]! + g[gRow + J]!;
      }
    }
}

function adamStep(p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, step } = hp;
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  const n = p.length;
  for (let i = 0; i < n; i++) {
    let gi = g[i]!;
    let pi = p[i]!;
    if (weightDecay !== 0) {
      if (decoupled) pi *= 1 - lr * weightDecay;
      else gi += weightDecay * pi;
    }
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let vh = vi;
    if (amsgrad && vmax) {
      vh = Math.max(vmax[i]!, vi);
      vmax[i] = vh;
    }
    // PyTorch: p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
    p[i] = pi - (stepSize * mi) / (Math.sqrt(vh) / sqrtBc2 + eps);
  }
}

function sgdStep(p: F32, g: F32, buf: F32 | null, hp: SgdParams): void {
  const { lr, momentum, dampening, weightDecay, nesterov, first } = hp;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    let d = g[i]!;
    if (weightDecay !== 0) d += weightDecay * p[i]!;
    if (momentum !== 0 && buf) {
      const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] = p[i]! - lr * d;
  }
}

/**
 * RMSprop (torch.optim.RMSprop, 1.13):
 *   g = g + wd·p;  s = α·s + (1 − α)·g²
 *   centered: ḡ = α·ḡ + (1 − α)·g, avg = √(s − ḡ²) + ε;  otherwise avg = √s + ε
 *   momentum: b = μ·b + g/avg, p = p − lr·b;  otherwise p = p − lr·g/avg
 */
function rmspropStep(p: F32, g: F32, sq: F32, ga: F32 | null, mb: F32 | null, hp: RmspropParams): void {
  const { lr, alpha, eps, weightDecay, momentum } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    const s = (sq[i] = Math.fround(alpha * sq[i]! + (1 - alpha) * gi * gi));
    let avg: number;
    if (ga) {
      const m = (ga[i] = Math.fround(alpha * ga[i]! + (1 - alpha) * gi));
      avg = Math.sqrt(s - m * m) + eps;
    } else avg = Math.sqrt(s) + eps;
    if (mb) {
      const b = (mb[i] = Math.fround(momentum * mb[i]! + gi / avg));
      p[i] = p[i]! - lr * b;
    } else p[i] = p[i]! - (lr * gi) / avg;
  }
}

/** Adagrad (torch.optim.Adagrad, 1.13): g = g + wd·p;  s = s + g²;  p = p − clr·g / (√s + ε). */
function adagradStep(p: F32, g: F32, sum: F32, hp: AdagradParams): void {
  const { clr, eps, weightDecay } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    // Continue with the float32 value the buffer holds, as PyTorch does.
    const s = (sum[i] = Math.fround(sum[i]! + gi * gi));
    p[i] = p[i]! - (clr * gi) / (Math.sqrt(s) + eps);
  }
}

/**
 * Adadelta (torch.optim.Adadelta, 1.13):
 *   g = g + wd·p;  s = ρ·s + (1 − ρ)·g²;  Δ = √(a + ε) / √(s + ε) · g;  a = ρ·a + (1 − ρ)·Δ²;  p = p − lr·Δ
 */
function adadeltaStep(p: F32, g: F32, sq: F32, acc: F32, hp: AdadeltaParams): void {
  const { lr, rho, eps, weightDecay } = hp;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (weightDecay !== 0) gi += weightDecay * p[i]!;
    const s = (sq[i] = Math.fround(rho * sq[i]! + (1 - rho) * gi * gi));
    const delta = (Math.sqrt(acc[i]! + eps) / Math.sqrt(s + eps)) * gi;
    acc[i] = rho * acc[i]! + (1 - rho) * delta * delta;
    p[i] = p[i]! - lr * delta;
  }
}

export const jsBackend: Backend = {
  name: 'js',
  alloc: (n) => new Float32Array(n),
  free: () => {},
  allocatedBytes: () => 0,
  allocBytes: (n) => new Uint8Array(n),
  fill: (out, value) => {
    out.fill(value);
  },
  copy: (src, out) => {
    out.set(src);
  },
  unary,
  unaryGrad,
  binary,
  bceRows,
  bceLogitsRows,
  klNormalRows,
  reparameterize,
  gatherRows8,
  where: (cond, a, b, out) => {
    for (let i = 0; i < out.length; i++) out[i] = cond[i] !== 0 ? a[i]! : b[i]!;
  },
  clamp: (x, lo, hi, out) => {
    for (let i = 0; i < out.length; i++) {
      const v = x[i]!;
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
  },
  expand,
  reduce,
  argmax,
  matmul: (a: F32, b: F32, out: F32, p: MatmulParams) => {
    gemm(a, b, out, p);
    // The epilogue, as the separate kernels: bias over the rows, then the activation in place.
    if (p.bias) {
      const N = p.N;
      if (p.bias.length !== N) throw new Error(`matmul: bias has ${p.bias.length} elements, needs ${N}`);
      binary('add', out, [out.length / N, N], p.bias, [1, N], out, [out.length / N, N]);
    }
    if (p.act && p.act !== 'none') unary(p.act, out, out, 0);
  },
  permute,
  slice,
  sliceAdd,
  indexSelect,
  indexAdd,
  conv2d: (x: F32, w: F32, bias: F32 | null, out: F32, p: Conv2dParams) => conv2d(x, w, bias, out, p),
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  upsampleNearest,
  upsampleNearestBackward,
  adamStep,
  sgdStep,
  rmspropStep,
  adagradStep,
  adadeltaStep,
};

export { contiguousStrides };
