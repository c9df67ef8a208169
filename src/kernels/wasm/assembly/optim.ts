// Fused optimizer steps, in place, one pass over the parameter (PyTorch's formulas).

import { AdadeltaStepArgs, AdagradStepArgs, AdamStepArgs, RmspropStepArgs, SgdStepArgs } from './abi.generated';
import { joinItems, beginItems, nextItem, endItems, flatItems, flatLo, flatHi } from './common';

// The update of one vector (4 parameters) and, for the last n % 4, of one parameter: the scalar
// version performs the same f32 operations in the same order, so every element gets the same
// bits whichever path it takes. (No `full ? load : loadPartial` selects in the loop: wasm
// compiles those to a bitselect that evaluates both sides, partial loads included.)
@inline function adamV(
  pp: usize, gp: usize, mp: usize, vp: usize, xp: usize,
  b1: v128, nb1: v128, b2: v128, nb2: v128, wd: v128, decay: v128, stepSize: v128, invBc2s: v128, eps: v128,
  coupled: bool, decoupled: bool, ams: bool,
): void {
  let p = v128.load(pp), g = v128.load(gp), m = v128.load(mp), v = v128.load(vp);
  if (coupled) g = f32x4.add(g, f32x4.mul(p, wd)); // L2 penalty folded into the gradient
  if (decoupled) p = f32x4.mul(p, decay); // AdamW: p ← p·(1 − lr·wd)
  m = f32x4.add(f32x4.mul(m, b1), f32x4.mul(g, nb1)); // m ← β1·m + (1−β1)·g
  v = f32x4.add(f32x4.mul(v, b2), f32x4.mul(f32x4.mul(g, g), nb2)); // v ← β2·v + (1−β2)·g²
  let vhat = v;
  if (ams) {
    vhat = f32x4.max(v128.load(xp), v);
    v128.store(xp, vhat);
  }
  // p ← p − lr/(1−β1^t) · m / (√v̂ / √(1−β2^t) + ε), the inner division as a multiplication
  // by the reciprocal (one division per element instead of two: divps is the slow part).
  const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vhat), invBc2s), eps);
  v128.store(pp, f32x4.sub(p, f32x4.mul(stepSize, f32x4.div(m, denom))));
  v128.store(mp, m);
  v128.store(vp, v);
}
@inline function adamS(
  pp: usize, gp: usize, mp: usize, vp: usize, xp: usize,
  b1: f32, nb1: f32, b2: f32, nb2: f32, wd: f32, decay: f32, stepSize: f32, invBc2s: f32, eps: f32,
  coupled: bool, decoupled: bool, ams: bool,
): void {
  let p = load<f32>(pp), g = load<f32>(gp), m = load<f32>(mp), v = load<f32>(vp);
  if (coupled) g = g + p * wd;
  if (decoupled) p = p * decay;
  m = m * b1 + g * nb1;
  v = v * b2 + g * g * nb2;
  let vhat = v;
  if (ams) {
    vhat = max<f32>(load<f32>(xp), v); // f32.max, NaN-propagating like f32x4.max
    store<f32>(xp, vhat);
  }
  const denom = Mathf.sqrt(vhat) * invBc2s + eps;
  store<f32>(pp, p - stepSize * (m / denom));
  store<f32>(mp, m);
  store<f32>(vp, v);
}

// The variants of the vector loop, as compile-time constants (see adamRange).
@final class DecayNone { @inline coupled(): bool { return false; } @inline decoupled(): bool { return false; } }
@final class DecayL2 { @inline coupled(): bool { return true; } @inline decoupled(): bool { return false; } }
@final class DecayW { @inline coupled(): bool { return false; } @inline decoupled(): bool { return true; } }
@final class AmsOff { @inline on(): bool { return false; } }
@final class AmsOn { @inline on(): bool { return true; } }

/**
 * The vectors of n4 (a multiple of 4) parameters from the given pointers, one loop per
 * variant: the weight-decay and AMSGrad flags are constants inside it, so the loop carries no
 * branches (passed as run-time flags, V8 keeps three tests per vector in the loop).
 */
function adamRange<W, A>(
  pp: usize, gp: usize, mp: usize, vp: usize, xp: usize, n4: i32,
  b1: v128, nb1: v128, b2: v128, nb2: v128, wd: v128, decay: v128, stepSize: v128, invBc2s: v128, eps: v128,
): void {
  const w = changetype<W>(0), a = changetype<A>(0);
  const end = <usize>n4 << 2;
  for (let o: usize = 0; o < end; o += 16) {
    adamV(pp + o, gp + o, mp + o, vp + o, xp + o, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps, w.coupled(), w.decoupled(), a.on());
  }
}

