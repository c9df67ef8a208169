/**
 * The fused loss kernels of the reference backend: the binary cross-entropy and KL terms of the
 * family models' objectives, elementwise and summed per sample, and the VAE's reparameterised
 * sample. Each is the composite of primitives named in backend.ts, computed in one pass.
 */
import type { F32, FusedBinaryOp, Shape } from '../backend.js';
import { F32_TINY } from '../backend.js';
import { binaryWith, sigmoidF32 } from './elementwise.js';

/** 27·2^−149, the smallest float32 whose log is above −100: the clamp is inactive from it up. */
const E100_F32 = 27 * F32_TINY;

/** log(max(x, TINY)) clamped below at −100 (PyTorch's binary_cross_entropy clamp). */
function bceLog(x: number): number {
  return Math.max(Math.log(Math.max(x, F32_TINY)), -100);
}

/** A fused loss op as a function of two numbers (selected once per call). */
function lossScalarFn(op: FusedBinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'bce':
      return (p, y) => -(y * bceLog(p) + (1 - y) * bceLog(Math.fround(1 - p)));
    case 'bceGrad':
      return (p, y) => {
        const q = Math.fround(1 - p);
        return (q >= E100_F32 ? (1 - y) / q : 0) - (p >= E100_F32 ? y / p : 0);
      };
    case 'bceLogits':
      return (z, y) => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    case 'bceLogitsGrad':
      return (z, y) => 1 / (1 + Math.exp(-z)) - y;
    case 'sigmoidSqErr':
      return (z, y) => {
        const d = Math.fround(sigmoidF32(z) - y);
        return d * d;
      };
    default:
      throw new Error(`js backend: unknown fused binary op '${op as string}'`);
  }
}

/** The fused loss ops elementwise, with the broadcasting of the binary primitive. */
export function lossBinary(op: FusedBinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void {
  binaryWith(lossScalarFn(op), a, aShape, b, bShape, out, outShape);
}

/**
 * Per-row sums of a binary op's values over (rows, cols) a and b, as reduce('sum') makes them
 * (float64 over the float32 values): loss[r] = Σ f, sq[r] = Σ fq when given, aux = g per element.
 */
function rowTerms(
  op: string,
  a: F32,
  b: F32,
  rows: number,
  cols: number,
  f: (a: number, b: number) => number,
  loss: F32,
  g: ((a: number, b: number) => number) | null,
  aux: F32 | null,
  fq: ((a: number, b: number) => number) | null = null,
  sq: F32 | null = null,
): void {
  const n = rows * cols;
  if (a.length !== n || b.length !== n) throw new Error(`${op}: inputs must hold ${rows}×${cols} floats, got ${a.length} and ${b.length}`);
  for (let r = 0, i = 0; r < rows; r++) {
    let tl = 0;
    let tq = 0;
    for (let c = 0; c < cols; c++, i++) {
      const ai = a[i]!;
      const bi = b[i]!;
      tl += Math.fround(f(ai, bi));
      if (sq) tq += Math.fround(fq!(ai, bi));
      if (aux) aux[i] = g!(ai, bi);
    }
    loss[r] = tl;
    if (sq) sq[r] = tq;
  }
}

/** The binary ops' values (bce, bceGrad), row sums as reduce('sum') makes them. */
export function bceRows(p: F32, y: F32, rows: number, cols: number, loss: F32, grad: F32 | null): void {
  rowTerms('bceRows', p, y, rows, cols, lossScalarFn('bce'), loss, lossScalarFn('bceGrad'), grad);
}

/** The binary ops' values (bceLogits, bceLogitsGrad, sigmoidSqErr), row sums as reduce('sum') makes them. */
export function bceLogitsRows(z: F32, y: F32, rows: number, cols: number, loss: F32, sq: F32 | null, diff: F32 | null): void {
  const fq = lossScalarFn('sigmoidSqErr');
  rowTerms('bceLogitsRows', z, y, rows, cols, lossScalarFn('bceLogits'), loss, lossScalarFn('bceLogitsGrad'), diff, fq, sq);
}

/** Each step rounded to float32 as the separate kernels store it; row sums in float64 (reduce). */
export function klNormalRows(mu: F32, lv: F32, rows: number, cols: number, out: F32, dlv: F32 | null): void {
  const f = Math.fround;
  for (let r = 0, i = 0; r < rows; r++) {
    let t = 0;
    for (let c = 0; c < cols; c++, i++) {
      const l = lv[i]!;
      const m = mu[i]!;
      const e = f(Math.exp(l));
      t += f(f(f(l + 1) - f(m * m)) - e);
      if (dlv) dlv[i] = f(e - 1) * 0.5;
    }
    out[r] = -0.5 * f(t);
  }
}

export function reparameterize(mu: F32, lv: F32, eps: F32, z: F32, half: F32 | null): void {
  const f = Math.fround;
  for (let i = 0; i < z.length; i++) {
    const se = f(f(Math.exp(f(lv[i]! * 0.5))) * eps[i]!);
    z[i] = mu[i]! + se;
    if (half) half[i] = se * 0.5;
  }
}
