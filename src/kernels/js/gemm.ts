/**
 * Reference GEMM: C = alpha·op(A)·op(B) + beta·C over a batch of matrices.
 *
 * One loop nest does the work: four rows of C at a time, i-k-j order, so the innermost loop
 * streams a contiguous row of B once for four rows of A (a 4× cut in B traffic over the plain
 * i-k-j loop) and the JIT keeps the four A values in registers. Transposed operands are first
 * copied to row-major (M, K) and (K, N) — O(n²) copies next to O(n³) work.
 */
import type { F32, MatmulEpilogueParams, MatmulParams } from '../backend.js';
import { binary, unary } from './elementwise.js';

function transposeInto(src: F32, off: number, rows: number, cols: number, dst: F32): void {
  // src (rows, cols) at off → dst (cols, rows), blocked for the cache
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B)
    for (let j0 = 0; j0 < cols; j0 += B) {
      const i1 = Math.min(i0 + B, rows);
      const j1 = Math.min(j0 + B, cols);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[j * rows + i] = src[off + i * cols + j]!;
    }
}

/** acc (4 or fewer rows × N) = A rows i0..i0+r (row-major, K wide) · B (K, N). */
function kernel(A: F32, aOff: number, K: number, B: F32, bOff: number, N: number, acc: F32, r: number): void {
  acc.fill(0, 0, r * N);
  const N2 = 2 * N;
  const N3 = 3 * N;
  if (r === 4) {
    for (let k = 0; k < K; k++) {
      const a0 = A[aOff + k]!;
      const a1 = A[aOff + K + k]!;
      const a2 = A[aOff + 2 * K + k]!;
      const a3 = A[aOff + 3 * K + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) {
        const bv = B[bk + j]!;
        acc[j] = acc[j]! + a0 * bv;
        acc[N + j] = acc[N + j]! + a1 * bv;
        acc[N2 + j] = acc[N2 + j]! + a2 * bv;
        acc[N3 + j] = acc[N3 + j]! + a3 * bv;
      }
    }
    return;
  }
  for (let rr = 0; rr < r; rr++) {
    const ai = aOff + rr * K;
    const ci = rr * N;
    for (let k = 0; k < K; k++) {
      const av = A[ai + k]!;
      if (av === 0) continue;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) acc[ci + j] = acc[ci + j]! + av * B[bk + j]!;
    }
  }
}

export function gemm(a: F32, b: F32, c: F32, p: MatmulParams): void {
  const { batch, M, N, K, transA, transB, strideA, strideB } = p;
  const alpha = p.alpha ?? 1;
  const beta = p.beta ?? 0;
  const aT = transA ? new Float32Array(M * K) : null;
  const bT = transB ? new Float32Array(K * N) : null;
  const acc = new Float32Array(4 * N);
  for (let bi = 0; bi < batch; bi++) {
    let A = a;
    let aOff = bi * strideA;
    if (aT) {
      if (bi === 0 || strideA !== 0) transposeInto(a, aOff, K, M, aT);
      A = aT;
      aOff = 0;
    }
    let B = b;
    let bOff = bi * strideB;
    if (bT) {
      if (bi === 0 || strideB !== 0) transposeInto(b, bOff, N, K, bT);
      B = bT;
      bOff = 0;
    }
    const cOff = bi * M * N;
    for (let i0 = 0; i0 < M; i0 += 4) {
      const r = Math.min(4, M - i0);
      kernel(A, aOff + i0 * K, K, B, bOff, N, acc, r);
      const ci = cOff + i0 * N;
      const n = r * N;
      if (beta === 0) {
        if (alpha === 1) c.set(acc.subarray(0, n), ci);
        else for (let j = 0; j < n; j++) c[ci + j] = alpha * acc[j]!;
      } else for (let j = 0; j < n; j++) c[ci + j] = alpha * acc[j]! + beta * c[ci + j]!;
    }
  }
}

/** matmul's epilogue, as the separate kernels: bias over the rows, then the activation in place. */
export function matmulEpilogue(a: F32, b: F32, out: F32, p: MatmulEpilogueParams): void {
  gemm(a, b, out, p);
  if (p.bias) {
    const N = p.N;
    if (p.bias.length !== N) throw new Error(`matmul: bias has ${p.bias.length} elements, needs ${N}`);
    binary('add', out, [out.length / N, N], p.bias, [1, N], out, [out.length / N, N]);
  }
  if (p.act !== 'none') unary(p.act, out, out, 0);
}
