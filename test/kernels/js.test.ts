/**
 * The reference js kernels, called directly, against naive loops on random inputs: GEMM in every
 * transpose/batch-stride/alpha/beta form, convolution and its two gradients, reductions over
 * arbitrary axes, broadcasting, permute, slice and its adjoint, index select/add, pooling,
 * upsampling, the elementwise tables and the fused optimizer steps.
 */
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, Pool2dParams, UnaryGradOp, UnaryOp } from '../../src/kernels/backend.js';
import { jsBackend as K } from '../../src/kernels/js/index.js';
import { Generator } from '../../src/tensor/random.js';
import { expectClose } from '../helpers/engine.js';

const gen = new Generator(12345);
const rnd = (n: number) => gen.fillNormal(new Float32Array(n));
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

const ravel = (idx: readonly number[], shape: readonly number[]) => idx.reduce((o, v, d) => o * shape[d]! + v, 0);

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

describe('conv2d kernels vs naive loops', () => {
  function params(
    B: number,
    C: number,
    H: number,
    W: number,
    O: number,
    kH: number,
    kW: number,
    s: [number, number],
    p: [number, number],
    d: [number, number],
    g: number,
  ): Conv2dParams {
    return {
      batch: B,
      inC: C,
      inH: H,
      inW: W,
      outC: O,
      kH,
      kW,
      strideH: s[0],
      strideW: s[1],
      padH: p[0],
      padW: p[1],
      dilH: d[0],
      dilW: d[1],
      groups: g,
      outH: Math.floor((H + 2 * p[0] - d[0] * (kH - 1) - 1) / s[0]) + 1,
      outW: Math.floor((W + 2 * p[1] - d[1] * (kW - 1) - 1) / s[1]) + 1,
    };
  }
  /** Visits every (output, input, weight) index triple of the convolution. */
  function each(p: Conv2dParams, f: (o: number, i: number, w: number) => void): void {
    const cg = p.inC / p.groups;
    const og = p.outC / p.groups;
    for (let b = 0; b < p.batch; b++)
      for (let oc = 0; oc < p.outC; oc++)
        for (let oh = 0; oh < p.outH; oh++)
          for (let ow = 0; ow < p.outW; ow++)
            for (let c = 0; c < cg; c++)
              for (let kh = 0; kh < p.kH; kh++)
                for (let kw = 0; kw < p.kW; kw++) {
                  const ih = oh * p.strideH - p.padH + kh * p.dilH;
                  const iw = ow * p.strideW - p.padW + kw * p.dilW;
                  if (ih < 0 || ih >= p.inH || iw < 0 || iw >= p.inW) continue;
                  const ic = Math.floor(oc / og) * cg + c;
                  f(
                    ((b * p.outC + oc) * p.outH + oh) * p.outW + ow,
                    ((b * p.inC + ic) * p.inH + ih) * p.inW + iw,
                    ((oc * cg + c) * p.kH + kh) * p.kW + kw,
                  );
                }
  }
  const cases: [string, Conv2dParams][] = [
    ['3×3', params(2, 3, 6, 5, 4, 3, 3, [1, 1], [0, 0], [1, 1], 1)],
    ['s2 p1', params(2, 2, 7, 8, 3, 3, 3, [2, 2], [1, 1], [1, 1], 1)],
    ['2×3 kernel s(2,1) p(0,2) d(1,2)', params(1, 2, 6, 7, 2, 2, 3, [2, 1], [0, 2], [1, 2], 1)],
    ['groups 3', params(2, 6, 5, 5, 9, 3, 3, [1, 1], [1, 1], [1, 1], 3)],
    ['1×1 s2', params(1, 4, 5, 5, 2, 1, 1, [2, 2], [0, 0], [1, 1], 1)],
    ['dilation 3 padding 3', params(1, 2, 7, 7, 2, 3, 3, [1, 1], [3, 3], [3, 3], 2)],
  ];
  for (const [name, p] of cases) {
    const xN = p.batch * p.inC * p.inH * p.inW;
    const wN = p.outC * (p.inC / p.groups) * p.kH * p.kW;
    const yN = p.batch * p.outC * p.outH * p.outW;
    it(`forward ${name}`, () => {
      const x = rnd(xN);
      const w = rnd(wN);
      const bias = rnd(p.outC);
      const ref = new Float64Array(yN);
      for (let o = 0; o < yN; o++) ref[o] = bias[Math.floor(o / (p.outH * p.outW)) % p.outC]!;
      each(p, (o, i, k) => (ref[o] = ref[o]! + x[i]! * w[k]!));
      const out = new Float32Array(yN);
      K.conv2d(x, w, bias, out, p);
      expectClose(out, ref, 1e-5);
      K.conv2d(x, w, null, out, p);
      const ref0 = new Float64Array(yN);
      each(p, (o, i, k) => (ref0[o] = ref0[o]! + x[i]! * w[k]!));
      expectClose(out, ref0, 1e-5);
    });
    it(`backward input ${name}`, () => {
      const g = rnd(yN);
      const w = rnd(wN);
      const ref = new Float64Array(xN);
      each(p, (o, i, k) => (ref[i] = ref[i]! + g[o]! * w[k]!));
      const out = rnd(xN); // garbage: the kernel must overwrite
      K.conv2dBackwardInput(g, w, out, p);
      expectClose(out, ref, 1e-5);
    });
    it(`backward weight ${name}`, () => {
      const x = rnd(xN);
      const g = rnd(yN);
      const ref = new Float64Array(wN);
      each(p, (o, i, k) => (ref[k] = ref[k]! + g[o]! * x[i]!));
      const out = rnd(wN); // garbage: the kernel must overwrite
      K.conv2dBackwardWeight(x, g, out, p);
      expectClose(out, ref, 1e-5);
    });
  }
});

