// 2-D convolution (NCHW, weights (OC, C/groups, kH, kW)) as im2col + GEMM, and its two
// gradients (GEMM + col2im for the input, GEMM over im2col columns for the weight).
//
// For one image b and group g (icg = C/groups input channels, ocg = OC/groups outputs,
// Kc = icg·kH·kW, P = OH·OW output pixels):
//   forward         out[b, g] (ocg × P)  = W_g (ocg × Kc) · col (Kc × P)            (+ bias)
//   backward input  dcol (Kc × P)        = W_gᵀ (Kc × ocg) · G[b, g] (ocg × P);  dx[b, g] = col2im(dcol)
//   backward weight dW_g (ocg × Kc)     += G[b, g] (ocg × P) · colᵀ (P × Kc),  summed over b
// where col[(c, ki, kj), (oh, ow)] = x[c, oh·sh − ph + ki·dh, ow·sw − pw + kj·dw] (0 outside).
//
// Image blocks. Small images make small GEMMs (a 7×7 output is N = 49: a ragged last column
// tile, and the weights re-packed for every image), so the kernels work on blocks of `nb`
// images side by side: col holds the nb images' columns next to each other (Kc × nb·P), and
//   forward         one GEMM into a scratch (ocg × nb·P), whose rows are then copied (+ bias)
//                   into the NCHW output;
//   backward input  G of the nb images gathered into ocg × nb·P, one GEMM, col2im per image;
//   backward weight G gathered the same way, one GEMM with K = nb·P.
// An image too big for the col buffer is cut into pixel chunks instead (nb = 1); a block of one
// image reads G and writes the output in place. 1×1 / stride 1 / no padding convolutions
// use x itself as col when they can (one image per block). The weight gradient computes
// dWᵀ = col · Gᵀ instead when fewer micro-kernel tiles cover it (a first layer's 32 × 9 dW).
//
// im2col and col2im go through a staging copy of one input channel: its rows zero-padded and,
// for a column stride sW > 1, split into sW phase rows (phase s holds padded columns s, s + sW,
// …), so that every run of output pixels along a row reads (or, in col2im, adds to) a
// contiguous stretch — plain vector copies without bounds checks. col2im adds into a zeroed
// stage and then copies (or, for pixel chunks, adds) its interior into dx.
//
// Work items are disjoint pieces of the output, sized by the JS side through the chunk args:
// forward — (image block, pixel chunk); backward input — (image block, group, input-channel
// chunk); backward weight — (group, input-channel chunk) or (group, output-channel chunk).
//
// Args: ConvArgs: in0, in1, bias (0 = none), out, the geometry, scratch and scratchStride
// (bytes per thread), pChunk (the pixel chunk: P unless nb = 1), chunk (channels or images per
// item), mode, partials (the per-item partial dW blocks of weight-gradient mode 2), nb (images
// per block), and the byte offsets in a thread's scratch of the col buffer (colOff), the aux
// buffer (GEMM output or gathered G: auxOff), the stage (stageOff) and the weight gradient's
// transposed accumulator (ctOff, 0 = none). The GEMM's packing scratch is at offset 0.
//
// Determinism: an output element's value depends only on the arguments, never on the thread
// count or on which thread runs which item. Items only cut the output into disjoint pieces
// (GEMM rows / columns and whole images, which do not change any element's sum), and the
// blockings that do change the order of a sum are chosen by the JS side from the layer's
// geometry alone: the pixel chunk (col2im accumulation, weight-gradient accumulation over
// pixels) and, for the weight gradient only, nb (the GEMM's K = nb·P: its sum over pixels and
// images). The forward and input-gradient values do not depend on nb (each output element is
// one GEMM dot product over Kc or ocg, and col2im runs per image), so the JS side may pick nb
// there to balance the threads; nor does the weight gradient's choice between dW and dWᵀ
// (products commute, and the sum over K runs in the same order). The weight gradient's sum over images is either sequential
// within one item (modes 0, 1) or, in mode 2, over image groups fixed by the geometry, with one
// partial per item added up in item order by the caller.

import { ConvArgs } from './abi.generated';
import { joinItems, beginItems, nextItem, endItems } from './common';
import { gemmST } from './gemm';

