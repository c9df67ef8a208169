// Elementwise kernels: unary, fused unary derivatives, broadcasting binary, where, clamp.
//
// Each op is a tiny @final class with an @inline method `f`; the loops are generic over the op
// class and call `changetype<Op>(0).f(...)` (a static call: the method never touches `this`),
// so every op gets its own tight loop with the op inlined. (Passing an op code to one inlined
// loop does not work: Binaryen merges the identical loop copies back into one loop with the
// op test inside.) Loop tails (n mod 4) go through partial vector loads/stores, so every op has
// a single definition and the tail matches the body bit for bit.
//
// Op codes must match the tables in ../index.ts.

import { argP, argI, argF, argD, loadPartial, storePartial, hsum64, joinItems, beginItems, nextItem, endItems, flatItems, flatLo, flatHi, rowsPerItem, SUM_BLOCK } from './common';
import { expV, expm1V, expNegAbsV, logV, logPosV, log1pUnitV, tanhV, sigmoidV, sigmoidFromV, softplusV, powV } from './vmath';

const ZERO = f32x4.splat(0);
const ONE = f32x4.splat(1);

// ---------------------------------------------------------------------------------------------
// unary: 0 neg, 1 exp, 2 log, 3 sqrt, 4 abs, 5 sign, 6 square, 7 reciprocal, 8 sigmoid, 9 tanh,
// 10 relu, 11 leakyRelu, 12 elu, 13 softplus, 14 addScalar, 15 mulScalar, 16 powScalar,
// 17 rsubScalar, 18 copy (internal: pow(x, 1))

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

/** Args: 0 op, 1 x, 2 out, 3 n, 4 p. */
export function unary(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const op = argI(args, 0), x = argP(args, 1), out = argP(args, 2), n = argI(args, 3), p = argF(args, 4);
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
    case 0: unaryLoop<UNeg>(x, out, lo, hi, p); break;
    case 1: unaryLoop<UExp>(x, out, lo, hi, p); break;
    case 2: unaryLoop<ULog>(x, out, lo, hi, p); break;
    case 3: unaryLoop<USqrt>(x, out, lo, hi, p); break;
    case 4: unaryLoop<UAbs>(x, out, lo, hi, p); break;
    case 5: unaryLoop<USign>(x, out, lo, hi, p); break;
    case 6: unaryLoop<USquare>(x, out, lo, hi, p); break;
    case 7: unaryLoop<URecip>(x, out, lo, hi, p); break;
    case 8: unaryLoop<USigmoid>(x, out, lo, hi, p); break;
    case 9: unaryLoop<UTanh>(x, out, lo, hi, p); break;
    case 10: unaryLoop<URelu>(x, out, lo, hi, p); break;
    case 11: unaryLoop<ULeaky>(x, out, lo, hi, p); break;
    case 12: unaryLoop<UElu>(x, out, lo, hi, p); break;
    case 13: unaryLoop<USoftplus>(x, out, lo, hi, p); break;
    case 14: unaryLoop<UAddS>(x, out, lo, hi, p); break;
    case 15: unaryLoop<UMulS>(x, out, lo, hi, p); break;
    case 16: unaryLoop<UPowS>(x, out, lo, hi, p); break;
    case 17: unaryLoop<URsubS>(x, out, lo, hi, p); break;
    default: unaryLoop<UCopy>(x, out, lo, hi, p); break;
  }
}

// ---------------------------------------------------------------------------------------------
// unaryGrad (out = g·f'): 0 relu, 1 leakyRelu, 2 elu, 3 softplus (x = input), 4 sigmoid,
// 5 tanh (x = output y).

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

/** Args: 0 op, 1 x, 2 g, 3 out, 4 n, 5 p. */
export function unaryGrad(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const op = argI(args, 0), x = argP(args, 1), g = argP(args, 2), out = argP(args, 3);
  const n = argI(args, 4), p = argF(args, 5);
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
    case 0: gradLoop<GRelu>(x, g, out, lo, hi, p); break;
    case 1: gradLoop<GLeaky>(x, g, out, lo, hi, p); break;
    case 2: gradLoop<GElu>(x, g, out, lo, hi, p); break;
    case 3: gradLoop<GSoftplus>(x, g, out, lo, hi, p); break;
    case 4: gradLoop<GSigmoid>(x, g, out, lo, hi, p); break;
    default: gradLoop<GTanh>(x, g, out, lo, hi, p); break;
  }
}

