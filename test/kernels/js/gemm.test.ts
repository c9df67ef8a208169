/**
 * The reference js kernels: GEMM in every transpose / batch-stride / alpha / beta form, against a naive loop.
 */
import { describe, expect, it } from 'vitest';

import { jsBackend as K } from '../../../src/kernels/js/index.js';
import { expectClose } from '../../helpers/engine.js';
import { rnd } from './helpers.js';

describe('gemm', () => {
  function naive(
    a: Float32Array,
    b: Float32Array,
    c0: Float32Array,
    p: {
      batch: number;
      M: number;
      N: number;
      K: number;
      transA: boolean;
      transB: boolean;
      strideA: number;
      strideB: number;
      alpha: number;
      beta: number;
    },
  ): number[] {
    const out: number[] = [];
    for (let t = 0; t < p.batch; t++)
      for (let i = 0; i < p.M; i++)
        for (let j = 0; j < p.N; j++) {
          let s = 0;
          for (let k = 0; k < p.K; k++) {
            const av = a[t * p.strideA + (p.transA ? k * p.M + i : i * p.K + k)]!;
            const bv = b[t * p.strideB + (p.transB ? j * p.K + k : k * p.N + j)]!;
            s += av * bv;
          }
          const ci = (t * p.M + i) * p.N + j;
          out.push(p.alpha * s + (p.beta === 0 ? 0 : p.beta * c0[ci]!));
        }
    return out;
  }

  const shapes = [
    [1, 1, 1],
    [3, 5, 4],
    [7, 2, 9],
    [33, 17, 40], // more than one 32-block
  ];
  for (const [M, N, Kd] of shapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const [batch, shareA, shareB] of [
          [1, false, false],
          [3, false, false],
          [3, true, false],
          [3, false, true],
          [2, true, true],
        ] as const)
          for (const [alpha, beta] of [
            [1, 0],
            [0.5, 1],
            [2, -0.5],
          ] as const)
            it(`M=${M} N=${N} K=${Kd} transA=${transA} transB=${transB} batch=${batch}${shareA ? ' strideA=0' : ''}${shareB ? ' strideB=0' : ''} α=${alpha} β=${beta}`, () => {
              const p = {
                batch,
                M: M!,
                N: N!,
                K: Kd!,
                transA,
                transB,
                strideA: shareA ? 0 : M! * Kd!,
                strideB: shareB ? 0 : Kd! * N!,
                alpha,
                beta,
              };
              const a = rnd((shareA ? 1 : batch) * M! * Kd!);
              const b = rnd((shareB ? 1 : batch) * Kd! * N!);
              const c = rnd(batch * M! * N!);
              const c0 = c.slice();
              K.matmul(a, b, c, p);
              expectClose(c, naive(a, b, c0, p), 1e-5);
            });

  it('beta = 0 overwrites NaN garbage in C', () => {
    const c = new Float32Array([NaN, NaN]);
    K.matmul(new Float32Array([1, 2]), new Float32Array([3, 4, 5, 6]), c, {
      batch: 1,
      M: 1,
      N: 2,
      K: 2,
      transA: false,
      transB: false,
      strideA: 0,
      strideB: 0,
    });
    expect(Array.from(c)).toEqual([13, 16]);
  });
});
