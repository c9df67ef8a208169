/**
 * The reference js kernels: permute, slice and its adjoint, index select / add, against index-by-index loops.
 */
import { describe, expect, it } from 'vitest';

import { jsBackend as K } from '../../../src/kernels/js/index.js';

import { prod, ravel, rnd, unravel } from './helpers.js';

describe('permute', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 4],
      [1, 0],
    ],
    [
      [40, 70],
      [1, 0],
    ], // blocked path across block edges
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 0, 2],
    ],
    [
      [1, 5, 1, 2],
      [2, 3, 0, 1],
    ],
    [[4], [0]],
  ];
  for (const [shape, perm] of cases)
    it(`[${shape}] by [${perm}]`, () => {
      const x = rnd(prod(shape));
      const outShape = perm.map((p) => shape[p]!);
      const out = new Float32Array(x.length);
      K.permute(x, shape, perm, out);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, outShape);
        const ii = new Array<number>(shape.length);
        perm.forEach((p, d) => (ii[p] = oi[d]!));
        expect(out[o]).toBe(x[ravel(ii, shape)]);
      }
    });
});

describe('slice and sliceAdd', () => {
  const cases: { shape: number[]; starts: number[]; steps: number[]; outShape: number[] }[] = [
    { shape: [10], starts: [2], steps: [3], outShape: [3] },
    { shape: [4, 5], starts: [1, 0], steps: [1, 2], outShape: [3, 3] },
    { shape: [3, 4, 5], starts: [2, 1, 4], steps: [1, 2, 1], outShape: [1, 2, 1] },
    { shape: [2, 6, 3], starts: [0, 5, 0], steps: [1, 1, 2], outShape: [2, 1, 2] },
    { shape: [3, 3], starts: [0, 0], steps: [1, 1], outShape: [0, 3] },
  ];
  for (const c of cases)
    it(`[${c.shape}] from [${c.starts}] step [${c.steps}] → [${c.outShape}], and its adjoint`, () => {
      const x = rnd(prod(c.shape));
      const out = new Float32Array(prod(c.outShape));
      K.slice(x, c.shape, c.starts, c.steps, out, c.outShape);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, c.outShape);
        expect(out[o]).toBe(
          x[
            ravel(
              oi.map((v, d) => c.starts[d]! + v * c.steps[d]!),
              c.shape,
            )
          ],
        );
      }
      // sliceAdd accumulates into out and is the adjoint: ⟨slice(x), g⟩ = ⟨x, sliceAdd(g)⟩
      const g = rnd(out.length);
      const acc = rnd(x.length);
      const acc0 = acc.slice();
      K.sliceAdd(g, c.outShape, c.starts, c.steps, acc, c.shape);
      const delta = Array.from(acc, (v, i) => v - acc0[i]!);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < out.length; i++) lhs += out[i]! * g[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * delta[i]!;
      expect(rhs).toBeCloseTo(lhs, 4);
    });
});

describe('indexSelect and indexAdd', () => {
  for (const [shape, axis] of [
    [[5, 3], 0],
    [[2, 5, 3], 1],
    [[2, 3, 5], 2],
  ] as const)
    it(`[${shape}] along ${axis} with repeats`, () => {
      const x = rnd(prod(shape));
      const idx = Int32Array.from([4, 0, 4, 2]);
      const outShape = shape.map((d, i) => (i === axis ? idx.length : d));
      const out = new Float32Array(prod(outShape));
      K.indexSelect(x, shape, axis, idx, out);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, outShape);
        oi[axis] = idx[oi[axis]!]!;
        expect(out[o]).toBe(x[ravel(oi, shape)]);
      }
      const acc = new Float32Array(x.length);
      K.indexAdd(out, shape, axis, idx, acc);
      // each source slice is added back once per occurrence of its index
      for (let i = 0; i < x.length; i++) {
        const k = unravel(i, shape)[axis]!;
        const times = Array.from(idx).filter((v) => v === k).length;
        expect(acc[i]).toBeCloseTo(x[i]! * times, 5);
      }
    });
});
