/**
 * Reductions against the js reference: sum / max / min over every layout the kernel's modes
 * cover and the ones it hands to the reference, NaN propagation, empty inputs, argmax.
 */
import { it } from 'vitest';
import type { ReduceOp, Shape } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, prod, randArr, w, wb } from './helpers.js';

eachBuild('reduce', () => {
  // --- reduce / argmax -------------------------------------------------------------------------

  const reduceCases: [Shape, number[], string][] = [
    [[1], [0], 'single'],
    [[37], [0], 'all 1-d'],
    [[5, 7], [0, 1], 'all 2-d'],
    [[6, 33], [1], 'last axis'],
    [[33, 6], [0], 'first axis'],
    [[33, 13], [0], 'first axis, odd width'],
    [[4, 9, 11], [1], 'middle axis'],
    [[2, 4, 9, 11], [0, 2, 3], 'bias grad of NCHW'],
    [[3, 4, 5, 6], [0, 2], 'R K R K (general)'],
    [[3, 1, 5], [1], 'size-1 axis only'],
    [[3, 1, 5], [0, 1], 'with size-1 axis'],
    [[2, 3], [], 'no axes'],
    [[100_003], [0], 'large all'],
    [[129, 1000], [1], 'large last axis (threaded)'],
    [[1000, 129], [0], 'large first axis (threaded)'],
    [[3, 3000, 37], [1], 'large middle, few outer (threaded)'],
    [[40, 300, 17], [1], 'large middle (threaded)'],
    [[16, 32, 14, 14], [0, 2, 3], 'large NCHW bias grad (threaded)'],
  ];

  it('reduce: sum / max / min over every layout', () => {
    for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
      for (const [shape, axes, name] of reduceCases) {
        const x = randArr(prod(shape), -1, 1);
        const outLen = prod(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
        const o1 = wb.alloc(outLen);
        const o2 = new Float32Array(outLen);
        wb.reduce(op, w(x), shape, axes, o1);
        js.reduce(op, x, shape, axes, o2);
        // Sums: the reference accumulates in float32 along some layouts; allow for its rounding.
        const scale = op === 'sum' ? Math.sqrt(prod(shape) / outLen) : 0;
        expectClose(o1, o2, `reduce ${op} ${name}`, { rtol: op === 'sum' ? 1e-5 : 0, scale });
        wb.free(o1);
      }
    }
  });

  it('reduce: NaN propagates through max/min; empty input', () => {
    const x = randArr(40);
    x[17] = NaN;
    for (const op of ['max', 'min', 'sum'] as ReduceOp[]) {
      for (const [shape, axes] of [
        [[40], [0]],
        [[4, 10], [1]],
        [[4, 10], [0]],
      ] as [Shape, number[]][]) {
        const outLen = prod(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
        const o1 = new Float32Array(outLen);
        const o2 = new Float32Array(outLen);
        wb.reduce(op, x, shape, axes, o1);
        js.reduce(op, x, shape, axes, o2);
        expectClose(o1, o2, `reduce ${op} NaN ${shape}/${axes}`);
      }
      const o1 = new Float32Array(3);
      const o2 = new Float32Array(3);
      wb.reduce(op, new Float32Array(0), [0, 3], [0], o1);
      js.reduce(op, new Float32Array(0), [0, 3], [0], o2);
      expectClose(o1, o2, `reduce ${op} empty`);
    }
  });

  it('argmax', () => {
    for (const [shape, axis] of [
      [[10], 0],
      [[4, 7], 1],
      [[4, 7], 0],
      [[2, 3, 5], 1],
    ] as [Shape, number][]) {
      const x = randArr(prod(shape));
      const outLen = prod(shape) / shape[axis]!;
      const o1 = wb.alloc(outLen);
      const o2 = new Float32Array(outLen);
      wb.argmax(w(x), shape, axis, o1);
      js.argmax(x, shape, axis, o2);
      expectClose(o1, o2, `argmax ${shape} axis ${axis}`);
    }
  });
});
