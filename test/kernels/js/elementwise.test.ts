/**
 * The reference js kernels: Broadcasting binary ops and expand against index-by-index loops, and the elementwise tables
 * (every unary op, every activation derivative) against their formulas.
 */
import { describe, expect, it } from 'vitest';
import type { UnaryGradOp, UnaryOp } from '../../../src/kernels/backend.js';
import { jsBackend as K } from '../../../src/kernels/js/index.js';
import { expectClose } from '../../helpers/engine.js';
import { prod, rnd, strides, unravel } from './helpers.js';

describe('binary broadcasting and expand', () => {
  const cases: [number[], number[]][] = [
    [
      [2, 3],
      [2, 3],
    ],
    [
      [2, 3],
      [1, 1],
    ],
    [
      [1, 1],
      [2, 3],
    ],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [2, 3, 4],
      [1, 1, 4],
    ],
    [
      [2, 1, 4],
      [1, 3, 1],
    ],
    [
      [1, 3, 1, 2],
      [2, 1, 5, 1],
    ],
  ];
  const fns = {
    add: (a: number, b: number) => a + b,
    sub: (a: number, b: number) => a - b,
    mul: (a: number, b: number) => a * b,
    div: (a: number, b: number) => a / b,
    maximum: Math.max,
    minimum: Math.min,
    pow: Math.pow,
  };
  for (const [sa, sb] of cases)
    it(`[${sa}] ∘ [${sb}] for every arithmetic op`, () => {
      const out = sa.map((d, i) => Math.max(d, sb[i]!));
      const a = rnd(prod(sa)).map(Math.abs);
      const b = rnd(prod(sb));
      const sta = strides(sa);
      const stb = strides(sb);
      for (const [op, f] of Object.entries(fns)) {
        const o = new Float32Array(prod(out));
        K.binary(op as keyof typeof fns, a, sa, b, sb, o, out);
        const ref = Array.from({ length: o.length }, (_, i) => {
          const idx = unravel(i, out);
          const ia = idx.reduce((s, v, d) => s + (sa[d] === 1 ? 0 : v) * sta[d]!, 0);
          const ib = idx.reduce((s, v, d) => s + (sb[d] === 1 ? 0 : v) * stb[d]!, 0);
          return Math.fround(f(a[ia]!, b[ib]!));
        });
        expectClose(o, ref, 1e-6, op);
      }
    });

  it('comparisons', () => {
    const o = new Float32Array(3);
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([2]);
    for (const [op, want] of [
      ['gt', [0, 0, 1]],
      ['ge', [0, 1, 1]],
      ['lt', [1, 0, 0]],
      ['le', [1, 1, 0]],
      ['eq', [0, 1, 0]],
      ['ne', [1, 0, 1]],
    ] as const) {
      K.binary(op, a, [3], b, [1], o, [3]);
      expect(Array.from(o), op).toEqual(want);
    }
  });

  it('expand repeats size-1 dims', () => {
    const x = new Float32Array([1, 2, 3]);
    const o = new Float32Array(12);
    K.expand(x, [1, 3, 1], o, [2, 3, 2]);
    expect(Array.from(o)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });
});

describe('elementwise tables', () => {
  const xs = new Float32Array([-3, -0.5, -1e-3, 0.25, 2, 40]);
  const refs: Record<UnaryOp, (v: number, p: number) => number> = {
    neg: (v) => -v,
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    abs: Math.abs,
    sign: Math.sign,
    square: (v) => v * v,
    reciprocal: (v) => 1 / v,
    sigmoid: (v) => 1 / (1 + Math.exp(-v)),
    tanh: Math.tanh,
    relu: (v) => Math.max(v, 0),
    leakyRelu: (v, p) => (v > 0 ? v : p * v),
    elu: (v, p) => (v > 0 ? v : p * (Math.exp(v) - 1)),
    softplus: (v) => Math.log1p(Math.exp(v)),
    addScalar: (v, p) => v + p,
    mulScalar: (v, p) => v * p,
    powScalar: (v, p) => Math.pow(v, p),
    rsubScalar: (v, p) => p - v,
  };
  for (const [op, f] of Object.entries(refs))
    it(`unary ${op}`, () => {
      for (const p of op === 'powScalar' ? [2, 0.5, 3, -1] : [0.3]) {
        const out = new Float32Array(xs.length);
        K.unary(op as UnaryOp, xs, out, p);
        expectClose(
          out,
          Array.from(xs, (v) => Math.fround(f(v, p))),
          1e-6,
          `${op} p=${p}`,
        );
      }
    });

  const grads: Record<UnaryGradOp, (x: number, p: number) => number> = {
    relu: (v) => (v > 0 ? 1 : 0),
    leakyRelu: (v, p) => (v > 0 ? 1 : p),
    elu: (v, p) => (v > 0 ? 1 : p * Math.exp(v)),
    softplus: (v) => 1 / (1 + Math.exp(-v)),
    sigmoid: (y) => y * (1 - y),
    tanh: (y) => 1 - y * y,
  };
  for (const [op, f] of Object.entries(grads))
    it(`unaryGrad ${op}`, () => {
      const g = rnd(xs.length);
      const out = new Float32Array(xs.length);
      K.fused.unaryGrad(op as UnaryGradOp, xs, g, out, 0.2);
      expectClose(
        out,
        Array.from(xs, (v, i) => g[i]! * f(v, 0.2)),
        1e-6,
        op,
      );
    });

  it('where and clamp', () => {
    const out = new Float32Array(3);
    K.where(new Float32Array([1, 0, -2]), new Float32Array([1, 2, 3]), new Float32Array([7, 8, 9]), out);
    expect(Array.from(out)).toEqual([1, 8, 3]);
    K.clamp(new Float32Array([-5, 0.5, 5]), -1, 1, out);
    expect(Array.from(out)).toEqual([-1, 0.5, 1]);
  });
});
