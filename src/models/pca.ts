/**
 * PCA, the linear baseline of seed 002 ("dimensionality reduction: PCA projects onto a
 * hyperplane, an autoencoder onto a curved manifold"). Not a Module: it is fitted in closed form.
 *
 *   μ = (1/n) Σ_i x_i,     Σ = (1/(n−1)) Σ_i (x_i − μ)(x_i − μ)ᵀ = V Λ Vᵀ
 *   transform:          c = (x − μ) V_k          (the k leading eigenvectors as columns)
 *   inverseTransform:   x̂ = μ + c V_kᵀ
 *   explained variance ratio of component j:  λ_j / tr Σ
 *
 * The covariance is accumulated in float64. Mostly-zero data such as MNIST (about 80 % of
 * pixels are 0) takes a sparse path — Σ_i x_i x_iᵀ over each row's non-zeros only, then
 * − n μ μᵀ, exact in float64 — which is an order of magnitude fewer operations than a dense
 * product; other data is centred and multiplied chunk by chunk with the engine's matmul.
 *
 * The eigen-decomposition is Householder tridiagonalisation followed by the implicit QL
 * algorithm (EISPACK's tred2/tql2, as in JAMA), O(d³) and accurate to working precision; the
 * loops are arranged on the transposed matrix so every O(d³) inner loop runs along a row.
 *
 * Over 600 lines on purpose: the fit (dense and sparse covariance, the symmetric eigensolver)
 * and the transforms are one closed-form model with no other user of its solver.
 */
import { noGrad } from '../autograd/tape.js';
import { mm } from '../ops/index.js';
import { Tensor, tidy } from '../tensor/tensor.js';

// ---- symmetric eigensolver ------------------------------------------------------------------

export interface SymmetricEigen {
  /** Eigenvalues in descending order (k of them; k = n by default). */
  values: Float64Array;
  /** Eigenvectors as rows (k × n), row i belonging to values[i]; orthonormal. */
  vectors: Float64Array;
}

