import { describe, expect, it } from 'vitest';
import { PCA, covariance, symmetricEigen } from '../../src/models/index.js';
import { Generator, tensor } from '../../src/index.js';
import { mnist } from './helpers.js';

/** Random symmetric n×n with entries in [−1, 1). */
function randomSymmetric(n: number, seed: number): Float64Array {
  const g = new Generator(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const v = g.uniform(-1, 1);
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  return a;
}

function checkEigen(a: ArrayLike<number>, n: number, tol: number): void {
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 1; i < n; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]! + 1e-12);
  for (let k = 0; k < n; k++) {
    // A v = λ v
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * vectors[k * n + j]!;
      expect(Math.abs(s - values[k]! * vectors[k * n + i]!)).toBeLessThan(tol);
    }
    // orthonormal rows
    for (let l = k; l < n; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[k * n + i]! * vectors[l * n + i]!;
      expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(tol);
    }
  }
}

/** The rows of top.vectors are orthonormal eigenvectors of a for top.values. */
function checkTop(a: ArrayLike<number>, n: number, top: { values: Float64Array; vectors: Float64Array }, tol: number): void {
  const k = top.values.length;
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += a[i * n + t]! * top.vectors[j * n + t]!;
      expect(Math.abs(s - top.values[j]! * top.vectors[j * n + i]!)).toBeLessThan(tol);
    }
    for (let l = j; l < k; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += top.vectors[j * n + i]! * top.vectors[l * n + i]!;
      expect(Math.abs(dot - (j === l ? 1 : 0))).toBeLessThan(tol);
    }
  }
}

/** Column-major-free reference: the covariance by the textbook formula, in float64. */
function refCovariance(x: Float32Array, n: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += x[i * d + j]! / n;
  const c = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) c[a * d + b]! += ((x[i * d + a]! - mu[a]!) * (x[i * d + b]! - mu[b]!)) / (n - 1);
  return c;
}

/** MNIST digits subsampled to 14×14 (every other pixel): still ~80 % zeros, and a 196-dim eigenproblem. */
function mnist14(from: number, n: number): Float32Array {
  const ds = mnist();
  const out = new Float32Array(n * 196);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 14; r++) for (let c = 0; c < 14; c++) out[i * 196 + r * 14 + c] = ds.images[(from + i) * 784 + 2 * r * 28 + 2 * c]!;
  return out;
}

describe('symmetricEigen', () => {
  it('solves known small cases', () => {
    const two = symmetricEigen([2, 1, 1, 2], 2);
    expect(Array.from(two.values)).toEqual([expect.closeTo(3, 12), expect.closeTo(1, 12)]);
    expect(Math.abs(two.vectors[0]!)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(Math.abs(two.vectors[1]!)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(Array.from(symmetricEigen([5], 1).values)).toEqual([5]);
    const diag = symmetricEigen([1, 0, 0, 0, 3, 0, 0, 0, 2], 3);
    expect(Array.from(diag.values)).toEqual([3, 2, 1]);
    checkEigen([0, 0, 0, 0], 2, 1e-12); // zero matrix
    checkEigen([1, 0, 0, 0, 1, 0, 0, 0, 1], 3, 1e-12); // repeated eigenvalues
  });

  it('decomposes random symmetric matrices to working precision', () => {
    checkEigen(randomSymmetric(7, 1), 7, 1e-12);
    checkEigen(randomSymmetric(60, 2), 60, 1e-11);
  });

  it('the top-k path (inverse iteration) agrees with the full solve, clusters included', () => {
    const compare = (a: Float64Array, n: number, k: number) => {
      const full = symmetricEigen(a, n);
      const top = symmetricEigen(a, n, k);
      expect(top.values.length).toBe(k);
      expect(top.vectors.length).toBe(k * n);
      for (let j = 0; j < k; j++) expect(top.values[j]).toBeCloseTo(full.values[j]!, 10);
      checkTop(a, n, top, 1e-9);
    };
    compare(randomSymmetric(90, 7), 90, 10);
    // eigenvalues 5 (three times), 4, 4, then 1 … : exact clusters must still give an orthonormal set
    const n = 40;
    const g = new Generator(8);
    const q = symmetricEigen(randomSymmetric(n, 9), n).vectors; // a random orthonormal basis
    const lam = Array.from({ length: n }, (_, i) => (i < 3 ? 5 : i < 5 ? 4 : 1 + g.random() * 0.5));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let t = 0; t < n; t++) v += q[t * n + i]! * lam[t]! * q[t * n + j]!;
        a[i * n + j] = v;
      }
    compare(a, n, 8);
    // block-diagonal (the tridiagonal matrix splits)
    const b = new Float64Array(9 * 9);
    for (let i = 0; i < 9; i++) b[i * 9 + i] = [3, 1, 2, 3, 0.5, 2, 1, 3, 0][i]!;
    compare(b, 9, 3);
  });

  it('rejects bad input', () => {
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/2×2/);
    expect(() => symmetricEigen([NaN], 1)).toThrow(/NaN/);
  });
});

