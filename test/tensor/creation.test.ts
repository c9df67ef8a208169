/** Creation functions: shapes, values, edge cases of ranges, and the errors for bad data. */
import { describe, expect, it } from 'vitest';
import {
  arange,
  eye,
  fromArray,
  full,
  fullLike,
  Generator,
  linspace,
  oneHot,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  tensor,
  wrap,
  zeros,
  zerosLike,
} from '../../src/index.js';

describe('tensor()', () => {
  it('from a number, nested arrays, booleans', () => {
    const s = tensor(2.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(m.shape).toEqual([2, 3]);
    expect(m.toList()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensor([[[1], [2]]]).shape).toEqual([1, 2, 1]);
    expect(tensor([true, false]).toList()).toEqual([1, 0]);
  });

  it('empty arrays', () => {
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
  });

  it('from a typed array or plain flat array with a shape; values are copied', () => {
    const src = new Float32Array([1, 2, 3, 4]);
    const t = tensor(src, [2, 2]);
    src[0] = 100;
    expect(t.toList()).toEqual([1, 2, 3, 4]);
    expect(fromArray([1, 2, 3, 4, 5, 6], [3, 2]).shape).toEqual([3, 2]);
    expect(tensor(new Float64Array([0.1])).data[0]).toBe(Math.fround(0.1));
    expect(
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        [4],
      ).shape,
    ).toEqual([4]);
  });

  it('wrap shares the array', () => {
    const src = new Float32Array([1, 2]);
    const t = wrap(src, [2]);
    src[0] = 9;
    expect(t.toList()).toEqual([9, 2]);
  });

  it('rejects ragged nested arrays with a message that points at the spot', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor\(\): ragged nested array at data\[1\]: expected 2 elements, got 1/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/ragged nested array at data\[1\]: expected 2 elements, got a number/);
    expect(() => tensor([1, [2]] as never)).toThrow(/ragged nested array at data\[1\]: expected a number, got an array/);
    expect(() =>
      tensor([
        [
          [1, 2],
          [3, 4],
        ],
        [[5, 6], [7]],
      ]),
    ).toThrow(/at data\[1\]\[1\]: expected 2 elements, got 1/);
  });

  it('rejects data that does not fill the shape, and invalid shapes', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\] \(4 elements\)/);
    expect(() => zeros([2, -1])).toThrow(/invalid shape \[2, -1\]/);
    expect(() => zeros([1.5])).toThrow(/invalid shape/);
  });

  it('requiresGrad option', () => {
    expect(tensor([1], undefined, { requiresGrad: true }).requiresGrad).toBe(true);
    expect(tensor([1]).requiresGrad).toBe(false);
    expect(zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(randn([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });
});

describe('constants', () => {
  it('zeros, ones, full and the *Like forms', () => {
    expect(zeros([2, 3]).toList()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ones([2]).toList()).toEqual([1, 1]);
    expect(full([2, 2], -3).toList()).toEqual([-3, -3, -3, -3]);
    expect(full([], 7).shape).toEqual([]);
    const t = zeros([3, 1]);
    expect(onesLike(t).shape).toEqual([3, 1]);
    expect(zerosLike(t).toList()).toEqual([0, 0, 0]);
    expect(fullLike(t, 2).toList()).toEqual([2, 2, 2]);
    expect(zeros([0, 5]).size).toBe(0);
  });

  it('eye: square, rectangular, empty', () => {
    expect(eye(3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(eye(3, 2).toArray()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(eye(0).shape).toEqual([0, 0]);
    expect(eye(1).toList()).toEqual([1]);
  });
});

describe('ranges', () => {
  it('arange like torch.arange', () => {
    expect(arange(5).toList()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(2, 5).toList()).toEqual([2, 3, 4]);
    expect(arange(0, 1, 0.25).toList()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(1, 0, -0.25).toList()).toEqual([1, 0.75, 0.5, 0.25]);
    expect(arange(0, 0.3, 0.1).size).toBe(3); // 0.3/0.1 = 2.9999…
    expect(arange(0, 10, 3).toList()).toEqual([0, 3, 6, 9]);
    expect(arange(0).shape).toEqual([0]);
    expect(arange(0, 5, -1).shape).toEqual([0]);
    expect(arange(-3, -1).toList()).toEqual([-3, -2]);
    expect(() => arange(0, 5, 0)).toThrow(/arange: step must not be 0/);
  });

  it('linspace includes both ends; one step gives the start', () => {
    expect(linspace(0, 1, 5).toList()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspace(1, 0, 3).toList()).toEqual([1, 0.5, 0]);
    expect(linspace(-1, 1, 2).toList()).toEqual([-1, 1]);
    expect(linspace(3, 7, 1).toList()).toEqual([3]);
    const l = linspace(0, 0.7, 8).toList();
    expect(l[7]).toBe(Math.fround(0.7));
    expect(() => linspace(0, 1, 0)).toThrow(/linspace: steps must be a positive integer, got 0/);
    expect(() => linspace(0, 1, 2.5)).toThrow(/linspace/);
  });
});

describe('random creation', () => {
  it('randn/rand/randint are deterministic for a seeded generator', () => {
    expect(randn([5], { generator: new Generator(3) }).toList()).toEqual(randn([5], { generator: new Generator(3) }).toList());
    expect(rand([5], { generator: new Generator(3) }).toList()).toEqual(rand([5], { generator: new Generator(3) }).toList());
    expect(randint(0, 10, [5], { generator: new Generator(3) }).toList()).toEqual(
      randint(0, 10, [5], { generator: new Generator(3) }).toList(),
    );
  });

  it('rand in [0, 1); randint integers in [low, high) covering the range', () => {
    const r = rand([10000], { generator: new Generator(1) }).toList();
    expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r)).toBeLessThan(1);
    const k = randint(-2, 3, [2000], { generator: new Generator(2) }).toList();
    expect(k.every((v) => Number.isInteger(v) && v >= -2 && v < 3)).toBe(true);
    expect(new Set(k).size).toBe(5);
  });

  it('randn shape and rough moments', () => {
    const x = randn([100, 100], { generator: new Generator(4) });
    expect(x.shape).toEqual([100, 100]);
    const v = x.toList();
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(s - 1)).toBeLessThan(0.03);
  });
});

describe('oneHot', () => {
  it('rows for class labels, from an array or a tensor', () => {
    expect(oneHot([2, 0], 3).toArray()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(oneHot(tensor([1]), 2).toArray()).toEqual([[0, 1]]);
  });
  it('rejects labels outside [0, n) naming the position', () => {
    expect(() => oneHot([0, 3], 3)).toThrow(/oneHot: label 3 at position 1 is not an integer in \[0, 3\)/);
    expect(() => oneHot([0.5], 3)).toThrow(/oneHot: label 0.5/);
  });
});