/** adamRange for the weight-decay variant the run-time flags name. */
@inline function adamVariant<A>(
  coupled: bool, decoupled: bool, pp: usize, gp: usize, mp: usize, vp: usize, xp: usize, n4: i32,
  b1: v128, nb1: v128, b2: v128, nb2: v128, wd: v128, decay: v128, stepSize: v128, invBc2s: v128, eps: v128,
): void {
  if (coupled) adamRange<DecayL2, A>(pp, gp, mp, vp, xp, n4, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps);
  else if (decoupled) adamRange<DecayW, A>(pp, gp, mp, vp, xp, n4, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps);
  else adamRange<DecayNone, A>(pp, gp, mp, vp, xp, n4, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps);
}

/**
 * Adam / AdamW. Args: AdamStepArgs (vmax 0 = none; step 1-based).
 */
export function adamStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<AdamStepArgs>(args);
  const p = a.p, g = a.g, m = a.m, v = a.v, vx = a.vmax;
  const n = a.n;
  const lr = a.lr, beta1 = a.beta1, beta2 = a.beta2, epsD = a.eps;
  const wdD = a.weightDecay;
  const decoupled = a.decoupled, ams = a.amsgrad && vx != 0;
  const step = a.step;
  const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
  const b1 = f32x4.splat(<f32>beta1), nb1 = f32x4.splat(<f32>(1 - beta1));
  const b2 = f32x4.splat(<f32>beta2), nb2 = f32x4.splat(<f32>(1 - beta2));
  const wd = f32x4.splat(<f32>wdD), decay = f32x4.splat(<f32>(1 - lr * wdD));
  const stepSize = f32x4.splat(<f32>(lr / bc1)), invBc2s = f32x4.splat(<f32>(1 / Math.sqrt(bc2)));
  const eps = f32x4.splat(<f32>epsD);
  const coupled = !decoupled && wdD != 0, dec = decoupled && wdD != 0;
  const total = flatItems(n, nth);
  beginItems(total);
  const b1s = <f32>beta1, nb1s = <f32>(1 - beta1), b2s = <f32>beta2, nb2s = <f32>(1 - beta2);
  const wds = <f32>wdD, decays = <f32>(1 - lr * wdD), steps = <f32>(lr / bc1), invs = <f32>(1 / Math.sqrt(bc2)), epss = <f32>epsD;
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = flatHi(it, n, nth);
    let i = flatLo(it, nth);
    const o = <usize>i << 2;
    const n4 = (hi - i) & ~3;
    if (ams) adamVariant<AmsOn>(coupled, dec, p + o, g + o, m + o, v + o, vx + o, n4, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps);
    else adamVariant<AmsOff>(coupled, dec, p + o, g + o, m + o, v + o, vx + o, n4, b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps);
    i += n4;
    for (; i < hi; i++) {
      const o = <usize>i << 2;
      adamS(p + o, g + o, m + o, v + o, vx + o, b1s, nb1s, b2s, nb2s, wds, decays, steps, invs, epss, coupled, dec, ams);
    }
  }
  endItems();
  return total;
}

/**
 * SGD with momentum / dampening / Nesterov / weight decay. Args: SgdStepArgs (buf 0 = none).
 *   d = g + wd·p;  buf = first ? d : μ·buf + (1−τ)·d;  d = nesterov ? d + μ·buf : buf;  p −= lr·d
 */
export function sgdStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<SgdStepArgs>(args);
  const pp = a.p, gp = a.g, bp = a.buf;
  const n = a.n;
  const lr = f32x4.splat(<f32>a.lr), momD = a.momentum;
  const mom = f32x4.splat(<f32>momD), damp = f32x4.splat(<f32>(1 - a.dampening));
  const wdD = a.weightDecay, wd = f32x4.splat(<f32>wdD);
  const nesterov = a.nesterov, first = a.first;
  const useBuf = momD != 0 && bp != 0;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const lo = flatLo(it, nth), hi = flatHi(it, n, nth);
    const decay = wdD != 0;
    // one compiled loop per variant (see adamRange): decay × {plain, momentum, Nesterov} × first
    if (!useBuf) sgdVariant<SgdPlain>(decay, pp, gp, bp, lo, hi, lr, mom, damp, wd);
    else if (nesterov) {
      if (first) sgdVariant<SgdNesterovFirst>(decay, pp, gp, bp, lo, hi, lr, mom, damp, wd);
      else sgdVariant<SgdNesterov>(decay, pp, gp, bp, lo, hi, lr, mom, damp, wd);
    } else if (first) sgdVariant<SgdMomentumFirst>(decay, pp, gp, bp, lo, hi, lr, mom, damp, wd);
    else sgdVariant<SgdMomentum>(decay, pp, gp, bp, lo, hi, lr, mom, damp, wd);
  }
  endItems();
  return total;
}