// ---------------------------------------------------------------------------------------------
// binary: 0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 maximum, 6 minimum, 7 gt, 8 ge, 9 lt, 10 le,
// 11 eq, 12 ne (comparisons give 1 or 0), 13 bce, 14 bceGrad (binary cross-entropy of
// probability a against target b and its derivative in a, as losses.bce defines them),
// 15 bceLogits, 16 bceLogitsGrad (the same of logit a, as losses.bceWithLogits), 17 sigmoidSqErr
// ((sigmoid(a) − b)², rounded step by step as the separate kernels).

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

// log(max(x, TINY)) clamped at −100; TINY (2^−149, the smallest denormal) has log −103.3.
// pmax is one instruction where max (with wasm's NaN and ±0 rules) is ~7, and gives the same
// values here: max(x, TINY) is never ±0, and a NaN x stays NaN either way. The log's argument
// is then positive, +∞ or NaN, so logPosV skips logV's checks for 0 and x < 0.
const TINY = f32x4.splat(reinterpret<f32>(1));
const M100 = f32x4.splat(-100);
@inline function bceLog(x: v128): v128 { return f32x4.pmax(logPosV(f32x4.pmax(x, TINY)), M100); }
/** −[y log p + (1−y) log(1−p)] with both logs clamped at −100. */
@final class BBce {
  @inline f(p: v128, y: v128): v128 {
    const lp = bceLog(p), lq = bceLog(f32x4.sub(ONE, p));
    return f32x4.neg(f32x4.add(f32x4.mul(y, lp), f32x4.mul(f32x4.sub(ONE, y), lq)));
  }
}
// 27·2^−149 (a denormal) is the smallest float32 whose log is above −100 (−99.98; 26·2^−149
// gives −100.02): the log clamp is inactive exactly when x ≥ E100.
const E100 = f32x4.splat(reinterpret<f32>(27));
/** (1−y)/(1−p) − y/p, each term 0 where its log is clamped (the clamp's gradient). */
@final class BBceGrad {
  @inline f(p: v128, y: v128): v128 {
    const q = f32x4.sub(ONE, p);
    const gp = v128.and(f32x4.ge(p, E100), f32x4.div(y, p));
    const gq = v128.and(f32x4.ge(q, E100), f32x4.div(f32x4.sub(ONE, y), q));
    return f32x4.sub(gq, gp);
  }
}

/**
 * max(z, 0) − z·y + log(1 + e) with e = e^−|z| (expNegAbsV): one exp and one log, no division
 * (PyTorch's formula). The exponential is an argument so bceLogitsRows shares it with sigmoid.
 */
@inline function bceLogitsFromV(z: v128, y: v128, e: v128): v128 {
  return f32x4.add(f32x4.sub(f32x4.pmax(z, ZERO), f32x4.mul(z, y)), log1pUnitV(e)); // pmax keeps a NaN z
}
@final class BBceLogits { @inline f(z: v128, y: v128): v128 { return bceLogitsFromV(z, y, expNegAbsV(z)); } }
/** sigmoid(z) − y. */
@final class BBceLogitsGrad { @inline f(z: v128, y: v128): v128 { return f32x4.sub(sigmoidV(z), y); } }
@final class BSigSqErr {
  @inline f(z: v128, y: v128): v128 {
    const d = f32x4.sub(sigmoidV(z), y);
    return f32x4.mul(d, d);
  }
}

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