// Geometry of the current call. Globals are per instance, and every thread has its own
// instance, so these are thread-local.
let B: i32 = 0, C: i32 = 0, H: i32 = 0, W: i32 = 0, OC: i32 = 0, OH: i32 = 0, OW: i32 = 0;
let KH: i32 = 0, KW: i32 = 0, SH: i32 = 1, SW: i32 = 1, PH: i32 = 0, PW: i32 = 0, DH: i32 = 1, DW: i32 = 1;
let G: i32 = 1, ICG: i32 = 0, OCG: i32 = 0, KK: i32 = 0, KC: i32 = 0, P: i32 = 0, HW: i32 = 0;
let pointwise = false;
// Stage layout: padded row r (input row r − pH) is SW phase rows of WQ floats; phase s, index m
// holds padded column m·sW + s (input column m·sW + s − pW). LR = bytes per padded row.
let WQ: i32 = 0;
let LR: usize = 0;
// This thread's scratch: GEMM packing (at its start), col, aux and stage buffers.
let scratch: usize = 0, colBuf: usize = 0, auxBuf: usize = 0, stage: usize = 0;

function loadGeometry(a: ConvArgs, tid: i32): void {
  B = a.batch; C = a.inC; H = a.inH; W = a.inW;
  OC = a.outC; OH = a.outH; OW = a.outW;
  KH = a.kH; KW = a.kW; SH = a.strideH; SW = a.strideW;
  PH = a.padH; PW = a.padW; DH = a.dilH; DW = a.dilW;
  G = a.groups;
  ICG = C / G; OCG = OC / G; KK = KH * KW; KC = ICG * KK; P = OH * OW; HW = H * W;
  pointwise = KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
  // Every input column (for col2im's copy-out) and every column a kernel tap reads.
  WQ = max((W + PW + SW - 1) / SW, OW + ((KW - 1) * DW) / SW);
  LR = <usize>(SW * WQ) << 2;
  scratch = a.scratch + <usize>tid * a.scratchStride;
  colBuf = scratch + a.colOff;
  auxBuf = scratch + a.auxOff;
  stage = scratch + a.stageOff;
}

// --- short vector runs (memory.fill / memory.copy are slow runtime calls on shared memory) ---

@inline function zeroRun(d: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const q = d + (<usize>i << 2);
    v128.store(q, z);
    v128.store(q, z, 16);
  }
  for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(d + (<usize>i << 2), 0);
}

/** dst[0, n) = src[0, n) (not overlapping); a ragged end is one vector overlapping the last. */
@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  if (i < n) {
    if (n >= 4) {
      const o = <usize>(n - 4) << 2;
      v128.store(dst + o, v128.load(src + o));
    } else {
      for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
    }
  }
}

/** dst[0, n) += src[0, n), scalar tail. */
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
 * dst[0, n) += src[0, n) into the stage. A ragged end is one more vector with the lanes past n
 * masked to +0, which reads up to 3 floats past src's run and adds +0 to up to 3 floats past
 * dst's: that leaves every stage value unchanged (a sum started from +0 is never −0), and the
 * JS side leaves slack after the col and stage buffers. (Overlapping the last vector instead
 * would reload floats just stored, which stalls store-to-load forwarding.)
 */
@inline function addRunStage(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = dst + (<usize>i << 2);
    v128.store(d, f32x4.add(v128.load(d), v128.load(src + (<usize>i << 2))));
  }
  if (i < n) {
    const keep = i32x4.gt_s(i32x4.splat(n - i), i32x4(0, 1, 2, 3)); // lanes l < n − i
    const d = dst + (<usize>i << 2);
    v128.store(d, f32x4.add(v128.load(d), v128.and(v128.load(src + (<usize>i << 2)), keep)));
  }
}

// --- the stage --------------------------------------------------------------------------------

