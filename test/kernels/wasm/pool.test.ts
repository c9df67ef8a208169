/**
 * Pooling and upsampling against the js reference, exactly: max pooling (the 2×2 vector path
 * and the general one, padding, NaN), average pooling, nearest upsampling, and their gradients.
 */
import { expect, it } from 'vitest';
import type { Pool2dParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, randArr, w, wb } from './helpers.js';

eachBuild('pool', () => {
  // Pooling geometries both pooling tests use.
  const POOL_2X2_28: [string, Pool2dParams] = [
    '2x2/2 over 28x28, 64 planes',
    { batch: 8, channels: 8, inH: 28, inW: 28, outH: 14, outW: 14, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
  ];

  const POOL_3X3_PAD1: [string, Pool2dParams] = [
    '3x3/2 pad 1 over 7x9',
    { batch: 3, channels: 5, inH: 7, inW: 9, outH: 4, outW: 5, kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
  ];

  it('maxPool2d and its gradient equal the js reference exactly (padding, odd sizes, NaN, many planes)', () => {
    /** The gradient of both backends from the same g (wasm with wasmIdx, js with jsIdx), exactly. */
    const expectSameGradient = (what: string, g: Float32Array, wasmIdx: Float32Array, jsIdx: Float32Array, n: number, p: Pool2dParams) => {
      const block = wb.alloc(n + 8);
      block.fill(7); // the kernel zeroes its output first, and nothing past it
      const d1 = block.subarray(0, n);
      const d2 = new Float32Array(n);
      wb.maxPool2dBackward(w(g), wasmIdx, d1, p);
      js.maxPool2dBackward(g, jsIdx, d2, p);
      expect(Array.from(d1), what).toEqual(Array.from(d2));
      expect(Array.from(block.subarray(n)), `${what}: past the output`).toEqual(new Array(8).fill(7));
    };
    const cases: [string, Pool2dParams][] = [
      POOL_2X2_28,
      POOL_3X3_PAD1,
      [
        '3x2/1 over 5x4',
        { batch: 1, channels: 2, inH: 5, inW: 4, outH: 3, outW: 3, kH: 3, kW: 2, strideH: 1, strideW: 1, padH: 0, padW: 0 },
      ],
      // the vector path (pool.ts maxPool2x2Quad): rows of 7 windows (one quad, then the last four
      // again), an odd input width, values with many ties, and two NaNs in one window
      // ceil mode: the last window of each row and column hangs over the input's edge (odd sizes)
      [
        '2x2/2 ceil over 7x9',
        { batch: 2, channels: 3, inH: 7, inW: 9, outH: 4, outW: 5, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
      ],
      [
        '2x2/2 over 15x15, ties',
        { batch: 4, channels: 3, inH: 15, inW: 15, outH: 7, outW: 7, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
      ],
    ];
    for (const [name, p] of cases) {
      const planes = p.batch * p.channels;
      const x = randArr(planes * p.inH * p.inW);
      if (name.endsWith('ties')) {
        for (let i = 0; i < x.length; i++) x[i] = Math.floor(4 * Math.abs(x[i]!)) - 2;
        x[2 * p.inW + 12] = NaN; // window (1, 6): top-left and bottom-right
        x[3 * p.inW + 13] = NaN;
        x[p.inW + 1] = -0; // ±0 tie in window (0, 0)
        x[1] = 0;
        x[0] = -7;
        x[p.inW] = -7;
      }
      x[3] = NaN;
      x[x.length - 1] = -Infinity;
      const m = planes * p.outH * p.outW;
      // outputs inside larger blocks whose tails must stay untouched (no write past a row's end)
      const [ob, ib] = [wb.alloc(m + 8), wb.alloc(m + 8)];
      ob.fill(-5);
      ib.fill(-5);
      const [o1, i1] = [ob.subarray(0, m), ib.subarray(0, m)];
      const [o2, i2] = [new Float32Array(m), new Float32Array(m)];
      wb.maxPool2d(w(x), o1, i1, p);
      js.maxPool2d(x, o2, i2, p);
      expect(Array.from(o1), `${name} values`).toEqual(Array.from(o2));
      expect(Array.from(i1), `${name} indices`).toEqual(Array.from(i2));
      expect([...ob.subarray(m), ...ib.subarray(m)], `${name}: past the outputs`).toEqual(new Array(16).fill(-5));
      expectSameGradient(`${name} gradient`, randArr(m), i1, i2, x.length, p);
    }
    // Indices that are not window-local (the 2×2/2 vector path of the gradient must give way to
    // the scatter): two windows point at the same element, one at another window's, one at none.
    const p: Pool2dParams = {
      batch: 2,
      channels: 3,
      inH: 9,
      inW: 12,
      outH: 4,
      outW: 6,
      kH: 2,
      kW: 2,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
    };
    const m = 6 * 4 * 6;
    const idx = new Float32Array(m);
    const x = randArr(6 * 9 * 12);
    js.maxPool2d(x, new Float32Array(m), idx, p);
    idx[7] = idx[0]!;
    idx[30] = 200;
    idx[40] = -1;
    expectSameGradient('gradient with foreign indices', randArr(m), w(idx), idx, x.length, p);
  });

  it('avgPool2d, upsampleNearest and their gradients equal the js reference exactly (padding, odd sizes, many planes)', () => {
    const cases: [string, Pool2dParams][] = [
      POOL_2X2_28,
      POOL_3X3_PAD1,
      [
        '3x2/1 pad 1,0 over 5x4',
        { batch: 1, channels: 2, inH: 5, inW: 4, outH: 5, outW: 3, kH: 3, kW: 2, strideH: 1, strideW: 1, padH: 1, padW: 0 },
      ],
      [
        '2x2/2 over 32x32, 128 planes (threaded)',
        { batch: 8, channels: 16, inH: 32, inW: 32, outH: 16, outW: 16, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
      ],
    ];
    for (const [name, p] of cases) {
      const planes = p.batch * p.channels;
      const x = randArr(planes * p.inH * p.inW);
      const m = planes * p.outH * p.outW;
      const o1 = wb.alloc(m);
      const o2 = new Float32Array(m);
      wb.avgPool2d(w(x), o1, p);
      js.avgPool2d(x, o2, p);
      expect(Array.from(o1), `${name} values`).toEqual(Array.from(o2));
      const g = randArr(m);
      const d1 = wb.alloc(x.length);
      d1.fill(7); // the kernel zeroes its output first
      const d2 = new Float32Array(x.length);
      wb.avgPool2dBackward(w(g), d1, p);
      js.avgPool2dBackward(g, d2, p);
      expect(Array.from(d1), `${name} gradient`).toEqual(Array.from(d2));
    }
    for (const [planes, h, wd, sh, sw] of <[number, number, number, number, number][]>[
      [64, 14, 14, 2, 2],
      [128, 16, 16, 2, 2], // threaded
      [3, 5, 7, 3, 1],
      [2, 1, 3, 1, 4],
    ]) {
      const x = randArr(planes * h * wd);
      const big = x.length * sh * sw;
      const u1 = wb.alloc(big);
      const u2 = new Float32Array(big);
      wb.fused.upsampleNearest(w(x), planes, h, wd, sh, sw, u1);
      js.fused.upsampleNearest(x, planes, h, wd, sh, sw, u2);
      expect(Array.from(u1), `upsample ${planes}x${h}x${wd} by ${sh}x${sw}`).toEqual(Array.from(u2));
      const g = randArr(big);
      const d1 = wb.alloc(x.length);
      d1.fill(7);
      const d2 = new Float32Array(x.length);
      wb.fused.upsampleNearestBackward(w(g), planes, h, wd, sh, sw, d1);
      js.fused.upsampleNearestBackward(g, planes, h, wd, sh, sw, d2);
      expect(Array.from(d1), `upsample gradient ${planes}x${h}x${wd} by ${sh}x${sw}`).toEqual(Array.from(d2));
    }
  });

  it('pooling and upsampling', () => {
    const p: Pool2dParams = {
      batch: 2,
      channels: 3,
      inH: 7,
      inW: 6,
      outH: 4,
      outW: 3,
      kH: 3,
      kW: 2,
      strideH: 2,
      strideW: 2,
      padH: 1,
      padW: 0,
    };
    const x = randArr(2 * 3 * 7 * 6);
    const n = 2 * 3 * 4 * 3;
    const o1 = wb.alloc(n);
    const o2 = new Float32Array(n);
    const i1 = wb.alloc(n);
    const i2 = new Float32Array(n);
    wb.maxPool2d(w(x), o1, i1, p);
    js.maxPool2d(x, o2, i2, p);
    expectClose(o1, o2, 'maxPool2d');
    expectClose(i1, i2, 'maxPool2d idx');
    const g = randArr(n);
    const d1 = wb.alloc(x.length);
    const d2 = new Float32Array(x.length);
    wb.maxPool2dBackward(w(g), i1, d1, p);
    js.maxPool2dBackward(g, i2, d2, p);
    expectClose(d1, d2, 'maxPool2dBackward');
    wb.avgPool2d(w(x), o1, p);
    js.avgPool2d(x, o2, p);
    expectClose(o1, o2, 'avgPool2d');
    wb.avgPool2dBackward(w(g), d1, p);
    js.avgPool2dBackward(g, d2, p);
    expectClose(d1, d2, 'avgPool2dBackward');

    const u = randArr(2 * 3 * 4);
    const u1 = wb.alloc(2 * 3 * 4 * 6);
    const u2 = new Float32Array(2 * 3 * 4 * 6);
    wb.fused.upsampleNearest(w(u), 2, 3, 4, 2, 3, u1);
    js.fused.upsampleNearest(u, 2, 3, 4, 2, 3, u2);
    expectClose(u1, u2, 'upsampleNearest');
    const ug = randArr(u1.length);
    const b1 = wb.alloc(u.length);
    const b2 = new Float32Array(u.length);
    wb.fused.upsampleNearestBackward(w(ug), 2, 3, 4, 2, 3, b1);
    js.fused.upsampleNearestBackward(ug, 2, 3, 4, 2, 3, b2);
    expectClose(b1, b2, 'upsampleNearestBackward');
  });
});