describe('reduce over arbitrary axes', () => {
  const shapes: number[][] = [[7], [3, 4], [2, 3, 4], [2, 1, 3, 5], [3, 2, 2, 2, 3]];
  for (const shape of shapes) {
    const rank = shape.length;
    // every non-empty subset of axes
    for (let mask = 1; mask < 1 << rank; mask++) {
      const axes = [...Array(rank).keys()].filter((d) => mask & (1 << d));
      it(`shape [${shape}] axes [${axes}]`, () => {
        const x = rnd(prod(shape));
        const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = prod(keep);
        const refS = new Float64Array(n);
        const refMax = new Float64Array(n).fill(-Infinity);
        const refMin = new Float64Array(n).fill(Infinity);
        for (let i = 0; i < x.length; i++) {
          const idx = unravel(i, shape).map((v, d) => (axes.includes(d) ? 0 : v));
          const o = ravel(idx, keep);
          refS[o] = refS[o]! + x[i]!;
          refMax[o] = Math.max(refMax[o]!, x[i]!);
          refMin[o] = Math.min(refMin[o]!, x[i]!);
        }
        const out = new Float32Array(n);
        K.reduce('sum', x, shape, axes, out);
        expectClose(out, refS, 1e-5, 'sum');
        K.reduce('max', x, shape, axes, out);
        expectClose(out, refMax, 0, 'max');
        K.reduce('min', x, shape, axes, out);
        expectClose(out, refMin, 0, 'min');
      });
    }
  }

  it('max/min propagate NaN', () => {
    const out = new Float32Array(1);
    K.reduce('max', new Float32Array([1, NaN, 2]), [3], [0], out);
    expect(out[0]).toBeNaN();
    K.reduce('min', new Float32Array([1, 2, NaN]), [3], [0], out);
    expect(out[0]).toBeNaN();
  });

  it('argmax along each axis picks the first maximum', () => {
    const shape = [3, 4, 5];
    const x = rnd(60);
    for (let axis = 0; axis < 3; axis++) {
      const outShape = shape.filter((_, i) => i !== axis);
      const out = new Float32Array(prod(outShape));
      K.argmax(x, shape, axis, out);
      for (let o = 0; o < out.length; o++) {
        const idx = unravel(o, outShape);
        let best = -Infinity;
        let bi = -1;
        for (let j = 0; j < shape[axis]!; j++) {
          const full = [...idx];
          full.splice(axis, 0, j);
          const v = x[ravel(full, shape)]!;
          if (v > best) {
            best = v;
            bi = j;
          }
        }
        expect(out[o]).toBe(bi);
      }
    }
    const ties = new Float32Array(1);
    K.argmax(new Float32Array([2, 5, 5]), [3], 0, ties);
    expect(ties[0]).toBe(1);
  });
});

