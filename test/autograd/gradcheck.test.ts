/**
 * The checker itself: it must pass correct rules, catch a wrong one (naming the input and
 * element), skip inputs that do not require grad, and honour its tolerances.
 */
import { describe, expect, it } from 'vitest';
import { gradcheck, mul, Tensor, tensor } from '../../src/index.js';
import { defineGradRules, record } from '../../src/autograd/tape.js';

// A deliberately wrong rule: d(x²)/dx reported as x instead of 2x; and an almost-right one.
defineGradRules({
  testWrongSquare: (g, n) => [mul(g, n.inputs[0]!)],
  testSlightlyOffSquare: (g, n) => [mul(g, mul(n.inputs[0]!, 2.001))],
});

function squareWith(op: string, x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  for (let i = 0; i < x.size; i++) out.data[i] = x.data[i]! * x.data[i]!;
  return record(out, op, [x]);
}

describe('gradcheck', () => {
  it('passes a correct rule', () => {
    const r = gradcheck((x) => mul(x, x), [tensor([0.5, -1, 2], undefined, { requiresGrad: true })]);
    expect(r.ok, r.message).toBe(true);
    expect(r.message).toMatch(/^ok/);
  });

  it('catches a wrong rule and names the input and element', () => {
    const x = tensor([0.5, -1, 2], undefined, { requiresGrad: true });
    const r = gradcheck((t) => squareWith('testWrongSquare', t), [x]);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/MISMATCH: worst at input 0, element 2/);
    // the wrong rule reports half the true derivative
    expect(Math.abs(r.worst!.analytic * 2 - r.worst!.numeric)).toBeLessThan(1e-3);
  });

  it('tolerances decide a 0.05% error: caught with rtol 1e-4, accepted by the defaults', () => {
    const x = tensor([0.5, -1, 2], undefined, { requiresGrad: true });
    expect(gradcheck((t) => squareWith('testSlightlyOffSquare', t), [x], { atol: 1e-6, rtol: 1e-4 }).ok).toBe(false);
    expect(gradcheck((t) => squareWith('testSlightlyOffSquare', t), [x]).ok).toBe(true);
  });

  it('checks only inputs that require grad', () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const b = tensor([3, 4]);
    const r = gradcheck((x, y) => mul(x, y), [a, b]);
    expect(r.ok).toBe(true);
    expect(r.worst!.input).toBe(0);
  });

  it('restores the inputs after perturbing them', () => {
    const x = tensor([0.25, 1.5], undefined, { requiresGrad: true });
    gradcheck((t) => mul(t, t), [x]);
    expect(x.toList()).toEqual([0.25, 1.5]);
  });
});
