// Elementwise kernels: unary, fused unary derivatives, broadcasting binary (the primitive ops
// and the fused loss ops of losses.ts), where, clamp.
//
// Each op is a tiny @final class with an @inline method `f`; the loops are generic over the op
// class and call `changetype<Op>(0).f(...)` (a static call: the method never touches `this`),
// so every op gets its own tight loop with the op inlined. (Passing an op code to one inlined
// loop does not work: Binaryen merges the identical loop copies back into one loop with the
// op test inside.) Loop tails (n mod 4) go through partial vector loads/stores, so every op has
// a single definition and the tail matches the body bit for bit.
//
// Op codes (the enums) and argument layouts (the *Args classes) come from ../abi.ts, generated
// into abi.generated.ts: each switch below has one case per op of its list.

import { BinaryArgs, BinaryOp, ClampArgs, UnaryArgs, UnaryGradArgs, UnaryGradOp, UnaryOp, WhereArgs } from './abi.generated';
import { loadPartial, storePartial, joinItems, beginItems, nextItem, endItems, flatItems, flatLo, flatHi, rowsPerItem } from './common';
import { BBce, BBceGrad, BBceLogits, BBceLogitsGrad, BSigSqErr } from './losses';
import { expV, expm1V, logV, tanhV, sigmoidV, softplusV, powV } from './vmath';

const ZERO = f32x4.splat(0);
const ONE = f32x4.splat(1);

// ---------------------------------------------------------------------------------------------
// unary (UnaryOp; copy is internal: pow(x, 1))

@final class UNeg { @inline f(x: v128, p: v128): v128 { return f32x4.neg(x); } }
@final class UExp { @inline f(x: v128, p: v128): v128 { return expV(x); } }
@final class ULog { @inline f(x: v128, p: v128): v128 { return logV(x); } }
@final class USqrt { @inline f(x: v128, p: v128): v128 { return f32x4.sqrt(x); } }
@final class UAbs { @inline f(x: v128, p: v128): v128 { return f32x4.abs(x); } }
@final class USign {
  // x > 0 ? 1 : x < 0 ? −1 : 0 (NaN and −0 give 0, as the reference).
  @inline f(x: v128, p: v128): v128 {
    return v128.or(v128.and(f32x4.gt(x, ZERO), ONE), v128.and(f32x4.lt(x, ZERO), f32x4.splat(-1)));
  }
}
@final class USquare { @inline f(x: v128, p: v128): v128 { return f32x4.mul(x, x); } }
@final class URecip { @inline f(x: v128, p: v128): v128 { return f32x4.div(ONE, x); } }
@final class USigmoid { @inline f(x: v128, p: v128): v128 { return sigmoidV(x); } }
@final class UTanh { @inline f(x: v128, p: v128): v128 { return tanhV(x); } }
@final class URelu { @inline f(x: v128, p: v128): v128 { return v128.and(x, f32x4.gt(x, ZERO)); } }
@final class ULeaky { @inline f(x: v128, p: v128): v128 { return v128.bitselect(x, f32x4.mul(x, p), f32x4.gt(x, ZERO)); } }
@final class UElu { @inline f(x: v128, p: v128): v128 { return v128.bitselect(x, f32x4.mul(expm1V(x), p), f32x4.gt(x, ZERO)); } }
@final class USoftplus { @inline f(x: v128, p: v128): v128 { return softplusV(x); } }
@final class UAddS { @inline f(x: v128, p: v128): v128 { return f32x4.add(x, p); } }
@final class UMulS { @inline f(x: v128, p: v128): v128 { return f32x4.mul(x, p); } }
@final class UPowS { @inline f(x: v128, p: v128): v128 { return powV(x, p); } }
@final class URsubS { @inline f(x: v128, p: v128): v128 { return f32x4.sub(p, x); } }
@final class UCopy { @inline f(x: v128, p: v128): v128 { return x; } }

@inline function unaryLoop<Op>(x: usize, out: usize, lo: i32, hi: i32, p: f32): void {
  const op = changetype<Op>(0);
  const pv = f32x4.splat(p);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, op.f(v128.load(x + o), pv));
  }
  if (i < hi) {
    const o = <usize>i << 2;
    storePartial(out + o, op.f(loadPartial(x + o, hi - i), pv), hi - i);
  }
}

