/**
 * Shared by the wasm kernel tests (one file per kernel family, as src/kernels/wasm has them):
 * seeded inputs, a tolerance check against the js reference, and `eachBuild`, which runs a
 * family's tests on every build and thread count with the backend of the run in `wb`.
 *
 * Tolerance: |wasm − js| ≤ rtol·(|js| + scale), rtol 1e-5 by default, scale 0 for elementwise
 * kernels and the RMS of the reference output for sums of products (GEMM, conv, reductions),
 * where the two backends round in different orders.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { BinaryOp, F32, FullBackend, FusedBinaryOp, Shape } from '../../../src/kernels/backend.js';
import { FUSED_BINARY_OPS } from '../../../src/kernels/backend.js';
import { createWasmBackend, type WasmBackend } from '../../../src/kernels/wasm/index.js';

/** mulberry32: small seeded generator so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let rand = rng(1);

/** Restarts the stream randArr draws from. */
export function seed(s: number): void {
  rand = rng(s);
}

/** n uniform values in [lo, hi) from the seeded stream. */
export function randArr(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

export const prod = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** A primitive binary op, or a fused loss op (FusedKernels.binary), on backend b. */
export function bin(b: FullBackend, op: BinaryOp | FusedBinaryOp, a: F32, as: Shape, bb: F32, bs: Shape, out: F32, os: Shape): void {
  if ((FUSED_BINARY_OPS as readonly string[]).includes(op)) b.fused.binary(op as FusedBinaryOp, a, as, bb, bs, out, os);
  else b.binary(op as BinaryOp, a, as, bb, bs, out, os);
}

export function rms(a: F32): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s / Math.max(1, a.length));
}

/** Asserts |got − want| ≤ rtol·(|want| + scale) elementwise; NaN must match NaN, ±∞ exactly. */
export function expectClose(got: F32, want: F32, what: string, opts: { rtol?: number; scale?: number } = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const scale = opts.scale ?? 0;
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) throw new Error(`${what}: [${i}] got ${g}, want ${w}`);
      continue;
    }
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g !== w) throw new Error(`${what}: [${i}] got ${g}, want ${w}`);
      continue;
    }
    const tol = rtol * (Math.abs(w) + scale) + 1e-37;
    if (!(Math.abs(g - w) <= tol)) {
      throw new Error(`${what}: [${i}] got ${g}, want ${w} (|diff| ${Math.abs(g - w)} > tol ${tol})`);
    }
  }
}

/** Number of elements where a and b differ bitwise (NaNs compared by bits too). */
export function bitDiffs(a: F32, b: F32): number {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let d = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) d++;
  return d;
}

/** The backend of the build and thread count whose tests are running (set by eachBuild). */
export let wb: WasmBackend;

/** A wasm-memory copy of `a` (the fast path: no copy in/out). */
export function w(a: F32): F32 {
  const v = wb.alloc(a.length);
  v.set(a);
  return v;
}

/**
 * Runs a kernel family's tests against the js reference on every build (baseline and relaxed
 * SIMD) with 1 and 2 threads, with `wb` the wasm backend of the run. Inputs are mostly views into
 * wasm memory (the fast path, `w`); some tests pass ordinary Float32Arrays to cover the copy-in/out
 * path.
 */
export function eachBuild(family: string, tests: () => void): void {
  describe.each([
    [1, 'simd'],
    [2, 'simd'],
    [1, 'relaxed-simd'],
    [2, 'relaxed-simd'],
  ] as const)(`wasm ${family} vs js, %i thread(s), %s build`, (threads, simd) => {
    beforeAll(async () => {
      wb = await createWasmBackend({ threads, relaxedSimd: simd === 'relaxed-simd' });
      expect(wb.threads).toBe(threads);
      // Node 20 gets relaxed SIMD by enabling V8's flag; newer engines have it by default.
      expect(wb.simd).toBe(simd);
      seed(1000 + threads);
    });
    afterAll(async () => {
      await wb.dispose();
    });
    tests();
  });
}
