/**
 * The Tensor object: printing (PyTorch's layout), toArray/item/toList, views sharing storage,
 * dispose and tidy semantics, and the live-tensor counter.
 */
import { describe, expect, it } from 'vitest';
import { add, arange, keep, liveTensorCount, mul, ones, reshape, sum, tensor, tidy, zeros, Tensor } from '../../src/index.js';

describe('printing', () => {
  it('a matrix: aligned columns, four decimals, rows on their own lines', () => {
    expect(
      String(
        tensor([
          [1.5, -2.25],
          [3, 4],
        ]),
      ),
    ).toBe('tensor([[ 1.5000, -2.2500],\n        [ 3.0000,  4.0000]], shape=[2, 2])');
  });

  it('integer-valued floats print as PyTorch does ("1.")', () => {
    expect(String(tensor([1, 2, 3]))).toBe('tensor([1., 2., 3.], shape=[3])');
    expect(String(tensor([-10, 5]))).toBe('tensor([-10.,   5.], shape=[2])');
  });

  it('3-D: a blank line between matrices, nested indentation', () => {
    expect(String(zeros([2, 2, 2]))).toBe(
      'tensor([[[0., 0.],\n         [0., 0.]],\n\n        [[0., 0.],\n         [0., 0.]]], shape=[2, 2, 2])',
    );
  });

  it('a 0-d tensor, an empty tensor', () => {
    expect(String(tensor(3.5))).toBe('tensor(3.5000, shape=[])');
    expect(String(tensor([]))).toBe('tensor([], shape=[0])');
  });

  it('small tensors print in full; large ones (> 1000 elements) are summarised with ...', () => {
    expect(String(arange(10))).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7., 8., 9.], shape=[10])');
    expect(String(arange(2000))).toBe('tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000])');
    const big = String(reshape(arange(1200), [40, 30]));
    expect(big.split('\n')).toHaveLength(7);
    expect(big).toMatch(/^tensor\(\[\[   0\.,    1\.,    2\., \.\.\.,   27\.,   28\.,   29\.\],\n/);
    expect(big).toMatch(/\n        \.\.\.,\n/);
  });

  it('scientific notation for very small or large magnitudes; nan and inf', () => {
    expect(String(tensor([1e-5, 0.5]))).toBe('tensor([1.0000e-5, 5.0000e-1], shape=[2])');
    expect(String(tensor([NaN, Infinity, 1]))).toBe('tensor([nan, inf, 1.], shape=[3])');
    expect(String(tensor([0.5, -Infinity]))).toBe('tensor([0.5000,   -inf], shape=[2])');
  });

  it('names grad_fn or requiresGrad, and a disposed tensor says so', () => {
    const x = tensor([1], undefined, { requiresGrad: true });
    expect(String(x)).toBe('tensor([1.], shape=[1], requiresGrad=true)');
    expect(String(mul(x, 2))).toBe('tensor([2.], shape=[1], grad_fn=mulScalar)');
    const y = tensor([1, 2]);
    y.dispose();
    expect(String(y)).toBe('Tensor(disposed, shape=[2])');
  });
});

describe('values out', () => {
  it('toArray gives nested arrays of the shape, a number for 0-d', () => {
    expect(arange(6).reshape(2, 3).toArray()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(arange(8).reshape(2, 2, 2).toArray()).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
    expect(tensor(7).toArray()).toBe(7);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
  });

  it('item reads a one-element tensor and refuses others, naming the shape', () => {
    expect(tensor(2.5).item()).toBe(2.5);
    expect(tensor([[4]]).item()).toBe(4);
    expect(() => tensor([1, 2]).item()).toThrow(/item\(\): tensor has 2 elements \(shape \[2\]\), expected 1/);
  });

  it('toList is a flat copy', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    const l = t.toList();
    l[0] = 9;
    expect(t.toList()).toEqual([1, 2, 3, 4]);
  });

  it('size, ndim and strides', () => {
    const t = zeros([2, 3, 4]);
    expect(t.size).toBe(24);
    expect(t.ndim).toBe(3);
    expect(t.strides).toEqual([12, 4, 1]);
    expect(tensor(1).strides).toEqual([]);
  });

  it('the constructor checks the data length against the shape', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] needs 6 elements, data has 5/);
  });
});