function runVV(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  switch (op) {
    case 0: loopVV<BAdd>(a, b, out, n); break;
    case 1: loopVV<BSub>(a, b, out, n); break;
    case 2: loopVV<BMul>(a, b, out, n); break;
    case 3: loopVV<BDiv>(a, b, out, n); break;
    case 4: loopVV<BPow>(a, b, out, n); break;
    case 5: loopVV<BMax>(a, b, out, n); break;
    case 6: loopVV<BMin>(a, b, out, n); break;
    case 7: loopVV<BGt>(a, b, out, n); break;
    case 8: loopVV<BGe>(a, b, out, n); break;
    case 9: loopVV<BLt>(a, b, out, n); break;
    case 10: loopVV<BLe>(a, b, out, n); break;
    case 11: loopVV<BEq>(a, b, out, n); break;
    case 12: loopVV<BNe>(a, b, out, n); break;
    case 13: loopVV<BBce>(a, b, out, n); break;
    case 14: loopVV<BBceGrad>(a, b, out, n); break;
    case 15: loopVV<BBceLogits>(a, b, out, n); break;
    case 16: loopVV<BBceLogitsGrad>(a, b, out, n); break;
    default: loopVV<BSigSqErr>(a, b, out, n); break;
  }
}
function runSV(op: i32, s: f32, b: usize, out: usize, n: i32): void {
  switch (op) {
    case 0: loopSV<BAdd>(s, b, out, n); break;
    case 1: loopSV<BSub>(s, b, out, n); break;
    case 2: loopSV<BMul>(s, b, out, n); break;
    case 3: loopSV<BDiv>(s, b, out, n); break;
    case 4: loopSV<BPow>(s, b, out, n); break;
    case 5: loopSV<BMax>(s, b, out, n); break;
    case 6: loopSV<BMin>(s, b, out, n); break;
    case 7: loopSV<BGt>(s, b, out, n); break;
    case 8: loopSV<BGe>(s, b, out, n); break;
    case 9: loopSV<BLt>(s, b, out, n); break;
    case 10: loopSV<BLe>(s, b, out, n); break;
    case 11: loopSV<BEq>(s, b, out, n); break;
    case 12: loopSV<BNe>(s, b, out, n); break;
    case 13: loopSV<BBce>(s, b, out, n); break;
    case 14: loopSV<BBceGrad>(s, b, out, n); break;
    case 15: loopSV<BBceLogits>(s, b, out, n); break;
    case 16: loopSV<BBceLogitsGrad>(s, b, out, n); break;
    default: loopSV<BSigSqErr>(s, b, out, n); break;
  }
}
function runVS(op: i32, a: usize, s: f32, out: usize, n: i32): void {
  switch (op) {
    case 0: loopVS<BAdd>(a, s, out, n); break;
    case 1: loopVS<BSub>(a, s, out, n); break;
    case 2: loopVS<BMul>(a, s, out, n); break;
    case 3: loopVS<BDiv>(a, s, out, n); break;
    case 4: loopVS<BPow>(a, s, out, n); break;
    case 5: loopVS<BMax>(a, s, out, n); break;
    case 6: loopVS<BMin>(a, s, out, n); break;
    case 7: loopVS<BGt>(a, s, out, n); break;
    case 8: loopVS<BGe>(a, s, out, n); break;
    case 9: loopVS<BLt>(a, s, out, n); break;
    case 10: loopVS<BLe>(a, s, out, n); break;
    case 11: loopVS<BEq>(a, s, out, n); break;
    case 12: loopVS<BNe>(a, s, out, n); break;
    case 13: loopVS<BBce>(a, s, out, n); break;
    case 14: loopVS<BBceGrad>(a, s, out, n); break;
    case 15: loopVS<BBceLogits>(a, s, out, n); break;
    case 16: loopVS<BBceLogitsGrad>(a, s, out, n); break;
    default: loopVS<BSigSqErr>(a, s, out, n); break;
  }
}

/**
 * Broadcasting binary kernel over the canonical shapes the JS side reduces every call to:
 *  mode 0 same shape (n = d0)            mode 1 a scalar            mode 2 b scalar
 *  mode 3 a (d0, d1), b row (d1)         mode 4 a row, b (d0, d1)
 *  mode 5 a (d0, d1), b column (d0)      mode 6 a column, b (d0, d1)
 *  mode 7 a (d0, d1, d2), b (d1) mid     mode 8 a mid, b (d0, d1, d2)   [e.g. NCHW + per-channel]
 * Args: 0 op, 1 mode, 2 a, 3 b, 4 out, 5 d0, 6 d1, 7 d2. Items: CHUNK-sized pieces of the flat
 * range (modes 0–2) or blocks of whole rows of about CHUNK elements.
 */