/** Stages padded rows [r0, r1) of channel plane xc (H × W) at dst. */
function stageRows(xc: usize, r0: i32, r1: i32, dst: usize): void {
  const evenOff = <usize>((PW & 1) * WQ + (PW >> 1)) << 2; // input column 2t → phase row of pW's parity
  const oddOff = <usize>(((PW & 1) ^ 1) * WQ + ((PW + 1) >> 1)) << 2;
  for (let r = r0; r < r1; r++) {
    const row = dst + <usize>(r - r0) * LR;
    zeroRun(row, SW * WQ);
    const ih = r - PH;
    if (ih < 0 || ih >= H) continue;
    const src = xc + (<usize>(ih * W) << 2);
    if (SW == 1) {
      copyRun(row + (<usize>PW << 2), src, W);
    } else if (SW == 2) {
      // Even and odd input columns to their phase rows: input 2t → e[t], 2t + 1 → o[t].
      const e = row + evenOff, o = row + oddOff;
      let t = 0;
      for (; 2 * t + 8 <= W; t += 4) {
        const s = src + (<usize>t << 3);
        const v0 = v128.load(s), v1 = v128.load(s, 16);
        v128.store(e + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
        v128.store(o + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
      }
      if (2 * t < W && W >= 8) {
        // The last full 8 columns starting at an even one (rewrites some with the same values).
        t = (W - 8) >> 1;
        const s = src + (<usize>t << 3);
        const v0 = v128.load(s), v1 = v128.load(s, 16);
        v128.store(e + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
        v128.store(o + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
        t += 4;
      }
      for (let iw = 2 * t; iw < W; iw++) {
        store<f32>((iw & 1 ? o : e) + (<usize>(iw >> 1) << 2), load<f32>(src + (<usize>iw << 2)));
      }
    } else {
      let s = PW % SW, m = PW / SW;
      for (let iw = 0; iw < W; iw++) {
        store<f32>(row + (<usize>(s * WQ + m) << 2), load<f32>(src + (<usize>iw << 2)));
        if (++s == SW) {
          s = 0;
          m++;
        }
      }
    }
  }
}

/** dx row (W floats) = (or +=) the interior of stage row `row`: the inverse of stageRows. */
function unstageRow(row: usize, dst: usize, accumulate: bool): void {
  if (SW == 1) {
    if (accumulate) addRun(dst, row + (<usize>PW << 2), W);
    else copyRun(dst, row + (<usize>PW << 2), W);
  } else if (SW == 2) {
    const e = row + (<usize>((PW & 1) * WQ + (PW >> 1)) << 2);
    const o = row + (<usize>(((PW & 1) ^ 1) * WQ + ((PW + 1) >> 1)) << 2);
    let t = 0;
    for (; 2 * t + 8 <= W; t += 4) {
      const ev = v128.load(e + (<usize>t << 2)), ov = v128.load(o + (<usize>t << 2));
      const lo = v128.shuffle<f32>(ev, ov, 0, 4, 1, 5), hi = v128.shuffle<f32>(ev, ov, 2, 6, 3, 7);
      const d = dst + (<usize>t << 3);
      if (accumulate) {
        v128.store(d, f32x4.add(v128.load(d), lo));
        v128.store(d, f32x4.add(v128.load(d, 16), hi), 16);
      } else {
        v128.store(d, lo);
        v128.store(d, hi, 16);
      }
    }
    if (!accumulate && 2 * t < W && W >= 8) {
      t = (W - 8) >> 1;
      const ev = v128.load(e + (<usize>t << 2)), ov = v128.load(o + (<usize>t << 2));
      const d = dst + (<usize>t << 3);
      v128.store(d, v128.shuffle<f32>(ev, ov, 0, 4, 1, 5));
      v128.store(d, v128.shuffle<f32>(ev, ov, 2, 6, 3, 7), 16);
      t += 4;
    }
    for (let iw = 2 * t; iw < W; iw++) {
      const v = load<f32>((iw & 1 ? o : e) + (<usize>(iw >> 1) << 2));
      const d = dst + (<usize>iw << 2);
      store<f32>(d, accumulate ? load<f32>(d) + v : v);
    }
  } else {
    let s = PW % SW, m = PW / SW;
    for (let iw = 0; iw < W; iw++) {
      const v = load<f32>(row + (<usize>(s * WQ + m) << 2));
      const d = dst + (<usize>iw << 2);
      store<f32>(d, accumulate ? load<f32>(d) + v : v);
      if (++s == SW) {
        s = 0;
        m++;
      }
    }
  }
}

// --- im2col / col2im of one image ---------------------------------------------------------------

// What one tap's run of output pixels does between a col row (col) and the staged channel (st).
@final class TapGather { @inline f(st: usize, col: usize, n: i32): void { copyRun(col, st, n); } }
@final class TapScatter { @inline f(st: usize, col: usize, n: i32): void { addRunStage(st, col, n); } }

/**
 * The KH·KW taps of one staged channel against the col rows starting at `row` (row stride ldB
 * bytes), for the output pixels [p0, p0 + np) with p0 at output column ow0: output (oh0 + t, ow)
 * reads stage row t·sH + ki·dH, phase off % sW, index off / sW + ow (off = kj·dW). Op moves
 * each run (im2col gathers, col2im scatters-adds). Returns the row after the last tap's.
 */
@inline function walkTaps<Op>(row: usize, ldB: usize, ow0: i32, np: i32): usize {
  const op = changetype<Op>(0);
  const rowStep = <usize>SH * LR;
  for (let ki = 0; ki < KH; ki++) {
    for (let kj = 0; kj < KW; kj++) {
      const off = kj * DW;
      let s = stage + <usize>(ki * DH) * LR + (<usize>((off % SW) * WQ + off / SW) << 2);
      let d = row;
      let ow = ow0;
      let left = np;
      while (left > 0) {
        const run = min(OW - ow, left);
        op.f(s + (<usize>ow << 2), d, run);
        d += <usize>run << 2;
        left -= run;
        s += rowStep;
        ow = 0;
      }
      row += ldB;
    }
  }
  return row;
}

/**
 * im2col for one image `x` (channel planes of H × W): rows (c, ki, kj) for channels [c0, c1),
 * columns = output pixels [p0, p1), written at dst with row stride ldB bytes.
 */
function im2col(x: usize, c0: i32, c1: i32, p0: i32, p1: i32, dst: usize, ldB: usize): void {
  const np = p1 - p0;
  if (pointwise) {
    for (let c = c0; c < c1; c++) {
      copyRun(dst + <usize>(c - c0) * ldB, x + ((<usize>c * <usize>HW + <usize>p0) << 2), np);
    }
    return;
  }
  const oh0 = p0 / OW, ow0 = p0 - oh0 * OW;
  const oh1 = (p1 + OW - 1) / OW;
  const r0 = oh0 * SH, r1 = (oh1 - 1) * SH + (KH - 1) * DH + 1;
  let row = dst;
  for (let c = c0; c < c1; c++) {
    stageRows(x + ((<usize>c * <usize>HW) << 2), r0, r1, stage);
    row = walkTaps<TapGather>(row, ldB, ow0, np);
  }
}

/**
 * The adjoint of im2col: dx[c, ih, iw] (+)= col[(c, ki, kj), p] over the same index map, for
 * `nc` channels of one image starting at `dx`. With accumulate = false the range [p0, p1) must
 * be all of the image's pixels and dx is overwritten; otherwise dx is added to.
 */
function col2im(src: usize, nc: i32, p0: i32, p1: i32, ldB: usize, dx: usize, accumulate: bool): void {
  const np = p1 - p0;
  if (pointwise) {
    for (let c = 0; c < nc; c++) {
      const d = dx + ((<usize>c * <usize>HW + <usize>p0) << 2);
      if (accumulate) addRun(d, src + <usize>c * ldB, np);
      else copyRun(d, src + <usize>c * ldB, np);
    }
    return;
  }
  const oh0 = p0 / OW, ow0 = p0 - oh0 * OW;
  const oh1 = (p1 + OW - 1) / OW;
  const r0 = oh0 * SH;
  let r1 = (oh1 - 1) * SH + (KH - 1) * DH + 1;
  // Overwriting: the stage also covers input rows no tap reaches, so they come out as zeros.
  if (!accumulate) r1 = max(r1, H + PH);
  const ih0 = max(0, r0 - PH), ih1 = min(H, r1 - PH);
  let row = src;
  for (let c = 0; c < nc; c++) {
    zeroRun(stage, (r1 - r0) * SW * WQ);
    row = walkTaps<TapScatter>(row, ldB, ow0, np);
    const plane = dx + ((<usize>c * <usize>HW) << 2);
    for (let ih = ih0; ih < ih1; ih++) {
      unstageRow(stage + <usize>(ih + PH - r0) * LR, plane + (<usize>(ih * W) << 2), accumulate);
    }
  }
}

// --- kernels ------------------------------------------------------------------------------------

/** Forward: out (B, OC, OH, OW) = conv(x, w) + bias. Items: (image block, pixel chunk). */
export function conv2d(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ConvArgs>(args);
  loadGeometry(a, tid);
  const x = a.in0, w = a.in1, bias = a.bias, out = a.out;
  const pChunk = a.pChunk, nb = a.nb;
  const nChunks = (P + pChunk - 1) / pChunk;
  const items = ((B + nb - 1) / nb) * nChunks;
  beginItems(items);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const blk = it / nChunks;
    const p0 = (it - blk * nChunks) * pChunk;
    const p1 = min(P, p0 + pChunk);
    const np = p1 - p0;
    const b0 = blk * nb, ni = min(nb, B - b0);
    const n = ni * np;
    for (let g = 0; g < G; g++) {
      const wg = w + ((<usize>g * <usize>OCG * <usize>KC) << 2);
      // One image: the GEMM writes the output in place; a block: into aux, copied out below.
      const og = out + (((<usize>b0 * <usize>OC + <usize>g * <usize>OCG) * <usize>P + <usize>p0) << 2);
      const c = ni == 1 ? og : auxBuf;
      const ldc = ni == 1 ? P : n;
      if (pointwise && ni == 1) {
        const xg = x + (((<usize>b0 * <usize>C + <usize>g * <usize>ICG) * <usize>HW + <usize>p0) << 2);
        gemmST(OCG, np, KC, wg, KC, 1, xg, HW, 1, c, ldc, 1, 0, scratch);
      } else {
        for (let i = 0; i < ni; i++) {
          const xb = x + ((<usize>(b0 + i) * <usize>C * <usize>HW) << 2);
          im2col(xb, g * ICG, (g + 1) * ICG, p0, p1, colBuf + (<usize>(i * np) << 2), <usize>n << 2);
        }
        gemmST(OCG, n, KC, wg, KC, 1, colBuf, n, 1, c, ldc, 1, 0, scratch);
      }
      for (let i = 0; i < ni; i++) {
        for (let oc = 0; oc < OCG; oc++) {
          const bv = bias != 0 ? load<f32>(bias + (<usize>(g * OCG + oc) << 2)) : 0;
          const dst = og + (((<usize>i * <usize>OC + <usize>oc) * <usize>P) << 2);
          if (ni == 1) {
            if (bias != 0) addConstRun(dst, bv, np);
          } else {
            copyAddRun(dst, auxBuf + ((<usize>oc * <usize>n + <usize>(i * np)) << 2), bv, np);
          }
        }
      }
    }
  }
  endItems();
  return items;
}

/** d[0, n) += v. */
@inline function addConstRun(d: usize, v: f32, n: i32): void {
  const vv = f32x4.splat(v);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const q = d + (<usize>j << 2);
    v128.store(q, f32x4.add(v128.load(q), vv));
  }
  for (; j < n; j++) {
    const q = d + (<usize>j << 2);
    store<f32>(q, load<f32>(q) + v);
  }
}

/** dst[0, n) = src[0, n) + v (not overlapping; a ragged end overlaps the last vector). */
@inline function copyAddRun(dst: usize, src: usize, v: f32, n: i32): void {
  const vv = f32x4.splat(v);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), f32x4.add(v128.load(src + (<usize>j << 2)), vv));
  if (j < n) {
    if (n >= 4) {
      const o = <usize>(n - 4) << 2;
      v128.store(dst + o, f32x4.add(v128.load(src + o), vv));
    } else {
      for (; j < n; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)) + v);
    }
  }
}

