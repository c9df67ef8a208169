/**
 * One finite-difference check per entry of the gradient-rule table, and a guard that the table
 * and this list stay in step: adding a rule without a check here fails the suite. The broad
 * cases (broadcasting, axes, transposes, conv parameters) live in test/ops/*.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  abs,
  add,
  avgPool2d,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  bcePerSample,
  bceWithLogitsPerSample,
  clamp,
  klNormalPerSample,
  clone,
  concat,
  conv2d,
  convTranspose2d,
  div,
  elu,
  exp,
  expand,
  indexSelect,
  leakyRelu,
  linear,
  log,
  max,
  maximum,
  maxPool2d,
  min,
  minimum,
  mm,
  mul,
  neg,
  permute,
  pow,
  reciprocal,
  relu,
  reparameterize,
  reshape,
  sigmoid,
  slice,
  softplus,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  tensor,
  upsampleNearest,
  where,
  type Tensor,
} from '../../src/index.js';
import { hasGradRule } from '../../src/autograd/tape.js';
import { getBackend, primitivesOnly, useBackend } from '../../src/kernels/registry.js';
import { awayFromZero, distinct, expectGrad, normal, uniform } from '../helpers/engine.js';

const TIGHT = { eps: 1e-2, atol: 2e-4, rtol: 1e-3 };

/** op name → (function whose output is recorded as that op, inputs). */
const cases: Record<string, () => [(...xs: Tensor[]) => Tensor, Tensor[]]> = {
  add: () => [add, [normal([2, 3], 1), normal([3], 2)]],
  sub: () => [sub, [normal([2, 1], 3), normal([2, 3], 4)]],
  mul: () => [mul, [normal([2, 3], 5), normal([1, 3], 6)]],
  div: () => [div, [normal([2, 3], 7), awayFromZero([3], 8, 0.5, 2)]],
  pow: () => [pow, [uniform([2, 3], 0.5, 2, 9), uniform([3], -1, 2, 10)]],
  maximum: () => [
    maximum,
    [tensor([0.1, 0.5, 0.9], undefined, { requiresGrad: true }), tensor([[0.3], [0.7]], undefined, { requiresGrad: true })],
  ],
  // probabilities well inside (0, 1) and soft targets, both differentiated
  bce: () => [binaryCrossEntropy, [uniform([2, 3], 0.3, 0.7, 60), uniform([2, 3], 0, 1, 61)]],
  bceLogits: () => [binaryCrossEntropyWithLogits, [normal([2, 3], 62), uniform([2, 3], 0, 1, 63)]],
  // per-sample sums over (2, 3, 5), both inputs differentiated (d/dy = (lq − lp)·g)
  bcePerSample: () => [(p, y) => bcePerSample(p, y), [uniform([2, 3, 5], 0.3, 0.7, 71), uniform([2, 3, 5], 0, 1, 72)]],
  // per-sample sums over (2, 3, 5), both inputs differentiated (d/dy = −z·g)
  bceWithLogitsPerSample: () => [(z, y) => bceWithLogitsPerSample(z, y), [normal([2, 3, 5], 64), uniform([2, 3, 5], 0, 1, 65)]],
  klNormalPerSample: () => [(mu, lv) => klNormalPerSample(mu, lv), [normal([3, 5], 66), uniform([3, 5], -1, 1, 67)]],
  reparameterize: () => [(mu, lv, eps) => reparameterize(mu, lv, eps), [normal([2, 5], 68), uniform([2, 5], -1, 1, 69), normal([2, 5], 70)]],
  minimum: () => [
    minimum,
    [tensor([0.1, 0.5, 0.9], undefined, { requiresGrad: true }), tensor([[0.3], [0.7]], undefined, { requiresGrad: true })],
  ],
  neg: () => [neg, [normal([5], 11)]],
  exp: () => [exp, [normal([5], 12)]],
  log: () => [log, [uniform([5], 0.5, 2, 13)]],
  sqrt: () => [sqrt, [uniform([5], 0.5, 2, 14)]],
  abs: () => [abs, [awayFromZero([5], 15)]],
  square: () => [square, [normal([5], 16)]],
  reciprocal: () => [reciprocal, [awayFromZero([5], 17, 0.5, 2)]],
  addScalar: () => [(x) => add(x, 3), [normal([5], 18)]],
  rsubScalar: () => [(x) => sub(3, x), [normal([5], 19)]],
  mulScalar: () => [(x) => mul(x, -2.5), [normal([5], 20)]],
  powScalar: () => [(x) => pow(x, 1.5), [uniform([5], 0.5, 2, 21)]],
  sigmoid: () => [sigmoid, [normal([5], 22)]],
  tanh: () => [tanh, [normal([5], 23)]],
  relu: () => [relu, [awayFromZero([6], 24)]],
  leakyRelu: () => [(x) => leakyRelu(x, 0.1), [awayFromZero([6], 25)]],
  elu: () => [(x) => elu(x, 0.7), [awayFromZero([6], 26)]],
  softplus: () => [(x) => softplus(x), [normal([6], 27)]],
  clamp: () => [(x) => clamp(x, -0.5, 0.5), [tensor([-1, -0.3, 0.2, 0.9], undefined, { requiresGrad: true })]],
  where: () => [(a, b) => where(tensor([1, 0, 1]), a, b), [normal([2, 3], 28), normal([3], 29)]],
  sum: () => [(x) => sum(x, 1), [normal([2, 3], 30)]],
  max: () => [(x) => max(x, 0), [distinct([3, 4], 31)]],
  min: () => [(x) => min(x, [0, 1]), [distinct([3, 4], 32)]],
  reshape: () => [(x) => reshape(x, [3, 2]), [normal([2, 3], 33)]],
  permute: () => [(x) => permute(x, [1, 2, 0]), [normal([2, 3, 4], 34)]],
  expand: () => [(x) => expand(x, [2, 3, 4]), [normal([3, 1], 35)]],
  clone: () => [clone, [normal([4], 36)]],
  slice: () => [(x) => slice(x, [0, 2], { start: -3, step: 2 }), [normal([3, 5], 37)]],
  concat: () => [(a, b) => concat([a, b], 1), [normal([2, 1], 38), normal([2, 2], 39)]],
  indexSelect: () => [(x) => indexSelect(x, 0, [2, 0, 2]), [normal([3, 2], 40)]],
  mm: () => [(a, b) => mm(a, b, true, false), [normal([4, 3], 41), normal([4, 2], 42)]],
  // (every activation, no bias and N-D inputs: test/ops/linalg.test.ts)
  linear: () => [(x, w, b) => linear(x, w, b, 'tanh'), [normal([3, 4], 90), normal([5, 4], 91), normal([5], 92)]],
  conv2d: () => [
    (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }),
    [normal([2, 2, 5, 5], 43), normal([3, 2, 3, 3], 44), normal([3], 45)],
  ],
  convTranspose2d: () => [
    (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    [normal([1, 2, 3, 3], 46), normal([2, 3, 3, 3], 47), normal([3], 48)],
  ],
  maxPool2d: () => [(x) => maxPool2d(x, 2), [distinct([1, 2, 4, 4], 49)]],
  avgPool2d: () => [(x) => avgPool2d(x, 3, { stride: 2, padding: 1 }), [normal([1, 2, 5, 5], 50)]],
  upsampleNearest: () => [(x) => upsampleNearest(x, 2), [normal([1, 2, 2, 3], 51)]],
};