export function binary(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const op = argI(args, 0), mode = argI(args, 1);
  const a = argP(args, 2), b = argP(args, 3), out = argP(args, 4);
  const d0 = argI(args, 5), d1 = argI(args, 6), d2 = argI(args, 7);
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
// Per-row loss terms in one pass over two (rows, cols) inputs a, b: loss[r] = Σ_c first(a, b),
// optionally sq[r] = Σ_c second(a, b), and aux (rows·cols) = each element's gradient factor.
// Each element's values are the separate kernels' (the same f32 operations) and the sums are
// the reduce kernel's (sumRun: four f32x4 accumulators over 16 elements at a time in blocks of
// SUM_BLOCK, folded into f64, the tail one element at a time), so results have their bits.
//   bceLogitsRows (Terms = BceTerms): a = logits z, b = targets y; first = bceLogits(z, y),
//     second = sigmoidSqErr(z, y), aux = bceLogitsGrad(z, y) = sigmoid(z) − y, all from one
//     shared e^−|z| (expNegAbsV; the binary kernels compute the same values from it).
//   bceRows (Terms = BceProbTerms): a = probabilities p, b = targets y; first = bce(p, y), no
//     second, aux = bceGrad(p, y) (the gradient in p).
//   klNormalRows (Terms = KlTerms): a = μ, b = log σ²; first = ((log σ² + 1) − μ·μ) − e^{log σ²}
//     (klNormal's terms before the −½), no second, aux = ½(e^{log σ²} − 1) (d KL / d log σ²).
// Args: 0 a, 1 b, 2 rows, 3 cols, 4 loss, 5 sq (0 = none), 6 aux (0 = none), 7 scale (each
// loss[r] is scale·Σ, rounded once: klNormalRows passes −½, which scales exactly).
// Items: blocks of whole rows.

// One row's sums (globals are per instance, so per thread).
let rowLoss: f64 = 0;
let rowSq: f64 = 0;

@final class BceTerms {
  @inline shared(z: v128, y: v128): v128 { return expNegAbsV(z); }
  @inline first(z: v128, y: v128, e: v128): v128 { return bceLogitsFromV(z, y, e); }
  /** (sigmoid(z) − y)², storing sigmoid(z) − y at aux + o when wanted. */
  @inline second(z: v128, y: v128, e: v128, aux: usize, o: usize, wantAux: bool, c: i32): v128 {
    const d = f32x4.sub(sigmoidFromV(z, e), y);
    if (wantAux) storeSome(aux + o, d, c);
    return f32x4.mul(d, d);
  }
}
@final class BceProbTerms {
  @inline shared(p: v128, y: v128): v128 { return p; }
  @inline first(p: v128, y: v128, e: v128): v128 { return changetype<BBce>(0).f(p, y); }
  /** No second sum; stores bceGrad(p, y) at aux + o when wanted. */
  @inline second(p: v128, y: v128, e: v128, aux: usize, o: usize, wantAux: bool, c: i32): v128 {
    if (wantAux) storeSome(aux + o, changetype<BBceGrad>(0).f(p, y), c);
    return ZERO;
  }
}
const HALF = f32x4.splat(0.5);
@final class KlTerms {
  @inline shared(mu: v128, lv: v128): v128 { return expV(lv); }
  @inline first(mu: v128, lv: v128, e: v128): v128 { return f32x4.sub(f32x4.sub(f32x4.add(lv, ONE), f32x4.mul(mu, mu)), e); }
  @inline second(mu: v128, lv: v128, e: v128, aux: usize, o: usize, wantAux: bool, c: i32): v128 {
    if (wantAux) storeSome(aux + o, f32x4.mul(f32x4.sub(e, ONE), HALF), c);
    return ZERO;
  }
}

/** Stores all four lanes (c = 4) or the low c. */
@inline function storeSome(p: usize, v: v128, c: i32): void {
  if (c == 4) v128.store(p, v);
  else storePartial(p, v, c);
}

function termsRow<T>(a: usize, b: usize, n: i32, aux: usize): void {
  const t = changetype<T>(0);
  const wantAux = aux != 0;
  let tl: f64 = 0, tq: f64 = 0;
  let i = 0;
  while (i + 16 <= n) {
    const end = min(i + SUM_BLOCK, n);
    let l0 = ZERO, l1 = ZERO, l2 = ZERO, l3 = ZERO;
    let q0 = ZERO, q1 = ZERO, q2 = ZERO, q3 = ZERO;
    for (; i + 16 <= end; i += 16) {
      const o = <usize>i << 2;
      const a0 = v128.load(a + o), a1 = v128.load(a + o, 16), a2 = v128.load(a + o, 32), a3 = v128.load(a + o, 48);
      const b0 = v128.load(b + o), b1 = v128.load(b + o, 16), b2 = v128.load(b + o, 32), b3 = v128.load(b + o, 48);
      const e0 = t.shared(a0, b0), e1 = t.shared(a1, b1), e2 = t.shared(a2, b2), e3 = t.shared(a3, b3);
      q0 = f32x4.add(q0, t.second(a0, b0, e0, aux, o, wantAux, 4));
      q1 = f32x4.add(q1, t.second(a1, b1, e1, aux, o + 16, wantAux, 4));
      q2 = f32x4.add(q2, t.second(a2, b2, e2, aux, o + 32, wantAux, 4));
      q3 = f32x4.add(q3, t.second(a3, b3, e3, aux, o + 48, wantAux, 4));
      l0 = f32x4.add(l0, t.first(a0, b0, e0));
      l1 = f32x4.add(l1, t.first(a1, b1, e1));
      l2 = f32x4.add(l2, t.first(a2, b2, e2));
      l3 = f32x4.add(l3, t.first(a3, b3, e3));
    }
    tl += hsum64(l0) + hsum64(l1) + hsum64(l2) + hsum64(l3);
    tq += hsum64(q0) + hsum64(q1) + hsum64(q2) + hsum64(q3);
  }
  // the last n % 16, element by element in order (as sumRun): whole vectors, then a partial one
  for (; i < n; i += 4) {
    const o = <usize>i << 2, c = min(4, n - i);
    let av: v128, bv: v128;
    if (c == 4) {
      av = v128.load(a + o);
      bv = v128.load(b + o);
    } else {
      av = loadPartial(a + o, c);
      bv = loadPartial(b + o, c);
    }
    const e = t.shared(av, bv);
    const qv = t.second(av, bv, e, aux, o, wantAux, c);
    const lv = t.first(av, bv, e);
    tl += <f64>f32x4.extract_lane(lv, 0);
    tq += <f64>f32x4.extract_lane(qv, 0);
    if (c > 1) {
      tl += <f64>f32x4.extract_lane(lv, 1);
      tq += <f64>f32x4.extract_lane(qv, 1);
    }
    if (c > 2) {
      tl += <f64>f32x4.extract_lane(lv, 2);
      tq += <f64>f32x4.extract_lane(qv, 2);
    }
    if (c > 3) {
      tl += <f64>f32x4.extract_lane(lv, 3);
      tq += <f64>f32x4.extract_lane(qv, 3);
    }
  }
  rowLoss = tl;
  rowSq = tq;
}

@inline function termRows<T>(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = argP(args, 0), b = argP(args, 1);
  const rows = argI(args, 2), cols = argI(args, 3);
  const loss = argP(args, 4), sq = argP(args, 5), aux = argP(args, 6), scale = argD(args, 7);
  const per = rowsPerItem(rows, cols, nth);
  const total = (rows + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = min(rows, (it + 1) * per);
    for (let r = it * per; r < hi; r++) {
      const o = (<usize>r * <usize>cols) << 2;
      termsRow<T>(a + o, b + o, cols, aux == 0 ? 0 : aux + o);
      store<f32>(loss + (<usize>r << 2), <f32>(scale * rowLoss));
      if (sq != 0) store<f32>(sq + (<usize>r << 2), <f32>rowSq);
    }
  }
  endItems();
  return total;
}

export function bceLogitsRows(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return termRows<BceTerms>(args, tid, nth, gen);
}
export function bceRows(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return termRows<BceProbTerms>(args, tid, nth, gen);
}
export function klNormalRows(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return termRows<KlTerms>(args, tid, nth, gen);
}

// ---------------------------------------------------------------------------------------------
// reparameterize: z = μ + e^{½ log σ²} ⊙ ε (the ops mul(lv, 0.5), exp, mul, add, in that order),
// and when wanted half = ½ e^{½ log σ²} ⊙ ε (d z / d log σ²). Args: 0 mu, 1 lv, 2 eps, 3 z,
// 4 half (0 = none), 5 n. Items: CHUNK-sized pieces.

/** z and half of 4 elements (c = 4) or the low c, from their μ, log σ² and ε. */
@inline function reparamV(m: v128, l: v128, e: v128, z: usize, half: usize, o: usize, c: i32): void {
  const se = f32x4.mul(expV(f32x4.mul(l, HALF)), e);
  storeSome(z + o, f32x4.add(m, se), c);
  if (half != 0) storeSome(half + o, f32x4.mul(se, HALF), c);
}

export function reparameterize(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const mu = argP(args, 0), lv = argP(args, 1), eps = argP(args, 2), z = argP(args, 3), half = argP(args, 4);
  const n = argI(args, 5);
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = flatHi(it, n, nth);
    let i = flatLo(it, nth);
    // whole vectors, then the partial one (a `c == 4 ? load : loadPartial` select would run both)
    for (; i + 4 <= hi; i += 4) {
      const o = <usize>i << 2;
      reparamV(v128.load(mu + o), v128.load(lv + o), v128.load(eps + o), z, half, o, 4);
    }
    if (i < hi) {
      const o = <usize>i << 2, c = hi - i;
      reparamV(loadPartial(mu + o, c), loadPartial(lv + o, c), loadPartial(eps + o, c), z, half, o, c);
    }
  }
  endItems();
  return total;
}

