/**
 * Reductions and the softmax family: forward values against plain loops, gradients by finite
 * differences over single axes, several axes, all axes and keepdim, with tie-free inputs for max/min.
 */
import { describe, expect, it } from 'vitest';
import { argmax, logSoftmax, logsumexp, max, mean, min, softmax, std, sum, tensor, variance, type Tensor } from '../../src/index.js';
import { distinct, expectClose, expectGrad, normal } from '../helpers/engine.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

/** Reference reduction over `axes` of a row-major array with `shape`, keepdim layout. */
function refReduce(x: ArrayLike<number>, shape: number[], axes: number[], f: (vals: number[]) => number): number[] {
  const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outN = keep.reduce((a, b) => a * b, 1);
  const groups: number[][] = Array.from({ length: outN }, () => []);
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    let rem = i;
    const idx = new Array<number>(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
    }
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * keep[d]! + (axes.includes(d) ? 0 : idx[d]!);
    groups[o]!.push(x[i]!);
  }
  return groups.map(f);
}

const sumF = (v: number[]) => v.reduce((a, b) => a + b, 0);
const meanF = (v: number[]) => sumF(v) / v.length;
const varF = (v: number[]) => {
  const m = meanF(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
};

const axisCases: [string, number | number[] | undefined, number[]][] = [
  ['axis 0', 0, [0]],
  ['axis 1', 1, [1]],
  ['last axis', -1, [2]],
  ['axes [0, 2]', [0, 2], [0, 2]],
  ['axes [1, 2]', [1, 2], [1, 2]],
  ['all', undefined, [0, 1, 2]],
];

describe('reductions: forward values vs loops on [3, 4, 5]', () => {
  const x = normal([3, 4, 5], 1, false);
  for (const [name, dims, axes] of axisCases) {
    it(`sum/mean/max/min/var/std over ${name}`, () => {
      expectClose(sum(x, dims).data, refReduce(x.data, x.shape, axes, sumF), 1e-5, 'sum');
      expectClose(mean(x, dims).data, refReduce(x.data, x.shape, axes, meanF), 1e-5, 'mean');
      expectClose(
        max(x, dims).data,
        refReduce(x.data, x.shape, axes, (v) => Math.max(...v)),
        0,
        'max',
      );
      expectClose(
        min(x, dims).data,
        refReduce(x.data, x.shape, axes, (v) => Math.min(...v)),
        0,
        'min',
      );
      expectClose(variance(x, dims).data, refReduce(x.data, x.shape, axes, varF), 1e-5, 'var');
      expectClose(
        std(x, dims).data,
        refReduce(x.data, x.shape, axes, (v) => Math.sqrt(varF(v))),
        1e-5,
        'std',
      );
    });
  }

  it('output shapes with and without keepdim', () => {
    expect(sum(x).shape).toEqual([]);
    expect(sum(x, undefined, true).shape).toEqual([1, 1, 1]);
    expect(sum(x, 1).shape).toEqual([3, 5]);
    expect(sum(x, 1, true).shape).toEqual([3, 1, 5]);
    expect(mean(x, [0, 2], true).shape).toEqual([1, 4, 1]);
    expect(max(x, -1).shape).toEqual([3, 4]);
    expect(variance(x, [0, 1]).shape).toEqual([5]);
  });

  it('variance with correction 0 is the biased one', () => {
    const t = tensor([1, 2, 3, 4]);
    expect(variance(t, undefined, false, 0).item()).toBeCloseTo(1.25, 6);
    expect(variance(t).item()).toBeCloseTo(5 / 3, 6);
    expect(std(t, undefined, false, 0).item()).toBeCloseTo(Math.sqrt(1.25), 6);
  });

  it('argmax picks the first maximum and keeps or drops the dim', () => {
    const t = tensor([
      [1, 3, 3],
      [5, 2, 0],
    ]);
    expect(argmax(t, 1).toList()).toEqual([1, 0]);
    expect(argmax(t, 0).toList()).toEqual([1, 0, 0]);
    expect(argmax(t, 1, true).shape).toEqual([2, 1]);
  });

  it('reducing a dim of size 0: sum is 0, max throws naming the op', () => {
    const e = tensor(new Float32Array(0), [2, 0]);
    expect(sum(e, 1).toList()).toEqual([0, 0]);
    expect(() => max(e, 1)).toThrow(/max: cannot reduce an empty dimension/);
  });

  it('bad axes are named', () => {
    expect(() => sum(x, 3)).toThrow(/sum: dim 3 is out of range for a tensor with 3 dims/);
    expect(() => sum(x, [1, 1])).toThrow(/sum: repeated dim/);
  });
});

describe('reduction gradients', () => {
  for (const [name, dims] of axisCases) {
    for (const keepdim of [false, true]) {
      const tag = `${name}${keepdim ? ', keepdim' : ''}`;
      it(`sum ${tag}`, () => expectGrad((t) => sum(t, dims, keepdim), [normal([3, 4, 5], 2)], TIGHT));
      it(`mean ${tag}`, () => expectGrad((t) => mean(t, dims, keepdim), [normal([3, 4, 5], 3)], TIGHT));
      it(`max ${tag}`, () => expectGrad((t) => max(t, dims, keepdim), [distinct([3, 4, 5], 4)], TIGHT));
      it(`min ${tag}`, () => expectGrad((t) => min(t, dims, keepdim), [distinct([3, 4, 5], 5)], TIGHT));
      it(`var ${tag}`, () => expectGrad((t) => variance(t, dims, keepdim), [normal([3, 4, 5], 6)], TIGHT));
      // std = √var curves strongly when a group of 3 has a small spread: default tolerances
      it(`std ${tag}`, () => expectGrad((t) => std(t, dims, keepdim), [normal([3, 4, 5], 7)]));
    }
  }

  it('max ties share the gradient equally (as PyTorch for full reductions)', () => {
    const t = tensor([1, 3, 3, 2], undefined, { requiresGrad: true });
    max(t).backward();
    expect(t.grad!.toList()).toEqual([0, 0.5, 0.5, 0]);
  });

  it('sum of a 0-d tensor and over no axes', () => {
    const s = tensor(2, undefined, { requiresGrad: true });
    expectGrad((t) => sum(t), [s], TIGHT);
    expectGrad((t) => mean(t), [tensor(3, undefined, { requiresGrad: true })], TIGHT);
  });
});

describe('softmax family', () => {
  it('softmax rows sum to 1 and match exp/Σexp', () => {
    const x = normal([4, 6], 10, false);
    const s = softmax(x, 1);
    const rows = refReduce(s.data, [4, 6], [1], sumF);
    expectClose(rows, [1, 1, 1, 1], 1e-6);
    for (let r = 0; r < 4; r++) {
      const v = Array.from(x.data.subarray(r * 6, r * 6 + 6));
      const z = v.reduce((a, b) => a + Math.exp(b), 0);
      expectClose(
        s.data.subarray(r * 6, r * 6 + 6),
        v.map((u) => Math.exp(u) / z),
        1e-6,
      );
    }
  });

  it('softmax, logSoftmax and logsumexp are stable for large inputs', () => {
    const x = tensor([
      [1000, 1001, 1002],
      [-1000, -1000, -1000],
    ]);
    const s = softmax(x);
    expect(s.toList().every(Number.isFinite)).toBe(true);
    expectClose(s.data.subarray(3), [1 / 3, 1 / 3, 1 / 3], 1e-6);
    const ls = logSoftmax(x);
    // float32 spacing at 1000 is 6e-5
    expectClose(ls.data.subarray(0, 3), [-2.40760596, -1.40760596, -0.40760596], 1e-4);
    expectClose(logsumexp(x, 1).data, [1002.40760596, -1000 + Math.log(3)], 1e-6);
  });

  it('logsumexp over all dims and keepdim shapes', () => {
    const x = normal([2, 3], 11, false);
    const ref = Math.log(x.toList().reduce((a, b) => a + Math.exp(b), 0));
    expect(logsumexp(x).item()).toBeCloseTo(ref, 5);
    expect(logsumexp(x).shape).toEqual([]);
    expect(logsumexp(x, 0, true).shape).toEqual([1, 3]);
    expect(logsumexp(x, [0, 1]).shape).toEqual([]);
  });

  for (const dim of [0, 1, -1]) {
    it(`softmax gradient over dim ${dim}`, () => expectGrad((t) => softmax(t, dim), [normal([3, 5], 12)], TIGHT));
    it(`logSoftmax gradient over dim ${dim}`, () => expectGrad((t) => logSoftmax(t, dim), [normal([3, 5], 13)], TIGHT));
    it(`logsumexp gradient over dim ${dim}`, () => expectGrad((t) => logsumexp(t, dim), [normal([3, 5], 14)], TIGHT));
  }
  it('softmax over the channel dim of a 4-D tensor', () => {
    expectGrad((t) => softmax(t, 1), [normal([2, 3, 2, 2], 15)], TIGHT);
  });
  it('logsumexp over several axes with keepdim', () => {
    expectGrad((t) => logsumexp(t, [0, 2], true), [normal([2, 3, 4], 16)], TIGHT);
    expectGrad((t: Tensor) => logsumexp(t), [normal([2, 3], 17)], TIGHT);
  });
});
