/** Linear, Identity, Flatten, Unflatten: shapes, PyTorch's default init bounds, and errors. */
import { describe, expect, it } from 'vitest';
import { Generator, nn, tensor, zeros } from '../../src/index.js';
import { expectGrad, normal } from '../helpers/engine.js';

describe('Linear', () => {
  it('weight is [out, in], bias [out]; y = x·Wᵀ + b', () => {
    const l = new nn.Linear(3, 2);
    expect(l.weight.shape).toEqual([2, 3]);
    expect(l.bias!.shape).toEqual([2]);
    l.weight.data.set([1, 0, 0, 0, 1, 1]);
    l.bias!.data.set([0.5, -0.5]);
    expect(l.forward(tensor([[1, 2, 3]])).toList()).toEqual([1.5, 4.5]);
    expect(l.forward(zeros([4, 5, 3])).shape).toEqual([4, 5, 2]);
  });

  it('PyTorch default init: weight and bias in ±1/√fan_in, filling the range', () => {
    for (const fanIn of [4, 100, 784]) {
      const l = new nn.Linear(fanIn, 64, { generator: new Generator(fanIn) });
      const bound = 1 / Math.sqrt(fanIn);
      const w = l.weight.toList();
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...w)).toBeGreaterThan(0.9 * bound);
      expect(Math.min(...w)).toBeLessThan(-0.9 * bound);
      // U(−b, b) has variance b²/3
      const v = w.reduce((a, x) => a + x * x, 0) / w.length;
      expect(v / ((bound * bound) / 3)).toBeGreaterThan(0.85);
      expect(v / ((bound * bound) / 3)).toBeLessThan(1.15);
      expect(Math.max(...l.bias!.toList().map(Math.abs))).toBeLessThanOrEqual(bound);
    }
  });

  it('the same generator seed gives the same weights', () => {
    const a = new nn.Linear(5, 3, { generator: new Generator(9) });
    const b = new nn.Linear(5, 3, { generator: new Generator(9) });
    expect(a.weight.toList()).toEqual(b.weight.toList());
    expect(a.bias!.toList()).toEqual(b.bias!.toList());
  });

  it('bias: false registers no bias', () => {
    const l = new nn.Linear(3, 2, { bias: false });
    expect(l.bias).toBeNull();
    expect(Object.keys(l.stateDict())).toEqual(['weight']);
    expect(l.numParameters()).toBe(6);
  });

  it('gradients w.r.t. input, weight and bias', () => {
    const l = new nn.Linear(3, 2, { generator: new Generator(1) });
    expectGrad(
      (x, w, b) => {
        l.weight = w;
        l.bias = b;
        return l.forward(x);
      },
      [normal([4, 3], 2), normal([2, 3], 3), normal([2], 4)],
      { atol: 1e-4, rtol: 1e-3 },
    );
  });

  it('feature mismatch names the layer shapes; bad sizes are rejected', () => {
    const l = new nn.Linear(4, 2);
    expect(() => l.forward(zeros([3, 5]))).toThrow(/linear: input \[3, 5\] has 5 features, weight \[2, 4\] expects 4/);
    expect(() => new nn.Linear(0, 2)).toThrow(/Linear: inFeatures must be a positive integer, got 0/);
    expect(() => new nn.Linear(2, 1.5)).toThrow(/Linear: outFeatures must be a positive integer/);
  });
});

describe('shape layers', () => {
  it('Identity, Flatten, Unflatten', () => {
    const x = zeros([2, 3, 4, 5]);
    expect(new nn.Identity().forward(x)).toBe(x);
    expect(new nn.Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new nn.Flatten(0).forward(x).shape).toEqual([120]);
    expect(new nn.Flatten(2).forward(x).shape).toEqual([2, 3, 20]);
    expect(new nn.Unflatten(1, [64, 7, 7]).forward(zeros([2, 3136])).shape).toEqual([2, 64, 7, 7]);
    expect(() => new nn.Unflatten(1, [64, 7, 7]).forward(zeros([2, 3000]))).toThrow(
      /unflatten: sizes \[64, 7, 7\] \(product 3136\) do not match dim 1 of size 3000/,
    );
  });
});

// torch.nn.Linear(in_features, out_features, bias=True); Flatten(start_dim=1, end_dim=-1);
// Unflatten(dim, unflattened_size); Identity(*args) ignores its arguments
describe("PyTorch's positional arguments", () => {
  it('Linear(in, out, bias)', () => {
    const l = new nn.Linear(3, 2, false);
    expect(l.bias).toBeNull();
    expect(Object.keys(l.stateDict())).toEqual(['weight']);
    expect(new nn.Linear(3, 2, true).bias!.shape).toEqual([2]);
    const a = new nn.Linear(3, 2, false, { generator: new Generator(2) });
    const b = new nn.Linear(3, 2, { bias: false, generator: new Generator(2) });
    expect(a.weight.toList()).toEqual(b.weight.toList());
    expect(() => new nn.Linear(3, 2, 'no' as never)).toThrow(/Linear: bias must be true or false, got "no"/);
    expect(() => new nn.Linear(3, 2, false, { bias: false })).toThrow(/Linear: got 'bias' twice/);
  });

  it('Flatten(startDim, endDim), Unflatten(dim, sizes), Identity(anything)', () => {
    expect(new nn.Flatten(0, 1).forward(zeros([2, 3, 4])).shape).toEqual([6, 4]);
    expect(new nn.Flatten(0).forward(zeros([2, 3, 4])).shape).toEqual([24]);
    expect(new nn.Flatten({ endDim: 1 }).forward(zeros([2, 3, 4, 5])).shape).toEqual([2, 3, 4, 5]);
    expect(new nn.Flatten({ startDim: 2 }).forward(zeros([2, 3, 4, 5])).shape).toEqual([2, 3, 20]);
    expect(new nn.Unflatten(1, [2, 3]).forward(zeros([4, 6])).shape).toEqual([4, 2, 3]);
    expect(() => new nn.Unflatten(1, [2, 0])).toThrow(/Unflatten: unflattenedSize must be a non-empty list of positive integers/);
    const x = tensor([1, 2]);
    expect(new nn.Identity(54, { unused: 1 }).forward(x)).toBe(x);
  });
});