/**
 * Gathers rows [oc0, oc0 + rows) of G (B, OC, P) for images [b0, b0 + ni) side by side into
 * aux (rows × ni·P).
 */
function gatherG(gout: usize, b0: i32, ni: i32, oc0: i32, rows: i32): void {
  const n = ni * P;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < ni; i++) {
      copyRun(
        auxBuf + ((<usize>r * <usize>n + <usize>(i * P)) << 2),
        gout + (((<usize>(b0 + i) * <usize>OC + <usize>(oc0 + r)) * <usize>P) << 2),
        P,
      );
    }
  }
}

/** Input gradient: g (B, OC, OH, OW) → out (B, C, H, W), overwritten.
 *  Items: (image block, group, chunk of `cChunk` input channels within the group). */
export function conv2dBackwardInput(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ConvArgs>(args);
  loadGeometry(a, tid);
  const gout = a.in0, w = a.in1, dx = a.out;
  const pChunk = a.pChunk, cChunk = a.chunk, nb = a.nb;
  const nCC = (ICG + cChunk - 1) / cChunk;
  const items = ((B + nb - 1) / nb) * G * nCC;
  beginItems(items);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const blk = it / (G * nCC);
    const rem = it - blk * G * nCC;
    const g = rem / nCC;
    const cl0 = (rem - g * nCC) * cChunk;
    const cl1 = min(ICG, cl0 + cChunk);
    const rows = (cl1 - cl0) * KK;
    const b0 = blk * nb, ni = min(nb, B - b0);
    // A(i, k) = W[g·ocg + k, cl0·kk + i]: the transposed weight rows of this channel chunk.
    const a = w + ((<usize>g * <usize>OCG * <usize>KC + <usize>cl0 * <usize>KK) << 2);
    const gb = gout + (((<usize>b0 * <usize>OC + <usize>g * <usize>OCG) * <usize>P) << 2);
    const xc = dx + (((<usize>b0 * <usize>C + <usize>(g * ICG + cl0)) * <usize>HW) << 2);
    const imgB = (<usize>C * <usize>HW) << 2;
    if (pointwise && ni == 1) {
      gemmST(rows, P, OCG, a, 1, KC, gb, P, 1, xc, HW, 1, 0, scratch);
      continue;
    }
    // B operand: G in place for one image, else gathered side by side.
    if (ni > 1) gatherG(gout, b0, ni, g * OCG, OCG);
    const gs = ni == 1 ? gb : auxBuf;
    const ldg = ni == 1 ? P : ni * P;
    const chunked = pChunk < P; // only with ni == 1
    if (chunked) zeroRun(xc, (cl1 - cl0) * HW);
    for (let p0 = 0; p0 < P; p0 += pChunk) {
      const p1 = min(P, p0 + pChunk);
      const np = p1 - p0;
      const n = ni * np;
      gemmST(rows, n, OCG, a, 1, KC, gs + (<usize>p0 << 2), ldg, 1, colBuf, n, 1, 0, scratch);
      for (let i = 0; i < ni; i++) {
        col2im(colBuf + (<usize>(i * np) << 2), cl1 - cl0, p0, p1, <usize>n << 2, xc + <usize>i * imgB, chunked);
      }
    }
  }
  endItems();
  return items;
}

