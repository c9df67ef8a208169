/**
 * Gradient semantics of the tape: accumulation, retainGraph, the second-backward error, noGrad,
 * detach, requiresGrad_, diamond graphs, retainGrad on intermediates, explicit upstream gradients,
 * and the errors for non-scalar roots.
 */
import { describe, expect, it } from 'vitest';
import {
  add,
  backward,
  conv2d,
  convTranspose2d,
  exp,
  flatten,
  isGradEnabled,
  linear,
  losses,
  mm,
  mul,
  noGrad,
  ones,
  reshape,
  setGradEnabled,
  sigmoid,
  sum,
  tanh,
  tensor,
  tidy,
} from '../../src/index.js';
import { expectClose, expectGrad, normal, uniform } from '../helpers/engine.js';

const leaf = (v: number[]) => tensor(v, undefined, { requiresGrad: true });

describe('backward', () => {
  it('computes d/dx of a scalar function', () => {
    const x = leaf([1, 2, 3]);
    sum(mul(mul(x, x), x)).backward();
    expect(x.grad!.toList()).toEqual([3, 12, 27]);
  });

  it('gradients accumulate across two backward calls', () => {
    const x = leaf([1, 2]);
    sum(mul(x, 3)).backward();
    sum(mul(x, x)).backward();
    expect(x.grad!.toList()).toEqual([3 + 2, 3 + 4]);
  });

  it('a leaf whose rule made its gradient just now takes it without a copy, and later backwards accumulate into it', () => {
    // mm's rule makes a fresh tensor for each input: it becomes .grad as is (no copy)
    const a = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const b = tensor([5, 6, 7, 8], [2, 2], { requiresGrad: true });
    const y = sum(mm(a, b));
    y.backward(undefined, { retainGraph: true });
    expect(a.grad!.toList()).toEqual([11, 15, 11, 15]);
    expect(b.grad!.toList()).toEqual([4, 4, 6, 6]);
    y.backward();
    expect(a.grad!.toList()).toEqual([22, 30, 22, 30]);
    expect(b.grad!.toList()).toEqual([8, 8, 12, 12]);
  });

  it('a gradient handed to two leaves (add(x, y)) or to one leaf twice (add(x, x)) is not shared', () => {
    const x = leaf([1, 2]);
    const y = leaf([3, 4]);
    sum(add(x, y)).backward();
    sum(mul(x, 5)).backward(); // accumulates into x.grad in place
    expect(x.grad!.toList()).toEqual([6, 6]);
    expect(y.grad!.toList()).toEqual([1, 1]);
    const z = leaf([1, 2]);
    sum(mul(add(z, z), 3)).backward();
    expect(z.grad!.toList()).toEqual([6, 6]);
    // a view of the upstream gradient (reshape's rule) is copied, not taken
    const w = leaf([1, 2, 3, 4]);
    const v = reshape(w, [2, 2]);
    const s = sum(mul(v, v));
    s.backward();
    sum(mul(w, 1)).backward();
    expect(w.grad!.toList()).toEqual([3, 5, 7, 9]);
  });

  it('retainGraph lets backward run through the same graph twice (and accumulates)', () => {
    const x = leaf([1, 2]);
    const y = sum(exp(x));
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expectClose(x.grad!.data, [2 * Math.E, 2 * Math.exp(2)], 1e-6);
  });

  it('a second backward without retainGraph throws a clear error', () => {
    const x = leaf([1, 2]);
    const y = sum(exp(x));
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time.*retainGraph: true/);
  });

  it('reusing an intermediate in a new graph after its graph was freed throws instead of silently dropping the gradient', () => {
    const x = leaf([1, 2]);
    const h = exp(x);
    sum(h).backward();
    const y = sum(mul(h, 3));
    // PyTorch: "Trying to backward through the graph a second time"; never a silently wrong x.grad
    expect(() => y.backward()).toThrow(/second time/);
    expect(h.isLeaf).toBe(false);
  });

  it('backward through a graph whose intermediates a tidy scope disposed throws instead of dropping gradients', () => {
    const x = leaf([1, 2]);
    const y = tidy(() => exp(mul(x, 2)));
    expect(() => sum(y).backward()).toThrow(/input 0 of 'exp' \(shape \[2\]\) was disposed.*before backward/);
  });

  it('a diamond graph (x used twice) sums both paths', () => {
    const x = leaf([0.5, -1]);
    const a = mul(x, 2);
    const b = exp(x);
    const y = sum(mul(a, b)); // y = 2x·eˣ, dy/dx = 2eˣ(1 + x)
    y.backward();
    expectClose(
      x.grad!.data,
      [0.5, -1].map((v) => 2 * Math.exp(v) * (1 + v)),
      1e-6,
    );
  });

  it('a deeper diamond: x feeds four paths that merge at different depths', () => {
    const x = leaf([0.3]);
    const a = mul(x, x); // x²
    const b = add(a, x); // x² + x
    const c = mul(b, a); // (x² + x)·x²
    const y = sum(add(c, mul(b, x))); // x⁴ + x³ + x³ + x²
    y.backward();
    const v = 0.3;
    expect(x.grad!.item()).toBeCloseTo(4 * v ** 3 + 6 * v ** 2 + 2 * v, 6);
  });

  it('retainGrad keeps the gradient of a non-leaf', () => {
    const x = leaf([1, 2]);
    const h = mul(x, 3).retainGrad();
    const k = mul(x, 4); // not retained
    sum(mul(add(h, k), h)).backward();
    // y = (h + k)·h, dy/dh = 2h + k
    expect(h.grad!.toList()).toEqual([2 * 3 + 4, 2 * 6 + 8]);
    expect(k.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });

  it('retainGrad on the root gives ones', () => {
    const x = leaf([1, 2]);
    const y = sum(x).retainGrad();
    y.backward();
    expect(y.grad!.item()).toBe(1);
  });

  it('backward with a given upstream gradient (vector-Jacobian product)', () => {
    const x = leaf([1, 2, 3]);
    const y = mul(x, x);
    y.backward(tensor([1, 0.5, -1]));
    expect(x.grad!.toList()).toEqual([2, 2, -6]);
  });

  it('a non-scalar backward without a gradient names the shape', () => {
    const y = mul(leaf([1, 2]), 2);
    expect(() => y.backward()).toThrow(/backward\(\): a gradient must be given for a non-scalar tensor of shape \[2\]/);
  });

  it('a gradient of the wrong shape names both shapes', () => {
    const y = mul(leaf([1, 2]), 2);
    expect(() => y.backward(tensor([1, 2, 3]))).toThrow(/gradient shape \[3\] does not match tensor shape \[2\]/);
  });

  it('backward on a tensor that does not require grad explains why', () => {
    expect(() => sum(tensor([1, 2])).backward()).toThrow(/does not require grad/);
  });

  it('backward on a leaf accumulates the given gradient into it', () => {
    const x = tensor(3, undefined, { requiresGrad: true });
    x.backward();
    expect(x.grad!.item()).toBe(1);
    const v = leaf([1, 2]);
    v.backward(tensor([5, 6]));
    expect(v.grad!.toList()).toEqual([5, 6]);
  });

  it('the functional backward(root, grad) matches the method', () => {
    const x = leaf([2]);
    backward(sum(mul(x, x)));
    expect(x.grad!.item()).toBe(4);
  });

  it('a 0-d or [1]-shaped root is a scalar', () => {
    const x = leaf([2]);
    mul(x, 3).backward();
    expect(x.grad!.item()).toBe(3);
  });

  it('inputs without requiresGrad get no .grad', () => {
    const x = leaf([1]);
    const c = tensor([5]);
    sum(mul(x, c)).backward();
    expect(c.grad).toBeNull();
    expect(x.grad!.item()).toBe(5);
  });

  it("the gradient is a copy: modifying .grad does not change the graph's values", () => {
    const x = leaf([1, 2]);
    const y = mul(x, 2);
    sum(y).backward();
    x.grad!.data[0] = 100;
    expect(y.toList()).toEqual([2, 4]);
  });

  it('many-input graph: gradient reaches every leaf once', () => {
    const xs = Array.from({ length: 20 }, (_, i) => leaf([i / 10]));
    let acc = xs[0]!;
    for (const x of xs.slice(1)) acc = add(acc, tanh(x));
    sum(acc).backward();
    expect(xs[0]!.grad!.item()).toBe(1);
    for (const [i, x] of xs.slice(1).entries()) expect(x.grad!.item()).toBeCloseTo(1 - Math.tanh((i + 1) / 10) ** 2, 6);
  });

  it('a long chain (10,000 ops) does not overflow the stack', () => {
    const x = leaf([1]);
    let y = x;
    for (let i = 0; i < 10_000; i++) y = mul(y, 1);
    sum(y).backward();
    expect(x.grad!.item()).toBe(1);
  });
});