/**
 * The eigenvalues and eigenvectors of a real symmetric n×n matrix (row-major; only symmetry is
 * assumed, the input is not modified): all of them, or the k largest.
 *
 * For small k (≤ n/3) the eigenvectors are not accumulated: the tridiagonal matrix's
 * eigenvalues come from QL without vectors (O(n²)), each wanted eigenvector of T from inverse
 * iteration (a few O(n) tridiagonal solves, re-orthogonalised within clusters of close
 * eigenvalues, as LAPACK's dstein), and the k vectors are mapped back through the Householder
 * reflectors (O(k·n²)), which skips the two O(n³) passes that dominate the full solve.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, k = n): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1) throw new Error(`symmetricEigen: n must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`symmetricEigen: k must be an integer in [1, ${n}], got ${k}`);
  // U holds Vᵀ of the JAMA formulation: every V[r][c] below is U[c·n + r].
  const U = Float64Array.from(a);
  for (let i = 0; i < n * n; i++) if (!Number.isFinite(U[i]!)) throw new Error(`symmetricEigen: entry ${i} is ${U[i]}`);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  householderReduce(U, d, e, n);
  if (3 * k <= n) return topEigen(U, d, e, n, k);
  accumulate(U, d, e, n);
  tql2(U, d, e, n, true);
  // tql2 leaves ascending order; return descending, rows = eigenvectors.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * n);
  order.slice(0, k).forEach((src, dst) => {
    values[dst] = d[src]!;
    vectors.set(U.subarray(src * n, src * n + n), dst * n);
  });
  return { values, vectors };
}

/** The k largest eigenpairs after householderReduce: QL values, inverse iteration, back-transform. */
function topEigen(U: Float64Array, h: Float64Array, e: Float64Array, n: number, k: number): SymmetricEigen {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = U[i * n + i]!;
  const sub = new Float64Array(n); // sub[i] = T[i][i−1] (i ≥ 1)
  for (let i = 1; i < n; i++) sub[i] = e[i]!;
  // eigenvalues of T
  const lam = Float64Array.from(diag);
  const ework = Float64Array.from(sub);
  ework[0] = 0;
  tql2(U, lam, ework, n, false);
  const sorted = Array.from(lam).sort((x, y) => y - x);
  let tnorm = 0;
  for (let i = 0; i < n; i++) tnorm = Math.max(tnorm, Math.abs(diag[i]!) + Math.abs(sub[i]!) + (i + 1 < n ? Math.abs(sub[i + 1]!) : 0));
  if (tnorm === 0) tnorm = 1;
  const clusterTol = 1e-3 * tnorm;
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * n);
  const tvecs = new Float64Array(k * n); // eigenvectors of T
  const w = new Float64Array(n);
  // tridiagonal LU workspace
  const dl = new Float64Array(n);
  const dd = new Float64Array(n);
  const du = new Float64Array(n);
  const du2 = new Float64Array(n);
  const piv = new Uint8Array(n);
  let seed = 0x2545f491;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296 - 0.5;
  };
  for (let j = 0; j < k; j++) {
    const lj = sorted[j]!;
    values[j] = lj;
    // LU with partial pivoting of T − λI (LAPACK dgttrf); zero pivots become tiny ones.
    for (let i = 0; i < n; i++) {
      dd[i] = diag[i]! - lj;
      du[i] = i + 1 < n ? sub[i + 1]! : 0;
      dl[i] = i + 1 < n ? sub[i + 1]! : 0;
      du2[i] = 0;
      piv[i] = 0;
    }
    for (let i = 0; i + 1 < n; i++) {
      if (Math.abs(dd[i]!) >= Math.abs(dl[i]!)) {
        if (dd[i] !== 0) {
          const f = dl[i]! / dd[i]!;
          dl[i] = f;
          dd[i + 1] = dd[i + 1]! - f * du[i]!;
        } else dl[i] = 0;
      } else {
        const f = dd[i]! / dl[i]!;
        dd[i] = dl[i]!;
        dl[i] = f;
        const t = du[i]!;
        du[i] = dd[i + 1]!;
        dd[i + 1] = t - f * dd[i + 1]!;
        if (i + 2 < n) {
          du2[i] = du[i + 1]!;
          du[i + 1] = -f * du[i + 1]!;
        }
        piv[i] = 1;
      }
    }
    const tiny = 2 ** -52 * tnorm;
    for (let i = 0; i < n; i++) if (Math.abs(dd[i]!) < tiny) dd[i] = dd[i]! < 0 ? -tiny : tiny;
    for (let i = 0; i < n; i++) w[i] = rnd();
    // the previous vectors of this cluster (eigenvalues within clusterTol), to orthogonalise against
    let c0 = j;
    while (c0 > 0 && sorted[c0 - 1]! - lj <= clusterTol) c0--;
    for (let it = 0; it < 3; it++) {
      // solve (T − λI) x = w in place
      for (let i = 0; i + 1 < n; i++) {
        if (piv[i] === 0) w[i + 1] = w[i + 1]! - dl[i]! * w[i]!;
        else {
          const t = w[i]!;
          w[i] = w[i + 1]!;
          w[i + 1] = t - dl[i]! * w[i]!;
        }
      }
      w[n - 1] = w[n - 1]! / dd[n - 1]!;
      if (n > 1) w[n - 2] = (w[n - 2]! - du[n - 2]! * w[n - 1]!) / dd[n - 2]!;
      for (let i = n - 3; i >= 0; i--) w[i] = (w[i]! - du[i]! * w[i + 1]! - du2[i]! * w[i + 2]!) / dd[i]!;
      normalise(w);
      // Gram–Schmidt against this cluster's earlier vectors (kept in T's basis in `tvecs`)
      for (let p = c0; p < j; p++) {
        const q = tvecs.subarray(p * n, p * n + n);
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i]! * w[i]!;
        for (let i = 0; i < n; i++) w[i] = w[i]! - dot * q[i]!;
      }
      normalise(w);
    }
    tvecs.set(w, j * n);
  }
  // z = Q w = P_{n−2}(···(P_0 w)), P_i = I − u uᵀ/h on coordinates 0..i, u = U[i+1][0..i], h = h[i+1]
  for (let j = 0; j < k; j++) {
    const z = vectors.subarray(j * n, j * n + n);
    z.set(tvecs.subarray(j * n, j * n + n));
    for (let i = 0; i + 1 < n; i++) {
      const hh = h[i + 1]!;
      if (hh === 0) continue;
      const r = (i + 1) * n;
      let g = 0;
      for (let t = 0; t <= i; t++) g += U[r + t]! * z[t]!;
      g /= hh;
      for (let t = 0; t <= i; t++) z[t] = z[t]! - g * U[r + t]!;
    }
  }
  return { values, vectors };
}

function normalise(w: Float64Array): void {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i]! * w[i]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! * inv;
}