/** Weight gradient: out (OC, C/groups, kH, kW) = Σ_b g ⋆ x, overwritten.
 *  mode 0 items: (group, chunk of input channels) — disjoint column blocks of dW_g;
 *  mode 1 items: (group, chunk of output channels) — disjoint row blocks (im2col repeated);
 *  mode 2 items: chunks of images, each summed into its own partial dW (OC × Kc floats at
 *  partials + item · OC·Kc·4, overwritten), which the caller adds up in item order after.
 *  Mode 2 is for layers with few channels and many images (a first layer on 1–3 channels).
 *  Within an item, images go in blocks of nb from the item's first image. */
export function conv2dBackwardWeight(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const a = changetype<ConvArgs>(args);
  loadGeometry(a, tid);
  const x = a.in0, gout = a.in1, dw = a.out;
  const pChunk = a.pChunk, chunk = a.chunk, mode = a.mode, nb = a.nb;
  // Transposed GEMMs (dWᵀ = col · Gᵀ into this scratch, copied out at the end): the JS side
  // asks for them when fewer tiles of the micro-kernel cover dWᵀ than dW (e.g. 32 × 9: 3·4
  // tiles of 4 × 8 instead of 8·2). Each element's sum is the same either way.
  const ct = a.ctOff != 0 ? scratch + a.ctOff : 0;
  if (mode == 2) {
    // Item it sums images [it·chunk, (it+1)·chunk) into its own partial dW (by item, not by
    // thread, so the result does not depend on which thread ran it); the caller adds the
    // partials up in item order afterwards.
    const partials = a.partials;
    const wBytes = (<usize>OC * <usize>KC) << 2;
    const items = (B + chunk - 1) / chunk;
    beginItems(items);
    for (let it = nextItem(); it >= 0; it = nextItem()) {
      const b0 = it * chunk, b1 = min(B, b0 + chunk);
      for (let g = 0; g < G; g++) weightGrad(x, gout, b0, b1, nb, g, 0, ICG, 0, OCG, pChunk, partials + <usize>it * wBytes, ct);
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
      for (let r = 0; r < oc1 - oc0; r++) zeroRun(c + ((<usize>r * <usize>KC) << 2), (cl1 - cl0) * KK);
      continue;
    }
    weightGrad(x, gout, 0, B, nb, g, cl0, cl1, oc0, oc1, pChunk, dw, ct);
  }
  endItems();
  return items;
}

