/**
 * Data movement against the js reference, exactly: slices and their adjoint, index select / add
 * (wasm row runs, strided and short runs in js), permute, and gatherRows8.
 */
import { expect, it } from 'vitest';

import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, randArr, w, wb } from './helpers.js';

eachBuild('shape', () => {
  it('gatherRows8: every byte value scaled as k/255 in float32, odd row lengths, threaded; foreign bytes; bad indices', () => {
    const unit = Float32Array.from({ length: 256 }, (_, k) => k / 255);
    for (const [rows, d, m] of [
      [5, 1, 3],
      [9, 15, 9],
      [7, 16, 4],
      [300, 263, 200],
      [1000, 784, 128],
    ] as const) {
      const src = wb.fused.allocBytes(rows * d);
      for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 8)) & 255;
      const idx = Int32Array.from({ length: m }, (_, j) => (j * 37 + 3) % rows);
      const out = wb.alloc(m * d, false);
      wb.fused.gatherRows8(src, d, idx, out);
      const want = new Float32Array(m * d);
      for (let j = 0; j < m; j++) for (let k = 0; k < d; k++) want[j * d + k] = unit[src[idx[j]! * d + k]!]!;
      expect(Array.from(out), `${rows}×${d}, ${m} rows`).toEqual(Array.from(want));
      const ref = new Float32Array(m * d);
      js.fused.gatherRows8(src, d, idx, ref);
      expect(Array.from(ref)).toEqual(Array.from(want));
      // bytes outside wasm memory: the reference path, same values
      const out2 = new Float32Array(m * d);
      wb.fused.gatherRows8(Uint8Array.from(src), d, idx, out2);
      expect(Array.from(out2)).toEqual(Array.from(want));
      wb.free(src);
      wb.free(out);
    }
    const src = wb.fused.allocBytes(12);
    expect(src.length).toBe(12);
    expect(Array.from(src).every((v) => v === 0)).toBe(true);
    expect(() => wb.fused.gatherRows8(src, 4, Int32Array.from([0, 3]), wb.alloc(8))).toThrow(
      /index 3 at position 1 is not a row of the 3 in src/,
    );
    expect(() => js.fused.gatherRows8(src, 4, Int32Array.from([-1]), new Float32Array(4))).toThrow(/index -1 at position 0/);
    wb.free(src);
  });

  // --- index shuffles, pooling, upsampling (delegated, checked anyway) ------------------------

  it('slice and sliceAdd equal the js reference exactly: unit-stride runs (wasm copy / add), strided and short runs', () => {
    const cases: [number[], number[], number[], number[]][] = [
      // shape, starts, steps, outShape
      [
        [128, 794],
        [0, 0],
        [1, 1],
        [128, 784],
      ], // concat's part: rows of 784
      [
        [128, 794],
        [0, 784],
        [1, 1],
        [128, 10],
      ], // the label part: runs of 10
      [
        [64, 3],
        [0, 1],
        [1, 1],
        [64, 2],
      ], // runs of 2: JS path
      [
        [6, 40, 33],
        [1, 2, 0],
        [2, 3, 1],
        [3, 12, 33],
      ], // 3-d, strided outer axes, unit inner runs
      [
        [5, 70],
        [0, 1],
        [1, 2],
        [5, 30],
      ], // strided inner axis: JS path
      [[7], [2], [1], [5]],
    ];
    for (const [shape, starts, steps, outShape] of cases) {
      const what = `shape ${JSON.stringify(shape)} starts ${JSON.stringify(starts)} steps ${JSON.stringify(steps)}`;
      const x = randArr(shape.reduce((a, b) => a * b, 1));
      const m = outShape.reduce((a, b) => a * b, 1);
      const s1 = wb.alloc(m);
      const s2 = new Float32Array(m);
      wb.slice(w(x), shape, starts, steps, s1, outShape);
      js.slice(x, shape, starts, steps, s2, outShape);
      expect(Array.from(s1), `slice ${what}`).toEqual(Array.from(s2));
      const g = randArr(m);
      const base = randArr(x.length);
      const a1 = w(base);
      const a2 = Float32Array.from(base);
      wb.sliceAdd(w(g), outShape, starts, steps, a1, shape);
      js.sliceAdd(g, outShape, starts, steps, a2, shape);
      expect(Array.from(a1), `sliceAdd ${what}`).toEqual(Array.from(a2));
    }
  });

  it('indexSelect and indexAdd equal the js reference exactly (row runs through wasm, repeated indices add in order)', () => {
    const cases: [number[], number, number[]][] = [
      [[50, 16], 0, [3, 3, 49, 0, 7]], // rows of 16: wasm path; 3 repeated
      [[4, 9, 12], 1, [8, 0, 8, 2]], // axis 1 of 3-d: runs of 12
      [[6, 5], 1, [4, 0]], // runs of 1: JS path
    ];
    for (const [shape, axis, list] of cases) {
      const what = `shape ${JSON.stringify(shape)} axis ${axis}`;
      const idx = Int32Array.from(list);
      const x = randArr(shape.reduce((a, b) => a * b, 1));
      const outShape = shape.slice();
      outShape[axis] = idx.length;
      const m = outShape.reduce((a, b) => a * b, 1);
      const o1 = wb.alloc(m);
      const o2 = new Float32Array(m);
      wb.indexSelect(w(x), shape, axis, idx, o1);
      js.indexSelect(x, shape, axis, idx, o2);
      expect(Array.from(o1), `indexSelect ${what}`).toEqual(Array.from(o2));
      const g = randArr(m);
      const base = randArr(x.length);
      const a1 = w(base);
      const a2 = Float32Array.from(base);
      wb.indexAdd(w(g), shape, axis, idx, a1);
      js.indexAdd(g, shape, axis, idx, a2);
      expect(Array.from(a1), `indexAdd ${what}`).toEqual(Array.from(a2));
    }
    expect(() => wb.indexSelect(w(randArr(32)), [2, 16], 0, Int32Array.of(2), wb.alloc(16))).toThrow(
      /index 2 at position 0 is outside 0\.\.1/,
    );
  });

  it('permute, slice, sliceAdd, indexSelect, indexAdd', () => {
    const shape = [3, 4, 5];
    const x = randArr(60);
    for (const perm of [
      [1, 0, 2],
      [2, 1, 0],
      [0, 2, 1],
    ]) {
      const o1 = wb.alloc(60);
      const o2 = new Float32Array(60);
      wb.permute(w(x), shape, perm, o1);
      js.permute(x, shape, perm, o2);
      expectClose(o1, o2, `permute ${perm}`);
    }
    const t1 = wb.alloc(20);
    const t2 = new Float32Array(20);
    wb.permute(w(x.subarray(0, 20)), [4, 5], [1, 0], t1);
    js.permute(x.subarray(0, 20), [4, 5], [1, 0], t2);
    expectClose(t1, t2, 'transpose');

    const starts = [1, 0, 1];
    const steps = [1, 2, 2];
    const outShape = [2, 2, 2];
    const s1 = wb.alloc(8);
    const s2 = new Float32Array(8);
    wb.slice(w(x), shape, starts, steps, s1, outShape);
    js.slice(x, shape, starts, steps, s2, outShape);
    expectClose(s1, s2, 'slice');
    const acc1 = w(x);
    const acc2 = Float32Array.from(x);
    wb.sliceAdd(s1, outShape, starts, steps, acc1, shape);
    js.sliceAdd(s2, outShape, starts, steps, acc2, shape);
    expectClose(acc1, acc2, 'sliceAdd');

    const idx = Int32Array.from([2, 0, 2, 1]);
    const i1 = wb.alloc(3 * 4 * 5);
    const i2 = new Float32Array(60);
    wb.indexSelect(w(x), shape, 1, idx, i1);
    js.indexSelect(x, shape, 1, idx, i2);
    expectClose(i1, i2, 'indexSelect');
    const a1 = wb.alloc(60);
    const a2 = new Float32Array(60);
    wb.indexAdd(i1, shape, 1, idx, a1);
    js.indexAdd(i2, shape, 1, idx, a2);
    expectClose(a1, a2, 'indexAdd');
  });
});
