/**
 * Fused ops against their composites: runs an op on the current backend and on the same backend
 * without its fused kernels (primitivesOnly), where src/ops falls back to the composite of
 * primitive ops, and compares values and input gradients.
 */
import { expect } from 'vitest';
import { backward, Generator, getBackend, tensor, useBackend, type Tensor } from '../../src/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { primitivesOnly } from '../../src/kernels/registry.js';
import { expectClose } from './engine.js';

export interface FusedCase {
  /** Relative tolerance of values and gradients (|a − e| ≤ tol·(1 + |e|)). */
  tol?: number;
  /**
   * The tape op the fused path records (and the composite does not): checks that each run took
   * the path it should. Omit for ops that record no node of their own.
   */
  fusedOp?: string;
  label?: string;
}

function run(
  b: Backend,
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  seed: number,
): { y: Float32Array; op: string | null; grads: (Float32Array | null)[] } {
  const prev = getBackend();
  useBackend(b);
  try {
    const xs = inputs.map((t) => tensor(t.data.slice(), t.shape, { requiresGrad: t.requiresGrad }));
    const y = fn(...xs);
    const op = y.node?.op ?? null;
    if (y.requiresGrad) {
      const g = new Generator(seed);
      backward(y, tensor(g.fillNormal(new Float32Array(y.size)), y.shape));
    }
    return { y: y.data.slice(), op, grads: xs.map((x) => (x.grad ? x.grad.data.slice() : null)) };
  } finally {
    useBackend(prev);
  }
}

/** Asserts that fn gives the same values and input gradients fused and as its composite. */
export function expectFusedMatchesComposite(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], c: FusedCase = {}): void {
  const tol = c.tol ?? 1e-5;
  const label = c.label ?? 'op';
  const full = getBackend();
  const fused = run(full, fn, inputs, 11);
  const composite = run(primitivesOnly(full), fn, inputs, 11);
  if (c.fusedOp !== undefined) {
    expect(fused.op, `${label}: the fused path's tape op`).toBe(c.fusedOp);
    expect(composite.op, `${label}: the composite's tape op`).not.toBe(c.fusedOp);
  }
  expectClose(composite.y, fused.y, tol, `${label} values`);
  inputs.forEach((x, i) => {
    if (!x.requiresGrad) return;
    expect(composite.grads[i], `${label}: gradient of input ${i}`).not.toBeNull();
    expectClose(composite.grads[i]!, fused.grads[i]!, tol, `${label} gradient of input ${i}`);
  });
}
