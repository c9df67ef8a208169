import { describe, expect, it } from 'vitest';
import {
  classCounts,
  concatDatasets,
  createDataset,
  datasetFromIdx,
  describeDataset,
  filterByLabel,
  getImage,
  numClasses,
  sampleSize,
  subset,
  type ImageDataset,
} from '../../src/data/dataset.js';
import { caught } from './helpers.js';

/** n samples of 1×2×2; sample i is filled with i/100, label i % 3. */
function toy(n = 6): ImageDataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i / 100, i * 4, (i + 1) * 4);
  return createDataset({
    name: 'toy',
    images,
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    channels: 1,
    height: 2,
    width: 2,
    classNames: ['a', 'b', 'c'],
    source: 'test',
  });
}

describe('ImageDataset', () => {
  it('createDataset checks shapes', () => {
    const ds = toy();
    expect([ds.n, sampleSize(ds), numClasses(ds)]).toEqual([6, 4, 3]);
    expect(caught(() => createDataset({ name: 'x', images: new Float32Array(7), channels: 1, height: 2, width: 2 })).message).toBe(
      "dataset 'x': images has 7 values, not a multiple of C·H·W = 1·2·2 = 4",
    );
    expect(() => createDataset({ name: 'x', images: new Float32Array(8), labels: new Int32Array(3), channels: 1, height: 2, width: 2 })).toThrow(
      "dataset 'x': 2 images but 3 labels",
    );
  });

  it('describeDataset gives one line', () => {
    expect(describeDataset(toy())).toBe('toy: 6 × 1×2×2, 3 classes (test)');
  });

  it('subset copies samples in the given order', () => {
    const ds = toy();
    const s = subset(ds, [5, 0, 5]);
    expect(s.n).toBe(3);
    expect(Array.from(s.labels!)).toEqual([2, 0, 2]);
    expect(getImage(s, 0)[0]).toBeCloseTo(0.05, 6);
    expect(getImage(s, 1)[3]).toBe(0);
    expect(s.classNames).toEqual(['a', 'b', 'c']);
    s.images[0] = 9;
    expect(ds.images[20]).toBeCloseTo(0.05, 6); // a copy, not a view
    expect(() => subset(ds, [6])).toThrow("subset of 'toy': index 6 at position 0 is out of range [0, 6)");
  });

  it('filterByLabel keeps labels or renumbers them', () => {
    const ds = toy(9);
    const f = filterByLabel(ds, [2, 0]);
    expect(Array.from(f.labels!)).toEqual([0, 2, 0, 2, 0, 2]);
    expect(classCounts(f)).toEqual([3, 0, 3]);
    const r = filterByLabel(ds, [2, 0], { relabel: true });
    expect(Array.from(r.labels!)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(r.classNames).toEqual(['c', 'a']);
    expect(getImage(r, 1)[0]).toBeCloseTo(0.02, 6);
    const unl = { ...ds, labels: null };
    expect(() => filterByLabel(unl, [1])).toThrow("filterByLabel: dataset 'toy' has no labels");
  });

  it('concatDatasets joins same-shaped datasets', () => {
    const c = concatDatasets([toy(2), toy(3)], 'both');
    expect(c.n).toBe(5);
    expect(Array.from(c.labels!)).toEqual([0, 1, 0, 1, 2]);
    expect(c.name).toBe('both');
    const other = createDataset({ name: 'o', images: new Float32Array(9), channels: 1, height: 3, width: 3 });
    expect(() => concatDatasets([toy(), other])).toThrow("concatDatasets: 'o' is 1×3×3 but 'toy' is 1×2×2");
  });

  it('datasetFromIdx: shapes, scaling and label checks', () => {
    const flat = datasetFromIdx('flat', { dtype: 'uint8', shape: [2, 9], data: new Uint8Array(18).fill(255) }, null);
    expect([flat.channels, flat.height, flat.width]).toEqual([1, 3, 3]);
    expect(flat.images[0]).toBe(1);
    expect(flat.bytes).toBeDefined(); // 8-bit data keeps its bytes (the DataLoader's fast gather)
    const chw = datasetFromIdx('chw', { dtype: 'float64', shape: [1, 3, 8, 8], data: new Float64Array(192).fill(0.5) }, null);
    expect([chw.channels, chw.height, chw.width]).toEqual([3, 8, 8]);
    expect(chw.images[5]).toBe(0.5);
    expect(chw.bytes).toBeUndefined();
    const bad = caught(() =>
      datasetFromIdx('l', { dtype: 'uint8', shape: [2, 2, 2], data: new Uint8Array(8) }, { dtype: 'int8', shape: [2], data: Int8Array.from([0, -1]) }, {
        labelsFile: 'labels.idx',
      }),
    );
    expect(bad.message).toBe('labels.idx: label 1 (at byte 9) is -1; labels must be non-negative integers');
    expect(bad.offset).toBe(9);
  });
});
