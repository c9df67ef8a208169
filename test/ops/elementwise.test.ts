/**
 * Elementwise ops: forward values against hand-computed broadcasts, gradients by finite
 * differences (every arithmetic op in tensor and scalar form, with broadcasting), activations
 * away from their kinks, and shape errors that name the op and both shapes.
 */
import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  clamp,
  div,
  elu,
  eq,
  exp,
  Generator,
  ge,
  gt,
  le,
  leakyRelu,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  prelu,
  reciprocal,
  relu,
  sigmoid,
  sign,
  softplus,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  tensor,
  where,
  type Tensor,
  unaryGrad,
} from '../../src/index.js';
import type { UnaryGradOp } from '../../src/kernels/backend.js';
import { awayFromZero, expectClose, expectGrad, normal, uniform } from '../helpers/engine.js';
import { expectFusedMatchesComposite } from '../helpers/fused.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

/** Values (2k + parity)·0.1 for random k in 0..9. */
function grid(shape: number[], parity: number, seed: number): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, () => (2 * g.int(10) + parity) * 0.1),
    shape,
    { requiresGrad: true },
  );
}

describe('broadcasting forward values', () => {
  it('[3,1] + [1,4] gives the outer sum', () => {
    const a = tensor([[1], [2], [3]]);
    const b = tensor([[10, 20, 30, 40]]);
    const c = add(a, b);
    expect(c.shape).toEqual([3, 4]);
    expect(c.toArray()).toEqual([
      [11, 21, 31, 41],
      [12, 22, 32, 42],
      [13, 23, 33, 43],
    ]);
  });

  it('[2,3,4] − [4] subtracts the row from every row', () => {
    const a = tensor(
      Float32Array.from({ length: 24 }, (_, i) => i),
      [2, 3, 4],
    );
    const b = tensor([1, 2, 3, 4]);
    const c = sub(a, b);
    expect(c.shape).toEqual([2, 3, 4]);
    for (let i = 0; i < 24; i++) expect(c.data[i]).toBe(i - (1 + (i % 4)));
  });

  it('[1] × [2,3] and a 0-d scalar × [2,3]', () => {
    const a = tensor([2]);
    const b = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(mul(a, b).shape).toEqual([2, 3]);
    expect(mul(a, b).toArray()).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ]);
    expect(mul(tensor(3), b).toArray()).toEqual([
      [3, 6, 9],
      [12, 15, 18],
    ]);
    expect(mul(b, tensor(3)).shape).toEqual([2, 3]);
  });

  it('[2,1,3] / [4,1] broadcasts both ways to [2,4,3]', () => {
    const a = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 1, 3]);
    const b = tensor([[1], [2], [4], [8]]);
    const c = div(a, b);
    expect(c.shape).toEqual([2, 4, 3]);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expect(c.data[i * 12 + j * 3 + k]).toBeCloseTo((i * 3 + k + 1) / 2 ** j, 6);
  });

  it('scalar forms: x + 2, 2 − x, x · 3, x / 4, 2 / x, x ** 3, 2 ** x', () => {
    const x = tensor([1, 2, 4]);
    expect(add(x, 2).toList()).toEqual([3, 4, 6]);
    expect(add(2, x).toList()).toEqual([3, 4, 6]);
    expect(sub(x, 2).toList()).toEqual([-1, 0, 2]);
    expect(sub(2, x).toList()).toEqual([1, 0, -2]);
    expect(mul(x, 3).toList()).toEqual([3, 6, 12]);
    expect(mul(3, x).toList()).toEqual([3, 6, 12]);
    expect(div(x, 4).toList()).toEqual([0.25, 0.5, 1]);
    expect(div(2, x).toList()).toEqual([2, 1, 0.5]);
    expect(pow(x, 3).toList()).toEqual([1, 8, 64]);
    expect(pow(2, x).toList()).toEqual([2, 4, 16]);
  });

  it('comparisons give 0/1 and carry no gradient', () => {
    const a = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const b = tensor([2, 2, 2]);
    expect(gt(a, b).toList()).toEqual([0, 0, 1]);
    expect(ge(a, b).toList()).toEqual([0, 1, 1]);
    expect(lt(a, b).toList()).toEqual([1, 0, 0]);
    expect(le(a, b).toList()).toEqual([1, 1, 0]);
    expect(eq(a, b).toList()).toEqual([0, 1, 0]);
    expect(ne(a, b).toList()).toEqual([1, 0, 1]);
    expect(gt(a, b).requiresGrad).toBe(false);
  });

  it('unary forward values', () => {
    const x = tensor([-2, -0.5, 0.5, 3]);
    expectClose(neg(x).data, [2, 0.5, -0.5, -3]);
    expectClose(abs(x).data, [2, 0.5, 0.5, 3]);
    expectClose(sign(x).data, [-1, -1, 1, 1]);
    expectClose(square(x).data, [4, 0.25, 0.25, 9]);
    expectClose(reciprocal(x).data, [-0.5, -2, 2, 1 / 3]);
    expectClose(exp(x).data, [-2, -0.5, 0.5, 3].map(Math.exp));
    expectClose(relu(x).data, [0, 0, 0.5, 3]);
    expectClose(leakyRelu(x, 0.1).data, [-0.2, -0.05, 0.5, 3]);
    expectClose(elu(x, 2).data, [2 * (Math.exp(-2) - 1), 2 * (Math.exp(-0.5) - 1), 0.5, 3]);
    expectClose(
      sigmoid(x).data,
      [-2, -0.5, 0.5, 3].map((v) => 1 / (1 + Math.exp(-v))),
    );
    expectClose(tanh(x).data, [-2, -0.5, 0.5, 3].map(Math.tanh));
    expectClose(
      softplus(x).data,
      [-2, -0.5, 0.5, 3].map((v) => Math.log1p(Math.exp(v))),
    );
    expectClose(
      softplus(x, 2).data,
      [-2, -0.5, 0.5, 3].map((v) => Math.log1p(Math.exp(2 * v)) / 2),
    );
    expectClose(clamp(x, -1, 1).data, [-1, -0.5, 0.5, 1]);
    const p = tensor([1, 4, 9]);
    expectClose(sqrt(p).data, [1, 2, 3]);
    expectClose(log(p).data, [0, Math.log(4), Math.log(9)]);
  });

  it('sigmoid, softplus stay finite and exact at ±100', () => {
    const x = tensor([-100, 100]);
    // e^-100 ≈ 3.7e-44 is a float32 subnormal: the wasm kernels flush it to 0, which is as exact
    // as float32 arithmetic promises (an absolute error below the smallest normal, 1.2e-38)
    const [s0, s1] = sigmoid(x).toList();
    expect(s1).toBe(1);
    expect(Math.abs(s0! - Math.fround(1 / (1 + Math.exp(100))))).toBeLessThan(1.2e-38);
    const [p0, p1] = softplus(x).toList();
    expect(p1).toBe(100);
    expect(Math.abs(p0! - Math.fround(Math.exp(-100)))).toBeLessThan(1.2e-38);
    // above the threshold softplus(x) = x exactly, as PyTorch
    expect(softplus(tensor([30]), 1, 20).toList()).toEqual([30]);
    expect(softplus(tensor([15]), 2, 20).toList()).toEqual([15]);
  });

  it('where broadcasts condition and both branches', () => {
    const c = tensor([[1], [0]]);
    const r = where(c, tensor([1, 2, 3]), -1);
    expect(r.toArray()).toEqual([
      [1, 2, 3],
      [-1, -1, -1],
    ]);
  });

  it('maximum/minimum', () => {
    const a = tensor([1, 5, -2]);
    const b = tensor([3, 4, -2]);
    expect(maximum(a, b).toList()).toEqual([3, 5, -2]);
    expect(minimum(a, b).toList()).toEqual([1, 4, -2]);
  });

  it('NaN propagates through maximum and minimum (as PyTorch)', () => {
    const a = tensor([NaN, 1]);
    const b = tensor([0, NaN]);
    expect(maximum(a, b).toList().every(Number.isNaN)).toBe(true);
    expect(minimum(a, b).toList().every(Number.isNaN)).toBe(true);
  });
});