/** Args: UnaryArgs. Items: CHUNK-sized pieces. */
export function unary(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<UnaryArgs>(args);
  const op = a.op, x = a.x, out = a.out, n = a.n, p = a.p;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    unaryItem(op, x, out, flatLo(it, nth), flatHi(it, n, nth), p);
  }
  endItems();
  return total;
}

function unaryItem(op: i32, x: usize, out: usize, lo: i32, hi: i32, p: f32): void {
  switch (op) {
    case UnaryOp.neg: unaryLoop<UNeg>(x, out, lo, hi, p); break;
    case UnaryOp.exp: unaryLoop<UExp>(x, out, lo, hi, p); break;
    case UnaryOp.log: unaryLoop<ULog>(x, out, lo, hi, p); break;
    case UnaryOp.sqrt: unaryLoop<USqrt>(x, out, lo, hi, p); break;
    case UnaryOp.abs: unaryLoop<UAbs>(x, out, lo, hi, p); break;
    case UnaryOp.sign: unaryLoop<USign>(x, out, lo, hi, p); break;
    case UnaryOp.square: unaryLoop<USquare>(x, out, lo, hi, p); break;
    case UnaryOp.reciprocal: unaryLoop<URecip>(x, out, lo, hi, p); break;
    case UnaryOp.sigmoid: unaryLoop<USigmoid>(x, out, lo, hi, p); break;
    case UnaryOp.tanh: unaryLoop<UTanh>(x, out, lo, hi, p); break;
    case UnaryOp.relu: unaryLoop<URelu>(x, out, lo, hi, p); break;
    case UnaryOp.leakyRelu: unaryLoop<ULeaky>(x, out, lo, hi, p); break;
    case UnaryOp.elu: unaryLoop<UElu>(x, out, lo, hi, p); break;
    case UnaryOp.softplus: unaryLoop<USoftplus>(x, out, lo, hi, p); break;
    case UnaryOp.addScalar: unaryLoop<UAddS>(x, out, lo, hi, p); break;
    case UnaryOp.mulScalar: unaryLoop<UMulS>(x, out, lo, hi, p); break;
    case UnaryOp.powScalar: unaryLoop<UPowS>(x, out, lo, hi, p); break;
    case UnaryOp.rsubScalar: unaryLoop<URsubS>(x, out, lo, hi, p); break;
    case UnaryOp.copy:
    default: unaryLoop<UCopy>(x, out, lo, hi, p); break;
  }
}

// ---------------------------------------------------------------------------------------------
// unaryGrad (out = g·f′, UnaryGradOp): x is the input for relu, leakyRelu, elu and softplus, the
// output y for sigmoid and tanh.

@final class GRelu { @inline f(x: v128, g: v128, p: v128): v128 { return v128.and(g, f32x4.gt(x, ZERO)); } }
@final class GLeaky { @inline f(x: v128, g: v128, p: v128): v128 { return v128.bitselect(g, f32x4.mul(g, p), f32x4.gt(x, ZERO)); } }
@final class GElu {
  @inline f(x: v128, g: v128, p: v128): v128 {
    return v128.bitselect(g, f32x4.mul(g, f32x4.mul(p, expV(x))), f32x4.gt(x, ZERO));
  }
}
@final class GSoftplus { @inline f(x: v128, g: v128, p: v128): v128 { return f32x4.mul(g, sigmoidV(x)); } }
@final class GSigmoid { @inline f(y: v128, g: v128, p: v128): v128 { return f32x4.mul(g, f32x4.mul(y, f32x4.sub(ONE, y))); } }
// 1 − y² as (1 − y)(1 + y): exact 1 − y near |y| = 1, where the float32 y² would cancel.
@final class GTanh {
  @inline f(y: v128, g: v128, p: v128): v128 {
    return f32x4.mul(g, f32x4.mul(f32x4.sub(ONE, y), f32x4.add(ONE, y)));
  }
}

@inline function gradLoop<Op>(x: usize, g: usize, out: usize, lo: i32, hi: i32, p: f32): void {
  const op = changetype<Op>(0);
  const pv = f32x4.splat(p);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, op.f(v128.load(x + o), v128.load(g + o), pv));
  }
  if (i < hi) {
    const o = <usize>i << 2, c = hi - i;
    storePartial(out + o, op.f(loadPartial(x + o, c), loadPartial(g + o, c), pv), c);
  }
}