describe('binary broadcasting and expand', () => {
  const cases: [number[], number[]][] = [
    [
      [2, 3],
      [2, 3],
    ],
    [
      [2, 3],
      [1, 1],
    ],
    [
      [1, 1],
      [2, 3],
    ],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [2, 3, 4],
      [1, 1, 4],
    ],
    [
      [2, 1, 4],
      [1, 3, 1],
    ],
    [
      [1, 3, 1, 2],
      [2, 1, 5, 1],
    ],
  ];
  const fns = {
    add: (a: number, b: number) => a + b,
    sub: (a: number, b: number) => a - b,
    mul: (a: number, b: number) => a * b,
    div: (a: number, b: number) => a / b,
    maximum: Math.max,
    minimum: Math.min,
    pow: Math.pow,
  };
  for (const [sa, sb] of cases)
    it(`[${sa}] ∘ [${sb}] for every arithmetic op`, () => {
      const out = sa.map((d, i) => Math.max(d, sb[i]!));
      const a = rnd(prod(sa)).map(Math.abs);
      const b = rnd(prod(sb));
      const sta = strides(sa);
      const stb = strides(sb);
      for (const [op, f] of Object.entries(fns)) {
        const o = new Float32Array(prod(out));
        K.binary(op as keyof typeof fns, a, sa, b, sb, o, out);
        const ref = Array.from({ length: o.length }, (_, i) => {
          const idx = unravel(i, out);
          const ia = idx.reduce((s, v, d) => s + (sa[d] === 1 ? 0 : v) * sta[d]!, 0);
          const ib = idx.reduce((s, v, d) => s + (sb[d] === 1 ? 0 : v) * stb[d]!, 0);
          return Math.fround(f(a[ia]!, b[ib]!));
        });
        expectClose(o, ref, 1e-6, op);
      }
    });

  it('comparisons', () => {
    const o = new Float32Array(3);
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([2]);
    for (const [op, want] of [
      ['gt', [0, 0, 1]],
      ['ge', [0, 1, 1]],
      ['lt', [1, 0, 0]],
      ['le', [1, 1, 0]],
      ['eq', [0, 1, 0]],
      ['ne', [1, 0, 1]],
    ] as const) {
      K.binary(op, a, [3], b, [1], o, [3]);
      expect(Array.from(o), op).toEqual(want);
    }
  });

  it('expand repeats size-1 dims', () => {
    const x = new Float32Array([1, 2, 3]);
    const o = new Float32Array(12);
    K.expand(x, [1, 3, 1], o, [2, 3, 2]);
    expect(Array.from(o)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });
});

describe('permute', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 4],
      [1, 0],
    ],
    [
      [40, 70],
      [1, 0],
    ], // blocked path across block edges
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 0, 2],
    ],
    [
      [1, 5, 1, 2],
      [2, 3, 0, 1],
    ],
    [[4], [0]],
  ];
  for (const [shape, perm] of cases)
    it(`[${shape}] by [${perm}]`, () => {
      const x = rnd(prod(shape));
      const outShape = perm.map((p) => shape[p]!);
      const out = new Float32Array(x.length);
      K.permute(x, shape, perm, out);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, outShape);
        const ii = new Array<number>(shape.length);
        perm.forEach((p, d) => (ii[p] = oi[d]!));
        expect(out[o]).toBe(x[ravel(ii, shape)]);
      }
    });
});

