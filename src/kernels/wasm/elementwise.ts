/**
 * The elementwise kernels of the wasm backend (assembly/elementwise.ts): unary, the activations'
 * derivatives, broadcasting binary (the primitive ops and the fused loss ops), where, clamp,
 * expand. Broadcasts are reduced to the kernel's canonical modes (binaryPlan); the few the
 * kernel does not cover run in the js reference on the same arrays.
 */
import type { BinaryOp, F32, FusedBinaryOp, Shape, UnaryGradOp, UnaryOp } from '../backend.js';
import { binary as jsBinary, expand as jsExpand } from '../js/elementwise.js';
import { lossBinary } from '../js/losses.js';
import { K, OP_CODES, opCodes } from './abi.js';
import { writeBinaryArgs, writeClampArgs, writeUnaryArgs, writeUnaryGradArgs, writeWhereArgs } from './abi.generated.js';
import { checkLen, PAR_ELEMS, PAR_ELEMS_HEAVY, product, type Plan, type WasmContext } from './context.js';

const UNARY_CODES = opCodes(OP_CODES.UnaryOp);
const GRAD_CODES = opCodes(OP_CODES.UnaryGradOp);
const BINARY_CODES = opCodes(OP_CODES.BinaryOp);
/** The fused loss ops follow the primitive ones in the binary kernel's codes. */
const FIRST_FUSED = BINARY_CODES.bce;
/** Unary ops that cost a polynomial or more per element: worth threads at smaller sizes. */
const HEAVY_UNARY = new Set<UnaryOp>(['exp', 'log', 'sigmoid', 'tanh', 'elu', 'softplus', 'powScalar']);

export function unary(c: WasmContext, op: UnaryOp, x: F32, out: F32, p: number): void {
  const n = out.length;
  if (n === 0) return;
  checkLen('unary', 'x', x, n);
  let code = UNARY_CODES[op];
  if (code === undefined) throw new Error(`wasm backend: unknown unary op '${op as string}'`);
  if (op === 'powScalar') {
    // Same fast paths as the reference (x·x and sqrt), which also avoid the scalar pow.
    if (p === 2) code = UNARY_CODES.square;
    else if (p === 0.5) code = UNARY_CODES.sqrt;
    else if (p === 1) code = UNARY_CODES.copy;
    else if (p === -1) code = UNARY_CODES.reciprocal;
  }
  const px = c.inp(x),
    po = c.outp(out, false);
  writeUnaryArgs(c.args, { op: code, x: px, out: po, n, p });
  c.run(K.unary, c.par(n, HEAVY_UNARY.has(op) ? PAR_ELEMS_HEAVY : PAR_ELEMS));
}

export function unaryGrad(c: WasmContext, op: UnaryGradOp, x: F32, g: F32, out: F32, p: number): void {
  const n = out.length;
  if (n === 0) return;
  checkLen('unaryGrad', 'x', x, n);
  checkLen('unaryGrad', 'g', g, n);
  const code = GRAD_CODES[op];
  if (code === undefined) throw new Error(`wasm backend: unknown unary grad op '${op as string}'`);
  const px = c.inp(x),
    pg = c.inp(g),
    po = c.outp(out, false);
  writeUnaryGradArgs(c.args, { op: code, x: px, g: pg, out: po, n, p });
  const heavy = op === 'elu' || op === 'softplus';
  c.run(K.unaryGrad, c.par(n, heavy ? PAR_ELEMS_HEAVY : PAR_ELEMS));
}

/**
 * Reduces a broadcast (shapes right-aligned to the output rank) to one of the kernel's modes by
 * dropping size-1 output dims and merging neighbours with the same broadcast pattern. Kinds:
 * 0 both full, 1 a broadcast, 2 b broadcast, 3 both broadcast. Null: use the general js path.
 */
function binaryPlan(aShape: Shape, bShape: Shape, outShape: Shape): Plan | null {
  const sizes: number[] = [];
  const kinds: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    const o = outShape[d]!;
    if (o === 1) continue;
    const kind = (aShape[d] === 1 ? 1 : 0) | (bShape[d] === 1 ? 2 : 0);
    if (kinds.length > 0 && kinds[kinds.length - 1] === kind) sizes[sizes.length - 1]! *= o;
    else {
      sizes.push(o);
      kinds.push(kind);
    }
  }
  const [s0 = 1, s1 = 1, s2 = 1] = sizes;
  const sig = kinds.join('');
  switch (sig) {
    case '':
    case '0':
      return { mode: 0, d0: s0, d1: 0, d2: 0 };
    case '1':
      return { mode: 1, d0: s0, d1: 0, d2: 0 };
    case '2':
      return { mode: 2, d0: s0, d1: 0, d2: 0 };
    case '20': // b is a row vector repeated over the rows of a
      return { mode: 3, d0: s0, d1: s1, d2: 0 };
    case '10':
      return { mode: 4, d0: s0, d1: s1, d2: 0 };
    case '02': // b is a column vector
      return { mode: 5, d0: s0, d1: s1, d2: 0 };
    case '01':
      return { mode: 6, d0: s0, d1: s1, d2: 0 };
    case '202': // b varies only along the middle dim (per-channel over NCHW)
      return { mode: 7, d0: s0, d1: s1, d2: s2 };
    case '101':
      return { mode: 8, d0: s0, d1: s1, d2: s2 };
    default:
      return null;
  }
}

