// 2-D convolution (NCHW, weights (OC, C/groups, kH, kW)) as im2col + GEMM, and its two
// gradients (GEMM + col2im for the input, GEMM over im2col columns for the weight).
//
// For one image b and group g (icg = C/groups input channels, ocg = OC/groups outputs,
// Kc = icg·kH·kW, P = OH·OW output pixels):
//   forward         out[b, g] (ocg × P)  = W_g (ocg × Kc) · col (Kc × P)            (+ bias)
//   backward input  dcol (Kc × P)        = W_gᵀ (Kc × ocg) · G[b, g] (ocg × P);  dx[b, g] = col2im(dcol)
//   backward weight dW_g (ocg × Kc)     += G[b, g] (ocg × P) · colᵀ (P × Kc),  summed over b
// where col[(c, ki, kj), (oh, ow)] = x[c, oh·sh − ph + ki·dh, ow·sw − pw + kj·dw] (0 outside).
// The pixel dimension is processed in chunks so the col buffer stays small (cache-friendly
// and bounded scratch); a 1×1 / stride 1 / no padding convolution skips im2col entirely
// because col is then the input itself.
//
// Work items are disjoint pieces of the output, sized by the JS side through the chunk args:
// forward — (image, pixel chunk); backward input — (image, group, input-channel chunk);
// backward weight — (group, input-channel chunk) or (group, output-channel chunk).
//
// Args (f64 slots): 0 in0, 1 in1, 2 bias (0 = none), 3 out, 4 B, 5 C, 6 H, 7 W, 8 OC, 9 OH,
// 10 OW, 11 kH, 12 kW, 13 sH, 14 sW, 15 pH, 16 pW, 17 dH, 18 dW, 19 groups, 20 scratch,
// 21 scratch bytes per thread, 22 pixel chunk, 23 channel / image chunk, 24 mode, 25 the
// per-item partial dW blocks (weight gradient mode 2).
//
// Determinism: an output element's value depends only on the arguments, never on the thread
// count or on which thread runs which item. Items only cut the output into disjoint pieces
// (GEMM rows / columns, which does not change any element's sum), and the pixel chunk — the
// one blocking that does change the order of a sum (col2im accumulation, weight-gradient
// accumulation over pixels) — is chosen by the JS side from the layer's geometry alone. The
// weight gradient's sum over images is either sequential within one item (modes 0, 1) or, in
// mode 2, over image groups fixed by the geometry, with one partial per item added up in item
// order by the caller.

import { argP, argI, joinItems, beginItems, nextItem, endItems } from './common';
import { gemmST, gemmScratchBytes } from './gemm';

// Geometry of the current call. Globals are per instance, and every thread has its own
// instance, so these are thread-local.
let B: i32 = 0, C: i32 = 0, H: i32 = 0, W: i32 = 0, OC: i32 = 0, OH: i32 = 0, OW: i32 = 0;
let KH: i32 = 0, KW: i32 = 0, SH: i32 = 1, SW: i32 = 1, PH: i32 = 0, PW: i32 = 0, DH: i32 = 1, DW: i32 = 1;
let G: i32 = 1, ICG: i32 = 0, OCG: i32 = 0, KK: i32 = 0, KC: i32 = 0, P: i32 = 0, HW: i32 = 0;
let pointwise = false;

function loadGeometry(args: usize): void {
  B = argI(args, 4); C = argI(args, 5); H = argI(args, 6); W = argI(args, 7);
  OC = argI(args, 8); OH = argI(args, 9); OW = argI(args, 10);
  KH = argI(args, 11); KW = argI(args, 12); SH = argI(args, 13); SW = argI(args, 14);
  PH = argI(args, 15); PW = argI(args, 16); DH = argI(args, 17); DW = argI(args, 18);
  G = argI(args, 19);
  ICG = C / G; OCG = OC / G; KK = KH * KW; KC = ICG * KK; P = OH * OW; HW = H * W;
  pointwise = KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
}

/** Copies n floats (short runs: a vector loop beats the memory.copy call). */
@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}
@inline function addRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = dst + (<usize>i << 2);
    v128.store(d, f32x4.add(v128.load(d), v128.load(src + (<usize>i << 2))));
  }
  for (; i < n; i++) {
    const d = dst + (<usize>i << 2);
    store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>i << 2)));
  }
}

/**
 * Output columns ow whose input column ow·sW − pW + kj·dW lies inside [0, W): [owLo, owHi).
 * The same for every output row, so computed once per kernel column (no divisions per run).
 * Set as two globals (AssemblyScript has no multi-value returns).
 */
