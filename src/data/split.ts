/**
 * Seeded dataset splits. The same seed gives the same split on every machine; stratified splits
 * keep each label's proportion in every part (e.g. 10% of every class in validation).
 */

import { Generator } from '../tensor/random.js';
import { DataError } from './errors.js';
import { subset, type ImageDataset } from './dataset.js';

export interface SplitOptions {
  /** Seed for a fresh Generator; default 0. Ignored when `generator` is given. */
  seed?: number;
  generator?: Generator;
}

/**
 * Turns sizes into counts that sum to n. Sizes are either counts (non-negative integers summing
 * to n) or fractions (summing to 1); fractions are floored and the remainder handed out one by one
 * from the first part, as torch.utils.data.random_split does.
 */
export function splitCounts(n: number, sizes: readonly number[]): number[] {
  if (sizes.length === 0) throw new DataError('split: give at least one size');
  if (sizes.some((s) => !(s >= 0) || !Number.isFinite(s))) {
    throw new DataError(`split: sizes must be non-negative numbers, got [${sizes.join(', ')}]`);
  }
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sizes.every(Number.isInteger) && sum === n) return sizes.slice();
  if (Math.abs(sum - 1) > 1e-6) {
    throw new DataError(
      `split: sizes [${sizes.join(', ')}] are neither counts summing to ${n} nor fractions summing to 1`,
    );
  }
  const counts = sizes.map((f) => Math.floor(f * n));
  let rest = n - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % counts.length) {
    if (sizes[i]! > 0) {
      counts[i]! += 1;
      rest--;
    }
  }
  return counts;
}

/** Largest-remainder apportionment of m items by fractions (used per class when stratifying). */
function apportion(m: number, fractions: readonly number[]): number[] {
  const exact = fractions.map((f) => f * m);
  const counts = exact.map(Math.floor);
  let rest = m - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; rest > 0; k = (k + 1) % order.length, rest--) counts[order[k]![1]]! += 1;
  return counts;
}

/**
 * Splits 0..n-1 into parts of the given sizes, each part sorted ascending. With `labels`, the
 * split is stratified: each class is shuffled and divided in the same proportions (part sizes then
 * match the targets to within one per class).
 */
export function splitIndices(
  n: number,
  sizes: readonly number[],
  options: SplitOptions & { labels?: Int32Array | null } = {},
): Int32Array[] {
  const gen = options.generator ?? new Generator(options.seed ?? 0);
  const counts = splitCounts(n, sizes);
  const labels = options.labels ?? null;
  const parts: number[][] = counts.map(() => []);
  if (!labels) {
    const perm = gen.permutation(n);
    let at = 0;
    counts.forEach((c, j) => {
      for (let k = 0; k < c; k++) parts[j]!.push(perm[at++]!);
    });
  } else {
    if (labels.length !== n) throw new DataError(`split: ${labels.length} labels for ${n} samples`);
    const fractions = counts.map((c) => (n === 0 ? 0 : c / n));
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      let list = byClass.get(l);
      if (!list) byClass.set(l, (list = []));
      list.push(i);
    }
    // Classes in ascending label order so the draws do not depend on which label appears first.
    for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
      const members = byClass.get(label)!;
      const perm = gen.permutation(members.length);
      const per = apportion(members.length, fractions);
      let at = 0;
      per.forEach((c, j) => {
        for (let k = 0; k < c; k++) parts[j]!.push(members[perm[at++]!]!);
      });
    }
  }
  return parts.map((p) => Int32Array.from(p).sort());
}

/** Splits a dataset into parts (fractions or counts), optionally stratified by label. */
export function randomSplit(
  ds: ImageDataset,
  sizes: readonly number[],
  options: SplitOptions & { stratify?: boolean } = {},
): ImageDataset[] {
  if (options.stratify && !ds.labels) throw new DataError(`split: cannot stratify '${ds.name}': it has no labels`);
  const parts = splitIndices(ds.n, sizes, { ...options, labels: options.stratify ? ds.labels : null });
  return parts.map((idx) => subset(ds, idx));
}

export interface TrainValTestOptions extends SplitOptions {
  /** Fraction held out for validation; default 0.1. */
  val?: number;
  /** Fraction held out for testing; default 0 (use the dataset's own test split instead). */
  test?: number;
  stratify?: boolean;
}

export interface TrainValTest {
  train: ImageDataset;
  val: ImageDataset;
  test: ImageDataset | null;
}

/** The usual hold-out split: train / validation (/ test). */
export function trainValTestSplit(ds: ImageDataset, options: TrainValTestOptions = {}): TrainValTest {
  const val = options.val ?? 0.1;
  const test = options.test ?? 0;
  if (!(val >= 0 && test >= 0 && val + test < 1)) {
    throw new DataError(`split: val (${val}) and test (${test}) must be ≥ 0 and sum to less than 1`);
  }
  const [train, v, t] = randomSplit(ds, test > 0 ? [1 - val - test, val, test] : [1 - val, val], options);
  return { train: train!, val: v!, test: t ?? null };
}