describe('slice and sliceAdd', () => {
  const cases: { shape: number[]; starts: number[]; steps: number[]; outShape: number[] }[] = [
    { shape: [10], starts: [2], steps: [3], outShape: [3] },
    { shape: [4, 5], starts: [1, 0], steps: [1, 2], outShape: [3, 3] },
    { shape: [3, 4, 5], starts: [2, 1, 4], steps: [1, 2, 1], outShape: [1, 2, 1] },
    { shape: [2, 6, 3], starts: [0, 5, 0], steps: [1, 1, 2], outShape: [2, 1, 2] },
    { shape: [3, 3], starts: [0, 0], steps: [1, 1], outShape: [0, 3] },
  ];
  for (const c of cases)
    it(`[${c.shape}] from [${c.starts}] step [${c.steps}] → [${c.outShape}], and its adjoint`, () => {
      const x = rnd(prod(c.shape));
      const out = new Float32Array(prod(c.outShape));
      K.slice(x, c.shape, c.starts, c.steps, out, c.outShape);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, c.outShape);
        expect(out[o]).toBe(
          x[
            ravel(
              oi.map((v, d) => c.starts[d]! + v * c.steps[d]!),
              c.shape,
            )
          ],
        );
      }
      // sliceAdd accumulates into out and is the adjoint: ⟨slice(x), g⟩ = ⟨x, sliceAdd(g)⟩
      const g = rnd(out.length);
      const acc = rnd(x.length);
      const acc0 = acc.slice();
      K.sliceAdd(g, c.outShape, c.starts, c.steps, acc, c.shape);
      const delta = Array.from(acc, (v, i) => v - acc0[i]!);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < out.length; i++) lhs += out[i]! * g[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * delta[i]!;
      expect(rhs).toBeCloseTo(lhs, 4);
    });
});

describe('indexSelect and indexAdd', () => {
  for (const [shape, axis] of [
    [[5, 3], 0],
    [[2, 5, 3], 1],
    [[2, 3, 5], 2],
  ] as const)
    it(`[${shape}] along ${axis} with repeats`, () => {
      const x = rnd(prod(shape));
      const idx = Int32Array.from([4, 0, 4, 2]);
      const outShape = shape.map((d, i) => (i === axis ? idx.length : d));
      const out = new Float32Array(prod(outShape));
      K.indexSelect(x, shape, axis, idx, out);
      for (let o = 0; o < out.length; o++) {
        const oi = unravel(o, outShape);
        oi[axis] = idx[oi[axis]!]!;
        expect(out[o]).toBe(x[ravel(oi, shape)]);
      }
      const acc = new Float32Array(x.length);
      K.indexAdd(out, shape, axis, idx, acc);
      // each source slice is added back once per occurrence of its index
      for (let i = 0; i < x.length; i++) {
        const k = unravel(i, shape)[axis]!;
        const times = Array.from(idx).filter((v) => v === k).length;
        expect(acc[i]).toBeCloseTo(x[i]! * times, 5);
      }
    });
});

