// The fused loss kernels: the binary cross-entropy ops the binary kernel runs (elementwise.ts
// switches on them), the per-row sums of the BCE and KL terms, and the reparameterised sample.
// Each gives the bits of the composite of separate kernels it fuses (backend.ts, FusedKernels).

import { ReparameterizeArgs, TermRowsArgs } from './abi.generated';
import { loadPartial, storePartial, hsum64, joinItems, beginItems, nextItem, endItems, flatItems, flatLo, flatHi, rowsPerItem, SUM_BLOCK } from './common';
import { expV, expNegAbsV, logPosV, log1pUnitV, sigmoidV, sigmoidFromV } from './vmath';

const ZERO = f32x4.splat(0);
const ONE = f32x4.splat(1);

// ---------------------------------------------------------------------------------------------
// The loss ops of the binary kernel (BinaryOp.bce …): bce and bceGrad of probability a against
// target b (as losses.bce defines them), bceLogits and bceLogitsGrad of logit a (as
// losses.bceWithLogits), sigmoidSqErr ((sigmoid(a) − b)², rounded step by step as the separate
// kernels).

// log(max(x, TINY)) clamped at −100; TINY (2^−149, the smallest denormal) has log −103.3.
// pmax is one instruction where max (with wasm's NaN and ±0 rules) is ~7, and gives the same
// values here: max(x, TINY) is never ±0, and a NaN x stays NaN either way. The log's argument
// is then positive, +∞ or NaN, so logPosV skips logV's checks for 0 and x < 0.
const TINY = f32x4.splat(reinterpret<f32>(1));
const M100 = f32x4.splat(-100);
@inline function bceLog(x: v128): v128 { return f32x4.pmax(logPosV(f32x4.pmax(x, TINY)), M100); }
/** −[y log p + (1−y) log(1−p)] with both logs clamped at −100. */
@final export class BBce {
  @inline f(p: v128, y: v128): v128 {
    const lp = bceLog(p), lq = bceLog(f32x4.sub(ONE, p));
    return f32x4.neg(f32x4.add(f32x4.mul(y, lp), f32x4.mul(f32x4.sub(ONE, y), lq)));
  }
}
// 27·2^−149 (a denormal) is the smallest float32 whose log is above −100 (−99.98; 26·2^−149
// gives −100.02): the log clamp is inactive exactly when x ≥ E100.
const E100 = f32x4.splat(reinterpret<f32>(27));
/** (1−y)/(1−p) − y/p, each term 0 where its log is clamped (the clamp's gradient). */
@final export class BBceGrad {
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
@final export class BBceLogits { @inline f(z: v128, y: v128): v128 { return bceLogitsFromV(z, y, expNegAbsV(z)); } }
/** sigmoid(z) − y. */
@final export class BBceLogitsGrad { @inline f(z: v128, y: v128): v128 { return f32x4.sub(sigmoidV(z), y); } }
@final export class BSigSqErr {
  @inline f(z: v128, y: v128): v128 {
    const d = f32x4.sub(sigmoidV(z), y);
    return f32x4.mul(d, d);
  }
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
// Args: TermRowsArgs; sq and aux 0 when not wanted; each loss[r] is scale·Σ, rounded once
// (klNormalRows passes −½, which scales exactly).
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
  const ar = changetype<TermRowsArgs>(args);
  const a = ar.a, b = ar.b;
  const rows = ar.rows, cols = ar.cols;
  const loss = ar.loss, sq = ar.sq, aux = ar.aux, scale = ar.scale;
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
// and when wanted half = ½ e^{½ log σ²} ⊙ ε (d z / d log σ²). Args: ReparameterizeArgs (half 0
// when not wanted). Items: CHUNK-sized pieces.

/** z and half of 4 elements (c = 4) or the low c, from their μ, log σ² and ε. */
@inline function reparamV(m: v128, l: v128, e: v128, z: usize, half: usize, o: usize, c: i32): void {
  const se = f32x4.mul(expV(f32x4.mul(l, HALF)), e);
  storeSome(z + o, f32x4.add(m, se), c);
  if (half != 0) storeSome(half + o, f32x4.mul(se, HALF), c);
}

export function reparameterize(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ReparameterizeArgs>(args);
  const mu = a.mu, lv = a.lv, eps = a.eps, z = a.z, half = a.half;
  const n = a.n;
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