let owLo: i32 = 0, owHi: i32 = 0;
function validColumns(kj: i32): void {
  const a = PW - kj * DW; // iw ≥ 0  ⇔  ow·sW ≥ a
  const lo = a <= 0 ? 0 : (a + SW - 1) / SW;
  const b = W - 1 + PW - kj * DW; // iw ≤ W − 1  ⇔  ow·sW ≤ b
  const hi = b < 0 ? 0 : min(OW, b / SW + 1);
  owLo = min(lo, hi);
  owHi = hi;
}

/** Zeroes n floats (short runs inline: memory.fill is a runtime call in V8). */
@inline function zeroRun(d: usize, n: i32): void {
  if (n >= 32) {
    memory.fill(d, 0, <usize>n << 2);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), f32x4.splat(0));
  for (; i < n; i++) store<f32>(d + (<usize>i << 2), 0);
}

/**
 * im2col for one image: rows (c, ki, kj) for channels [c0, c1) of `x` (channel planes of
 * H × W), columns = output pixels [p0, p1). dst row stride = p1 − p0.
 */
function im2col(x: usize, c0: i32, c1: i32, p0: i32, p1: i32, dst: usize): void {
  const ld = <usize>(p1 - p0) << 2;
  let row = dst;
  for (let c = c0; c < c1; c++) {
    const plane = x + ((<usize>c * <usize>HW) << 2);
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        validColumns(kj);
        let oh = p0 / OW, ow = p0 - oh * OW;
        let p = p0;
        let d = row;
        while (p < p1) {
          const run = min(OW - ow, p1 - p);
          const ih = oh * SH - PH + ki * DH;
          if (ih < 0 || ih >= H) {
            zeroRun(d, run);
          } else {
            // Pixels t of this run are output columns ow + t; valid ones are [tLo, tHi).
            const tLo = min(max(owLo - ow, 0), run);
            const tHi = max(min(owHi - ow, run), tLo);
            const iw0 = ow * SW - PW + kj * DW;
            const src = plane + ((<usize>(ih * W)) << 2);
            zeroRun(d, tLo);
            if (SW == 1) {
              copyRun(d + (<usize>tLo << 2), src + (<usize>(iw0 + tLo) << 2), tHi - tLo);
            } else {
              let t = tLo;
              if (SW == 2) {
                // Even lanes of two vectors; only while the 8 floats read stay inside the row.
                for (; t + 4 <= tHi && iw0 + 2 * t + 8 <= W; t += 4) {
                  const sp = src + (<usize>(iw0 + 2 * t) << 2);
                  v128.store(d + (<usize>t << 2), v128.shuffle<f32>(v128.load(sp), v128.load(sp, 16), 0, 2, 4, 6));
                }
              }
              for (; t < tHi; t++) {
                store<f32>(d + (<usize>t << 2), load<f32>(src + (<usize>(iw0 + t * SW) << 2)));
              }
            }
            zeroRun(d + (<usize>tHi << 2), run - tHi);
          }
          d += <usize>run << 2;
          p += run;
          ow = 0;
          oh++;
        }
        row += ld;
      }
    }
  }
}

/** The adjoint of im2col: x[c, ih, iw] += col[(c, ki, kj), p] over the same index map. */
function col2im(src: usize, c0: i32, c1: i32, p0: i32, p1: i32, x: usize): void {
  const ld = <usize>(p1 - p0) << 2;
  let row = src;
  for (let c = c0; c < c1; c++) {
    const plane = x + ((<usize>c * <usize>HW) << 2);
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        validColumns(kj);
        let oh = p0 / OW, ow = p0 - oh * OW;
        let p = p0;
        let s = row;
        while (p < p1) {
          const run = min(OW - ow, p1 - p);
          const ih = oh * SH - PH + ki * DH;
          if (ih >= 0 && ih < H) {
            const tLo = min(max(owLo - ow, 0), run);
            const tHi = max(min(owHi - ow, run), tLo);
            const iw0 = ow * SW - PW + kj * DW;
            const dstRow = plane + ((<usize>(ih * W)) << 2);
            if (SW == 1) {
              addRun(dstRow + (<usize>(iw0 + tLo) << 2), s + (<usize>tLo << 2), tHi - tLo);
            } else {
              let t = tLo;
              if (SW == 2) {
                // Spread 4 values to the even lanes of two vectors (odd lanes add 0).
                const z = f32x4.splat(0);
                for (; t + 4 <= tHi && iw0 + 2 * t + 8 <= W; t += 4) {
                  const dp = dstRow + (<usize>(iw0 + 2 * t) << 2);
                  const sv = v128.load(s + (<usize>t << 2));
                  v128.store(dp, f32x4.add(v128.load(dp), v128.shuffle<f32>(sv, z, 0, 4, 1, 4)));
                  v128.store(dp, f32x4.add(v128.load(dp, 16), v128.shuffle<f32>(sv, z, 2, 4, 3, 4)), 16);
                }
              }
              for (; t < tHi; t++) {
                const dp = dstRow + (<usize>(iw0 + t * SW) << 2);
                store<f32>(dp, load<f32>(dp) + load<f32>(s + (<usize>t << 2)));
              }
            }
          }
          s += <usize>run << 2;
          p += run;
          ow = 0;
          oh++;
        }
        row += ld;
      }
    }
  }
}

