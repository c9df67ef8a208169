/**
 * Convolution against the js reference: conv2d and both gradients with stride, padding,
 * dilation, groups and 1×1, sizes large enough to be split across threads, and ordinary arrays.
 */
import { it } from 'vitest';
import type { Conv2dParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, randArr, rms, w, wb } from './helpers.js';

eachBuild('conv', () => {
  // --- conv ----------------------------------------------------------------------------------

  function convParams(
    batch: number,
    inC: number,
    inH: number,
    inW: number,
    outC: number,
    kH: number,
    kW: number,
    o: { stride?: [number, number]; pad?: [number, number]; dil?: [number, number]; groups?: number } = {},
  ): Conv2dParams {
    const [strideH, strideW] = o.stride ?? [1, 1];
    const [padH, padW] = o.pad ?? [0, 0];
    const [dilH, dilW] = o.dil ?? [1, 1];
    const outH = Math.floor((inH + 2 * padH - dilH * (kH - 1) - 1) / strideH) + 1;
    const outW = Math.floor((inW + 2 * padW - dilW * (kW - 1) - 1) / strideW) + 1;
    return {
      batch,
      inC,
      inH,
      inW,
      outC,
      outH,
      outW,
      kH,
      kW,
      strideH,
      strideW,
      padH,
      padW,
      dilH,
      dilW,
      groups: o.groups ?? 1,
    };
  }

  const convCases: [string, Conv2dParams][] = [
    ['3×3 same', convParams(2, 3, 8, 8, 4, 3, 3, { pad: [1, 1] })],
    ['MNIST stride 2', convParams(4, 1, 28, 28, 8, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['odd sizes, 2×3 kernel', convParams(3, 5, 7, 5, 6, 2, 3)],
    ['asymmetric stride/pad', convParams(2, 3, 9, 11, 5, 3, 2, { stride: [2, 3], pad: [2, 1] })],
    ['dilation', convParams(2, 4, 12, 10, 3, 3, 3, { dil: [2, 3], pad: [1, 2] })],
    ['stride 2 on odd width, dilated columns', convParams(2, 3, 17, 29, 4, 3, 3, { stride: [2, 2], pad: [1, 1], dil: [1, 2] })],
    ['stride (1, 2), wide rows', convParams(2, 2, 5, 40, 3, 2, 4, { stride: [1, 2], pad: [0, 3] })],
    ['stride 3', convParams(2, 2, 16, 19, 3, 3, 3, { stride: [3, 3], pad: [1, 1] })],
    ['groups 2', convParams(2, 6, 9, 9, 4, 3, 3, { groups: 2, pad: [1, 1] })],
    ['depthwise', convParams(3, 8, 10, 10, 8, 3, 3, { groups: 8, stride: [2, 2], pad: [1, 1] })],
    ['1×1 pointwise', convParams(2, 16, 6, 7, 12, 1, 1)],
    ['1×1 pointwise groups', convParams(3, 8, 5, 5, 6, 1, 1, { groups: 2 })],
    ['1×1 stride 2', convParams(2, 4, 9, 9, 5, 1, 1, { stride: [2, 2] })],
    ['kernel larger than input + pad', convParams(1, 2, 3, 3, 2, 5, 5, { pad: [2, 2] })],
    ['single image (pixel split)', convParams(1, 8, 30, 30, 16, 3, 3, { pad: [1, 1] })],
    ['odd batch, threaded', convParams(3, 16, 20, 20, 32, 3, 3, { pad: [1, 1] })],
    ['im2col chunked (Kc·P > buffer)', convParams(1, 64, 32, 32, 8, 3, 3, { pad: [1, 1] })],
    ['conv AE encoder', convParams(16, 16, 14, 14, 32, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    // Weight-gradient work splits: 1 input channel and many images (per-thread partial sums),
    // 1 input channel and 1 image (output-channel chunks).
    ['first layer, many images', convParams(64, 1, 28, 28, 16, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['first layer, one image', convParams(1, 1, 64, 64, 32, 3, 3, { pad: [1, 1] })],
    // Image blocks (several images side by side in one GEMM): a partial last block, and blocks
    // inside the weight gradient's image groups.
    ['image blocks, partial last block', convParams(23, 6, 9, 9, 10, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['first layer, stride 2, many images', convParams(40, 1, 28, 28, 8, 3, 3, { stride: [2, 2], pad: [1, 1] })],
  ];

  it('conv2d (with and without bias)', () => {
    for (const [name, p] of convCases) {
      const x = randArr(p.batch * p.inC * p.inH * p.inW);
      const wt = randArr(p.outC * (p.inC / p.groups) * p.kH * p.kW);
      const bias = randArr(p.outC);
      const n = p.batch * p.outC * p.outH * p.outW;
      for (const withBias of [true, false]) {
        const o1 = wb.alloc(n);
        const o2 = new Float32Array(n);
        wb.conv2d(w(x), w(wt), withBias ? w(bias) : null, o1, p);
        js.conv2d(x, wt, withBias ? bias : null, o2, p);
        expectClose(o1, o2, `conv2d ${name} bias=${withBias}`, { scale: rms(o2) });
        wb.free(o1);
      }
    }
  });

  it('conv2dBackwardInput', () => {
    for (const [name, p] of convCases) {
      const g = randArr(p.batch * p.outC * p.outH * p.outW);
      const wt = randArr(p.outC * (p.inC / p.groups) * p.kH * p.kW);
      const n = p.batch * p.inC * p.inH * p.inW;
      const o1 = w(randArr(n)); // garbage: the kernel must overwrite
      const o2 = new Float32Array(n);
      wb.conv2dBackwardInput(w(g), w(wt), o1, p);
      js.conv2dBackwardInput(g, wt, o2, p);
      expectClose(o1, o2, `conv2dBackwardInput ${name}`, { scale: rms(o2) });
      wb.free(o1);
    }
  });

  it('conv2dBackwardWeight', () => {
    for (const [name, p] of convCases) {
      const x = randArr(p.batch * p.inC * p.inH * p.inW);
      const g = randArr(p.batch * p.outC * p.outH * p.outW);
      const n = p.outC * (p.inC / p.groups) * p.kH * p.kW;
      const o1 = w(randArr(n));
      const o2 = new Float32Array(n);
      wb.conv2dBackwardWeight(w(x), w(g), o1, p);
      js.conv2dBackwardWeight(x, g, o2, p);
      expectClose(o1, o2, `conv2dBackwardWeight ${name}`, { scale: rms(o2) });
      wb.free(o1);
    }
  });

  it('conv: ordinary arrays are copied in and out', () => {
    const p = convParams(2, 3, 9, 9, 4, 3, 3, { stride: [2, 2], pad: [1, 1] });
    const x = randArr(p.batch * p.inC * p.inH * p.inW);
    const wt = randArr(p.outC * p.inC * 9);
    const y1 = new Float32Array(p.batch * p.outC * p.outH * p.outW);
    const y2 = new Float32Array(y1.length);
    wb.conv2d(x, wt, null, y1, p);
    js.conv2d(x, wt, null, y2, p);
    expectClose(y1, y2, 'conv2d foreign', { scale: rms(y2) });
    const dx1 = new Float32Array(x.length);
    const dx2 = new Float32Array(x.length);
    wb.conv2dBackwardInput(y2, wt, dx1, p);
    js.conv2dBackwardInput(y2, wt, dx2, p);
    expectClose(dx1, dx2, 'conv2dBackwardInput foreign', { scale: rms(dx2) });
    const dw1 = new Float32Array(wt.length);
    const dw2 = new Float32Array(wt.length);
    wb.conv2dBackwardWeight(x, y2, dw1, p);
    js.conv2dBackwardWeight(x, y2, dw2, p);
    expectClose(dw1, dw2, 'conv2dBackwardWeight foreign', { scale: rms(dw2) });
  });
});
