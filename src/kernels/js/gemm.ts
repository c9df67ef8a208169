/**
 * Reference GEMM: C = alpha·op(A)·op(B) + beta·C over a batch of matrices.
 * Loop orders keep the innermost loop on contiguous memory:
 *   B not transposed: i-k-j (saxpy of a B row into a C row);
 *   B transposed:     i-j-k (dot product of an A row with a B row).
 */
import type { F32, MatmulParams } from '../backend.js';

export function gemm(a: F32, b: F32, c: F32, p: MatmulParams): void {
  const { batch, M, N, K, transA, transB, strideA, strideB } = p;
  const alpha = p.alpha ?? 1;
  const beta = p.beta ?? 0;
  // A transposed is first copied to (M, K) so both loop orders read rows of A.
  let aRows: F32 | null = null;
  for (let bi = 0; bi < batch; bi++) {
    const cOff = bi * M * N;
    let aOff = bi * strideA;
    let A = a;
    if (transA) {
      if (!aRows || bi === 0 || strideA !== 0) {
        aRows ??= new Float32Array(M * K);
        for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) aRows[i * K + k] = a[aOff + k * M + i]!;
      }
      A = aRows;
      aOff = 0;
    }
    const bOff = bi * strideB;
    if (!transB) {
      const row = new Float32Array(N);
      for (let i = 0; i < M; i++) {
        row.fill(0);
        const ai = aOff + i * K;
        for (let k = 0; k < K; k++) {
          const av = A[ai + k]!;
          if (av === 0) continue;
          const bk = bOff + k * N;
          for (let j = 0; j < N; j++) row[j] = row[j]! + av * b[bk + j]!;
        }
        const ci = cOff + i * N;
        if (beta === 0) for (let j = 0; j < N; j++) c[ci + j] = alpha * row[j]!;
        else for (let j = 0; j < N; j++) c[ci + j] = alpha * row[j]! + beta * c[ci + j]!;
      }
    } else {
      for (let i = 0; i < M; i++) {
        const ai = aOff + i * K;
        const ci = cOff + i * N;
        for (let j = 0; j < N; j++) {
          const bj = bOff + j * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ai + k]! * b[bj + k]!;
          c[ci + j] = beta === 0 ? alpha * s : alpha * s + beta * c[ci + j]!;
        }
      }
    }
  }
}