/**
 * dW[g, oc0:oc1, (cl0:cl1, ki, kj)] = Σ over images [b0, b1) of G[b, g, oc0:oc1] · colᵀ, in
 * blocks of nb images from b0 (overwritten). With a transposed scratch ct, the GEMMs compute
 * dWᵀ there and it is copied out at the end.
 */
function weightGrad(
  x: usize, gout: usize, b0: i32, b1: i32, nb: i32, g: i32, cl0: i32, cl1: i32, oc0: i32, oc1: i32,
  pChunk: i32, dw: usize, ct: usize,
): void {
  const rows = oc1 - oc0, cols = (cl1 - cl0) * KK;
  const c = dw + ((<usize>(g * OCG + oc0) * <usize>KC + <usize>cl0 * <usize>KK) << 2);
  for (let b = b0; b < b1; b += nb) {
    weightGradBlock(x, gout, b, min(nb, b1 - b), g, cl0, cl1, oc0, oc1, pChunk, ct != 0 ? ct : c, ct != 0, b == b0 ? 0 : 1);
  }
  if (ct != 0) {
    for (let r = 0; r < rows; r++) {
      const d = c + ((<usize>r * <usize>KC) << 2);
      for (let j = 0; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(ct + (<usize>(j * rows + r) << 2)));
    }
  }
}

