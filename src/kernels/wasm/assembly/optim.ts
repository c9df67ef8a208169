// Fused optimizer steps, in place, one pass over the parameter (PyTorch's formulas).

import { argP, argI, argD, loadPartial, storePartial, joinItems, beginItems, nextItem, endItems, flatItems, flatLo, flatHi } from './common';

@inline function adamV(
  pp: usize, gp: usize, mp: usize, vp: usize, xp: usize, cnt: i32,
  b1: v128, nb1: v128, b2: v128, nb2: v128, wd: v128, decay: v128, stepSize: v128, invBc2s: v128, eps: v128,
  coupled: bool, decoupled: bool, ams: bool,
): void {
  const full = cnt == 4;
  let p = full ? v128.load(pp) : loadPartial(pp, cnt);
  let g = full ? v128.load(gp) : loadPartial(gp, cnt);
  let m = full ? v128.load(mp) : loadPartial(mp, cnt);
  let v = full ? v128.load(vp) : loadPartial(vp, cnt);
  if (coupled) g = f32x4.add(g, f32x4.mul(p, wd)); // L2 penalty folded into the gradient
  if (decoupled) p = f32x4.mul(p, decay); // AdamW: p ← p·(1 − lr·wd)
  m = f32x4.add(f32x4.mul(m, b1), f32x4.mul(g, nb1)); // m ← β1·m + (1−β1)·g
  v = f32x4.add(f32x4.mul(v, b2), f32x4.mul(f32x4.mul(g, g), nb2)); // v ← β2·v + (1−β2)·g²
  let vhat = v;
  if (ams) {
    const vx = full ? v128.load(xp) : loadPartial(xp, cnt);
    vhat = f32x4.max(vx, v);
    if (full) v128.store(xp, vhat);
    else storePartial(xp, vhat, cnt);
  }
  // p ← p − lr/(1−β1^t) · m / (√v̂ / √(1−β2^t) + ε), the inner division as a multiplication
  // by the reciprocal (one division per element instead of two: divps is the slow part).
  const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vhat), invBc2s), eps);
  p = f32x4.sub(p, f32x4.mul(stepSize, f32x4.div(m, denom)));
  if (full) {
    v128.store(pp, p);
    v128.store(mp, m);
    v128.store(vp, v);
  } else {
    storePartial(pp, p, cnt);
    storePartial(mp, m, cnt);
    storePartial(vp, v, cnt);
  }
}

/**
 * Adam / AdamW. Args: 0 p, 1 g, 2 m, 3 v, 4 vmax (0 = none), 5 n, 6 lr, 7 beta1, 8 beta2,
 * 9 eps, 10 weightDecay, 11 decoupled, 12 amsgrad, 13 step (1-based).
 */
export function adamStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const p = argP(args, 0), g = argP(args, 1), m = argP(args, 2), v = argP(args, 3), vx = argP(args, 4);
  const n = argI(args, 5);
  const lr = argD(args, 6), beta1 = argD(args, 7), beta2 = argD(args, 8), epsD = argD(args, 9);
  const wdD = argD(args, 10);
  const decoupled = argI(args, 11) != 0, ams = argI(args, 12) != 0 && vx != 0;
  const step = argD(args, 13);
  const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
  const b1 = f32x4.splat(<f32>beta1), nb1 = f32x4.splat(<f32>(1 - beta1));
  const b2 = f32x4.splat(<f32>beta2), nb2 = f32x4.splat(<f32>(1 - beta2));
  const wd = f32x4.splat(<f32>wdD), decay = f32x4.splat(<f32>(1 - lr * wdD));
  const stepSize = f32x4.splat(<f32>(lr / bc1)), invBc2s = f32x4.splat(<f32>(1 / Math.sqrt(bc2)));
  const eps = f32x4.splat(<f32>epsD);
  const coupled = !decoupled && wdD != 0, dec = decoupled && wdD != 0;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const hi = flatHi(it, n, nth);
    for (let i = flatLo(it, nth); i < hi; i += 4) {
      const o = <usize>i << 2;
      adamV(p + o, g + o, m + o, v + o, vx + o, min(4, hi - i), b1, nb1, b2, nb2, wd, decay, stepSize, invBc2s, eps, coupled, dec, ams);
    }
  }
  endItems();
  return total;
}

/**
 * SGD with momentum / dampening / Nesterov / weight decay. Args: 0 p, 1 g, 2 buf (0 = none),
 * 3 n, 4 lr, 5 momentum, 6 dampening, 7 weightDecay, 8 nesterov, 9 first.
 *   d = g + wd·p;  buf = first ? d : μ·buf + (1−τ)·d;  d = nesterov ? d + μ·buf : buf;  p −= lr·d
 */
export function sgdStep(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const pp = argP(args, 0), gp = argP(args, 1), bp = argP(args, 2);
  const n = argI(args, 3);
  const lr = f32x4.splat(<f32>argD(args, 4)), momD = argD(args, 5);
  const mom = f32x4.splat(<f32>momD), damp = f32x4.splat(<f32>(1 - argD(args, 6)));
  const wdD = argD(args, 7), wd = f32x4.splat(<f32>wdD);
  const nesterov = argI(args, 8) != 0, first = argI(args, 9) != 0;
  const useBuf = momD != 0 && bp != 0;
  const total = flatItems(n, nth);
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    sgdItem(pp, gp, bp, flatLo(it, nth), flatHi(it, n, nth), lr, mom, damp, wd, wdD != 0, useBuf, nesterov, first);
  }
  endItems();
  return total;
}

function sgdItem(
  pp: usize, gp: usize, bp: usize, lo: i32, hi: i32,
  lr: v128, mom: v128, damp: v128, wd: v128, decay: bool, useBuf: bool, nesterov: bool, first: bool,
): void {
  for (let i = lo; i < hi; i += 4) {
    const o = <usize>i << 2, cnt = min(4, hi - i), full = cnt == 4;
    let p = full ? v128.load(pp + o) : loadPartial(pp + o, cnt);
    let d = full ? v128.load(gp + o) : loadPartial(gp + o, cnt);
    if (decay) d = f32x4.add(d, f32x4.mul(p, wd));
    if (useBuf) {
      let b = d;
      if (!first) {
        b = full ? v128.load(bp + o) : loadPartial(bp + o, cnt);
        b = f32x4.add(f32x4.mul(b, mom), f32x4.mul(d, damp));
      }
      if (full) v128.store(bp + o, b);
      else storePartial(bp + o, b, cnt);
      d = nesterov ? f32x4.add(d, f32x4.mul(b, mom)) : b;
    }
    p = f32x4.sub(p, f32x4.mul(d, lr));
    if (full) v128.store(pp + o, p);
    else storePartial(pp + o, p, cnt);
  }
}
