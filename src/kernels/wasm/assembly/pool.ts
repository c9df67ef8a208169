// Max pooling and its gradient (NCHW planes), as the js reference computes them: the first
// maximum of each window wins, a NaN sticks, and an all-padding window gives −∞ and index −1.
// The flat input index of each maximum is stored as a float in `idx` for the backward pass.
//
// Items are runs of whole planes (image × channel). The backward pass only adds into the plane
// its gradient came from, in index order, so items never share an output element and the sums
// do not depend on the thread count.

import { argP, argI, joinItems, beginItems, nextItem, endItems, fillF32, CHUNK } from './common';

/** Planes per item: about CHUNK elements (the larger of input and output plane) per item. */
function planesPerItem(planes: i32, planeSize: i32, nth: i32): i32 {
  return nth == 1 ? planes : max(1, CHUNK / max(1, planeSize));
}

/**
 * Args: 0 x, 1 out, 2 idx, 3 planes, 4 inH, 5 inW, 6 outH, 7 outW, 8 kH, 9 kW, 10 strideH,
 * 11 strideW, 12 padH, 13 padW.
 */
export function maxPool2d(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const x = argP(args, 0), out = argP(args, 1), idx = argP(args, 2);
  const planes = argI(args, 3), inH = argI(args, 4), inW = argI(args, 5), outH = argI(args, 6), outW = argI(args, 7);
  const kH = argI(args, 8), kW = argI(args, 9), sH = argI(args, 10), sW = argI(args, 11), pH = argI(args, 12), pW = argI(args, 13);
  const inPlane = inH * inW, outPlane = outH * outW;
  const per = planesPerItem(planes, inPlane, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c1 = min(planes, (it + 1) * per);
    for (let c = it * per; c < c1; c++) {
      const xb = c * inPlane;
      let o = <usize>(c * outPlane);
      for (let oh = 0; oh < outH; oh++) {
        const h0 = oh * sH - pH;
        const khLo = max(0, -h0), khHi = min(kH, inH - h0);
        for (let ow = 0; ow < outW; ow++) {
          const w0 = ow * sW - pW;
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
          store<f32>(out + (o << 2), bi < 0 ? -Infinity : best);
          store<f32>(idx + (o << 2), bi < 0 ? -1 : <f32>(xb + bi));
          o++;
        }
      }
    }
  }
  endItems();
  return total;
}

/** out (input-sized) = 0, then out[idx[i]] += g[i]. Args: 0 g, 1 idx, 2 out, 3 planes, 4 inPlane, 5 outPlane. */
export function maxPool2dBackward(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const g = argP(args, 0), idx = argP(args, 1), out = argP(args, 2);
  const planes = argI(args, 3), inPlane = argI(args, 4), outPlane = argI(args, 5);
  const per = planesPerItem(planes, inPlane, nth);
  const total = (planes + per - 1) / per;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const c0 = it * per, c1 = min(planes, (it + 1) * per);
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
