/**
 * Gradient clipping by hand-computed norms (PyTorch's values are checked in
 * optimizers.torch.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { optim, tensor, type Tensor } from '../../src/index.js';
import { expectArrayClose } from '../helpers/close.js';

const { clipGradNorm, clipGradValue } = optim;

function withGrad(g: number[] | null, shape = [g?.length ?? 2]): Tensor {
  const p = tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, { requiresGrad: true });
  if (g) p.grad = tensor(Float32Array.from(g), shape);
  return p;
}

describe('clipGradNorm', () => {
  it('2-norm over all parameters jointly; scales by maxNorm/(total + 1e-6)', () => {
    const a = withGrad([3, 0], [2]);
    const b = withGrad([0, 4, 0, 0], [2, 2]);
    const none = withGrad(null);
    const total = clipGradNorm([a, b, none], 1);
    expect(total).toBeCloseTo(5, 6);
    const c = 1 / (5 + 1e-6);
    expectArrayClose(a.grad!.data, [3 * c, 0], 'a');
    expectArrayClose(b.grad!.data, [0, 4 * c, 0, 0], 'b');
    expect(none.grad).toBeNull();
    // The clipped joint norm lands just under maxNorm.
    expect(Math.hypot(...a.grad!.data, ...b.grad!.data)).toBeLessThan(1);
  });

  it('leaves gradients alone when the norm is already small enough, still returning it', () => {
    const a = withGrad([0.3, -0.4]);
    expect(clipGradNorm([a], 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(a.grad!.data)).toEqual([Math.fround(0.3), Math.fround(-0.4)]);
  });

  it('Infinity norm is the largest |g|', () => {
    const a = withGrad([1, -6]);
    const b = withGrad([2, 3]);
    expect(clipGradNorm([a, b], 3, Infinity)).toBe(6);
    const c = 3 / (6 + 1e-6);
    expectArrayClose(a.grad!.data, [c, -6 * c], 'a');
    expectArrayClose(b.grad!.data, [2 * c, 3 * c], 'b');
  });

  it('1-norm and 3-norm', () => {
    expect(clipGradNorm([withGrad([1, -2]), withGrad([3])], 100, 1)).toBeCloseTo(6, 6);
    expect(clipGradNorm([withGrad([1, -2]), withGrad([3])], 100, 3)).toBeCloseTo(Math.cbrt(36), 6);
  });

  it('a single tensor works; no gradients at all gives 0', () => {
    expect(clipGradNorm(withGrad([6, 8]), 100)).toBeCloseTo(10, 6);
    expect(clipGradNorm([withGrad(null)], 1)).toBe(0);
  });

  it('rejects bad arguments and, on request, non-finite norms', () => {
    expect(() => clipGradNorm([withGrad([1])], -1)).toThrow(/clipGradNorm: invalid maxNorm = -1/);
    expect(() => clipGradNorm([withGrad([1])], 1, 0)).toThrow(/clipGradNorm: invalid normType = 0/);
    expect(() => clipGradNorm([withGrad([1, Number.NaN])], 1, 2, { errorIfNonfinite: true })).toThrow(
      /total norm of order 2 of the gradients is NaN/,
    );
    expect(clipGradNorm([withGrad([1, Number.POSITIVE_INFINITY])], 1)).toBe(Infinity);
  });
});

describe('clipGradValue', () => {
  it('clamps each element into [-clip, clip]', () => {
    const a = withGrad([-3, -0.5, 0, 0.5, 3]);
    clipGradValue([a, withGrad(null)], 1);
    expect(Array.from(a.grad!.data)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(() => clipGradValue([a], -1)).toThrow(/clipGradValue: invalid clipValue = -1/);
  });
});
