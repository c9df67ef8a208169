/**
 * The reference js kernels: Convolution and its two gradients against naive loops (stride, padding, dilation, groups).
 */
import { describe, it } from 'vitest';
import type { Conv2dParams } from '../../../src/kernels/backend.js';
import { jsBackend as K } from '../../../src/kernels/js/index.js';
import { expectClose } from '../../helpers/engine.js';
import { rnd } from './helpers.js';

describe('conv2d kernels vs naive loops', () => {
  function params(
    B: number,
    C: number,
    H: number,
    W: number,
    O: number,
    kH: number,
    kW: number,
    s: [number, number],
    p: [number, number],
    d: [number, number],
    g: number,
  ): Conv2dParams {
    return {
      batch: B,
      inC: C,
      inH: H,
      inW: W,
      outC: O,
      kH,
      kW,
      strideH: s[0],
      strideW: s[1],
      padH: p[0],
      padW: p[1],
      dilH: d[0],
      dilW: d[1],
      groups: g,
      outH: Math.floor((H + 2 * p[0] - d[0] * (kH - 1) - 1) / s[0]) + 1,
      outW: Math.floor((W + 2 * p[1] - d[1] * (kW - 1) - 1) / s[1]) + 1,
    };
  }
  /** Visits every (output, input, weight) index triple of the convolution. */
  function each(p: Conv2dParams, f: (o: number, i: number, w: number) => void): void {
    const cg = p.inC / p.groups;
    const og = p.outC / p.groups;
    for (let b = 0; b < p.batch; b++)
      for (let oc = 0; oc < p.outC; oc++)
        for (let oh = 0; oh < p.outH; oh++)
          for (let ow = 0; ow < p.outW; ow++)
            for (let c = 0; c < cg; c++)
              for (let kh = 0; kh < p.kH; kh++)
                for (let kw = 0; kw < p.kW; kw++) {
                  const ih = oh * p.strideH - p.padH + kh * p.dilH;
                  const iw = ow * p.strideW - p.padW + kw * p.dilW;
                  if (ih < 0 || ih >= p.inH || iw < 0 || iw >= p.inW) continue;
                  const ic = Math.floor(oc / og) * cg + c;
                  f(
                    ((b * p.outC + oc) * p.outH + oh) * p.outW + ow,
                    ((b * p.inC + ic) * p.inH + ih) * p.inW + iw,
                    ((oc * cg + c) * p.kH + kh) * p.kW + kw,
                  );
                }
  }
  const cases: [string, Conv2dParams][] = [
    ['3×3', params(2, 3, 6, 5, 4, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
    ['s2 p1', params(2, 2, 7, 8, 3, 3, 3, [2, 2], [1, 1], [1, 1], 1)],
    ['2×3 kernel s(2,1) p(0,2) d(1,2)', params(1, 2, 6, 7, 2, 2, 3, [2, 1], [0, 2], [1, 2], 1)],
    ['groups 3', params(2, 6, 5, 5, 9, 3, 3, [1, 1], [1, 1], [1, 1], 3)],
    ['1×1 s2', params(1, 4, 5, 5, 2, 1, 1, [2, 2], [0, 0], [1, 1], 1)],
    ['dilation 3 padding 3', params(1, 2, 7, 7, 2, 3, 3, [1, 1], [3, 3], [3, 3], 2)],
  ];
  for (const [name, p] of cases) {
    const xN = p.batch * p.inC * p.inH * p.inW;
    const wN = p.outC * (p.inC / p.groups) * p.kH * p.kW;
    const yN = p.batch * p.outC * p.outH * p.outW;
    it(`forward ${name}`, () => {
      const x = rnd(xN);
      const w = rnd(wN);
      const bias = rnd(p.outC);
      const ref = new Float64Array(yN);
      for (let o = 0; o < yN; o++) ref[o] = bias[Math.floor(o / (p.outH * p.outW)) % p.outC]!;
      each(p, (o, i, k) => (ref[o] = ref[o]! + x[i]! * w[k]!));
      const out = new Float32Array(yN);
      K.conv2d(x, w, bias, out, p);
      expectClose(out, ref, 1e-5);
      K.conv2d(x, w, null, out, p);
      const ref0 = new Float64Array(yN);
      each(p, (o, i, k) => (ref0[o] = ref0[o]! + x[i]! * w[k]!));
      expectClose(out, ref0, 1e-5);
    });
    it(`backward input ${name}`, () => {
      const g = rnd(yN);
      const w = rnd(wN);
      const ref = new Float64Array(xN);
      each(p, (o, i, k) => (ref[i] = ref[i]! + g[o]! * w[k]!));
      const out = rnd(xN); // garbage: the kernel must overwrite
      K.conv2dBackwardInput(g, w, out, p);
      expectClose(out, ref, 1e-5);
    });
    it(`backward weight ${name}`, () => {
      const x = rnd(xN);
      const g = rnd(yN);
      const ref = new Float64Array(wN);
      each(p, (o, i, k) => (ref[k] = ref[k]! + g[o]! * x[i]!));
      const out = rnd(wN); // garbage: the kernel must overwrite
      K.conv2dBackwardWeight(x, g, out, p);
      expectClose(out, ref, 1e-5);
    });
  }
});
