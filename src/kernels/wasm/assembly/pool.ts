// Pooling and upsampling kernels over NCHW planes (max and average pooling, nearest-neighbour
// upsampling, and their gradients). Max pooling, as the js reference computes it: the first
// maximum of each window wins, a NaN sticks, and an all-padding window gives −∞ and index −1.
// The flat input index of each maximum is stored as a float in `idx` for the backward pass.
// 2×2 windows with stride 2 and no padding (the CNN's downsampling) take a vector path, four
// windows at a time, because the scalar loop's data-dependent branches mispredict on every
// window; their gradient writes each input element once instead of a fill and a scatter.
//
// Items are runs of whole planes (image × channel). The backward pass only adds into the plane
// its gradient came from, in index order, so items never share an output element and the sums
// do not depend on the thread count.

import { PoolArgs, UpsampleArgs } from './abi.generated';
import { joinItems, beginItems, nextItem, endItems, fillF32, copyF32, rowsPerItem } from './common';

/**
 * Args: PoolArgs (src = x); quads: 2×2 windows, stride 2, no padding, outW ≥ 4 — four windows
 * per vector step (maxPool2x2Quad).
 */
export function maxPool2d(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<PoolArgs>(args);
  const x = a.src, out = a.out, idx = a.idx;
  const planes = a.planes, inH = a.inH, inW = a.inW, outH = a.outH, outW = a.outW;
  const kH = a.kH, kW = a.kW, sH = a.strideH, sW = a.strideW, pH = a.padH, pW = a.padW;
  const inPlane = inH * inW, outPlane = outH * outW;
  const per = rowsPerItem(planes, inPlane, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  const quads = a.quads;
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c1 = min(planes, (it + 1) * per);
    for (let c = it * per; c < c1; c++) {
      const xb = c * inPlane;
      let o = <usize>(c * outPlane);
      for (let oh = 0; oh < outH; oh++) {
        if (quads) {
          const row = xb + 2 * oh * inW;
          for (let ow = 0; ow < outW; ow += 4) {
            const q = min(ow, outW - 4); // the last quad overlaps the previous one (same values rewritten)
            maxPool2x2Quad(x, out + ((o + <usize>q) << 2), idx + ((o + <usize>q) << 2), row + 2 * q, inW);
          }
          o += <usize>outW;
        } else {
          for (let ow = 0; ow < outW; ow++) {
            maxPoolWindow(x, out + (o << 2), idx + (o << 2), xb, inH, inW, oh * sH - pH, ow * sW - pW, kH, kW);
            o++;
          }
        }
      }
    }
  }
  endItems();
  return total;
}

/**
 * One window, scalar: the first maximum wins, except that a NaN replaces whatever came before it
 * (so the last NaN of a window wins and sticks); an all-padding window gives −∞ and index −1.
 * (h0, w0): the window's top-left corner in input coordinates (may be negative with padding).
 */
@inline function maxPoolWindow(x: usize, out: usize, idx: usize, xb: i32, inH: i32, inW: i32, h0: i32, w0: i32, kH: i32, kW: i32): void {
  const khLo = max(0, -h0), khHi = min(kH, inH - h0);
  const kwLo = max(0, -w0), kwHi = min(kW, inW - w0);
  let best: f32 = -Infinity;
  let bi = -1;
  for (let kh = khLo; kh < khHi; kh++) {
    const row = (h0 + kh) * inW + w0;
    for (let kw = kwLo; kw < kwHi; kw++) {
      const v = load<f32>(x + (<usize>(xb + row + kw) << 2));
      if (v > best || bi < 0 || v != v) {
        best = v;
        bi = row + kw;
      }
    }
  }
  store<f32>(out, bi < 0 ? -Infinity : best);
  store<f32>(idx, bi < 0 ? -1 : <f32>(xb + bi));
}

/**
 * Four adjacent 2×2 windows whose top-left input element has flat index i0 (rows i0 and
 * i0 + inW, columns 0–7): the scalar rule of maxPoolWindow lane by lane, visiting each window's
 * elements in the same order (top-left, top-right, bottom-left, bottom-right). Flat indices are
 * exact as floats below 2^24, as in the scalar path.
 */
@inline function maxPool2x2Quad(x: usize, out: usize, idx: usize, i0: i32, inW: i32): void {
  const pa = x + (<usize>i0 << 2), pb = pa + (<usize>inW << 2);
  const a0 = v128.load(pa), a1 = v128.load(pa, 16), b0 = v128.load(pb), b1 = v128.load(pb, 16);
  const base = i32x4.add(i32x4.splat(i0), i32x4(0, 2, 4, 6));
  let best = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6);
  let bi = base;
  let v = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
  let take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, take);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(1)), bi, take);
  v = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6);
  take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, take);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(inW)), bi, take);
  v = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
  take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
  best = v128.bitselect(v, best, take);
  bi = v128.bitselect(i32x4.add(base, i32x4.splat(inW + 1)), bi, take);
  v128.store(out, best);
  v128.store(idx, f32x4.convert_i32x4_s(bi));
}