/** Args: UnaryGradArgs. Items: CHUNK-sized pieces. */
export function unaryGrad(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<UnaryGradArgs>(args);
  const op = a.op, x = a.x, g = a.g, out = a.out, n = a.n, p = a.p;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    gradItem(op, x, g, out, flatLo(it, nth), flatHi(it, n, nth), p);
  }
  endItems();
  return total;
}

function gradItem(op: i32, x: usize, g: usize, out: usize, lo: i32, hi: i32, p: f32): void {
  switch (op) {
    case UnaryGradOp.relu: gradLoop<GRelu>(x, g, out, lo, hi, p); break;
    case UnaryGradOp.leakyRelu: gradLoop<GLeaky>(x, g, out, lo, hi, p); break;
    case UnaryGradOp.elu: gradLoop<GElu>(x, g, out, lo, hi, p); break;
    case UnaryGradOp.softplus: gradLoop<GSoftplus>(x, g, out, lo, hi, p); break;
    case UnaryGradOp.sigmoid: gradLoop<GSigmoid>(x, g, out, lo, hi, p); break;
    case UnaryGradOp.tanh:
    default: gradLoop<GTanh>(x, g, out, lo, hi, p); break;
  }
}

// ---------------------------------------------------------------------------------------------
// binary (BinaryOp): the primitive ops (comparisons give 1 or 0), then the fused loss ops, whose
// classes are in losses.ts.

@final class BAdd { @inline f(a: v128, b: v128): v128 { return f32x4.add(a, b); } }
@final class BSub { @inline f(a: v128, b: v128): v128 { return f32x4.sub(a, b); } }
@final class BMul { @inline f(a: v128, b: v128): v128 { return f32x4.mul(a, b); } }
@final class BDiv { @inline f(a: v128, b: v128): v128 { return f32x4.div(a, b); } }
@final class BPow { @inline f(a: v128, b: v128): v128 { return powV(a, b); } }
@final class BMax { @inline f(a: v128, b: v128): v128 { return f32x4.max(a, b); } }
@final class BMin { @inline f(a: v128, b: v128): v128 { return f32x4.min(a, b); } }
@final class BGt { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.gt(a, b), ONE); } }
@final class BGe { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.ge(a, b), ONE); } }
@final class BLt { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.lt(a, b), ONE); } }
@final class BLe { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.le(a, b), ONE); } }
@final class BEq { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.eq(a, b), ONE); } }
@final class BNe { @inline f(a: v128, b: v128): v128 { return v128.and(f32x4.ne(a, b), ONE); } }

// Three loop shapes over n elements: vector ⊕ vector, scalar ⊕ vector, vector ⊕ scalar
// (separate loops: V8 does not unswitch loop-invariant branches).
@inline function loopVV<Op>(a: usize, b: usize, out: usize, n: i32): void {
  const op = changetype<Op>(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, op.f(v128.load(a + o), v128.load(b + o)));
  }
  if (i < n) {
    const o = <usize>i << 2, c = n - i;
    storePartial(out + o, op.f(loadPartial(a + o, c), loadPartial(b + o, c)), c);
  }
}
@inline function loopSV<Op>(s: f32, b: usize, out: usize, n: i32): void {
  const op = changetype<Op>(0);
  const av = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, op.f(av, v128.load(b + o)));
  }
  if (i < n) {
    const o = <usize>i << 2, c = n - i;
    storePartial(out + o, op.f(av, loadPartial(b + o, c)), c);
  }
}
@inline function loopVS<Op>(a: usize, s: f32, out: usize, n: i32): void {
  const op = changetype<Op>(0);
  const bv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, op.f(v128.load(a + o), bv));
  }
  if (i < n) {
    const o = <usize>i << 2, c = n - i;
    storePartial(out + o, op.f(loadPartial(a + o, c), bv), c);
  }
}