@inline function colBuffer(scratch: usize): usize {
  return (scratch + <usize>gemmScratchBytes() + 63) & ~(<usize>63);
}

/** Forward: out (B, OC, OH, OW) = conv(x, w) + bias. Items: (image, pixel chunk). */
export function conv2d(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  loadGeometry(args);
  const x = argP(args, 0), w = argP(args, 1), bias = argP(args, 2), out = argP(args, 3);
  const scratch = argP(args, 20) + <usize>tid * argP(args, 21);
  const col = colBuffer(scratch);
  const pChunk = argI(args, 22);
  const nChunks = (P + pChunk - 1) / pChunk;
  const items = B * nChunks;
  beginItems(items);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const b = it / nChunks;
    const p0 = (it - b * nChunks) * pChunk;
    const p1 = min(P, p0 + pChunk);
    const np = p1 - p0;
    const xb = x + ((<usize>b * <usize>C * <usize>HW) << 2);
    for (let g = 0; g < G; g++) {
      const wg = w + ((<usize>g * <usize>OCG * <usize>KC) << 2);
      const og = out + (((<usize>b * <usize>OC + <usize>g * <usize>OCG) * <usize>P + <usize>p0) << 2);
      if (pointwise) {
        const xg = xb + ((<usize>g * <usize>ICG * <usize>HW + <usize>p0) << 2);
        gemmST(OCG, np, KC, wg, KC, 1, xg, HW, 1, og, P, 1, 0, scratch);
      } else {
        im2col(xb, g * ICG, (g + 1) * ICG, p0, p1, col);
        gemmST(OCG, np, KC, wg, KC, 1, col, np, 1, og, P, 1, 0, scratch);
      }
      if (bias != 0) {
        for (let oc = 0; oc < OCG; oc++) {
          const bv = f32x4.splat(load<f32>(bias + (<usize>(g * OCG + oc) << 2)));
          const r = og + ((<usize>oc * <usize>P) << 2);
          let j = 0;
          for (; j + 4 <= np; j += 4) {
            const q = r + (<usize>j << 2);
            v128.store(q, f32x4.add(v128.load(q), bv));
          }
          for (; j < np; j++) {
            const q = r + (<usize>j << 2);
            store<f32>(q, load<f32>(q) + f32x4.extract_lane(bv, 0));
          }
        }
      }
    }
  }
  endItems();
  return items;
}

/** Input gradient: g (B, OC, OH, OW) → out (B, C, H, W), overwritten.
 *  Items: (image, group, chunk of `cChunk` input channels within the group). */
export function conv2dBackwardInput(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  loadGeometry(args);
  const gout = argP(args, 0), w = argP(args, 1), dx = argP(args, 3);
  const scratch = argP(args, 20) + <usize>tid * argP(args, 21);
  const col = colBuffer(scratch);
  const pChunk = argI(args, 22), cChunk = argI(args, 23);
  const nCC = (ICG + cChunk - 1) / cChunk;
  const items = B * G * nCC;
  beginItems(items);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const b = it / (G * nCC);
    const rem = it - b * G * nCC;
    const g = rem / nCC;
    const cl0 = (rem - g * nCC) * cChunk;
    const cl1 = min(ICG, cl0 + cChunk);
    const rows = (cl1 - cl0) * KK;
    // A(i, k) = W[g·ocg + k, cl0·kk + i]: the transposed weight rows of this channel chunk.
    const a = w + ((<usize>g * <usize>OCG * <usize>KC + <usize>cl0 * <usize>KK) << 2);
    const gb = gout + (((<usize>b * <usize>OC + <usize>g * <usize>OCG) * <usize>P) << 2);
    const xc = dx + (((<usize>b * <usize>C + <usize>(g * ICG + cl0)) * <usize>HW) << 2);
    if (pointwise) {
      gemmST(rows, P, OCG, a, 1, KC, gb, P, 1, xc, HW, 1, 0, scratch);
      continue;
    }
    memory.fill(xc, 0, (<usize>(cl1 - cl0) * <usize>HW) << 2);
    for (let p0 = 0; p0 < P; p0 += pChunk) {
      const p1 = min(P, p0 + pChunk);
      const np = p1 - p0;
      gemmST(rows, np, OCG, a, 1, KC, gb + (<usize>p0 << 2), P, 1, col, np, 1, 0, scratch);
      // col2im addresses channels relative to xc.
      col2im(col, 0, cl1 - cl0, p0, p1, xc);
    }
  }
  endItems();
  return items;
}