describe('pooling and upsampling kernels', () => {
  const pp = (B: number, C: number, H: number, W: number, k: number, s: number, p: number): Pool2dParams => ({
    batch: B,
    channels: C,
    inH: H,
    inW: W,
    kH: k,
    kW: k,
    strideH: s,
    strideW: s,
    padH: p,
    padW: p,
    outH: Math.floor((H + 2 * p - k) / s) + 1,
    outW: Math.floor((W + 2 * p - k) / s) + 1,
  });
  for (const p of [pp(2, 2, 6, 6, 2, 2, 0), pp(1, 3, 7, 5, 3, 2, 1), pp(1, 1, 5, 5, 3, 1, 1)]) {
    const tag = `k${p.kH} s${p.strideH} p${p.padH} on ${p.inH}×${p.inW}`;
    it(`maxPool2d ${tag}: values, arg-max indices, and backward scatter`, () => {
      const n = p.batch * p.channels * p.inH * p.inW;
      const m = p.batch * p.channels * p.outH * p.outW;
      const x = rnd(n);
      const out = new Float32Array(m);
      const idx = new Float32Array(m);
      K.maxPool2d(x, out, idx, p);
      for (let o = 0; o < m; o++) {
        const [bc, oh, ow] = [Math.floor(o / (p.outH * p.outW)), Math.floor(o / p.outW) % p.outH, o % p.outW];
        let best = -Infinity;
        let bi = -1;
        for (let kh = 0; kh < p.kH; kh++)
          for (let kw = 0; kw < p.kW; kw++) {
            const ih = oh * p.strideH - p.padH + kh;
            const iw = ow * p.strideW - p.padW + kw;
            if (ih < 0 || iw < 0 || ih >= p.inH || iw >= p.inW) continue;
            const j = bc * p.inH * p.inW + ih * p.inW + iw;
            if (x[j]! > best) {
              best = x[j]!;
              bi = j;
            }
          }
        expect(out[o]).toBe(best);
        expect(idx[o]).toBe(bi);
      }
      const g = rnd(m);
      const dx = rnd(n); // garbage: must be zeroed
      K.maxPool2dBackward(g, idx, dx, p);
      const ref = new Float64Array(n);
      for (let o = 0; o < m; o++) ref[idx[o]!] = ref[idx[o]!]! + g[o]!;
      expectClose(dx, ref, 1e-6);
    });
    it(`avgPool2d ${tag}: forward and backward are adjoint`, () => {
      const n = p.batch * p.channels * p.inH * p.inW;
      const m = p.batch * p.channels * p.outH * p.outW;
      const x = rnd(n);
      const y = new Float32Array(m);
      K.avgPool2d(x, y, p);
      const g = rnd(m);
      const dx = rnd(n);
      K.avgPool2dBackward(g, dx, p);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < m; i++) lhs += y[i]! * g[i]!;
      for (let i = 0; i < n; i++) rhs += x[i]! * dx[i]!;
      expect(rhs).toBeCloseTo(lhs, 4);
    });
  }

  it('avgPool2d counts padding in the divisor (PyTorch count_include_pad)', () => {
    const p = pp(1, 1, 2, 2, 3, 1, 1);
    const y = new Float32Array(4);
    K.avgPool2d(new Float32Array([1, 1, 1, 1]), y, p);
    expect(Array.from(y)).toEqual([4 / 9, 4 / 9, 4 / 9, 4 / 9].map(Math.fround));
  });

  it('upsampleNearest and its backward', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]); // 1 plane 2×3
    const out = new Float32Array(2 * 2 * 3 * 3);
    K.fused.upsampleNearest(x, 1, 2, 3, 2, 3, out);
    for (let I = 0; I < 4; I++) for (let J = 0; J < 9; J++) expect(out[I * 9 + J]).toBe(x[Math.floor(I / 2) * 3 + Math.floor(J / 3)]);
    const dx = new Float32Array(6);
    K.fused.upsampleNearestBackward(new Float32Array(36).fill(1), 1, 2, 3, 2, 3, dx);
    expect(Array.from(dx)).toEqual([6, 6, 6, 6, 6, 6]);
  });
});