describe('gradients of binary arithmetic (finite differences)', () => {
  const cases: [string, number[], number[]][] = [
    ['same shape', [2, 3], [2, 3]],
    ['[3,1]×[1,4]', [3, 1], [1, 4]],
    ['[2,3,4] with [4]', [2, 3, 4], [4]],
    ['[1] with [2,3]', [1], [2, 3]],
    ['0-d scalar with [2,3]', [], [2, 3]],
    ['[2,3] with 0-d', [2, 3], []],
    ['[2,1,3] with [4,1]', [2, 1, 3], [4, 1]],
  ];
  for (const [name, sa, sb] of cases) {
    it(`add ${name}`, () => expectGrad(add, [normal(sa, 1), normal(sb, 2)], TIGHT));
    it(`sub ${name}`, () => expectGrad(sub, [normal(sa, 3), normal(sb, 4)], TIGHT));
    it(`mul ${name}`, () => expectGrad(mul, [normal(sa, 5), normal(sb, 6)], TIGHT));
    it(`div ${name}`, () => expectGrad(div, [normal(sa, 7), awayFromZero(sb, 8, 0.5, 2)], TIGHT));
    it(`pow ${name}`, () => expectGrad(pow, [uniform(sa, 0.5, 2, 9), uniform(sb, -1.5, 2, 10)], TIGHT));
    it(`maximum/minimum ${name}`, () => {
      // a on odd and b on even multiples of 0.1: |a − b| ≥ 0.1 everywhere, both win somewhere
      const a = grid(sa, 1, 71);
      const b = grid(sb, 0, 72);
      expectGrad(maximum, [a, b], TIGHT);
      expectGrad(minimum, [a, b], TIGHT);
    });
  }

  it('maximum/minimum ties split the gradient equally (as PyTorch)', () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const b = tensor([1, 3], undefined, { requiresGrad: true });
    sum(maximum(a, b)).backward();
    expect(a.grad!.toList()).toEqual([0.5, 0]);
    expect(b.grad!.toList()).toEqual([0.5, 1]);
    a.grad = null;
    b.grad = null;
    sum(minimum(a, b)).backward();
    expect(a.grad!.toList()).toEqual([0.5, 1]);
    expect(b.grad!.toList()).toEqual([0.5, 0]);
  });

  it('one input without requiresGrad gets no gradient, the other a correct one', () => {
    const a = normal([3, 1], 20);
    const b = normal([1, 4], 21, false);
    expectGrad((x) => mul(x, b), [a], TIGHT);
    expect(b.grad).toBeNull();
  });

  it('scalar forms', () => {
    const x = () => uniform([2, 3], 0.5, 2, 30);
    expectGrad((t) => add(t, 2.5), [x()], TIGHT);
    expectGrad((t) => add(1.5, t), [x()], TIGHT);
    expectGrad((t) => add(t, 0), [x()], TIGHT);
    expectGrad((t) => sub(t, 2), [x()], TIGHT);
    expectGrad((t) => sub(2, t), [x()], TIGHT);
    expectGrad((t) => mul(t, -3), [x()], TIGHT);
    expectGrad((t) => mul(0.5, t), [x()], TIGHT);
    expectGrad((t) => div(t, 4), [x()], TIGHT);
    expectGrad((t) => div(2, t), [x()], TIGHT);
    expectGrad((t) => pow(t, 3), [x()], TIGHT);
    expectGrad((t) => pow(t, 0.5), [x()], TIGHT);
    expectGrad((t) => pow(t, -1.5), [x()], TIGHT);
    expectGrad((t) => pow(t, 2), [x()], TIGHT);
    expectGrad((t) => pow(2, t), [x()], TIGHT);
  });

  it('the same tensor on both sides (x·x, x/x, x − x)', () => {
    expectGrad((t) => mul(t, t), [normal([5], 40)], TIGHT);
    expectGrad((t) => div(t, t), [awayFromZero([5], 41)], TIGHT);
    expectGrad((t) => sub(t, t), [normal([5], 42)], TIGHT);
  });
});