/** The keys of the defineGradRules({ … }) table, read from the source. */
function ruleNames(): string[] {
  const src = readFileSync(new URL('../../src/autograd/rules.ts', import.meta.url), 'utf8');
  const start = src.indexOf('defineGradRules({');
  const end = src.indexOf('\n});', start);
  expect(start).toBeGreaterThan(0);
  const body = src.slice(start, end);
  return [...body.matchAll(/^ {2}(\w+): /gm)].map((m) => m[1]!);
}

describe('gradient rule table', () => {
  it('every rule in src/autograd/rules.ts has a finite-difference case here, and vice versa', () => {
    const names = ruleNames();
    expect(names.length).toBeGreaterThan(30);
    expect(
      names.filter((n) => !(n in cases)),
      'rules without a check',
    ).toEqual([]);
    expect(
      Object.keys(cases).filter((n) => !names.includes(n)),
      'checks without a rule',
    ).toEqual([]);
    for (const n of names) expect(hasGradRule(n), n).toBe(true);
  });

  for (const [op, make] of Object.entries(cases)) {
    it(`rule '${op}' passes gradcheck`, () => {
      const [fn, inputs] = make();
      // the case really records this op (not a composite that bypasses it)
      expect(fn(...inputs).node?.op).toBe(op);
      expectGrad(fn, inputs, TIGHT);
    });
  }
});

describe('composite ops', () => {
  it('need no rule, kernel or op code: a new one is differentiated through its parts, with fused kernels or without', () => {
    // softsign(x) = x / (1 + |x|), written here from public ops and registered nowhere
    const softsign = (x: Tensor): Tensor => div(x, add(abs(x), 1));
    expect(hasGradRule('softsign')).toBe(false);
    const saved = getBackend();
    for (const b of [saved, primitivesOnly(saved)]) {
      useBackend(b);
      try {
        expect(softsign(tensor([-3, 0.5])).toList()).toEqual([Math.fround(-0.75), Math.fround(1 / 3)]);
        expectGrad(softsign, [awayFromZero([3, 4], 80)], TIGHT);
      } finally {
        useBackend(saved);
      }
    }
  });
});