describe('elementwise tables', () => {
  const xs = new Float32Array([-3, -0.5, -1e-3, 0.25, 2, 40]);
  const refs: Record<UnaryOp, (v: number, p: number) => number> = {
    neg: (v) => -v,
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    abs: Math.abs,
    sign: Math.sign,
    square: (v) => v * v,
    reciprocal: (v) => 1 / v,
    sigmoid: (v) => 1 / (1 + Math.exp(-v)),
    tanh: Math.tanh,
    relu: (v) => Math.max(v, 0),
    leakyRelu: (v, p) => (v > 0 ? v : p * v),
    elu: (v, p) => (v > 0 ? v : p * (Math.exp(v) - 1)),
    softplus: (v) => Math.log1p(Math.exp(v)),
    addScalar: (v, p) => v + p,
    mulScalar: (v, p) => v * p,
    powScalar: (v, p) => Math.pow(v, p),
    rsubScalar: (v, p) => p - v,
  };
  for (const [op, f] of Object.entries(refs))
    it(`unary ${op}`, () => {
      for (const p of op === 'powScalar' ? [2, 0.5, 3, -1] : [0.3]) {
        const out = new Float32Array(xs.length);
        K.unary(op as UnaryOp, xs, out, p);
        expectClose(
          out,
          Array.from(xs, (v) => Math.fround(f(v, p))),
          1e-6,
          `${op} p=${p}`,
        );
      }
    });

  const grads: Record<UnaryGradOp, (x: number, p: number) => number> = {
    relu: (v) => (v > 0 ? 1 : 0),
    leakyRelu: (v, p) => (v > 0 ? 1 : p),
    elu: (v, p) => (v > 0 ? 1 : p * Math.exp(v)),
    softplus: (v) => 1 / (1 + Math.exp(-v)),
    sigmoid: (y) => y * (1 - y),
    tanh: (y) => 1 - y * y,
  };
  for (const [op, f] of Object.entries(grads))
    it(`unaryGrad ${op}`, () => {
      const g = rnd(xs.length);
      const out = new Float32Array(xs.length);
      K.fused.unaryGrad(op as UnaryGradOp, xs, g, out, 0.2);
      expectClose(
        out,
        Array.from(xs, (v, i) => g[i]! * f(v, 0.2)),
        1e-6,
        op,
      );
    });

  it('where and clamp', () => {
    const out = new Float32Array(3);
    K.where(new Float32Array([1, 0, -2]), new Float32Array([1, 2, 3]), new Float32Array([7, 8, 9]), out);
    expect(Array.from(out)).toEqual([1, 8, 3]);
    K.clamp(new Float32Array([-5, 0.5, 5]), -1, 1, out);
    expect(Array.from(out)).toEqual([-1, 0.5, 1]);
  });
});

describe('fused optimizer steps', () => {
  it('sgdStep: weight decay, momentum (first step and later), dampening, nesterov', () => {
    for (const nesterov of [false, true])
      for (const first of [true, false]) {
        const hp = { lr: 0.1, momentum: 0.9, dampening: nesterov ? 0 : 0.2, weightDecay: 0.01, nesterov, first };
        const p = rnd(5);
        const g = rnd(5);
        const buf = rnd(5);
        const [p0, buf0] = [p.slice(), buf.slice()];
        K.fused.sgdStep(p, g, buf, hp);
        for (let i = 0; i < 5; i++) {
          const d = g[i]! + hp.weightDecay * p0[i]!;
          const b = first ? d : hp.momentum * buf0[i]! + (1 - hp.dampening) * d;
          const step = nesterov ? d + hp.momentum * b : b;
          expect(buf[i]).toBeCloseTo(b, 5);
          expect(p[i]).toBeCloseTo(p0[i]! - hp.lr * step, 5);
        }
      }
  });

  it("adamStep matches PyTorch's formula (Adam, AdamW, amsgrad)", () => {
    for (const [decoupled, amsgrad] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const hp = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled, amsgrad, step: 3 };
      const p = rnd(4);
      const g = rnd(4);
      const m = rnd(4).map(Math.abs);
      const v = rnd(4).map((x) => x * x);
      const vmax = v.map((x) => x * 1.5);
      const [p0, m0, v0, vmax0] = [p.slice(), m.slice(), v.slice(), vmax.slice()];
      K.fused.adamStep(p, g, m, v, amsgrad ? vmax : null, hp);
      for (let i = 0; i < 4; i++) {
        let gi = g[i]!;
        let pi = p0[i]!;
        if (decoupled) pi *= 1 - hp.lr * hp.weightDecay;
        else gi += hp.weightDecay * pi;
        const mi = hp.beta1 * m0[i]! + (1 - hp.beta1) * gi;
        const vi = hp.beta2 * v0[i]! + (1 - hp.beta2) * gi * gi;
        const vh = amsgrad ? Math.max(vmax0[i]!, vi) : vi;
        const mhat = mi / (1 - hp.beta1 ** 3);
        const vhat = vh / (1 - hp.beta2 ** 3);
        expect(p[i]).toBeCloseTo(pi - (hp.lr * mhat) / (Math.sqrt(vhat) + hp.eps), 5);
        expect(m[i]).toBeCloseTo(mi, 6);
        expect(v[i]).toBeCloseTo(vi, 6);
      }
    }
  });
});
