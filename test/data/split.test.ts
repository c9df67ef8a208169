import { describe, expect, it } from 'vitest';
import { classCounts, createDataset } from '../../src/data/dataset.js';
import { randomSplit, splitCounts, splitIndices, trainValTestSplit } from '../../src/data/split.js';

function labelled(n: number, classes: number) {
  const images = new Float32Array(n);
  for (let i = 0; i < n; i++) images[i] = i / n;
  // Unbalanced classes: label = floor(sqrt(i)) % classes.
  const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.sqrt(i)) % classes);
  return createDataset({ name: 'l', images, labels, channels: 1, height: 1, width: 1 });
}

describe('splits', () => {
  it('counts from fractions or counts', () => {
    expect(splitCounts(10, [0.8, 0.2])).toEqual([8, 2]);
    expect(splitCounts(11, [0.5, 0.5])).toEqual([6, 5]);
    expect(splitCounts(10, [7, 3])).toEqual([7, 3]);
    expect(splitCounts(1, [1])).toEqual([1]);
    expect(() => splitCounts(10, [0.5, 0.2])).toThrow('are neither counts summing to 10 nor fractions summing to 1');
  });

  it('is a seeded partition: same seed same split, another seed another', () => {
    const a = splitIndices(1000, [0.7, 0.2, 0.1], { seed: 42 });
    const b = splitIndices(1000, [0.7, 0.2, 0.1], { seed: 42 });
    const c = splitIndices(1000, [0.7, 0.2, 0.1], { seed: 43 });
    expect(a.map((p) => p.length)).toEqual([700, 200, 100]);
    expect(a.map((p) => Array.from(p))).toEqual(b.map((p) => Array.from(p)));
    expect(Array.from(a[1]!)).not.toEqual(Array.from(c[1]!));
    const all = a.flatMap((p) => Array.from(p)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(a[0]!)).toEqual(Array.from(a[0]!).sort((x, y) => x - y)); // each part ascending
  });

  it('stratified splits keep class proportions', () => {
    const ds = labelled(2000, 5);
    const counts = classCounts(ds);
    const { train, val, test } = trainValTestSplit(ds, { val: 0.1, test: 0.2, seed: 1, stratify: true });
    const v = classCounts(val);
    const t = classCounts(test!);
    counts.forEach((c, k) => {
      expect(Math.abs(v[k]! - 0.1 * c)).toBeLessThanOrEqual(1);
      expect(Math.abs(t[k]! - 0.2 * c)).toBeLessThanOrEqual(1);
    });
    expect(train.n + val.n + test!.n).toBe(2000);
    const again = trainValTestSplit(ds, { val: 0.1, test: 0.2, seed: 1, stratify: true });
    expect(Array.from(again.val.images)).toEqual(Array.from(val.images));
  });

  it('randomSplit returns datasets; stratify needs labels', () => {
    const ds = labelled(50, 2);
    const [a, b] = randomSplit(ds, [40, 10], { seed: 3 });
    expect([a!.n, b!.n]).toEqual([40, 10]);
    expect(() => randomSplit({ ...ds, labels: null }, [0.5, 0.5], { stratify: true })).toThrow("cannot stratify 'l'");
    expect(trainValTestSplit(ds).test).toBeNull();
  });
});