describe('storage and views', () => {
  it('reshape shares storage: writes show through both ways', () => {
    const x = arange(6);
    const y = reshape(x, [2, 3]);
    expect(y.data).toBe(x.data);
    y.data[4] = 40;
    expect(x.data[4]).toBe(40);
    x.data[0] = -1;
    expect(y.toArray()).toEqual([
      [-1, 1, 2],
      [3, 40, 5],
    ]);
  });

  it('disposing a view keeps the base alive, and vice versa', () => {
    const x = arange(4);
    const v = x.reshape(2, 2);
    v.dispose();
    expect(x.toList()).toEqual([0, 1, 2, 3]);
    const w = x.reshape(4, 1);
    x.dispose();
    expect(w.toList()).toEqual([0, 1, 2, 3]);
  });
});

describe('dispose and tidy', () => {
  it('use after dispose throws a clear error from data, item, toArray and ops', () => {
    const x = tensor([1, 2]);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(() => x.data).toThrow(/Tensor of shape \[2\] was used after dispose\(\)/);
    expect(() => x.toArray()).toThrow(/used after dispose/);
    expect(() => add(x, tensor([1, 2]))).toThrow(/add: first input of shape \[2\] was used after dispose\(\)/);
    const s = tensor(5);
    s.dispose();
    expect(s.size).toBe(1);
    expect(() => s.item()).toThrow(/used after dispose/);
  });

  it('dispose is idempotent and counts once', () => {
    const before = liveTensorCount();
    const x = tensor([1]);
    expect(liveTensorCount()).toBe(before + 1);
    x.dispose();
    x.dispose();
    expect(liveTensorCount()).toBe(before);
  });

  it('a tensor returned from tidy survives; the others are disposed', () => {
    const before = liveTensorCount();
    let inner: Tensor[] = [];
    const out = tidy(() => {
      const a = tensor([1, 2]);
      const b = mul(a, 2);
      const c = add(b, 1);
      inner = [a, b];
      return c;
    });
    expect(out.toList()).toEqual([3, 5]);
    expect(inner.every((t) => t.isDisposed)).toBe(true);
    expect(liveTensorCount()).toBe(before + 1);
  });

  it('arrays and plain objects of tensors returned from tidy survive', () => {
    const r = tidy(() => {
      const a = tensor([1]);
      return { a, list: [mul(a, 2), mul(a, 3)], n: 4 };
    });
    expect(r.a.item()).toBe(1);
    expect(r.list.map((t) => t.item())).toEqual([2, 3]);
  });

  it('keep() saves a tensor from every enclosing scope', () => {
    let kept: Tensor | null = null;
    let dropped: Tensor | null = null;
    tidy(() => {
      tidy(() => {
        kept = keep(tensor([1]));
        dropped = tensor([2]);
      });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
  });

  it('nested tidy: the inner result belongs to the outer scope', () => {
    let innerResult: Tensor | null = null;
    const outer = tidy(() => {
      innerResult = tidy(() => add(tensor([1]), 1));
      expect(innerResult.isDisposed).toBe(false);
      return mul(innerResult, 3);
    });
    expect(outer.item()).toBe(6);
    expect(innerResult!.isDisposed).toBe(true);
  });

  it('a view returned from tidy keeps its storage although its base was disposed', () => {
    const v = tidy(() => reshape(arange(4), [2, 2]));
    expect(v.toArray()).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('tensors made outside any tidy are not touched; a throw inside tidy leaves the scopes sane', () => {
    const outside = ones([2]);
    expect(() =>
      tidy(() => {
        tensor([1]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const after = tensor([1]); // must not be registered in a stale scope
    tidy(() => tensor([2]));
    expect(outside.isDisposed).toBe(false);
    expect(after.isDisposed).toBe(false);
  });

  it('backward inside tidy: parameter gradients survive, intermediates are freed, the count is flat', () => {
    const w = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const step = () =>
      tidy(() => {
        const loss = sum(mul(mul(w, w), 0.5));
        loss.backward();
      });
    step();
    const base = liveTensorCount();
    for (let i = 0; i < 20; i++) step();
    expect(liveTensorCount()).toBe(base);
    expect(w.grad!.toList()).toEqual([21, 42, 63]);
  });
});