/**
 * out (input-sized) = 0, then out[idx[i]] += g[i]. Args: PoolArgs (src = g; quads as
 * maxPool2d's).
 *
 * With quads, windows do not overlap, so when every index lies in its own window (as the
 * forward pass leaves them) each input element gets at most one gradient: the vector path writes
 * every element of the item's planes once (0 + g where the index points, +0 elsewhere: the same
 * bits as the fill and scatter) instead of a fill and a scatter. An item whose indices are not all
 * window-local is redone by the general path.
 */
export function maxPool2dBackward(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<PoolArgs>(args);
  const g = a.src, idx = a.idx, out = a.out;
  const inH = a.inH, inW = a.inW, outH = a.outH, outW = a.outW;
  const planes = a.planes, inPlane = inH * inW, outPlane = outH * outW;
  const quads = a.quads;
  const per = rowsPerItem(planes, inPlane, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c0 = it * per, c1 = min(planes, (it + 1) * per);
    if (quads && maxPool2x2BackwardPlanes(g, idx, out, c0, c1, inPlane, outPlane, inH, inW, outH, outW)) continue;
    fillF32(out + (<usize>(c0 * inPlane) << 2), (c1 - c0) * inPlane, 0); // this item's planes
    for (let j = c0 * outPlane; j < c1 * outPlane; j++) {
      const t = <i32>load<f32>(idx + (<usize>j << 2));
      if (t >= 0) {
        const d = out + (<usize>t << 2);
        store<f32>(d, load<f32>(d) + load<f32>(g + (<usize>j << 2)));
      }
    }
  }
  endItems();
  return total;
}

/** The vector path of maxPool2dBackward for planes [c0, c1); false when an index is not window-local. */
function maxPool2x2BackwardPlanes(
  g: usize, idx: usize, out: usize, c0: i32, c1: i32, inPlane: i32, outPlane: i32, inH: i32, inW: i32, outH: i32, outW: i32,
): bool {
  let ok = i32x4.splat(-1);
  for (let c = c0; c < c1; c++) {
    const xb = c * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const o = <usize>(c * outPlane + oh * outW);
      const row = xb + 2 * oh * inW;
      for (let ow = 0; ow < outW; ow += 4) {
        const q = min(ow, outW - 4); // the last quad overlaps the previous one
        ok = v128.and(ok, maxPool2x2BackQuad(g + ((o + <usize>q) << 2), idx + ((o + <usize>q) << 2), out, row + 2 * q, inW));
      }
      if (inW > 2 * outW) {
        // an odd width: the last column is in no window
        store<f32>(out + (<usize>(row + inW - 1) << 2), 0);
        store<f32>(out + (<usize>(row + 2 * inW - 1) << 2), 0);
      }
    }
    if (inH > 2 * outH) fillF32(out + (<usize>(xb + 2 * outH * inW) << 2), inW, 0); // an odd height: the last row
  }
  return i32x4.all_true(ok);
}

/**
 * Four adjacent 2×2 windows (top-left input index i0): writes their 16 input elements, 0 + g
 * where the window's index points and +0 elsewhere; returns the lanes whose index was one of
 * the window's four elements.
 */
@inline function maxPool2x2BackQuad(g: usize, idx: usize, out: usize, i0: i32, inW: i32): v128 {
  const gv = v128.load(g);
  const iv = i32x4.trunc_sat_f32x4_s(v128.load(idx));
  const base = i32x4.add(i32x4.splat(i0), i32x4(0, 2, 4, 6));
  const m00 = i32x4.eq(iv, base), m01 = i32x4.eq(iv, i32x4.add(base, i32x4.splat(1)));
  const m10 = i32x4.eq(iv, i32x4.add(base, i32x4.splat(inW))), m11 = i32x4.eq(iv, i32x4.add(base, i32x4.splat(inW + 1)));
  const zero = f32x4.splat(0);
  const v00 = f32x4.add(zero, v128.and(gv, m00)), v01 = f32x4.add(zero, v128.and(gv, m01));
  const v10 = f32x4.add(zero, v128.and(gv, m10)), v11 = f32x4.add(zero, v128.and(gv, m11));
  const pa = out + (<usize>i0 << 2), pb = pa + (<usize>inW << 2);
  v128.store(pa, v128.shuffle<f32>(v00, v01, 0, 4, 1, 5));
  v128.store(pa, v128.shuffle<f32>(v00, v01, 2, 6, 3, 7), 16);
  v128.store(pb, v128.shuffle<f32>(v10, v11, 0, 4, 1, 5));
  v128.store(pb, v128.shuffle<f32>(v10, v11, 2, 6, 3, 7), 16);
  return v128.or(v128.or(m00, m01), v128.or(m10, m11));
}