// The variants of the SGD loop, as compile-time constants (weight decay: DecayNone / DecayL2).
@final class SgdPlain { @inline buf(): bool { return false; } @inline nesterov(): bool { return false; } @inline first(): bool { return false; } }
@final class SgdMomentum { @inline buf(): bool { return true; } @inline nesterov(): bool { return false; } @inline first(): bool { return false; } }
@final class SgdMomentumFirst { @inline buf(): bool { return true; } @inline nesterov(): bool { return false; } @inline first(): bool { return true; } }
@final class SgdNesterov { @inline buf(): bool { return true; } @inline nesterov(): bool { return true; } @inline first(): bool { return false; } }
@final class SgdNesterovFirst { @inline buf(): bool { return true; } @inline nesterov(): bool { return true; } @inline first(): bool { return true; } }

/** sgdItem with or without weight decay (added to the gradient, as Adam's L2). */
@inline function sgdVariant<V>(
  decay: bool, pp: usize, gp: usize, bp: usize, lo: i32, hi: i32, lr: v128, mom: v128, damp: v128, wd: v128,
): void {
  if (decay) sgdItem<DecayL2, V>(pp, gp, bp, lo, hi, lr, mom, damp, wd);
  else sgdItem<DecayNone, V>(pp, gp, bp, lo, hi, lr, mom, damp, wd);
}

function sgdItem<D, V>(
  pp: usize, gp: usize, bp: usize, lo: i32, hi: i32,
  lr: v128, mom: v128, damp: v128, wd: v128,
): void {
  const decay = changetype<D>(0).coupled(), v = changetype<V>(0);
  const useBuf = v.buf(), nesterov = v.nesterov(), first = v.first();
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(pp + o);
    let d = v128.load(gp + o);
    if (decay) d = f32x4.add(d, f32x4.mul(p, wd));
    if (useBuf) {
      let b = d;
      if (!first) b = f32x4.add(f32x4.mul(v128.load(bp + o), mom), f32x4.mul(d, damp));
      v128.store(bp + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, mom)) : b;
    }
    v128.store(pp + o, f32x4.sub(p, f32x4.mul(d, lr)));
  }
  // The last n % 4: the same f32 operations, one lane at a time.
  const lrs = f32x4.extract_lane(lr, 0), moms = f32x4.extract_lane(mom, 0);
  const damps = f32x4.extract_lane(damp, 0), wds = f32x4.extract_lane(wd, 0);
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(pp + o);
    let d = load<f32>(gp + o);
    if (decay) d = d + p * wds;
    if (useBuf) {
      let b = d;
      if (!first) b = load<f32>(bp + o) * moms + d * damps;
      store<f32>(bp + o, b);
      d = nesterov ? d + b * moms : b;
    }
    store<f32>(pp + o, p - d * lrs);
  }
}

// ---- RMSprop, Adagrad, Adadelta ------------------------------------------------------------------
// PyTorch 1.13's formulas, each in one pass over the parameter. Like sgdItem: one compiled loop
// per variant (weight decay: DecayNone / DecayL2; RMSprop also centered × momentum), and the last
// n % 4 elements take the same f32 operations one lane at a time, so every element gets the same
// bits whichever path it takes.

/** The gradient at gp, plus wd·p when `decay` (L2 weight decay folded into it). */
@inline function gradV(decay: bool, gp: usize, p: v128, wd: v128): v128 {
  const g = v128.load(gp);
  return decay ? f32x4.add(g, f32x4.mul(p, wd)) : g;
}
@inline function gradS(decay: bool, gp: usize, p: f32, wd: f32): f32 {
  const g = load<f32>(gp);
  return decay ? g + p * wd : g;
}
/** The running mean of g² at sp (RMSprop's and Adadelta's): s ← a·s + (1 − a)·g², stored and returned. */
@inline function sqAvgV(sp: usize, g: v128, a: v128, na: v128): v128 {
  const s = f32x4.add(f32x4.mul(v128.load(sp), a), f32x4.mul(f32x4.mul(g, g), na));
  v128.store(sp, s);
  return s;
}
@inline function sqAvgS(sp: usize, g: f32, a: f32, na: f32): f32 {
  const s = load<f32>(sp) * a + g * g * na;
  store<f32>(sp, s);
  return s;
}