// ---------------------------------------------------------------------------------------------
// gatherRows8: rows of 8-bit pixels picked by index and scaled to [0, 1] (a training batch from
// a dataset's bytes): out[j·d + k] = src[idx[j]·d + k] / 255, the division in f32 (correctly
// rounded: the nearest float32 to k/255, as the datasets' tables hold). The rows come from all
// over a large array, so the time is memory latency: threads fetch different rows at once.
// Args: 0 src (bytes), 1 d, 2 idx (i32, checked by the caller), 3 m (rows), 4 out.
// Items: blocks of rows.

const F255 = f32x4.splat(255);

/** Four f32x4 of the 16 bytes at p, each divided by 255, stored at o. */
@inline function bytes16(p: usize, o: usize): void {
  const b = v128.load(p);
  const lo = i16x8.extend_low_i8x16_u(b), hi = i16x8.extend_high_i8x16_u(b);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), F255));
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), F255), 16);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), F255), 32);
  v128.store(o, f32x4.div(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), F255), 48);
}

export function gatherRows8(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const src = argP(args, 0), d = argI(args, 1), idx = argP(args, 2), m = argI(args, 3), out = argP(args, 4);
  const per = rowsPerItem(m, d, nth);
  const total = (m + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = min(m, (it + 1) * per);
    for (let j = it * per; j < hi; j++) {
      const s = src + <usize>load<i32>(idx + (<usize>j << 2)) * <usize>d;
      const o = out + ((<usize>j * <usize>d) << 2);
      let k = 0;
      for (; k + 16 <= d; k += 16) bytes16(s + <usize>k, o + (<usize>k << 2));
      for (; k < d; k++) store<f32>(o + (<usize>k << 2), <f32>load<u8>(s + <usize>k) / <f32>255);
    }
  }
  endItems();
  return total;
}

/** out = cond != 0 ? a : b. Args: 0 cond, 1 a, 2 b, 3 out, 4 n. */
export function where(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const cond = argP(args, 0), a = argP(args, 1), b = argP(args, 2), out = argP(args, 3);
  const n = argI(args, 4);
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

/** out = min(max(x, lo), hi). Args: 0 x, 1 out, 2 n, 3 lo, 4 hi. */
export function clamp(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const x = argP(args, 0), out = argP(args, 1), n = argI(args, 2);
  const lov = f32x4.splat(argF(args, 3)), hiv = f32x4.splat(argF(args, 4));
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