/** Weight gradient: out (OC, C/groups, kH, kW) = Σ_b g ⋆ x, overwritten.
 *  mode 0 items: (group, chunk of input channels) — disjoint column blocks of dW_g;
 *  mode 1 items: (group, chunk of output channels) — disjoint row blocks (im2col repeated);
 *  mode 2 items: chunks of images, each summed into its own partial dW (OC × Kc floats at
 *  arg 25 + item · OC·Kc·4, overwritten), which the caller adds up in item order after.
 *  Mode 2 is for layers with few channels and many images (a first layer on 1–3 channels). */
export function conv2dBackwardWeight(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  loadGeometry(args);
  const x = argP(args, 0), gout = argP(args, 1), dw = argP(args, 3);
  const scratch = argP(args, 20) + <usize>tid * argP(args, 21);
  const col = colBuffer(scratch);
  const pChunk = argI(args, 22), chunk = argI(args, 23), mode = argI(args, 24);
  if (mode == 2) {
    // Item it sums images [it·chunk, (it+1)·chunk) into its own partial dW (by item, not by
    // thread, so the result does not depend on which thread ran it); the caller adds the
    // partials up in item order afterwards.
    const partials = argP(args, 25);
    const wBytes = (<usize>OC * <usize>KC) << 2;
    const items = (B + chunk - 1) / chunk;
    beginItems(items);
    for (let it = nextItem(); it >= 0; it = nextItem()) {
      const partial = partials + <usize>it * wBytes;
      const b0 = it * chunk, b1 = min(B, b0 + chunk);
      for (let b = b0; b < b1; b++) {
        for (let g = 0; g < G; g++) weightGradImage(x, gout, b, g, 0, ICG, 0, OCG, pChunk, col, partial, b == b0 ? 0 : 1, scratch);
      }
    }
    endItems();
    return items;
  }
  const span = mode == 0 ? ICG : OCG;
  const nCh = (span + chunk - 1) / chunk;
  const items = G * nCh;
  beginItems(items);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const g = it / nCh;
    const k = (it - g * nCh) * chunk;
    const cl0 = mode == 0 ? k : 0, cl1 = mode == 0 ? min(ICG, k + chunk) : ICG;
    const oc0 = mode == 0 ? 0 : k, oc1 = mode == 0 ? OCG : min(OCG, k + chunk);
    if (B == 0 || P == 0) {
      const c = dw + ((<usize>(g * OCG + oc0) * <usize>KC + <usize>cl0 * <usize>KK) << 2);
      for (let r = 0; r < oc1 - oc0; r++) memory.fill(c + ((<usize>r * <usize>KC) << 2), 0, <usize>((cl1 - cl0) * KK) << 2);
      continue;
    }
    for (let b = 0; b < B; b++) weightGradImage(x, gout, b, g, cl0, cl1, oc0, oc1, pChunk, col, dw, b == 0 ? 0 : 1, scratch);
  }
  endItems();
  return items;
}

/** dW[g, oc0:oc1, (cl0:cl1, ki, kj)] = beta·dW + G[b, g, oc0:oc1] · colᵀ over one image. */
function weightGradImage(
  x: usize, gout: usize, b: i32, g: i32, cl0: i32, cl1: i32, oc0: i32, oc1: i32,
  pChunk: i32, col: usize, dw: usize, beta0: f32, scratch: usize,
): void {
  const rows = oc1 - oc0, cols = (cl1 - cl0) * KK;
  const c = dw + ((<usize>(g * OCG + oc0) * <usize>KC + <usize>cl0 * <usize>KK) << 2);
  const xb = x + ((<usize>b * <usize>C * <usize>HW) << 2);
  const ga = gout + (((<usize>b * <usize>OC + <usize>(g * OCG + oc0)) * <usize>P) << 2);
  for (let p0 = 0; p0 < P; p0 += pChunk) {
    const p1 = min(P, p0 + pChunk);
    const np = p1 - p0;
    const beta: f32 = p0 == 0 ? beta0 : 1;
    if (pointwise) {
      // B(k = pixel, j = channel) = x[channel, pixel]: transposed with column stride HW.
      const xs = xb + ((<usize>(g * ICG + cl0) * <usize>HW + <usize>p0) << 2);
      gemmST(rows, cols, np, ga + (<usize>p0 << 2), P, 1, xs, 1, HW, c, KC, 1, beta, scratch);
    } else {
      im2col(xb, g * ICG + cl0, g * ICG + cl1, p0, p1, col);
      gemmST(rows, cols, np, ga + (<usize>p0 << 2), P, 1, col, 1, np, c, KC, 1, beta, scratch);
    }
  }
}