describe('covariance', () => {
  it('dense (centred matmul) and sparse (non-zeros only) paths match the textbook formula', () => {
    const g = new Generator(3);
    const n = 50;
    const d = 12;
    const dense = new Float32Array(n * d).map(() => g.uniform(-2, 5));
    const sparse = new Float32Array(n * d).map(() => (g.random() < 0.75 ? 0 : g.uniform(0, 1)));
    for (const x of [dense, sparse]) {
      const c = covariance(x, n, d);
      const r = refCovariance(x, n, d);
      for (let i = 0; i < d * d; i++) expect(c[i]!).toBeCloseTo(r[i]!, 5);
    }
  });
});

describe('PCA', () => {
  it('finds a known decomposition: axes and variances of an anisotropic Gaussian', () => {
    // x = 5·a·e₁' + 2·b·e₂' + 0.5·c·e₃' + μ with an orthonormal rotation of the axes
    const g = new Generator(4);
    const n = 4000;
    const s = Math.SQRT1_2;
    const axes = [
      [s, s, 0],
      [-s, s, 0],
      [0, 0, 1],
    ];
    const scales = [5, 2, 0.5];
    const x = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const z = scales.map((sc) => sc * g.normal());
      for (let j = 0; j < 3; j++) x[i * 3 + j] = 10 + z[0]! * axes[0]![j]! + z[1]! * axes[1]![j]! + z[2]! * axes[2]![j]!;
    }
    const p = PCA.fit(x, n, 3, 3);
    for (let k = 0; k < 3; k++) {
      expect(p.explainedVariance[k]! / scales[k]! ** 2).toBeCloseTo(1, 1);
      let dot = 0;
      for (let j = 0; j < 3; j++) dot += p.components[k * 3 + j]! * axes[k]![j]!;
      expect(Math.abs(dot)).toBeGreaterThan(0.995);
    }
    expect(Array.from(p.mean)).toEqual([expect.closeTo(10, 0), expect.closeTo(10, 0), expect.closeTo(10, 0)]);
    const total = 25 + 4 + 0.25;
    expect(p.explainedVarianceRatio[0]).toBeCloseTo(25 / total, 1);
  });

  it('data on a plane: two components explain ~100 % and reconstruct exactly', () => {
    const g = new Generator(5);
    const n = 300;
    const d = 10;
    const u = Array.from({ length: d }, () => g.normal());
    const v = Array.from({ length: d }, () => g.normal());
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = g.normal() * 3;
      const b = g.normal();
      for (let j = 0; j < d; j++) x[i * d + j] = 1 + a * u[j]! + b * v[j]!;
    }
    const p = PCA.fit(x, n, d, 2);
    expect(p.explainedVarianceRatio[0]! + p.explainedVarianceRatio[1]!).toBeGreaterThan(0.99999);
    const err = p.reconstructionError(x);
    expect(Math.max(...err)).toBeLessThan(1e-8);
    expect(p.transform(x).length).toBe(n * 2);
  });

  it('on MNIST: the error falls with k, and all components reconstruct exactly', () => {
    const n = 600;
    const d = 196;
    const x = mnist14(0, n);
    const held = mnist14(n, 200);
    const full = PCA.fit(x, n, d, d);
    let prev = Infinity;
    for (const k of [1, 2, 5, 10, 30, 100]) {
      const e = full.truncate(k).meanReconstructionError(held);
      expect(e).toBeLessThan(prev);
      prev = e;
    }
    // with every component the projection is the identity (an orthonormal basis)
    const rec = full.reconstruct(held);
    let worst = 0;
    for (let i = 0; i < held.length; i++) worst = Math.max(worst, Math.abs(rec[i]! - held[i]!));
    expect(worst).toBeLessThan(1e-4);
    // ratios add up to 1 and fall
    const r = full.explainedVarianceRatio;
    expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(r[0]!).toBeGreaterThan(r[1]!);
    expect(r[0]!).toBeGreaterThan(0.05);
  });

  it('handles constant coordinates (zero variance), which the solve leaves out', () => {
    const g = new Generator(6);
    const n = 40;
    const d = 6;
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) x[i * d + j] = j === 1 ? 0 : j === 4 ? 0.5 : g.normal() + (j === 0 ? 3 * x[i * d + 2]! : 0);
    const p = PCA.fit(x, n, d, d);
    // orthonormal rows, the constant coordinates last with variance 0, and an exact round trip
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += p.components[a * d + j]! * p.components[b * d + j]!;
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 5);
      }
    expect(p.explainedVariance.slice(4)).toEqual([0, 0]);
    const rec = p.reconstruct(x);
    for (let i = 0; i < x.length; i++) expect(rec[i]).toBeCloseTo(x[i]!, 4);
  });

  it('transform accepts tensors and a row count, and matches (x − μ)V_k', () => {
    const x = mnist14(0, 200);
    const p = PCA.fit(x, 200, 196, 5);
    const codes = p.transform(x, 3); // first 3 rows only
    expect(codes.length).toBe(15);
    const viaTensor = p.transform(tensor(x.subarray(0, 3 * 196), [3, 196]));
    for (let i = 0; i < 15; i++) expect(viaTensor[i]).toBeCloseTo(codes[i]!, 5);
    // mostly-zero data is multiplied uncentred; the result is still (x − μ)V_k
    for (let r = 0; r < 3; r++)
      for (let k = 0; k < 5; k++) {
        let c = 0;
        for (let j = 0; j < 196; j++) c += (x[r * 196 + j]! - p.mean[j]!) * p.components[k * 196 + j]!;
        expect(codes[r * 5 + k]).toBeCloseTo(c, 4);
      }
    expect(p.inverseTransform(codes, 3).length).toBe(3 * 196);
    expect(p.k).toBe(5);
  });

  it('round-trips through JSON', () => {
    const x = mnist14(0, 100);
    const p = PCA.fit(x, 100, 196, 4);
    const q = PCA.fromJSON(JSON.parse(JSON.stringify(p.toJSON())));
    expect(Array.from(q.transform(x))).toEqual(Array.from(p.transform(x)));
    expect(q.explainedVarianceRatio).toEqual(p.explainedVarianceRatio);
    expect(() => PCA.fromJSON({ kind: 'pca', dim: 3, nComponents: 1 } as never)).toThrow(/expected mean/);
  });

  it('reports bad arguments', () => {
    const x = new Float32Array(20);
    expect(() => PCA.fit(x, 4, 5, 6)).toThrow(/exceed/);
    expect(() => PCA.fit(x, 3, 5, 2)).toThrow(/n·d/);
    expect(() => new PCA().transform(x)).toThrow(/not fitted/);
    expect(() => PCA.fit(x, 4, 5, 2).transform(new Float32Array(7))).toThrow(/whole number/);
  });
});