@final class RmsPlain { @inline centered(): bool { return false; } @inline momentum(): bool { return false; } }
@final class RmsCentered { @inline centered(): bool { return true; } @inline momentum(): bool { return false; } }
@final class RmsMomentum { @inline centered(): bool { return false; } @inline momentum(): bool { return true; } }
@final class RmsBoth { @inline centered(): bool { return true; } @inline momentum(): bool { return true; } }

function rmspropItem<D, V>(
  pp: usize, gp: usize, sp: usize, ap: usize, bp: usize, lo: i32, hi: i32,
  lrS: f32, alphaS: f32, epsS: f32, wdS: f32, momS: f32,
): void {
  const decay = changetype<D>(0).coupled(), v = changetype<V>(0);
  const centered = v.centered(), useBuf = v.momentum();
  const lr = f32x4.splat(lrS), alpha = f32x4.splat(alphaS), na = f32x4.splat(1 - alphaS);
  const eps = f32x4.splat(epsS), wd = f32x4.splat(wdS), mom = f32x4.splat(momS);
  const naS: f32 = 1 - alphaS;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(pp + o);
    const g = gradV(decay, gp + o, p, wd);
    const s = sqAvgV(sp + o, g, alpha, na); // α·s + (1−α)·g²
    let avg: v128;
    if (centered) {
      const m = f32x4.add(f32x4.mul(v128.load(ap + o), alpha), f32x4.mul(g, na)); // α·ḡ + (1−α)·g
      v128.store(ap + o, m);
      avg = f32x4.add(f32x4.sqrt(f32x4.sub(s, f32x4.mul(m, m))), eps);
    } else avg = f32x4.add(f32x4.sqrt(s), eps);
    if (useBuf) {
      const b = f32x4.add(f32x4.mul(v128.load(bp + o), mom), f32x4.div(g, avg)); // μ·b + g/avg
      v128.store(bp + o, b);
      v128.store(pp + o, f32x4.sub(p, f32x4.mul(b, lr)));
    } else v128.store(pp + o, f32x4.sub(p, f32x4.mul(f32x4.div(g, avg), lr)));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(pp + o);
    const g = gradS(decay, gp + o, p, wdS);
    const s = sqAvgS(sp + o, g, alphaS, naS);
    let avg: f32;
    if (centered) {
      const m = load<f32>(ap + o) * alphaS + g * naS;
      store<f32>(ap + o, m);
      avg = Mathf.sqrt(s - m * m) + epsS;
    } else avg = Mathf.sqrt(s) + epsS;
    if (useBuf) {
      const b = load<f32>(bp + o) * momS + g / avg;
      store<f32>(bp + o, b);
      store<f32>(pp + o, p - b * lrS);
    } else store<f32>(pp + o, p - (g / avg) * lrS);
  }
}