/**
 * Householder reduction to tridiagonal form. Afterwards the diagonal of T is U's diagonal, e[i]
 * (i ≥ 1) is T[i][i−1], and reflector i (i ≥ 1) is row i of U over columns 0..i−1 with
 * h_i = d[i] (0 = no reflection); `accumulate` turns these into Q, `applyQ` applies them.
 */
function householderReduce(U: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  // d[j] = V[n-1][j]
  for (let j = 0; j < n; j++) d[j] = U[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = U[j * n + i - 1]!; // V[i-1][j]
        U[j * n + i] = 0; // V[i][j]
        U[i * n + j] = 0; // V[j][i]
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // Apply the similarity transformation to the remaining columns.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        U[i * n + j] = f; // V[j][i]
        const row = j * n; // V[k][j] = U[row + k]
        g = e[j]! + U[row + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = U[row + k]!;
          g += v * d[k]!;
          e[k] = e[k]! + v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const row = j * n;
        for (let k = j; k <= i - 1; k++) U[row + k] = U[row + k]! - (f * e[k]! + g * d[k]!);
        d[j] = U[row + i - 1]!; // V[i-1][j]
        U[row + i] = 0; // V[i][j]
      }
    }
    d[i] = h;
  }
}

/** Forms Q = P_{n−2}···P_0 from the stored reflectors (in U = Qᵀ), and d = T's diagonal. */
function accumulate(U: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    U[i * n + n - 1] = U[i * n + i]!; // V[n-1][i] = V[i][i]
    U[i * n + i] = 1;
    const h = d[i + 1]!;
    const r1 = (i + 1) * n; // V[k][i+1] = U[r1 + k]
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = U[r1 + k]! / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += U[r1 + k]! * U[rj + k]!;
        for (let k = 0; k <= i; k++) U[rj + k] = U[rj + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) U[r1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = U[j * n + n - 1]!;
    U[j * n + n - 1] = 0;
  }
  U[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL iterations on the tridiagonal matrix (d: diagonal, e[i]: T[i][i−1]); with
 * `vectors`, also rotates the rows of U (= eigenvectors). Leaves the eigenvalues in d.
 */
function tql2(U: Float64Array, d: Float64Array, e: Float64Array, n: number, vectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error(`symmetricEigen: QL iteration did not converge for eigenvalue ${l} of ${n}`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (vectors) {
            // Rotate eigenvector rows i and i+1 (V[k][i] = U[i·n + k]).
            const ri = i * n;
            const ri1 = ri + n;
            for (let k = 0; k < n; k++) {
              const hk = U[ri1 + k]!;
              const vk = U[ri + k]!;
              U[ri1 + k] = s * vk + c * hk;
              U[ri + k] = c * vk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

// ---- covariance -----------------------------------------------------------------------------

/** Rows per chunk of the dense covariance product and of transforms (bounds temporary memory). */
const CHUNK_ROWS = 4096;

/** Column means (float64) of an n×d row-major array. */
function columnMeans(data: Float32Array, n: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mu[j] = mu[j]! + data[o + j]!;
  }
  for (let j = 0; j < d; j++) mu[j] = mu[j]! / n;
  return mu;
}

/** Whether at least 60 % of (a probe of) the values are exact zeros. */
function mostlyZero(data: Float32Array): boolean {
  const probe = Math.min(data.length, 200_000);
  let zeros = 0;
  for (let i = 0; i < probe; i++) if (data[i] === 0) zeros++;
  return probe > 0 && zeros >= 0.6 * probe;
}

/**
 * The sample covariance (1/(n−1)) Σ (x − μ)(x − μ)ᵀ as a d×d float64 array. Data with at least
 * 60 % exact zeros uses the sparse second-moment path; other data the engine's matmul on
 * centred chunks (float32 products, float64 accumulation across chunks).
 */
export function covariance(data: Float32Array, n: number, d: number, mu: Float64Array = columnMeans(data, n, d)): Float64Array {
  const cov = new Float64Array(d * d);
  if (mostlyZero(data)) {
    // Σ x xᵀ over each row's non-zeros (upper triangle), then − n μ μᵀ. The non-zeros are
    // grouped into runs of consecutive coordinates (strokes along an image row), so the inner
    // loops write contiguous stretches of the covariance.
    const val = new Float64Array(d);
    const runStart = new Int32Array(d);
    const runLen = new Int32Array(d);
    const runOff = new Int32Array(d);
    for (let r = 0; r < n; r++) {
      const o = r * d;
      let m = 0;
      let nr = 0;
      for (let j = 0; j < d; j++) {
        const v = data[o + j]!;
        if (v === 0) continue;
        if (nr > 0 && runStart[nr - 1]! + runLen[nr - 1]! === j) runLen[nr - 1]!++;
        else {
          runStart[nr] = j;
          runLen[nr] = 1;
          runOff[nr] = m;
          nr++;
        }
        val[m++] = v;
      }
      for (let ra = 0; ra < nr; ra++) {
        const sa = runStart[ra]!;
        const la = runLen[ra]!;
        const oa = runOff[ra]!;
        for (let t = 0; t < la; t++) {
          const va = val[oa + t]!;
          const base = (sa + t) * d;
          // the rest of this run, then every later run
          for (let q = oa + t, c = base + sa + t; q < oa + la; q++, c++) cov[c] = cov[c]! + va * val[q]!;
          for (let rb = ra + 1; rb < nr; rb++) {
            const ob = runOff[rb]!;
            const end = ob + runLen[rb]!;
            for (let q = ob, c = base + runStart[rb]!; q < end; q++, c++) cov[c] = cov[c]! + va * val[q]!;
          }
        }
      }
    }
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) {
        const v = (cov[i * d + j]! - n * mu[i]! * mu[j]!) / Math.max(n - 1, 1);
        cov[i * d + j] = v;
        cov[j * d + i] = v;
      }
    return cov;
  }
  noGrad(() => {
    for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, n - r0);
      tidy(() => {
        const chunk = Tensor.empty([rows, d]);
        const c = chunk.data;
        for (let i = 0; i < rows; i++) {
          const o = (r0 + i) * d;
          for (let j = 0; j < d; j++) c[i * d + j] = data[o + j]! - mu[j]!;
        }
        const prod = mm(chunk, chunk, true, false).data; // (d, d) = chunkᵀ·chunk
        for (let i = 0; i < d * d; i++) cov[i] = cov[i]! + prod[i]!;
      });
    }
  });
  const s = 1 / Math.max(n - 1, 1);
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      // symmetrise (float32 products may differ in the last bit)
      const v = 0.5 * (cov[i * d + j]! + cov[j * d + i]!) * s;
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  return cov;
}

/**
 * symmetricEigen of a covariance matrix, leaving out the constant coordinates (zero variance,
 * e.g. MNIST's always-black border pixels): they only add eigenvalue-0 unit vectors, and the
 * O(d³) solve on the rest is that much cheaper.
 */
function eigenSkippingConstants(cov: Float64Array, d: number, k: number): SymmetricEigen {
  const live: number[] = [];
  const dead: number[] = [];
  for (let i = 0; i < d; i++) (cov[i * d + i]! > 0 ? live : dead).push(i);
  if (dead.length === 0 || live.length === 0) return symmetricEigen(cov, d, k);
  const m = live.length;
  const sub = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) sub[a * m + b] = cov[live[a]! * d + live[b]!]!;
  const km = Math.min(k, m);
  const r = symmetricEigen(sub, m, km);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * d);
  values.set(r.values);
  for (let j = 0; j < km; j++) for (let a = 0; a < m; a++) vectors[j * d + live[a]!] = r.vectors[j * m + a]!;
  for (let j = km; j < k; j++) vectors[j * d + dead[j - km]!] = 1;
  return { values, vectors };
}

