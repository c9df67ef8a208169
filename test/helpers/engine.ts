/**
 * Helpers for the engine's own tests: seeded inputs that keep away from kinks, and a gradcheck
 * assertion that prints the worst element on failure.
 */
import { expect } from 'vitest';
import { Generator, gradcheck, Tensor, tensor, type GradcheckOptions } from '../../src/index.js';

/** Uniform values in [lo, hi), requiring grad unless told otherwise. */
export function uniform(shape: readonly number[], lo: number, hi: number, seed: number, requiresGrad = true): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = g.uniform(lo, hi);
  return tensor(d, shape, { requiresGrad });
}

/** Random sign times U(min, max): never within `min` of zero (for relu/abs/leakyRelu kinks). */
export function awayFromZero(shape: readonly number[], seed: number, min = 0.1, max = 1.5, requiresGrad = true): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (g.random() < 0.5 ? -1 : 1) * g.uniform(min, max);
  return tensor(d, shape, { requiresGrad });
}

/** Distinct values spaced `spacing` apart in a random order (no ties for max/min/pooling). */
export function distinct(shape: readonly number[], seed: number, spacing = 0.05, requiresGrad = true): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const p = g.permutation(n);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (p[i]! - n / 2) * spacing;
  return tensor(d, shape, { requiresGrad });
}

/** Standard normal values from a seeded generator. */
export function normal(shape: readonly number[], seed: number, requiresGrad = true): Tensor {
  const g = new Generator(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(g.fillNormal(new Float32Array(n)), shape, { requiresGrad });
}

/** Asserts that the analytic gradient of fn matches central differences. */
export function expectGrad(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const r = gradcheck(fn, inputs, opts);
  expect(r.ok, r.message).toBe(true);
}

/** Max |a − b| over two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Asserts |a − e| ≤ tol·(1 + |e|) elementwise, reporting the worst index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    // NaN matches NaN, equal infinities match
    const err = a === e || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Math.abs(a - e) / (1 + Math.abs(e));
    if (!(err <= tol) && (worst < 0 || !(err <= worstErr))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) throw new Error(`${label}: element ${worst}: actual ${actual[worst]}, expected ${expected[worst]} (rel err ${worstErr})`);
}
