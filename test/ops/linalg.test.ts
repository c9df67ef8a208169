/**
 * matmul, mm and linear: forward values against naive loops, gradients by finite differences for
 * every transpose-flag combination, batched and broadcast batches, 1-D operands, and shape errors.
 */
import { describe, expect, it } from 'vitest';
import { add, linear, matmul, mm, relu, reshape, sigmoid, tanh, tensor, transpose, type Tensor } from '../../src/index.js';
import { expectClose, expectGrad, normal } from '../helpers/engine.js';
import { expectFusedMatchesComposite } from '../helpers/fused.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

/** Naive (…, M, K)·(…, K, N) for same-batch operands. */
function refMatmul(a: Tensor, b: Tensor): number[] {
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.ndim - 1]!;
  const batch = a.size / (M * K);
  const bBatch = b.size / (K * N);
  const out: number[] = [];
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[t * M * K + i * K + k]! * b.data[(bBatch === 1 ? 0 : t) * K * N + k * N + j]!;
        out.push(s);
      }
  return out;
}

/** A materialised transpose of the last two dims. */
const T = (x: Tensor) => transpose(x, -2, -1);

describe('matmul forward', () => {
  it('2-D', () => {
    const a = normal([3, 4], 1, false);
    const b = normal([4, 5], 2, false);
    const c = matmul(a, b);
    expect(c.shape).toEqual([3, 5]);
    expectClose(c.data, refMatmul(a, b), 1e-5);
  });

  it('hand-computed 2×2', () => {
    expect(
      matmul(
        tensor([
          [1, 2],
          [3, 4],
        ]),
        tensor([
          [5, 6],
          [7, 8],
        ]),
      ).toArray(),
    ).toEqual([
      [19, 22],
      [43, 50],
    ]);
  });

  it('batched (same batch) and a 2-D right operand shared over the batch', () => {
    const a = normal([2, 3, 4], 3, false);
    const b = normal([2, 4, 5], 4, false);
    expectClose(matmul(a, b).data, refMatmul(a, b), 1e-5);
    const w = normal([4, 5], 5, false);
    const c = matmul(a, w);
    expect(c.shape).toEqual([2, 3, 5]);
    expectClose(c.data, refMatmul(a, w), 1e-5);
  });

  it('a 2-D left operand shared over a batched right one', () => {
    const a = normal([3, 4], 6, false);
    const b = normal([2, 4, 5], 7, false);
    const c = matmul(a, b);
    expect(c.shape).toEqual([2, 3, 5]);
    for (let t = 0; t < 2; t++) {
      const bt = tensor(b.data.slice(t * 20, t * 20 + 20), [4, 5]);
      expectClose(c.data.subarray(t * 15, t * 15 + 15), refMatmul(a, bt), 1e-5);
    }
  });

  it('broadcast batch dims [2,1,3,4]·[5,4,2] → [2,5,3,2]', () => {
    const a = normal([2, 1, 3, 4], 8, false);
    const b = normal([5, 4, 2], 9, false);
    const c = matmul(a, b);
    expect(c.shape).toEqual([2, 5, 3, 2]);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 5; j++) {
        const ai = tensor(a.data.slice(i * 12, i * 12 + 12), [3, 4]);
        const bj = tensor(b.data.slice(j * 8, j * 8 + 8), [4, 2]);
        const o = (i * 5 + j) * 6;
        expectClose(c.data.subarray(o, o + 6), refMatmul(ai, bj), 1e-5);
      }
  });

  it('1-D operands: vector·matrix, matrix·vector, vector·vector', () => {
    const v = tensor([1, 2, 3]);
    const m = tensor([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const r1 = matmul(v, m);
    expect(r1.shape).toEqual([2]);
    expect(r1.toList()).toEqual([4, 5]);
    const r2 = matmul(
      tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      v,
    );
    expect(r2.shape).toEqual([2]);
    expect(r2.toList()).toEqual([14, 32]);
    const r3 = matmul(v, v);
    expect(r3.shape).toEqual([]);
    expect(r3.item()).toBe(14);
  });

  it('mm with each transpose flag equals mm of the transposed copies', () => {
    const a = normal([3, 4], 10, false);
    const b = normal([4, 5], 11, false);
    const ref = refMatmul(a, b);
    const aT = T(a);
    const bT = T(b);
    expectClose(mm(aT, b, true, false).data, ref, 1e-5, 'Aᵀ');
    expectClose(mm(a, bT, false, true).data, ref, 1e-5, 'Bᵀ');
    expectClose(mm(aT, bT, true, true).data, ref, 1e-5, 'AᵀBᵀ');
  });

  it('mm with transposes over a batch', () => {
    const a = normal([2, 3, 4], 12, false);
    const b = normal([2, 4, 5], 13, false);
    const ref = refMatmul(a, b);
    expectClose(mm(T(a), T(b), true, true).data, ref, 1e-5);
    expectClose(mm(T(a), b, true, false).data, ref, 1e-5);
  });

  it('linear: x·Wᵀ + b for 2-D, 3-D and 1-D inputs', () => {
    const x = normal([2, 3, 4], 14, false);
    const w = normal([5, 4], 15, false);
    const b = normal([5], 16, false);
    const y = linear(x, w, b);
    expect(y.shape).toEqual([2, 3, 5]);
    const ref = refMatmul(reshape(x, [6, 4]), T(w)).map((v, i) => v + b.data[i % 5]!);
    expectClose(y.data, ref, 1e-5);
    expect(linear(reshape(x, [6, 4]), w).shape).toEqual([6, 5]);
    const y1 = linear(tensor([1, 0, 0, 0]), w, b);
    expect(y1.shape).toEqual([5]);
    expectClose(
      y1.data,
      [0, 1, 2, 3, 4].map((o) => w.data[o * 4]! + b.data[o]!),
      1e-6,
    );
  });

  it('linear with a fused activation gives exactly what the separate ops give', () => {
    const x = normal([7, 9], 17, false);
    const w = normal([6, 9], 18, false);
    const b = normal([6], 19, false);
    const pre = add(mm(x, w, false, true), b);
    expect(linear(x, w, b).data).toEqual(pre.data);
    expect(linear(x, w, b, 'relu').data).toEqual(relu(pre).data);
    expect(linear(x, w, b, 'sigmoid').data).toEqual(sigmoid(pre).data);
    expect(linear(x, w, b, 'tanh').data).toEqual(tanh(pre).data);
    expect(linear(x, w, null, 'relu').data).toEqual(relu(mm(x, w, false, true)).data);
    expect(() => linear(x, w, b, 'gelu' as 'relu')).toThrow(/linear: activation must be one of none, relu, sigmoid, tanh, got 'gelu'/);
    expect(() => linear(x, w, tensor([1, 2]))).toThrow(/linear: bias must have shape \[6\], got \[2\]/);
  });

  it('linear fused (matmulEpilogue) and as mm, add and the activation: the same values and gradients', () => {
    for (const act of ['none', 'relu', 'sigmoid', 'tanh'] as const) {
      const label = `linear ${act}`;
      expectFusedMatchesComposite((x, w, b) => linear(x, w, b, act), [normal([7, 9], 80), normal([6, 9], 81), normal([6], 82)], {
        fusedOp: 'linear',
        label,
      });
      expectFusedMatchesComposite((x, w) => linear(x, w, null, act), [normal([7, 9], 83), normal([6, 9], 84)], {
        fusedOp: 'linear',
        label: `${label}, no bias`,
      });
      // a 3-D input is flattened to rows and reshaped back (the op on the tape is the reshape)
      expectFusedMatchesComposite((x, w, b) => linear(x, w, b, act), [normal([2, 3, 9], 85), normal([6, 9], 86), normal([6], 87)], {
        label: `${label}, 3-D`,
      });
    }
  });
});

describe('matmul gradients', () => {
  it('2-D', () => expectGrad(matmul, [normal([3, 4], 20), normal([4, 5], 21)], TIGHT));
  it('batched', () => expectGrad(matmul, [normal([2, 3, 4], 22), normal([2, 4, 5], 23)], TIGHT));
  it('batched · shared 2-D', () => expectGrad(matmul, [normal([2, 3, 4], 24), normal([4, 2], 25)], TIGHT));
  it('shared 2-D · batched', () => expectGrad(matmul, [normal([3, 4], 26), normal([2, 4, 2], 27)], TIGHT));
  it('broadcast batch [2,1,3,4]·[3,4,2]', () => expectGrad(matmul, [normal([2, 1, 3, 4], 28), normal([3, 4, 2], 29)], TIGHT));
  it('1-D · 2-D', () => expectGrad(matmul, [normal([4], 30), normal([4, 3], 31)], TIGHT));
  it('2-D · 1-D', () => expectGrad(matmul, [normal([3, 4], 32), normal([4], 33)], TIGHT));
  it('1-D · 1-D', () => expectGrad(matmul, [normal([4], 34), normal([4], 35)], TIGHT));
  it('batched · 1-D and 1-D · batched', () => {
    expect(matmul(normal([2, 3, 4], 60, false), normal([4], 61, false)).shape).toEqual([2, 3]);
    expect(matmul(normal([4], 62, false), normal([2, 4, 5], 63, false)).shape).toEqual([2, 5]);
    expectGrad(matmul, [normal([2, 3, 4], 64), normal([4], 65)], TIGHT);
    expectGrad(matmul, [normal([4], 66), normal([2, 4, 5], 67)], TIGHT);
  });
  it('x·x (same tensor twice)', () => expectGrad((x) => matmul(x, x), [normal([3, 3], 36)], TIGHT));

  for (const tA of [false, true])
    for (const tB of [false, true]) {
      it(`mm transA=${tA} transB=${tB}`, () => {
        const a = normal(tA ? [4, 3] : [3, 4], 40);
        const b = normal(tB ? [5, 4] : [4, 5], 41);
        expectGrad((x, y) => mm(x, y, tA, tB), [a, b], TIGHT);
      });
      it(`mm transA=${tA} transB=${tB}, batched with a shared right operand`, () => {
        const a = normal(tA ? [2, 4, 3] : [2, 3, 4], 42);
        const b = normal(tB ? [5, 4] : [4, 5], 43);
        expectGrad((x, y) => mm(x, y, tA, tB), [a, b], TIGHT);
      });
      it(`mm transA=${tA} transB=${tB}, shared left operand`, () => {
        const a = normal(tA ? [4, 3] : [3, 4], 44);
        const b = normal(tB ? [2, 5, 4] : [2, 4, 5], 45);
        expectGrad((x, y) => mm(x, y, tA, tB), [a, b], TIGHT);
      });
    }

  it('linear with and without bias, 2-D and 3-D input', () => {
    expectGrad((x, w, b) => linear(x, w, b), [normal([4, 3], 50), normal([2, 3], 51), normal([2], 52)], TIGHT);
    expectGrad((x, w) => linear(x, w), [normal([4, 3], 53), normal([2, 3], 54)], TIGHT);
    expectGrad((x, w, b) => linear(x, w, b), [normal([2, 2, 3], 55), normal([2, 3], 56), normal([2], 57)], TIGHT);
  });

  for (const act of ['relu', 'sigmoid', 'tanh'] as const)
    it(`linear with a fused ${act}, with and without bias, 2-D and 3-D input`, () => {
      // inputs chosen so no pre-activation sits within eps of relu's kink
      expectGrad((x, w, b) => linear(x, w, b, act), [normal([4, 3], 60), normal([2, 3], 61), normal([2], 62)], TIGHT);
      expectGrad((x, w) => linear(x, w, null, act), [normal([4, 3], 63), normal([2, 3], 64)], TIGHT);
      expectGrad((x, w, b) => linear(x, w, b, act), [normal([2, 2, 3], 65), normal([2, 3], 66), normal([2], 67)], TIGHT);
    });
});

describe('linalg errors', () => {
  it('matmul of [2,3] and [4,5] names the op and both shapes', () => {
    expect(() => matmul(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(20), [4, 5]))).toThrow(
      /matmul: shapes \[2, 3\] and \[4, 5\] are not aligned/,
    );
  });
  it('unbroadcastable batch dims', () => {
    expect(() => matmul(tensor(new Float32Array(24), [2, 3, 4]), tensor(new Float32Array(60), [3, 4, 5]))).toThrow(
      /matmul: batch dims \[2\] and \[3\]/,
    );
  });
  it('0-d operand', () => {
    expect(() => matmul(tensor(1), tensor([1]))).toThrow(/matmul: inputs must be at least 1-D/);
  });
  it('linear feature mismatch names the input and weight shapes', () => {
    expect(() => linear(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [2, 4]))).toThrow(
      /linear: input \[2, 3\] has 3 features, weight \[2, 4\] expects 4/,
    );
  });
});
