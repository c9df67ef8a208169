/** Pooling and nearest-neighbour upsampling of the reference backend, over NCHW planes. */
import type { F32, Pool2dParams } from '../backend.js';

export function maxPool2d(x: F32, out: F32, idx: F32, p: Pool2dParams): void {
  // Geometry in locals: V8 does not hoist the property reads out of the inner loops.
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW } = p;
  const planes = p.batch * p.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let c = 0; c < planes; c++) {
    const xb = c * inPlane;
    let o = c * outPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      const khLo = Math.max(0, -h0);
      const khHi = Math.min(kH, inH - h0);
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const kwLo = Math.max(0, -w0);
        const kwHi = Math.min(kW, inW - w0);
        let best = -Infinity;
        let bi = -1;
        for (let kh = khLo; kh < khHi; kh++) {
          const row = (h0 + kh) * inW + w0;
          for (let kw = kwLo; kw < kwHi; kw++) {
            const v = x[xb + row + kw]!;
            // the first element, anything larger, or NaN (which then sticks, as in PyTorch)
            if (v > best || bi < 0 || v !== v) {
              best = v;
              bi = row + kw;
            }
          }
        }
        out[o] = bi < 0 ? -Infinity : best;
        idx[o] = bi < 0 ? -1 : xb + bi;
      }
    }
  }
}

export function maxPool2dBackward(g: F32, idx: F32, out: F32, _p: Pool2dParams): void {
  out.fill(0);
  for (let i = 0; i < g.length; i++) {
    const j = idx[i]!;
    if (j >= 0) out[j] = out[j]! + g[i]!;
  }
}

export function avgPool2d(x: F32, out: F32, p: Pool2dParams): void {
  avgPool(x, out, p, false);
}

export function avgPool2dBackward(g: F32, out: F32, p: Pool2dParams): void {
  avgPool(g, out, p, true);
}

/**
 * Average pooling with countIncludePad, as PyTorch's default (each window's divisor counts the
 * padded positions inside the padded input), or its gradient: out (input-sized, zeroed first)
 * += g / count over each window. One walk over the windows serves both; the forward sums each
 * window in float64 and rounds once.
 */
function avgPool(src: F32, out: F32, p: Pool2dParams, backward: boolean): void {
  if (backward) out.fill(0);
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW } = p;
  const planes = p.batch * p.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let c = 0; c < planes; c++)
    for (let oh = 0; oh < outH; oh++)
      for (let ow = 0; ow < outW; ow++) {
        const h0 = oh * strideH - padH;
        const w0 = ow * strideW - padW;
        const hEnd = Math.min(h0 + kH, inH + padH);
        const wEnd = Math.min(w0 + kW, inW + padW);
        const count = (hEnd - h0) * (wEnd - w0);
        const o = c * outPlane + oh * outW + ow;
        const gv = backward ? src[o]! / count : 0;
        let s = 0;
        for (let ih = Math.max(h0, 0); ih < Math.min(hEnd, inH); ih++)
          for (let iw = Math.max(w0, 0); iw < Math.min(wEnd, inW); iw++) {
            const j = c * inPlane + ih * inW + iw;
            if (backward) out[j] = out[j]! + gv;
            else s += src[j]!;
          }
        if (!backward) out[o] = s / count;
      }
}

export function upsampleNearest(x: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
  const W = w * sw;
  let o = 0;
  for (let c = 0; c < planes; c++)
    for (let i = 0; i < h; i++) {
      const row = c * h * w + i * w;
      const start = o;
      for (let j = 0; j < w; j++) {
        const v = x[row + j]!;
        for (let r = 0; r < sw; r++) out[o++] = v;
      }
      for (let r = 1; r < sh; r++) {
        out.copyWithin(o, start, start + W);
        o += W;
      }
    }
}

export function upsampleNearestBackward(g: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
  out.fill(0);
  const W = w * sw;
  for (let c = 0; c < planes; c++)
    for (let I = 0; I < h * sh; I++) {
      const row = c * h * w + Math.floor(I / sh) * w;
      const gRow = (c * h * sh + I) * W;
      for (let J = 0; J < W; J++) {
        const j = row + ((J / sw) | 0);
        out[j] = out[j]! + g[gRow + J]!;
      }
    }
}