/** dst (+)= the block's G[images, g, oc0:oc1] · colᵀ over images [b0, b0 + ni), in one GEMM
 *  with K = ni·P (pixel chunks when ni = 1): dW's layout (row stride KC), or its transpose
 *  (cols × rows, dense) when `tr`. beta0 = 0 overwrites. */
function weightGradBlock(
  x: usize, gout: usize, b0: i32, ni: i32, g: i32, cl0: i32, cl1: i32, oc0: i32, oc1: i32,
  pChunk: i32, dst: usize, tr: bool, beta0: f32,
): void {
  const rows = oc1 - oc0, cols = (cl1 - cl0) * KK;
  const ga = gout + (((<usize>b0 * <usize>OC + <usize>(g * OCG + oc0)) * <usize>P) << 2);
  if (ni > 1) gatherG(gout, b0, ni, g * OCG + oc0, rows);
  const as = ni == 1 ? ga : auxBuf;
  const lda = ni == 1 ? P : ni * P;
  for (let p0 = 0; p0 < P; p0 += pChunk) {
    const p1 = min(P, p0 + pChunk);
    const np = p1 - p0;
    const n = ni * np;
    const beta: f32 = p0 == 0 ? beta0 : 1;
    const a = as + (<usize>p0 << 2);
    // col(j = channel row, k = pixel): im2col, or x itself for one image of a pointwise conv.
    let cs = colBuf, ldc = n;
    if (pointwise && ni == 1) {
      cs = x + (((<usize>b0 * <usize>C + <usize>(g * ICG + cl0)) * <usize>HW + <usize>p0) << 2);
      ldc = HW;
    } else {
      for (let i = 0; i < ni; i++) {
        const xb = x + ((<usize>(b0 + i) * <usize>C * <usize>HW) << 2);
        im2col(xb, g * ICG + cl0, g * ICG + cl1, p0, p1, colBuf + (<usize>(i * np) << 2), <usize>n << 2);
      }
    }
    if (tr) gemmST(cols, rows, n, cs, ldc, 1, a, 1, lda, dst, rows, 1, beta, scratch);
    else gemmST(rows, cols, n, a, lda, 1, cs, 1, ldc, dst, KC, 1, beta, scratch);
  }
}
