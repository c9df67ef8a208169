/**
 * The reference js kernels: Max / average pooling, nearest upsampling and their gradients against naive loops.
 */
import { describe, expect, it } from 'vitest';
import type { Pool2dParams } from '../../../src/kernels/backend.js';
import { jsBackend as K } from '../../../src/kernels/js/index.js';
import { expectClose } from '../../helpers/engine.js';
import { rnd } from './helpers.js';

describe('pooling and upsampling kernels', () => {
  const pp = (B: number, C: number, H: number, W: number, k: number, s: number, p: number): Pool2dParams => ({
    batch: B,
    channels: C,
    inH: H,
    inW: W,
    kH: k,
    kW: k,
    strideH: s,
    strideW: s,
    padH: p,
    padW: p,
    outH: Math.floor((H + 2 * p - k) / s) + 1,
    outW: Math.floor((W + 2 * p - k) / s) + 1,
  });
  for (const p of [pp(2, 2, 6, 6, 2, 2, 0), pp(1, 3, 7, 5, 3, 2, 1), pp(1, 1, 5, 5, 3, 1, 1)]) {
    const tag = `k${p.kH} s${p.strideH} p${p.padH} on ${p.inH}×${p.inW}`;
    it(`maxPool2d ${tag}: values, arg-max indices, and backward scatter`, () => {
      const n = p.batch * p.channels * p.inH * p.inW;
      const m = p.batch * p.channels * p.outH * p.outW;
      const x = rnd(n);
      const out = new Float32Array(m);
      const idx = new Float32Array(m);
      K.maxPool2d(x, out, idx, p);
      for (let o = 0; o < m; o++) {
        const [bc, oh, ow] = [Math.floor(o / (p.outH * p.outW)), Math.floor(o / p.outW) % p.outH, o % p.outW];
        let best = -Infinity;
        let bi = -1;
        for (let kh = 0; kh < p.kH; kh++)
          for (let kw = 0; kw < p.kW; kw++) {
            const ih = oh * p.strideH - p.padH + kh;
            const iw = ow * p.strideW - p.padW + kw;
            if (ih < 0 || iw < 0 || ih >= p.inH || iw >= p.inW) continue;
            const j = bc * p.inH * p.inW + ih * p.inW + iw;
            if (x[j]! > best) {
              best = x[j]!;
              bi = j;
            }
          }
        expect(out[o]).toBe(best);
        expect(idx[o]).toBe(bi);
      }
      const g = rnd(m);
      const dx = rnd(n); // garbage: must be zeroed
      K.maxPool2dBackward(g, idx, dx, p);
      const ref = new Float64Array(n);
      for (let o = 0; o < m; o++) ref[idx[o]!] = ref[idx[o]!]! + g[o]!;
      expectClose(dx, ref, 1e-6);
    });
    it(`avgPool2d ${tag}: forward and backward are adjoint`, () => {
      const n = p.batch * p.channels * p.inH * p.inW;
      const m = p.batch * p.channels * p.outH * p.outW;
      const x = rnd(n);
      const y = new Float32Array(m);
      K.avgPool2d(x, y, p);
      const g = rnd(m);
      const dx = rnd(n);
      K.avgPool2dBackward(g, dx, p);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < m; i++) lhs += y[i]! * g[i]!;
      for (let i = 0; i < n; i++) rhs += x[i]! * dx[i]!;
      expect(rhs).toBeCloseTo(lhs, 4);
    });
  }

  it('avgPool2d counts padding in the divisor (PyTorch count_include_pad)', () => {
    const p = pp(1, 1, 2, 2, 3, 1, 1);
    const y = new Float32Array(4);
    K.avgPool2d(new Float32Array([1, 1, 1, 1]), y, p);
    expect(Array.from(y)).toEqual([4 / 9, 4 / 9, 4 / 9, 4 / 9].map(Math.fround));
  });

  it('upsampleNearest and its backward', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]); // 1 plane 2×3
    const out = new Float32Array(2 * 2 * 3 * 3);
    K.fused.upsampleNearest(x, 1, 2, 3, 2, 3, out);
    for (let I = 0; I < 4; I++) for (let J = 0; J < 9; J++) expect(out[I * 9 + J]).toBe(x[Math.floor(I / 2) * 3 + Math.floor(J / 3)]);
    const dx = new Float32Array(6);
    K.fused.upsampleNearestBackward(new Float32Array(36).fill(1), 1, 2, 3, 2, 3, dx);
    expect(Array.from(dx)).toEqual([6, 6, 6, 6, 6, 6]);
  });
});
