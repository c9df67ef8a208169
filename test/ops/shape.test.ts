/**
 * Shape ops: views share storage, copies reorder correctly, slicing follows Python's rules
 * (negative indices, steps, clamped ends), and every op's gradient passes finite differences.
 */
import { describe, expect, it } from 'vitest';
import {
  arange,
  cat,
  chunk,
  clone,
  concat,
  detach,
  expand,
  flatten,
  gather,
  indexSelect,
  mul,
  narrow,
  permute,
  reshape,
  select,
  slice,
  split,
  squeeze,
  stack,
  sum,
  sumTo,
  tensor,
  transpose,
  unflatten,
  unsqueeze,
  view,
  type Tensor,
} from '../../src/index.js';
import { expectGrad, normal } from '../helpers/engine.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };
const r234 = () => arange(24).reshape(2, 3, 4);

describe('views', () => {
  it('reshape/view/flatten/unflatten/squeeze/unsqueeze share storage', () => {
    const x = r234();
    for (const v of [
      reshape(x, [6, 4]),
      view(x, [4, -1]),
      flatten(x),
      flatten(x, 1),
      unflatten(x, 2, [2, 2]),
      unsqueeze(x, 0),
      squeeze(unsqueeze(x, 1)),
    ])
      expect(v.data).toBe(x.data);
    const y = reshape(x, [24]);
    y.data[5] = 100;
    expect(x.data[5]).toBe(100);
  });

  it('shapes', () => {
    const x = r234();
    expect(reshape(x, [-1]).shape).toEqual([24]);
    expect(reshape(x, [4, -1, 2]).shape).toEqual([4, 3, 2]);
    expect(flatten(x).shape).toEqual([24]);
    expect(flatten(x, 1).shape).toEqual([2, 12]);
    expect(flatten(x, 0, 1).shape).toEqual([6, 4]);
    expect(flatten(tensor(3)).shape).toEqual([1]);
    expect(unflatten(flatten(x, 1), 1, [3, 4]).shape).toEqual([2, 3, 4]);
    expect(unsqueeze(x, -1).shape).toEqual([2, 3, 4, 1]);
    expect(unsqueeze(x, 1).shape).toEqual([2, 1, 3, 4]);
    const s = tensor(new Float32Array(6), [1, 2, 1, 3]);
    expect(squeeze(s).shape).toEqual([2, 3]);
    expect(squeeze(s, 2).shape).toEqual([1, 2, 3]);
    expect(squeeze(s, 1).shape).toEqual([1, 2, 1, 3]);
    expect(squeeze(s, -2).shape).toEqual([1, 2, 3]);
  });

  it('reshape errors name the shapes', () => {
    expect(() => reshape(r234(), [5, 5])).toThrow(/reshape: cannot reshape tensor of shape \[2, 3, 4\] \(24 elements\) into \[5, 5\]/);
    expect(() => reshape(r234(), [-1, -1])).toThrow(/only one dim may be -1/);
    expect(() => reshape(r234(), [7, -1])).toThrow(/reshape: cannot reshape/);
    expect(() => unflatten(r234(), 1, [2, 2])).toThrow(/unflatten: sizes \[2, 2\]/);
  });

  it('detach shares storage, has no graph and does not require grad', () => {
    const x = normal([3], 1);
    const y = mul(x, 2);
    const d = detach(y);
    expect(d.data).toBe(y.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
  });
});

describe('copies', () => {
  it('permute and transpose', () => {
    const x = r234();
    const p = permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expect(p.data[k * 6 + i * 3 + j]).toBe(i * 12 + j * 4 + k);
    const t = transpose(x, 0, 2);
    expect(t.shape).toEqual([4, 3, 2]);
    expect(t.data[1 * 6 + 2 * 2 + 1]).toBe(1 * 12 + 2 * 4 + 1);
    expect(transpose(tensor([[1, 2, 3]])).toArray()).toEqual([[1], [2], [3]]);
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).T.toArray(),
    ).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(permute(x, [-3, -2, -1]).data).toBe(x.data);
    expect(() => permute(x, [0, 0, 1])).toThrow(/permute: \[0, 0, 1\] is not a permutation/);
    expect(() => permute(x, [0, 1])).toThrow(/permute: 2 dims given for a tensor of shape \[2, 3, 4\]/);
  });

  it('expand', () => {
    const x = tensor([[1], [2]]);
    expect(expand(x, [2, 3]).toArray()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(expand(x, [2, 2, 3]).shape).toEqual([2, 2, 3]);
    expect(expand(x, [-1, 4]).shape).toEqual([2, 4]);
    expect(() => expand(x, [3, 3])).toThrow(/expand/);
  });

  it('expand: a scalar, repeated rows and leading dims, and a middle broadcast give the same copies', () => {
    expect(expand(tensor([[7]]), [2, 3]).toArray()).toEqual([
      [7, 7, 7],
      [7, 7, 7],
    ]);
    const row = tensor([1, 2, 3]);
    expect(expand(row, [2, 3]).toArray()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(expand(tensor([[[1, 2]], [[3, 4]]]), [2, 3, 2]).toArray()).toEqual([
      [
        [1, 2],
        [1, 2],
        [1, 2],
      ],
      [
        [3, 4],
        [3, 4],
        [3, 4],
      ],
    ]);
    expect(expand(tensor([[1, 2]]), [1, 3, 2]).toArray()).toEqual([
      [
        [1, 2],
        [1, 2],
        [1, 2],
      ],
    ]);
  });

  it('slice: ranges, steps, negative indices, numbers drop the dim, ends clamp', () => {
    const x = r234();
    const a = slice(x, 1, [0, 3, 2], [-3, undefined]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.toArray()).toEqual([
      [13, 14, 15],
      [21, 22, 23],
    ]);
    const b = slice(x, null, { start: -1 }, { step: 3 });
    expect(b.shape).toEqual([2, 1, 2]);
    expect(b.toList()).toEqual([8, 11, 20, 23]);
    expect(slice(x, -1, -1, -1).shape).toEqual([]);
    expect(slice(x, -1, -1, -1).item()).toBe(23);
    expect(slice(x, { start: 1, end: 100 }).shape).toEqual([1, 3, 4]);
    expect(slice(x, { start: 5 }).shape).toEqual([0, 3, 4]);
    expect(slice(x, null, { start: -100, end: -2 }).shape).toEqual([2, 1, 4]);
    expect(slice(x, null, null, { start: 1, step: 2 }).toList().slice(0, 4)).toEqual([1, 3, 5, 7]);
    expect(x.slice(0, 1).toList()).toEqual([4, 5, 6, 7]);
  });

  it('slice errors', () => {
    expect(() => slice(r234(), 2)).toThrow(/slice: index 2 is out of range for dim 0 of size 2/);
    expect(() => slice(r234(), null, { step: 0 })).toThrow(/slice: step must be a positive integer/);
    expect(() => slice(r234(), 0, 0, 0, 0)).toThrow(/slice: 4 indices/);
  });

  it('narrow and select', () => {
    const x = r234();
    expect(narrow(x, 2, 1, 2).toList()).toEqual([1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22]);
    expect(narrow(x, -2, 2, 1).shape).toEqual([2, 1, 4]);
    expect(select(x, 1, -1).toArray()).toEqual([
      [8, 9, 10, 11],
      [20, 21, 22, 23],
    ]);
    expect(select(x, 0, 1).shape).toEqual([3, 4]);
    expect(() => narrow(x, 2, 3, 2)).toThrow(/narrow: range \[3, 5\) is out of bounds for dim 2 of size 4/);
  });

  it('concat, stack, split, chunk', () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([[5, 6]]);
    expect(concat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(cat([a, tensor([[7], [8]])], 1).toArray()).toEqual([
      [1, 2, 7],
      [3, 4, 8],
    ]);
    expect(cat([a, tensor([[7], [8]])], -1).shape).toEqual([2, 3]);
    expect(stack([a, a]).shape).toEqual([2, 2, 2]);
    expect(stack([a, a], 2).toList()).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(stack([a, a], -1).shape).toEqual([2, 2, 2]);
    const x = arange(10);
    expect(split(x, 4).map((t) => t.toList())).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(split(x, [2, 3, 5]).map((t) => t.shape[0])).toEqual([2, 3, 5]);
    expect(chunk(x, 3).map((t) => t.shape[0])).toEqual([4, 4, 2]);
    expect(chunk(r234(), 2, 2).map((t) => t.shape)).toEqual([
      [2, 3, 2],
      [2, 3, 2],
    ]);
    expect(() => concat([a, tensor([[1, 2, 3]])])).toThrow(/concat: tensor 1 has shape \[1, 3\], incompatible with \[2, 2\]/);
    expect(() => stack([a, b])).toThrow(/stack: tensor 1 has shape \[1, 2\], expected \[2, 2\]/);
    expect(() => split(x, [2, 3])).toThrow(/split: sizes \[2, 3\] do not add up to 10/);
    expect(() => concat([])).toThrow(/concat: needs at least one tensor/);
  });

  it('indexSelect and gather', () => {
    const x = r234();
    expect(indexSelect(x, 2, [3, 0, 3]).toList().slice(0, 6)).toEqual([3, 0, 3, 7, 4, 7]);
    expect(indexSelect(x, 0, tensor([1])).shape).toEqual([1, 3, 4]);
    expect(indexSelect(x, 1, [-1]).toList().slice(0, 4)).toEqual([8, 9, 10, 11]);
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(
      gather(
        m,
        1,
        tensor([
          [2, 0],
          [1, 1],
        ]),
      ).toArray(),
    ).toEqual([
      [3, 1],
      [5, 5],
    ]);
    expect(gather(m, 0, tensor([[1, 0, 1]])).toArray()).toEqual([[4, 2, 6]]);
    expect(() => indexSelect(x, 0, [2])).toThrow(/indexSelect: index 2 at position 0 is out of range for size 2/);
    expect(() => gather(m, 1, tensor([[3]]))).toThrow(/gather: index 3 at position 0 is out of range for size 3/);
    expect(() => gather(m, 1, tensor([3]))).toThrow(/gather: index has shape \[1\], expected 2 dims/);
  });

  it('clone copies storage', () => {
    const x = tensor([1, 2]);
    const c = clone(x);
    expect(c.data).not.toBe(x.data);
    c.data[0] = 9;
    expect(x.data[0]).toBe(1);
  });

  it('sumTo undoes broadcasting', () => {
    const g = arange(24).reshape(2, 3, 4);
    expect(sumTo(g, [4]).toList()).toEqual([60, 66, 72, 78]);
    expect(sumTo(g, [3, 1]).toList()).toEqual([60, 92, 124]);
    expect(sumTo(g, [2, 3, 4]).data).toBe(g.data);
    expect(sumTo(g, []).item()).toBe(276);
  });
});

describe('shape-op gradients', () => {
  const x = () => normal([2, 3, 4], 1);
  // a non-trivial function after the op, so the upstream gradient is not uniform
  const after = (t: Tensor) => mul(t, t);
  it('reshape', () => expectGrad((t) => after(reshape(t, [4, 6])), [x()], TIGHT));
  it('flatten', () => expectGrad((t) => after(flatten(t, 1)), [x()], TIGHT));
  it('unflatten', () => expectGrad((t) => after(unflatten(t, 2, [2, 2])), [x()], TIGHT));
  it('squeeze/unsqueeze', () => {
    expectGrad((t) => after(unsqueeze(t, 1)), [x()], TIGHT);
    expectGrad((t) => after(squeeze(t, 0)), [normal([1, 3], 2)], TIGHT);
  });
  it('permute', () => expectGrad((t) => after(permute(t, [2, 0, 1])), [x()], TIGHT));
  it('transpose', () => expectGrad((t) => after(transpose(t, 0, 2)), [x()], TIGHT));
  it('transpose 2-D', () => expectGrad((t) => after(transpose(t)), [normal([3, 5], 3)], TIGHT));
  it('expand', () => {
    expectGrad((t) => after(expand(t, [2, 3, 4])), [normal([3, 1], 4)], TIGHT);
    expectGrad((t) => after(expand(t, [5, 3])), [normal([3], 5)], TIGHT);
  });
  it('slice with steps and negative indices', () => {
    expectGrad((t) => after(slice(t, null, [-2, undefined], [1, undefined, 2])), [x()], TIGHT);
    expectGrad((t) => after(slice(t, -1, { step: 2 })), [x()], TIGHT);
    expectGrad((t) => after(slice(t, 0, 1, 2)), [x()], TIGHT);
  });
  it('narrow', () => expectGrad((t) => after(narrow(t, 1, 1, 2)), [x()], TIGHT));
  it('select', () => expectGrad((t) => after(select(t, 2, -1)), [x()], TIGHT));
  it('concat along 0, 1 and the last dim, three inputs', () => {
    expectGrad((a, b) => after(concat([a, b], 0)), [normal([2, 3], 6), normal([1, 3], 7)], TIGHT);
    expectGrad((a, b, c) => after(concat([a, b, c], 1)), [normal([2, 1], 8), normal([2, 3], 9), normal([2, 2], 10)], TIGHT);
    expectGrad((a, b) => after(concat([a, b], -1)), [normal([2, 2, 1], 11), normal([2, 2, 3], 12)], TIGHT);
  });
  it('concat of the same tensor twice', () => expectGrad((a) => after(concat([a, a], 1)), [normal([2, 3], 13)], TIGHT));
  it('stack', () => {
    expectGrad((a, b) => after(stack([a, b], 0)), [normal([2, 3], 14), normal([2, 3], 15)], TIGHT);
    expectGrad((a, b) => after(stack([a, b], 2)), [normal([2, 3], 16), normal([2, 3], 17)], TIGHT);
  });
  it('split and chunk (pieces recombined with different weights)', () => {
    expectGrad(
      (t) => {
        const [a, b] = split(t, 2, 2) as [Tensor, Tensor];
        return sum(after(a)).add(sum(mul(b, 3)));
      },
      [x()],
      TIGHT,
    );
    expectGrad(
      (t) => {
        const [a, b, c] = split(t, [1, 2, 1], 2) as [Tensor, Tensor, Tensor];
        return concat([after(a), mul(b, -2), c], 2);
      },
      [x()],
      TIGHT,
    );
    expectGrad(
      (t) => {
        const parts = chunk(t, 3, 1);
        return concat([mul(parts[0]!, 2), parts[2]!, after(parts[1]!)], 1);
      },
      [x()],
      TIGHT,
    );
  });
  it('indexSelect with repeated indices (gradients accumulate)', () => {
    expectGrad((t) => after(indexSelect(t, 1, [2, 0, 2, 2])), [x()], TIGHT);
    expectGrad((t) => after(indexSelect(t, 0, [1, 1])), [x()], TIGHT);
  });
  it('gather along 0 and 1', () => {
    const idx = tensor([
      [2, 0, 0],
      [1, 1, 2],
    ]);
    expectGrad((t) => after(gather(t, 1, idx)), [normal([2, 3], 18)], TIGHT);
    expectGrad(
      (t) =>
        after(
          gather(
            t,
            0,
            tensor([
              [1, 0, 1],
              [1, 1, 0],
            ]),
          ),
        ),
      [normal([2, 3], 19)],
      TIGHT,
    );
  });
  it('clone', () => expectGrad((t) => after(clone(t)), [x()], TIGHT));
  it('detach stops the gradient', () => {
    const t = normal([3], 20);
    const y = mul(detach(mul(t, 2)), t);
    sum(y).backward();
    // d/dt (c·t) with c = 2t held constant is c = 2t
    expect(t.grad!.toList()).toEqual(t.toList().map((v) => Math.fround(2 * v)));
  });
});