// --- average pooling and nearest upsampling, as the js reference computes them ------------------
// Sums run in f64 in the reference's order and are rounded to f32 once, so both backends give
// the same bits. Items are runs of whole planes, as for max pooling. Each forward/backward pair
// is one body with a constant `backward` flag (the branches fold away after inlining).

/**
 * Average pooling with count_include_pad (each window's divisor counts the padded positions
 * inside the padded input), or its gradient: out (input-sized) = 0, then each window adds
 * g / count. Args: PoolArgs (src: x, or g; no idx).
 */
@inline function avgPool(args: usize, tid: i32, nth: i32, gen: u32, backward: bool): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<PoolArgs>(args);
  const src = a.src, out = a.out;
  const planes = a.planes, inH = a.inH, inW = a.inW, outH = a.outH, outW = a.outW;
  const kH = a.kH, kW = a.kW, sH = a.strideH, sW = a.strideW, pH = a.padH, pW = a.padW;
  const inPlane = inH * inW, outPlane = outH * outW;
  const per = rowsPerItem(planes, inPlane, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c0 = it * per, c1 = min(planes, (it + 1) * per);
    if (backward) fillF32(out + (<usize>(c0 * inPlane) << 2), (c1 - c0) * inPlane, 0); // this item's planes
    for (let c = c0; c < c1; c++) {
      const xb = c * inPlane;
      let o = <usize>(c * outPlane);
      for (let oh = 0; oh < outH; oh++) {
        const h0 = oh * sH - pH;
        const hEnd = min(h0 + kH, inH + pH);
        const ih0 = max(h0, 0), ih1 = min(hEnd, inH);
        for (let ow = 0; ow < outW; ow++) {
          const w0 = ow * sW - pW;
          const wEnd = min(w0 + kW, inW + pW);
          const iw0 = max(w0, 0), iw1 = min(wEnd, inW);
          const count = <f64>((hEnd - h0) * (wEnd - w0));
          if (backward) {
            const gv = <f64>load<f32>(src + (o << 2)) / count;
            for (let ih = ih0; ih < ih1; ih++) {
              const row = xb + ih * inW;
              for (let iw = iw0; iw < iw1; iw++) {
                const d = out + (<usize>(row + iw) << 2);
                store<f32>(d, <f32>(<f64>load<f32>(d) + gv));
              }
            }
          } else {
            let s: f64 = 0;
            for (let ih = ih0; ih < ih1; ih++) {
              const row = xb + ih * inW;
              for (let iw = iw0; iw < iw1; iw++) s += <f64>load<f32>(src + (<usize>(row + iw) << 2));
            }
            store<f32>(out + (o << 2), <f32>(s / count));
          }
          o++;
        }
      }
    }
  }
  endItems();
  return total;
}

export function avgPool2d(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return avgPool(args, tid, nth, gen, false);
}
export function avgPool2dBackward(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return avgPool(args, tid, nth, gen, true);
}

/**
 * Nearest-neighbour upsampling by integer factors (each input pixel becomes an sh × sw block),
 * or its gradient: out (input-sized) = the sum of each block of g.
 * Args: UpsampleArgs (src: x, or g).
 */
@inline function upsample(args: usize, tid: i32, nth: i32, gen: u32, backward: bool): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<UpsampleArgs>(args);
  const src = a.src, out = a.out;
  const planes = a.planes, h = a.h, w = a.w, sh = a.sh, sw = a.sw;
  const W = w * sw;
  const per = rowsPerItem(planes, h * sh * W, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c0 = it * per, c1 = min(planes, (it + 1) * per);
    if (backward) fillF32(out + (<usize>(c0 * h * w) << 2), (c1 - c0) * h * w, 0); // this item's planes
    for (let c = c0; c < c1; c++) {
      if (backward) {
        for (let I = 0; I < h * sh; I++) {
          const row = out + (<usize>(c * h * w + (I / sh) * w) << 2);
          const gRow = src + (<usize>((c * h * sh + I) * W) << 2);
          for (let J = 0; J < W; J++) {
            const d = row + (<usize>(J / sw) << 2);
            store<f32>(d, load<f32>(d) + load<f32>(gRow + (<usize>J << 2)));
          }
        }
      } else {
        for (let i = 0; i < h; i++) {
          const xRow = src + (<usize>(c * h * w + i * w) << 2);
          const dst = out + (<usize>((c * h + i) * sh * W) << 2);
          let o = dst;
          for (let j = 0; j < w; j++) {
            const v = load<f32>(xRow + (<usize>j << 2));
            for (let r = 0; r < sw; r++) {
              store<f32>(o, v);
              o += 4;
            }
          }
          for (let r = 1; r < sh; r++) copyF32(dst + (<usize>(r * W) << 2), dst, W);
        }
      }
    }
  }
  endItems();
  return total;
}

export function upsampleNearest(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return upsample(args, tid, nth, gen, false);
}
export function upsampleNearestBackward(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  return upsample(args, tid, nth, gen, true);
}