describe('gradients of unary ops and activations', () => {
  const pos = () => uniform([3, 4], 0.5, 2, 50);
  const any = () => awayFromZero([3, 4], 51, 0.1, 2);
  it('neg', () => expectGrad(neg, [normal([3, 4], 52)], TIGHT));
  it('exp', () => expectGrad(exp, [normal([3, 4], 53)], TIGHT));
  it('log', () => expectGrad(log, [pos()], TIGHT));
  it('sqrt', () => expectGrad(sqrt, [pos()], TIGHT));
  it('abs (away from 0)', () => expectGrad(abs, [any()], TIGHT));
  it('square', () => expectGrad(square, [normal([3, 4], 54)], TIGHT));
  it('reciprocal', () => expectGrad(reciprocal, [awayFromZero([3, 4], 55, 0.5, 2)], TIGHT));
  it('clamp (inside, below and above, none on the edges)', () => {
    const x = awayFromZero([4, 5], 56, 0.1, 2);
    // move anything within 2ε of the clamp edges ±0.8 away from them
    x.data.forEach((v, i) => {
      if (Math.abs(Math.abs(v) - 0.8) < 0.05) x.data[i] = v * 1.2;
    });
    expectGrad((t) => clamp(t, -0.8, 0.8), [x], TIGHT);
    expectGrad((t) => clamp(t, -0.8), [x], TIGHT);
    expectGrad((t) => clamp(t, undefined, 0.8), [x], TIGHT);
  });
  it('clamp passes the gradient at the boundary itself (x = lo or hi), as PyTorch', () => {
    const x = tensor([-1, 0, 1, 2], undefined, { requiresGrad: true });
    sum(clamp(x, -1, 1)).backward();
    expect(x.grad!.toList()).toEqual([1, 1, 1, 0]);
  });
  it('where (both branches, broadcast condition and branches)', () => {
    const c = tensor([[1, 0, 1, 0]]);
    expectGrad((a, b) => where(c, a, b), [normal([3, 4], 57), normal([3, 1], 58)], TIGHT);
    expectGrad((a) => where(c, a, 2), [normal([4], 59)], TIGHT);
    expectGrad((b) => where(c, 2, b), [normal([3, 4], 60)], TIGHT);
  });
  it('sigmoid', () => expectGrad(sigmoid, [normal([3, 4], 61)], TIGHT));
  it('tanh', () => expectGrad(tanh, [normal([3, 4], 62)], TIGHT));
  it('relu', () => expectGrad(relu, [any()], TIGHT));
  it('leakyRelu default slope and 0.2', () => {
    expectGrad((t) => leakyRelu(t), [any()], TIGHT);
    expectGrad((t) => leakyRelu(t, 0.2), [any()], TIGHT);
  });
  it('elu alpha 1 and 0.5', () => {
    expectGrad((t) => elu(t), [any()], TIGHT);
    expectGrad((t) => elu(t, 0.5), [any()], TIGHT);
  });
  it('softplus beta 1, beta 2, beta 0.5, and across the threshold', () => {
    expectGrad((t) => softplus(t), [normal([3, 4], 63)], TIGHT);
    expectGrad((t) => softplus(t, 2), [normal([3, 4], 64)], TIGHT);
    expectGrad((t) => softplus(t, 0.5), [normal([3, 4], 65)], TIGHT);
    const x = tensor([-3, 0.4, 12, 25], undefined, { requiresGrad: true });
    expectGrad((t) => softplus(t, 1, 10), [x], TIGHT);
  });
  it('prelu with a shared slope', () => {
    expectGrad((x, a) => prelu(x, a), [awayFromZero([2, 3, 4], 66), tensor([0.25], undefined, { requiresGrad: true })], TIGHT);
  });
  it('prelu with one slope per channel on (N, C) and (N, C, H, W)', () => {
    expectGrad((x, a) => prelu(x, a), [awayFromZero([4, 3], 67), uniform([3], 0.1, 0.5, 68)], TIGHT);
    expectGrad((x, a) => prelu(x, a), [awayFromZero([2, 3, 2, 2], 69), uniform([3], 0.1, 0.5, 70)], TIGHT);
  });
  it('prelu forward is max(0,x) + a·min(0,x) per channel', () => {
    const x = tensor([
      [-1, -2],
      [3, -4],
    ]);
    const y = prelu(x, tensor([0.5, 0.1]));
    expectClose(y.data, [-0.5, -0.2, 3, -0.4]);
  });
  it('the activations\' derivatives: fused kernel and composite agree, on both sides of the kink', () => {
    const ops: [UnaryGradOp, (x: Tensor) => Tensor, number][] = [
      ['relu', relu, 0],
      ['leakyRelu', (x) => leakyRelu(x, 0.2), 0.2],
      ['elu', (x) => elu(x, 0.7), 0.7],
      ['softplus', (x) => softplus(x), 0],
      ['sigmoid', sigmoid, 0],
      ['tanh', tanh, 0],
    ];
    for (const [op, f, p] of ops) {
      // through the activation's rule (its backward calls unaryGrad)
      expectFusedMatchesComposite(f, [awayFromZero([3, 5], 70)], { label: `${op} backward` });
      // unaryGrad itself, with x exactly 0 (the kink: the x ≤ 0 branch) and ±large
      const x = tensor([0, -0, 1e-30, -1e-30, 25, -25, 0.5, -0.5], [2, 4]);
      const xin = op === 'sigmoid' || op === 'tanh' ? (op === 'sigmoid' ? sigmoid(x) : tanh(x)) : x;
      expectFusedMatchesComposite((a, g) => unaryGrad(op, a, g, p), [xin, normal([2, 4], 71, false)], { label: `unaryGrad ${op}` });
    }
  });

  it('chains of activations', () => {
    expectGrad((t) => tanh(sigmoid(mul(exp(t), t))), [normal([6], 71)], TIGHT);
  });
});

