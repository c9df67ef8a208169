/**
 * The reference js kernels: Reductions over arbitrary axes, NaN propagation, and argmax, against naive loops.
 */
import { describe, expect, it } from 'vitest';

import { jsBackend as K } from '../../../src/kernels/js/index.js';
import { expectClose } from '../../helpers/engine.js';
import { prod, ravel, rnd, unravel } from './helpers.js';

describe('reduce over arbitrary axes', () => {
  const shapes: number[][] = [[7], [3, 4], [2, 3, 4], [2, 1, 3, 5], [3, 2, 2, 2, 3]];
  for (const shape of shapes) {
    const rank = shape.length;
    // every non-empty subset of axes
    for (let mask = 1; mask < 1 << rank; mask++) {
      const axes = [...Array(rank).keys()].filter((d) => mask & (1 << d));
      it(`shape [${shape}] axes [${axes}]`, () => {
        const x = rnd(prod(shape));
        const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = prod(keep);
        const refS = new Float64Array(n);
        const refMax = new Float64Array(n).fill(-Infinity);
        const refMin = new Float64Array(n).fill(Infinity);
        for (let i = 0; i < x.length; i++) {
          const idx = unravel(i, shape).map((v, d) => (axes.includes(d) ? 0 : v));
          const o = ravel(idx, keep);
          refS[o] = refS[o]! + x[i]!;
          refMax[o] = Math.max(refMax[o]!, x[i]!);
          refMin[o] = Math.min(refMin[o]!, x[i]!);
        }
        const out = new Float32Array(n);
        K.reduce('sum', x, shape, axes, out);
        expectClose(out, refS, 1e-5, 'sum');
        K.reduce('max', x, shape, axes, out);
        expectClose(out, refMax, 0, 'max');
        K.reduce('min', x, shape, axes, out);
        expectClose(out, refMin, 0, 'min');
      });
    }
  }

  it('max/min propagate NaN', () => {
    const out = new Float32Array(1);
    K.reduce('max', new Float32Array([1, NaN, 2]), [3], [0], out);
    expect(out[0]).toBeNaN();
    K.reduce('min', new Float32Array([1, 2, NaN]), [3], [0], out);
    expect(out[0]).toBeNaN();
  });

  it('argmax along each axis picks the first maximum', () => {
    const shape = [3, 4, 5];
    const x = rnd(60);
    for (let axis = 0; axis < 3; axis++) {
      const outShape = shape.filter((_, i) => i !== axis);
      const out = new Float32Array(prod(outShape));
      K.argmax(x, shape, axis, out);
      for (let o = 0; o < out.length; o++) {
        const idx = unravel(o, outShape);
        let best = -Infinity;
        let bi = -1;
        for (let j = 0; j < shape[axis]!; j++) {
          const full = [...idx];
          full.splice(axis, 0, j);
          const v = x[ravel(full, shape)]!;
          if (v > best) {
            best = v;
            bi = j;
          }
        }
        expect(out[o]).toBe(bi);
      }
    }
    const ties = new Float32Array(1);
    K.argmax(new Float32Array([2, 5, 5]), [3], 0, ties);
    expect(ties[0]).toBe(1);
  });
});