// One switch per loop shape: V8 runs a single function holding all 54 SIMD loops several times
// slower than three functions of 18.
function runVV(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  switch (op) {
    case BinaryOp.add: loopVV<BAdd>(a, b, out, n); break;
    case BinaryOp.sub: loopVV<BSub>(a, b, out, n); break;
    case BinaryOp.mul: loopVV<BMul>(a, b, out, n); break;
    case BinaryOp.div: loopVV<BDiv>(a, b, out, n); break;
    case BinaryOp.pow: loopVV<BPow>(a, b, out, n); break;
    case BinaryOp.maximum: loopVV<BMax>(a, b, out, n); break;
    case BinaryOp.minimum: loopVV<BMin>(a, b, out, n); break;
    case BinaryOp.gt: loopVV<BGt>(a, b, out, n); break;
    case BinaryOp.ge: loopVV<BGe>(a, b, out, n); break;
    case BinaryOp.lt: loopVV<BLt>(a, b, out, n); break;
    case BinaryOp.le: loopVV<BLe>(a, b, out, n); break;
    case BinaryOp.eq: loopVV<BEq>(a, b, out, n); break;
    case BinaryOp.ne: loopVV<BNe>(a, b, out, n); break;
    case BinaryOp.bce: loopVV<BBce>(a, b, out, n); break;
    case BinaryOp.bceGrad: loopVV<BBceGrad>(a, b, out, n); break;
    case BinaryOp.bceLogits: loopVV<BBceLogits>(a, b, out, n); break;
    case BinaryOp.bceLogitsGrad: loopVV<BBceLogitsGrad>(a, b, out, n); break;
    case BinaryOp.sigmoidSqErr:
    default: loopVV<BSigSqErr>(a, b, out, n); break;
  }
}
function runSV(op: i32, s: f32, b: usize, out: usize, n: i32): void {
  switch (op) {
    case BinaryOp.add: loopSV<BAdd>(s, b, out, n); break;
    case BinaryOp.sub: loopSV<BSub>(s, b, out, n); break;
    case BinaryOp.mul: loopSV<BMul>(s, b, out, n); break;
    case BinaryOp.div: loopSV<BDiv>(s, b, out, n); break;
    case BinaryOp.pow: loopSV<BPow>(s, b, out, n); break;
    case BinaryOp.maximum: loopSV<BMax>(s, b, out, n); break;
    case BinaryOp.minimum: loopSV<BMin>(s, b, out, n); break;
    case BinaryOp.gt: loopSV<BGt>(s, b, out, n); break;
    case BinaryOp.ge: loopSV<BGe>(s, b, out, n); break;
    case BinaryOp.lt: loopSV<BLt>(s, b, out, n); break;
    case BinaryOp.le: loopSV<BLe>(s, b, out, n); break;
    case BinaryOp.eq: loopSV<BEq>(s, b, out, n); break;
    case BinaryOp.ne: loopSV<BNe>(s, b, out, n); break;
    case BinaryOp.bce: loopSV<BBce>(s, b, out, n); break;
    case BinaryOp.bceGrad: loopSV<BBceGrad>(s, b, out, n); break;
    case BinaryOp.bceLogits: loopSV<BBceLogits>(s, b, out, n); break;
    case BinaryOp.bceLogitsGrad: loopSV<BBceLogitsGrad>(s, b, out, n); break;
    case BinaryOp.sigmoidSqErr:
    default: loopSV<BSigSqErr>(s, b, out, n); break;
  }
}
function runVS(op: i32, a: usize, s: f32, out: usize, n: i32): void {
  switch (op) {
    case BinaryOp.add: loopVS<BAdd>(a, s, out, n); break;
    case BinaryOp.sub: loopVS<BSub>(a, s, out, n); break;
    case BinaryOp.mul: loopVS<BMul>(a, s, out, n); break;
    case BinaryOp.div: loopVS<BDiv>(a, s, out, n); break;
    case BinaryOp.pow: loopVS<BPow>(a, s, out, n); break;
    case BinaryOp.maximum: loopVS<BMax>(a, s, out, n); break;
    case BinaryOp.minimum: loopVS<BMin>(a, s, out, n); break;
    case BinaryOp.gt: loopVS<BGt>(a, s, out, n); break;
    case BinaryOp.ge: loopVS<BGe>(a, s, out, n); break;
    case BinaryOp.lt: loopVS<BLt>(a, s, out, n); break;
    case BinaryOp.le: loopVS<BLe>(a, s, out, n); break;
    case BinaryOp.eq: loopVS<BEq>(a, s, out, n); break;
    case BinaryOp.ne: loopVS<BNe>(a, s, out, n); break;
    case BinaryOp.bce: loopVS<BBce>(a, s, out, n); break;
    case BinaryOp.bceGrad: loopVS<BBceGrad>(a, s, out, n); break;
    case BinaryOp.bceLogits: loopVS<BBceLogits>(a, s, out, n); break;
    case BinaryOp.bceLogitsGrad: loopVS<BBceLogitsGrad>(a, s, out, n); break;
    case BinaryOp.sigmoidSqErr:
    default: loopVS<BSigSqErr>(a, s, out, n); break;
  }
}