describe('elementwise errors', () => {
  it('add of [2,3] and [4] names the op and both shapes', () => {
    expect(() =>
      add(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        tensor([1, 2, 3, 4]),
      ),
    ).toThrow(/add.*\[2, 3\].*\[4\]/);
  });
  it('mul, sub, div, where name themselves', () => {
    const a = tensor([[1, 2, 3]]);
    const b = tensor([1, 2]);
    expect(() => mul(a, b)).toThrow(/^mul: shapes \[1, 3\] and \[2\]/);
    expect(() => sub(a, b)).toThrow(/^sub: /);
    expect(() => div(a, b)).toThrow(/^div: /);
    expect(() => where(tensor([1, 0]), a, 0)).toThrow(/^where: /);
  });
  it('prelu with the wrong number of slopes', () => {
    expect(() => prelu(tensor([[1, 2, 3]]), tensor([0.1, 0.2]))).toThrow(/prelu: weight has 2 slopes but input \[1, 3\] has 3 channels/);
  });
  it('clamp with min > max', () => {
    expect(() => clamp(tensor([1]), 2, 1)).toThrow(/clamp/);
  });
  it('a non-tensor input is named', () => {
    expect(() => add(null as unknown as Tensor, tensor([1]))).toThrow(/add: first input must be a Tensor/);
  });
});