// ---- PCA ------------------------------------------------------------------------------------

export interface PCAJSON {
  kind: 'pca';
  dim: number;
  nComponents: number;
  nSamples: number;
  totalVariance: number;
  mean: number[];
  /** k × d, row-major. */
  components: number[];
  explainedVariance: number[];
}

type Rows = Float32Array | Tensor;

/** Rows of d values: all of them, or the first n when n is given. */
function rowsOf(op: string, x: Rows, d: number, n?: number): { data: Float32Array; n: number } {
  const data = x instanceof Tensor ? x.data : x;
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 0 || n * d > data.length)
      throw new Error(`${op}: n = ${n} rows of ${d} values need ${n * d} values, got ${data.length}`);
    return { data: data.subarray(0, n * d), n };
  }
  if (data.length % d !== 0) throw new Error(`${op}: ${data.length} values are not a whole number of rows of ${d}`);
  return { data, n: data.length / d };
}

export class PCA {
  dim = 0;
  nComponents = 0;
  nSamples = 0;
  /** tr Σ: the total variance of the data. */
  totalVariance = 0;
  mean = new Float32Array(0);
  /** Principal axes as rows (k × d), unit length, by decreasing variance. */
  components = new Float32Array(0);
  /** λ_j, the variance along each axis (k). */
  explainedVariance: number[] = [];