/**
 * Broadcasting binary kernel over the canonical shapes the JS side reduces every call to:
 *  mode 0 same shape (n = d0)            mode 1 a scalar            mode 2 b scalar
 *  mode 3 a (d0, d1), b row (d1)         mode 4 a row, b (d0, d1)
 *  mode 5 a (d0, d1), b column (d0)      mode 6 a column, b (d0, d1)
 *  mode 7 a (d0, d1, d2), b (d1) mid     mode 8 a mid, b (d0, d1, d2)   [e.g. NCHW + per-channel]
 * Args: BinaryArgs. Items: CHUNK-sized pieces of the flat range (modes 0–2) or blocks of whole
 * rows of about CHUNK elements.
 */
export function binary(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const ar = changetype<BinaryArgs>(args);
  const op = ar.op, mode = ar.mode;
  const a = ar.a, b = ar.b, out = ar.out;
  const d0 = ar.d0, d1 = ar.d1, d2 = ar.d2;
  if (mode <= 2) {
    const total = flatItems(d0, nth);
    beginItems(total);
    for (let it = nextItem(); it >= 0; it = nextItem()) {
      const lo = flatLo(it, nth), hi = flatHi(it, d0, nth);
      const o = <usize>lo << 2;
      if (mode == 0) runVV(op, a + o, b + o, out + o, hi - lo);
      else if (mode == 1) runSV(op, load<f32>(a), b + o, out + o, hi - lo);
      else runVS(op, a + o, load<f32>(b), out + o, hi - lo);
    }
    endItems();
    return total;
  }
  // Row modes: rows of length d1 (modes 3–6) or d2 (modes 7–8).
  const rows = mode <= 6 ? d0 : d0 * d1;
  const len = mode <= 6 ? d1 : d2;
  const per = rowsPerItem(rows, len, nth);
  const total = (rows + per - 1) / per;
  const rowB = <usize>len << 2;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = min(rows, (it + 1) * per);
    for (let r = it * per; r < hi; r++) {
      const o = <usize>r * rowB;
      if (mode <= 6) {
        const ro = <usize>r << 2;
        if (mode == 3) runVV(op, a + o, b, out + o, d1);
        else if (mode == 4) runVV(op, a, b + o, out + o, d1);
        else if (mode == 5) runVS(op, a + o, load<f32>(b + ro), out + o, d1);
        else runSV(op, load<f32>(a + ro), b + o, out + o, d1);
      } else {
        const q = <usize>(r % d1) << 2;
        if (mode == 7) runVS(op, a + o, load<f32>(b + q), out + o, d2);
        else runSV(op, load<f32>(a + q), b + o, out + o, d2);
      }
    }
  }
  endItems();
  return total;
}

// ---------------------------------------------------------------------------------------------

/** out = cond != 0 ? a : b. Args: WhereArgs. */
export function where(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const ar = changetype<WhereArgs>(args);
  const cond = ar.cond, a = ar.a, b = ar.b, out = ar.out;
  const n = ar.n;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    whereItem(cond, a, b, out, flatLo(it, nth), flatHi(it, n, nth));
  }
  endItems();
  return total;
}

function whereItem(cond: usize, a: usize, b: usize, out: usize, lo: i32, hi: i32): void {
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, v128.bitselect(v128.load(a + o), v128.load(b + o), f32x4.ne(v128.load(cond + o), ZERO)));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(cond + o) != 0 ? load<f32>(a + o) : load<f32>(b + o));
  }
}

/** out = min(max(x, lo), hi). Args: ClampArgs. */
export function clamp(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ClampArgs>(args);
  const x = a.x, out = a.out, n = a.n;
  const lov = f32x4.splat(a.lo), hiv = f32x4.splat(a.hi);
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    clampItem(x, out, flatLo(it, nth), flatHi(it, n, nth), lov, hiv);
  }
  endItems();
  return total;
}

function clampItem(x: usize, out: usize, lo: i32, hi: i32, lov: v128, hiv: v128): void {
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.min(f32x4.max(v128.load(x + o), lov), hiv));
  }
  if (i < hi) {
    const o = <usize>i << 2, c = hi - i;
    storePartial(out + o, f32x4.min(f32x4.max(loadPartial(x + o, c), lov), hiv), c);
  }
}
