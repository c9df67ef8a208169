/**
 * The GEMM against the js reference: every transpose combination over odd and tile-sized
 * shapes, alpha / beta, batches with shared operands, the fused epilogue (bit for bit as the
 * separate kernels), copies of ordinary arrays, and length checks.
 */
import { expect, it } from 'vitest';
import type { MatmulActivation, MatmulEpilogueParams, MatmulParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { bitDiffs, eachBuild, expectClose, randArr, rms, w, wb } from './helpers.js';

eachBuild('gemm', () => {
  // --- matmul --------------------------------------------------------------------------------

  function checkMatmul(p: MatmulParams, opts: { foreign?: boolean; what?: string } = {}): void {
    const aLen = p.strideA * (p.batch - 1) + p.M * p.K;
    const bLen = p.strideB * (p.batch - 1) + p.K * p.N;
    const a = randArr(Math.max(aLen, p.M * p.K));
    const b = randArr(Math.max(bLen, p.K * p.N));
    const c0 = randArr(p.batch * p.M * p.N);
    const want = Float32Array.from(c0);
    js.matmul(a, b, want, p);
    const got = opts.foreign ? Float32Array.from(c0) : w(c0);
    if (opts.foreign) wb.matmul(a, b, got, p);
    else wb.matmul(w(a), w(b), got, p);
    const what = opts.what ?? `matmul ${JSON.stringify(p)}`;
    expectClose(got, want, what, { scale: rms(want) + 1e-3 });
  }

  it('matmul: all transpose combinations over odd and tile-sized shapes', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 3],
      [5, 1, 9],
      [3, 5, 7],
      [4, 8, 16],
      [17, 33, 65],
      [64, 64, 64],
      [129, 67, 300], // M crosses the 128-row A block
      [9, 21, 1100], // K crosses the 512 k-block (split 3 × 367)
      [6, 2100, 10], // N crosses the 2048-column B block
      [128, 512, 784], // the dense layer (threaded)
      [257, 130, 33],
      // threaded, with the shared operand packed once (gemm.ts packShared): B when M > N, A
      // otherwise, over several K blocks and ragged panels
      [600, 44, 900],
      [42, 600, 1100],
      // threaded guided blocks (gemm.ts guidedSize) ending in a ragged panel / row tile (large
      // enough to wake sleeping workers)
      [100, 1003, 100],
      [1001, 20, 400],
    ];
    for (const [M, N, K] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          checkMatmul({ batch: 1, M, N, K, transA, transB, strideA: 0, strideB: 0 });
        }
      }
    }
  });

  it('matmul: alpha / beta', () => {
    for (const [alpha, beta] of [
      [1, 1],
      [0.5, 0],
      [-2, 0.25],
      [1, -1],
      [0, 1],
    ]) {
      for (const [M, N, K] of [
        [7, 9, 5],
        [64, 96, 200],
      ] as [number, number, number][]) {
        checkMatmul({ batch: 1, M, N, K, transA: false, transB: true, strideA: 0, strideB: 0, alpha, beta });
        checkMatmul({ batch: 1, M, N, K, transA: true, transB: false, strideA: 0, strideB: 0, alpha, beta });
      }
    }
  });

  it('matmul epilogue (bias, activation): as the reference, and bit for bit as the separate kernels', () => {
    const shapes: [number, number, number, number][] = [
      [1, 5, 7, 3], // tails
      [1, 128, 512, 784], // a dense layer (threaded, column blocks)
      [1, 600, 44, 300], // row blocks
      [3, 33, 65, 17], // batch
    ];
    for (const [batch, M, N, K] of shapes) {
      for (const act of ['none', 'relu', 'sigmoid', 'tanh'] as MatmulActivation[]) {
        for (const withBias of [true, false]) {
          if (act === 'none' && !withBias) continue;
          const a = randArr(batch * M * K);
          const b = randArr(N * K);
          const bias = withBias ? randArr(N) : null;
          const p: MatmulEpilogueParams = { batch, M, N, K, transA: false, transB: true, strideA: M * K, strideB: 0, bias, act };
          const want = new Float32Array(batch * M * N);
          js.fused.matmulEpilogue(a, b, want, p);
          const got = wb.alloc(batch * M * N);
          wb.fused.matmulEpilogue(w(a), w(b), got, { ...p, bias: bias ? w(bias) : null });
          const what = `matmul epilogue ${act} bias=${withBias} ${batch}×${M}×${N}×${K}`;
          // the GEMM's rounding, at the scale of the pre-activation (the activations are 1-Lipschitz)
          const pre = new Float32Array(batch * M * N);
          js.matmul(a, b, pre, p);
          expectClose(got, want, what, { rtol: 1e-5, scale: rms(pre) });
          // the separate kernels, on the wasm backend
          const sep = wb.alloc(batch * M * N);
          wb.matmul(w(a), w(b), sep, p);
          if (bias) wb.binary('add', sep, [batch * M, N], w(bias), [1, N], sep, [batch * M, N]);
          if (act !== 'none') wb.unary(act, sep, sep, 0);
          expect(bitDiffs(got, sep), what).toBe(0);
          wb.free(got);
          wb.free(sep);
        }
      }
    }
    expect(() =>
      wb.fused.matmulEpilogue(wb.alloc(6), wb.alloc(6), wb.alloc(4), {
        batch: 1,
        M: 2,
        N: 2,
        K: 3,
        transA: false,
        transB: true,
        strideA: 0,
        strideB: 0,
        bias: wb.alloc(3),
        act: 'none',
      }),
    ).toThrow(/bias has 3 elements, needs 2/);
  });

  it('matmul: K = 0 leaves beta·C', () => {
    const c0 = randArr(12);
    const got = w(c0);
    const want = Float32Array.from(c0);
    const p: MatmulParams = { batch: 1, M: 3, N: 4, K: 0, transA: false, transB: false, strideA: 0, strideB: 0, beta: 0.5 };
    wb.matmul(wb.alloc(0), wb.alloc(0), got, p);
    js.matmul(new Float32Array(0), new Float32Array(0), want, p);
    expectClose(got, want, 'matmul K=0');
  });

  it('matmul: batches, including broadcast (stride 0) operands', () => {
    const cases: [number, number, number, number, boolean, boolean, 'both' | 'a0' | 'b0'][] = [
      [3, 5, 7, 9, false, false, 'both'],
      [4, 16, 8, 24, false, true, 'a0'],
      [5, 9, 13, 6, true, false, 'b0'],
      [2, 33, 65, 17, true, true, 'both'],
      [3, 100, 120, 90, false, false, 'both'], // odd batch, threaded within each matrix
      [8, 64, 32, 48, false, true, 'b0'], // batch split across threads
      [1, 5, 5, 5, false, false, 'a0'],
    ];
    for (const [batch, M, N, K, transA, transB, mode] of cases) {
      const strideA = mode === 'a0' ? 0 : M * K;
      const strideB = mode === 'b0' ? 0 : K * N;
      checkMatmul({ batch, M, N, K, transA, transB, strideA, strideB });
      checkMatmul({ batch, M, N, K, transA, transB, strideA, strideB, alpha: 0.5, beta: 2 });
    }
  });

  it('matmul: ordinary (non-wasm) arrays are copied in and out', () => {
    checkMatmul(
      { batch: 2, M: 37, N: 41, K: 29, transA: false, transB: true, strideA: 37 * 29, strideB: 41 * 29, beta: 1 },
      { foreign: true },
    );
    checkMatmul({ batch: 1, M: 200, N: 180, K: 150, transA: true, transB: false, strideA: 0, strideB: 0 }, { foreign: true });
  });

  it('matmul: rejects short operands', () => {
    expect(() =>
      wb.matmul(wb.alloc(5), wb.alloc(6), wb.alloc(6), {
        batch: 1,
        M: 2,
        N: 3,
        K: 3,
        transA: false,
        transB: false,
        strideA: 0,
        strideB: 0,
      }),
    ).toThrow(/matmul: a has 5 elements, needs 6/);
  });
});