  /** Fits a PCA with k components to n rows of d values. */
  static fit(data: Float32Array, n: number, d: number, k: number): PCA {
    return new PCA().fit(data, n, d, k);
  }

  fit(data: Float32Array, n: number, d: number, k: number): this {
    for (const [name, v] of [
      ['n', n],
      ['d', d],
      ['k', k],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`PCA.fit: ${name} must be a positive integer, got ${v}`);
    if (data.length !== n * d) throw new Error(`PCA.fit: expected n·d = ${n}·${d} = ${n * d} values, got ${data.length}`);
    if (n < 2) throw new Error(`PCA.fit: needs at least 2 samples, got ${n}`);
    if (k > d) throw new Error(`PCA.fit: k = ${k} components exceed the dimension d = ${d}`);
    const mu = columnMeans(data, n, d);
    const cov = covariance(data, n, d, mu);
    const { values, vectors } = eigenSkippingConstants(cov, d, k);
    let trace = 0;
    for (let i = 0; i < d; i++) trace += cov[i * d + i]!;
    this.dim = d;
    this.nComponents = k;
    this.nSamples = n;
    this.totalVariance = trace;
    this.mean = Float32Array.from(mu);
    this.components = new Float32Array(k * d);
    this.explainedVariance = new Array<number>(k).fill(0);
    for (let j = 0; j < k; j++) {
      const row = vectors.subarray(j * d, j * d + d);
      // Deterministic sign: the largest-magnitude entry of each axis is positive.
      let big = 0;
      for (let t = 1; t < d; t++) if (Math.abs(row[t]!) > Math.abs(row[big]!)) big = t;
      const sgn = row[big]! < 0 ? -1 : 1;
      for (let t = 0; t < d; t++) this.components[j * d + t] = sgn * row[t]!;
      this.explainedVariance[j] = Math.max(0, values[j]!);
    }
    return this;
  }

  /** λ_j / tr Σ for each kept component. */
  get explainedVarianceRatio(): number[] {
    const t = this.totalVariance;
    return this.explainedVariance.map((v) => (t > 0 ? v / t : 0));
  }

  /** The number of components (alias of nComponents). */
  get k(): number {
    return this.nComponents;
  }

  private ensureFitted(op: string): void {
    if (this.nComponents === 0) throw new Error(`PCA.${op}: the PCA is not fitted yet; call fit() or fromJSON() first`);
  }

  /** A PCA that keeps only the first k components (no refit). */
  truncate(k: number): PCA {
    this.ensureFitted('truncate');
    if (!Number.isInteger(k) || k < 1 || k > this.nComponents)
      throw new Error(`PCA.truncate: k must be an integer in [1, ${this.nComponents}], got ${k}`);
    const p = new PCA();
    p.dim = this.dim;
    p.nComponents = k;
    p.nSamples = this.nSamples;
    p.totalVariance = this.totalVariance;
    p.mean = this.mean.slice();
    p.components = this.components.slice(0, k * this.dim);
    p.explainedVariance = this.explainedVariance.slice(0, k);
    return p;
  }

  /**
   * Codes c = (x − μ) V_k for each row: (n × k), row-major. Mostly-zero data is multiplied
   * uncentred, c = x V_k − μ V_k, so the matmul can skip the zeros.
   */
  transform(x: Rows, n?: number): Float32Array {
    this.ensureFitted('transform');
    const d = this.dim;
    const k = this.nComponents;
    const { data, n: rows0 } = rowsOf('PCA.transform', x, d, n);
    n = rows0;
    const out = new Float32Array(n * k);
    const sparse = mostlyZero(data);
    noGrad(() => {
      // V_k as a (d, k) matrix, so the product runs in the kernel's row-saxpy order.
      const vt = Tensor.empty([d, k]);
      const v = vt.data;
      for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) v[t * k + j] = this.components[j * d + t]!;
      // μ V_k, subtracted after the uncentred product.
      const muV = new Float64Array(k);
      for (let j = 0; j < k; j++) {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += this.mean[t]! * this.components[j * d + t]!;
        muV[j] = acc;
      }
      for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        const rows = Math.min(CHUNK_ROWS, n - r0);
        tidy(() => {
          const chunk = Tensor.empty([rows, d]);
          const c = chunk.data;
          if (sparse) c.set(data.subarray(r0 * d, (r0 + rows) * d));
          else
            for (let i = 0; i < rows; i++) {
              const o = (r0 + i) * d;
              for (let j = 0; j < d; j++) c[i * d + j] = data[o + j]! - this.mean[j]!;
            }
          const codes = mm(chunk, vt).data;
          if (sparse) for (let i = 0; i < rows * k; i++) out[r0 * k + i] = codes[i]! - muV[i % k]!;
          else out.set(codes, r0 * k);
        });
      }
      vt.dispose();
    });
    return out;
  }

  /** x̂ = μ + c V_kᵀ for each row of codes (n × k) → (n × d). */
  inverseTransform(codes: Rows, n?: number): Float32Array {
    this.ensureFitted('inverseTransform');
    const d = this.dim;
    const k = this.nComponents;
    const { data, n: rows0 } = rowsOf('PCA.inverseTransform', codes, k, n);
    n = rows0;
    const out = new Float32Array(n * d);
    noGrad(() => {
      const comp = Tensor.empty([k, d]);
      comp.data.set(this.components);
      for (let r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        const rows = Math.min(CHUNK_ROWS, n - r0);
        tidy(() => {
          const chunk = Tensor.empty([rows, k]);
          chunk.data.set(data.subarray(r0 * k, (r0 + rows) * k));
          const rec = mm(chunk, comp).data;
          for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) out[(r0 + i) * d + j] = rec[i * d + j]! + this.mean[j]!;
        });
      }
      comp.dispose();
    });
    return out;
  }

  /** Projection onto the principal subspace, back in input space: inverseTransform(transform(x)). */
  reconstruct(x: Rows, n?: number): Float32Array {
    return this.inverseTransform(this.transform(x, n));
  }

  /** Per-sample mean squared error (1/d)‖x − x̂‖², comparable with the autoencoders' scores. */
  reconstructionError(x: Rows, n?: number): Float32Array {
    this.ensureFitted('reconstructionError');
    const d = this.dim;
    const { data, n: rows } = rowsOf('PCA.reconstructionError', x, d, n);
    n = rows;
    const rec = this.reconstruct(data, n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const e = data[i * d + j]! - rec[i * d + j]!;
        s += e * e;
      }
      out[i] = s / d;
    }
    return out;
  }

  /** The mean over samples of reconstructionError. */
  meanReconstructionError(x: Rows, n?: number): number {
    const e = this.reconstructionError(x, n);
    let s = 0;
    for (let i = 0; i < e.length; i++) s += e[i]!;
    return e.length ? s / e.length : NaN;
  }

  toJSON(): PCAJSON {
    this.ensureFitted('toJSON');
    return {
      kind: 'pca',
      dim: this.dim,
      nComponents: this.nComponents,
      nSamples: this.nSamples,
      totalVariance: this.totalVariance,
      mean: Array.from(this.mean),
      components: Array.from(this.components),
      explainedVariance: this.explainedVariance.slice(),
    };
  }

  static fromJSON(j: PCAJSON): PCA {
    if (!j || j.kind !== 'pca')
      throw new Error(`PCA.fromJSON: expected an object with kind 'pca', got ${JSON.stringify(j && (j as { kind?: unknown }).kind)}`);
    const { dim: d, nComponents: k } = j;
    if (!Number.isInteger(d) || d < 1 || !Number.isInteger(k) || k < 1 || k > d)
      throw new Error(`PCA.fromJSON: invalid dim ${d} / nComponents ${k}`);
    if (j.mean?.length !== d || j.components?.length !== k * d || j.explainedVariance?.length !== k)
      throw new Error(
        `PCA.fromJSON: expected mean (${d}), components (${k}·${d}) and explainedVariance (${k}) values, got ${j.mean?.length}, ${j.components?.length}, ${j.explainedVariance?.length}`,
      );
    const p = new PCA();
    p.dim = d;
    p.nComponents = k;
    p.nSamples = j.nSamples ?? 0;
    p.totalVariance = j.totalVariance;
    p.mean = Float32Array.from(j.mean);
    p.components = Float32Array.from(j.components);
    p.explainedVariance = j.explainedVariance.map(Number);
    return p;
  }
}