@inline function rmspropVariant<V>(
  decay: bool, pp: usize, gp: usize, sp: usize, ap: usize, bp: usize, lo: i32, hi: i32,
  lr: f32, alpha: f32, eps: f32, wd: f32, mom: f32,
): void {
  if (decay) rmspropItem<DecayL2, V>(pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
  else rmspropItem<DecayNone, V>(pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
}

/**
 * RMSprop. Args: RmspropStepArgs (gradAvg 0 unless centered, buf 0 unless momentum > 0).
 *   g = g + wd·p;  s = α·s + (1−α)·g²;  centered: ḡ = α·ḡ + (1−α)·g, avg = √(s − ḡ²) + ε, else
 *   avg = √s + ε;  momentum: b = μ·b + g/avg, p −= lr·b;  else p −= lr·(g/avg)
 */
export function rmspropStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<RmspropStepArgs>(args);
  const pp = a.p, gp = a.g, sp = a.squareAvg, ap = a.gradAvg, bp = a.buf;
  const n = a.n;
  const lr = <f32>a.lr, alpha = <f32>a.alpha, eps = <f32>a.eps;
  const wdD = a.weightDecay, wd = <f32>wdD, mom = <f32>a.momentum;
  const decay = wdD != 0, centered = ap != 0, useBuf = bp != 0;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const lo = flatLo(it, nth), hi = flatHi(it, n, nth);
    if (centered) {
      if (useBuf) rmspropVariant<RmsBoth>(decay, pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
      else rmspropVariant<RmsCentered>(decay, pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
    } else if (useBuf) rmspropVariant<RmsMomentum>(decay, pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
    else rmspropVariant<RmsPlain>(decay, pp, gp, sp, ap, bp, lo, hi, lr, alpha, eps, wd, mom);
  }
  endItems();
  return total;
}

function adagradItem<D>(pp: usize, gp: usize, sp: usize, lo: i32, hi: i32, clrS: f32, epsS: f32, wdS: f32): void {
  const decay = changetype<D>(0).coupled();
  const clr = f32x4.splat(clrS), eps = f32x4.splat(epsS), wd = f32x4.splat(wdS);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(pp + o);
    const g = gradV(decay, gp + o, p, wd);
    const s = f32x4.add(v128.load(sp + o), f32x4.mul(g, g)); // s + g²
    v128.store(sp + o, s);
    v128.store(pp + o, f32x4.sub(p, f32x4.mul(f32x4.div(g, f32x4.add(f32x4.sqrt(s), eps)), clr)));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(pp + o);
    const g = gradS(decay, gp + o, p, wdS);
    const s = load<f32>(sp + o) + g * g;
    store<f32>(sp + o, s);
    store<f32>(pp + o, p - (g / (Mathf.sqrt(s) + epsS)) * clrS);
  }
}

/**
 * Adagrad. Args: AdagradStepArgs (clr = lr / (1 + (t − 1)·lrDecay)).
 *   g = g + wd·p;  s = s + g²;  p −= clr·(g / (√s + ε))
 */
export function adagradStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<AdagradStepArgs>(args);
  const pp = a.p, gp = a.g, sp = a.sum;
  const n = a.n;
  const clr = <f32>a.clr, eps = <f32>a.eps, wdD = a.weightDecay;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const lo = flatLo(it, nth), hi = flatHi(it, n, nth);
    if (wdD != 0) adagradItem<DecayL2>(pp, gp, sp, lo, hi, clr, eps, <f32>wdD);
    else adagradItem<DecayNone>(pp, gp, sp, lo, hi, clr, eps, 0);
  }
  endItems();
  return total;
}

function adadeltaItem<D>(
  pp: usize, gp: usize, sp: usize, dp: usize, lo: i32, hi: i32, lrS: f32, rhoS: f32, epsS: f32, wdS: f32,
): void {
  const decay = changetype<D>(0).coupled();
  const lr = f32x4.splat(lrS), rho = f32x4.splat(rhoS), nr = f32x4.splat(1 - rhoS), eps = f32x4.splat(epsS), wd = f32x4.splat(wdS);
  const nrS: f32 = 1 - rhoS;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(pp + o);
    const g = gradV(decay, gp + o, p, wd);
    const s = sqAvgV(sp + o, g, rho, nr); // ρ·s + (1−ρ)·g²
    const a = v128.load(dp + o);
    // Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g
    const delta = f32x4.mul(f32x4.div(f32x4.sqrt(f32x4.add(a, eps)), f32x4.sqrt(f32x4.add(s, eps))), g);
    v128.store(dp + o, f32x4.add(f32x4.mul(a, rho), f32x4.mul(f32x4.mul(delta, delta), nr)));
    v128.store(pp + o, f32x4.sub(p, f32x4.mul(delta, lr)));
  }
  for (; i < hi; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(pp + o);
    const g = gradS(decay, gp + o, p, wdS);
    const s = sqAvgS(sp + o, g, rhoS, nrS);
    const a = load<f32>(dp + o);
    const delta = (Mathf.sqrt(a + epsS) / Mathf.sqrt(s + epsS)) * g;
    store<f32>(dp + o, a * rhoS + delta * delta * nrS);
    store<f32>(pp + o, p - delta * lrS);
  }
}

/**
 * Adadelta. Args: AdadeltaStepArgs.
 *   g = g + wd·p;  s = ρ·s + (1−ρ)·g²;  Δ = √(a + ε)/√(s + ε)·g;  a = ρ·a + (1−ρ)·Δ²;  p −= lr·Δ
 */
export function adadeltaStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<AdadeltaStepArgs>(args);
  const pp = a.p, gp = a.g, sp = a.squareAvg, dp = a.accDelta;
  const n = a.n;
  const lr = <f32>a.lr, rho = <f32>a.rho, eps = <f32>a.eps, wdD = a.weightDecay;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const lo = flatLo(it, nth), hi = flatHi(it, n, nth);
    if (wdD != 0) adadeltaItem<DecayL2>(pp, gp, sp, dp, lo, hi, lr, rho, eps, <f32>wdD);
    else adadeltaItem<DecayNone>(pp, gp, sp, dp, lo, hi, lr, rho, eps, 0);
  }
  endItems();
  return total;
}