/** The primitive binary ops and the fused loss ops (FusedKernels.binary): one kernel. */
export function binary(
  c: WasmContext,
  op: BinaryOp | FusedBinaryOp,
  a: F32,
  aShape: Shape,
  b: F32,
  bShape: Shape,
  out: F32,
  outShape: Shape,
): void {
  const n = out.length;
  if (n === 0) return;
  const code = BINARY_CODES[op];
  if (code === undefined) throw new Error(`wasm backend: unknown binary op '${op as string}'`);
  const plan = aShape.length === outShape.length && bShape.length === outShape.length ? binaryPlan(aShape, bShape, outShape) : null;
  if (plan === null || a.length !== product(aShape) || b.length !== product(bShape) || n !== product(outShape)) {
    if (code < FIRST_FUSED) jsBinary(op as BinaryOp, a, aShape, b, bShape, out, outShape);
    else lossBinary(op as FusedBinaryOp, a, aShape, b, bShape, out, outShape);
    return;
  }
  const pa = c.inp(a),
    pb = c.inp(b),
    po = c.outp(out, false);
  writeBinaryArgs(c.args, { op: code, mode: plan.mode, a: pa, b: pb, out: po, d0: plan.d0, d1: plan.d1, d2: plan.d2 });
  const rows = plan.mode <= 2 ? n : plan.mode <= 6 ? plan.d0 : plan.d0 * plan.d1;
  const heavy = op === 'pow' || code >= FIRST_FUSED;
  const nth = rows >= c.threads ? c.par(n, heavy ? PAR_ELEMS_HEAVY : PAR_ELEMS) : 1;
  c.run(K.binary, nth);
}

export function where(c: WasmContext, cond: F32, a: F32, b: F32, out: F32): void {
  const n = out.length;
  if (n === 0) return;
  checkLen('where', 'cond', cond, n);
  checkLen('where', 'a', a, n);
  checkLen('where', 'b', b, n);
  const pc = c.inp(cond),
    pa = c.inp(a),
    pb = c.inp(b),
    po = c.outp(out, false);
  writeWhereArgs(c.args, { cond: pc, a: pa, b: pb, out: po, n });
  c.run(K.where, c.par(n, PAR_ELEMS));
}

export function clamp(c: WasmContext, x: F32, lo: number, hi: number, out: F32): void {
  const n = out.length;
  if (n === 0) return;
  checkLen('clamp', 'x', x, n);
  const px = c.inp(x),
    po = c.outp(out, false);
  writeClampArgs(c.args, { x: px, out: po, n, lo, hi });
  c.run(K.clamp, c.par(n, PAR_ELEMS));
}

export function expand(c: WasmContext, x: F32, xShape: Shape, out: F32, outShape: Shape): void {
  // A scalar (the gradient of sum / mean, every training step): one fill. Otherwise, when x's
  // shape (aligned right) is (1, …, 1, dims equal to out's, 1, …, 1): each element repeated
  // over the trailing dims (a per-row sum's gradient), and that block copied over the leading
  // dims (a bias). Anything else: the reference loop.
  if (x.length === 1 && out.length > 0) {
    c.fill(out, x[0]!);
    return;
  }
  const n = x.length;
  if (n > 0 && out.length % n === 0 && c.heap.owns(x) && c.heap.owns(out)) {
    const r = outShape.length - xShape.length;
    // phase 0: leading broadcast dims, 1: equal dims, 2: trailing broadcast dims
    let phase = 0;
    let inner = 1; // product of the trailing broadcast dims
    for (let d = 0; d < outShape.length; d++) {
      const xd = d < r ? 1 : xShape[d - r]!;
      const od = outShape[d]!;
      if (xd === od) {
        if (od === 1) continue;
        if (phase === 2) return jsExpand(x, xShape, out, outShape);
        phase = 1;
      } else if (xd !== 1) {
        return jsExpand(x, xShape, out, outShape);
      } else if (phase === 0) {
        continue;
      } else {
        phase = 2;
        inner *= od;
      }
    }
    const block = n * inner;
    if (inner > 1) c.mem.repeatEach(out.byteOffset, x.byteOffset, n, inner);
    else c.mem.copy(out.byteOffset, x.byteOffset, n);
    // Copies of the filled prefix double it: log₂(repeats) calls rather than one per repeat.
    for (let filled = block; filled < out.length;) {
      const len = Math.min(filled, out.length - filled);
      c.mem.copy(out.byteOffset + 4 * filled, out.byteOffset, len);
      filled += len;
    }
    return;
  }
  jsExpand(x, xShape, out, outShape);
}
