/**
 * Element-wise closeness checks for comparing aelab results with PyTorch fixtures.
 *
 * An element passes when |actual - expected| <= atol + rtol * |expected|. On failure the error
 * names the worst element (the largest error relative to its own tolerance), its flat and
 * multi-dimensional index and both values, plus how many elements failed, so a broken kernel
 * can be located from the test output alone.
 */

export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute floor for values near zero (default 1e-6). */
  atol?: number;
}

/** A stored tensor: flat row-major data plus its shape, as written by tools/gen_torch_fixtures.py. */
export interface FixtureTensor {
  shape: number[];
  data: number[];
}

/** Anything with a shape and flat data; aelab's Tensor fits. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number>;
}

export interface CloseReport {
  ok: boolean;
  /** Number of elements outside tolerance (NaN counts as outside). */
  failures: number;
  worst: { index: number; actual: number; expected: number; absErr: number; ratio: number } | null;
}

export const DEFAULT_RTOL = 1e-5;
export const DEFAULT_ATOL = 1e-6;

export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: CloseOptions = {},
): CloseReport {
  const rtol = opts.rtol ?? DEFAULT_RTOL;
  const atol = opts.atol ?? DEFAULT_ATOL;
  let failures = 0;
  let worst: CloseReport['worst'] = null;
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    let absErr: number;
    let ratio: number;
    if (Number.isNaN(a) || Number.isNaN(e)) {
      absErr = Number.NaN;
      ratio = Number.isNaN(a) && Number.isNaN(e) ? 0 : Number.POSITIVE_INFINITY;
    } else if (a === e) {
      absErr = 0; // also covers equal infinities
      ratio = 0;
    } else {
      absErr = Math.abs(a - e);
      ratio = absErr / (atol + rtol * Math.abs(e));
    }
    if (!(ratio <= 1)) failures++;
    if (worst === null || ratio > worst.ratio) worst = { index: i, actual: a, expected: e, absErr, ratio };
  }
  return { ok: failures === 0 && actual.length === expected.length, failures, worst };
}

/** Flat index -> "[i, j, k]" for the given shape. */
export function unravel(index: number, shape: readonly number[]): string {
  if (shape.length === 0) return '[]';
  const idx: number[] = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d] as number;
    idx[d] = s > 0 ? rest % s : 0;
    rest = s > 0 ? Math.floor(rest / s) : 0;
  }
  return `[${idx.join(', ')}]`;
}

/** Throws a descriptive Error unless `actual` matches `expected` element-wise. */
export function expectArrayClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  opts: CloseOptions = {},
  shape?: readonly number[],
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  const r = compareClose(actual, expected, opts);
  if (!r.ok && r.worst) {
    const w = r.worst;
    const where = shape ? `${w.index} ${unravel(w.index, shape)}` : `${w.index}`;
    throw new Error(
      `${label}: ${r.failures}/${expected.length} elements outside rtol=${opts.rtol ?? DEFAULT_RTOL} ` +
        `atol=${opts.atol ?? DEFAULT_ATOL}; worst at index ${where}: actual ${w.actual}, ` +
        `expected ${w.expected} (abs err ${w.absErr.toExponential(3)}, ` +
        `rel err ${(w.absErr / Math.abs(w.expected)).toExponential(3)})`,
    );
  }
}

/** Checks shape equality, then values. */
export function expectTensorClose(
  actual: TensorLike | null | undefined,
  expected: FixtureTensor,
  label: string,
  opts: CloseOptions = {},
): void {
  if (actual === null || actual === undefined) throw new Error(`${label}: missing (got ${String(actual)})`);
  const as = Array.from(actual.shape);
  if (as.length !== expected.shape.length || as.some((d, i) => d !== expected.shape[i])) {
    throw new Error(`${label}: shape [${as.join(', ')}] != expected [${expected.shape.join(', ')}]`);
  }
  expectArrayClose(actual.data, expected.data, label, opts, expected.shape);
}

/** Scalar version, same tolerance rule. */
export function expectNumberClose(actual: number, expected: number, label: string, opts: CloseOptions = {}): void {
  expectArrayClose([actual], [expected], label, opts);
}