describe('whole models', () => {
  it('a small conv autoencoder: gradients of the loss w.r.t. the input and every parameter', () => {
    const params = [
      normal([3, 1, 3, 3], 1),
      normal([3], 2),
      normal([4, 12], 3),
      normal([4], 4),
      normal([12, 4], 5),
      normal([3, 1, 2, 2], 6),
    ];
    const x = uniform([2, 1, 4, 4], 0, 1, 7);
    const target = uniform([2, 1, 4, 4], 0, 1, 8, false);
    expectGrad(
      (inp, w1, b1, w2, b2, w3, w4) => {
        const h = tanh(conv2d(inp!, w1!, b1!, { stride: 2, padding: 1 })); // (2, 3, 2, 2)
        const z = tanh(linear(flatten(h, 1), w2!, b2!)); // (2, 4)
        const d = reshape(linear(z, w3!), [2, 3, 2, 2]);
        const y = sigmoid(convTranspose2d(d, w4!, null, { stride: 2 })); // (2, 1, 4, 4)
        return losses.bce(y, target);
      },
      [x, ...params],
      { atol: 1e-4, rtol: 1e-3 },
    );
  });
});

describe('recording switches', () => {
  it('noGrad records nothing and restores the previous state, even on throw', () => {
    const x = leaf([1, 2]);
    const y = noGrad(() => mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    // nested
    noGrad(() => {
      setGradEnabled(true, () => expect(mul(x, 2).requiresGrad).toBe(true));
      expect(isGradEnabled()).toBe(false);
    });
  });

  it('detach cuts the graph', () => {
    const x = leaf([1, 2]);
    const d = mul(x, 2).detach();
    expect(d.requiresGrad).toBe(false);
    const y = sum(mul(d, x));
    y.backward();
    expect(x.grad!.toList()).toEqual([2, 4]);
  });

  it('requiresGrad_ turns gradients on for a leaf and refuses a non-leaf', () => {
    const x = tensor([1, 2]);
    expect(x.requiresGrad_()).toBe(x);
    expect(x.requiresGrad).toBe(true);
    sum(mul(x, x)).backward();
    expect(x.grad!.toList()).toEqual([2, 4]);
    const h = mul(x, 2);
    expect(() => h.requiresGrad_(false)).toThrow(/only leaf tensors/);
    x.requiresGrad_(false);
    expect(mul(x, 2).requiresGrad).toBe(false);
  });

  it('ops on tensors that do not require grad build no graph', () => {
    const y = mul(ones([2]), 3);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
  });

  it('the printed tensor names its grad_fn', () => {
    const y = mul(leaf([1]), leaf([2]));
    expect(String(y)).toMatch(/grad_fn=mul/);
    expect(String(leaf([1]))).toMatch(/requiresGrad=true/);
  });
});
