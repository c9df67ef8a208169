/**
 * Reference 2-D convolution by im2col + GEMM, as PyTorch defines it (cross-correlation).
 *
 *   x (B, C, H, W), w (O, C/g, kH, kW) → y (B, O, oH, oW),
 *   oH = floor((H + 2·pH − dH·(kH − 1) − 1) / sH) + 1.
 *
 * im2col turns each image of each group into a matrix cols (C/g·kH·kW, oH·oW), so
 * y_g = w_g (O/g, C/g·kH·kW) · cols. The input gradient is col2im(w_gᵀ · g_g), and the weight
 * gradient Σ_b g_g · cols_gᵀ.
 */
import type { Conv2dParams, F32 } from '../backend.js';
import { gemm } from './gemm.js';

function im2col(x: F32, xOff: number, cols: F32, p: Conv2dParams, c0: number, cg: number): void {
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilH, dilW } = p;
  const L = outH * outW;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    const plane = xOff + (c0 + c) * inH * inW;
    for (let kh = 0; kh < kH; kh++)
      for (let kw = 0; kw < kW; kw++, r++) {
        const row = r * L;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          const o = row + oh * outW;
          if (ih < 0 || ih >= inH) {
            cols.fill(0, o, o + outW);
            continue;
          }
          const base = plane + ih * inW;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW - padW + kw * dilW;
            cols[o + ow] = iw >= 0 && iw < inW ? x[base + iw]! : 0;
          }
        }
      }
  }
}

function col2im(cols: F32, out: F32, outOff: number, p: Conv2dParams, c0: number, cg: number): void {
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, dilH, dilW } = p;
  const L = outH * outW;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    const plane = outOff + (c0 + c) * inH * inW;
    for (let kh = 0; kh < kH; kh++)
      for (let kw = 0; kw < kW; kw++, r++) {
        const row = r * L;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          if (ih < 0 || ih >= inH) continue;
          const base = plane + ih * inW;
          const o = row + oh * outW;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW - padW + kw * dilW;
            if (iw >= 0 && iw < inW) out[base + iw] = out[base + iw]! + cols[o + ow]!;
          }
        }
      }
  }
}

function sizes(p: Conv2dParams) {
  const g = p.groups;
  const cg = p.inC / g; // input channels per group
  const og = p.outC / g; // output channels per group
  const Kc = cg * p.kH * p.kW; // rows of cols
  const L = p.outH * p.outW;
  return { g, cg, og, Kc, L };
}

export function conv2d(x: F32, w: F32, bias: F32 | null, out: F32, p: Conv2dParams): void {
  const { g, cg, og, Kc, L } = sizes(p);
  const cols = new Float32Array(Kc * L);
  const tmp = new Float32Array(og * L);
  for (let b = 0; b < p.batch; b++)
    for (let gi = 0; gi < g; gi++) {
      im2col(x, b * p.inC * p.inH * p.inW, cols, p, gi * cg, cg);
      gemm(w.subarray(gi * og * Kc, (gi + 1) * og * Kc), cols, tmp, {
        batch: 1, M: og, N: L, K: Kc, transA: false, transB: false, strideA: 0, strideB: 0,
      });
      const o0 = (b * p.outC + gi * og) * L;
      for (let o = 0; o < og; o++) {
        const bv = bias ? bias[gi * og + o]! : 0;
        for (let l = 0; l < L; l++) out[o0 + o * L + l] = tmp[o * L + l]! + bv;
      }
    }
}

export function conv2dBackwardInput(gOut: F32, w: F32, out: F32, p: Conv2dParams): void {
  const { g, cg, og, Kc, L } = sizes(p);
  out.fill(0);
  const cols = new Float32Array(Kc * L);
  for (let b = 0; b < p.batch; b++)
    for (let gi = 0; gi < g; gi++) {
      // cols (Kc, L) = w_gᵀ (Kc, og) · g_g (og, L)
      const g0 = (b * p.outC + gi * og) * L;
      gemm(w.subarray(gi * og * Kc, (gi + 1) * og * Kc), gOut.subarray(g0, g0 + og * L), cols, {
        batch: 1, M: Kc, N: L, K: og, transA: true, transB: false, strideA: 0, strideB: 0,
      });
      col2im(cols, out, b * p.inC * p.inH * p.inW, p, gi * cg, cg);
    }
}

export function conv2dBackwardWeight(x: F32, gOut: F32, out: F32, p: Conv2dParams): void {
  const { g, cg, og, Kc, L } = sizes(p);
  out.fill(0);
  const cols = new Float32Array(Kc * L);
  for (let b = 0; b < p.batch; b++)
    for (let gi = 0; gi < g; gi++) {
      im2col(x, b * p.inC * p.inH * p.inW, cols, p, gi * cg, cg);
      // dW_g (og, Kc) += g_g (og, L) · colsᵀ (L, Kc)
      const g0 = (b * p.outC + gi * og) * L;
      gemm(gOut.subarray(g0, g0 + og * L), cols, out.subarray(gi * og * Kc, (gi + 1) * og * Kc), {
        batch: 1, M: og, N: Kc, K: L, transA: false, transB: true, strideA: 0, strideB: 0, beta: 1,
      });
    }
}
