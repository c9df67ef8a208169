/** TensorDataset and TensorLoader: samples of any shape, batches in DataLoader's seeded, resumable order. */
import { describe, expect, it } from 'vitest';
import { arange, tensor } from '../../src/index.js';
import { createDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { TensorDataset, TensorLoader } from '../../src/data/tensor-dataset.js';

describe('TensorDataset', () => {
  const x = arange(30).reshape(5, 2, 3); // sample i holds 6i … 6i + 5
  const y = tensor([10, 11, 12, 13, 14]);

  it('holds tensors that share their first dimension; get(i) and gather(indices) take rows of each', () => {
    const ds = new TensorDataset(x, y);
    expect(ds.length).toBe(5);
    expect(ds.sampleShapes).toEqual([[2, 3], []]);
    const [xi, yi] = ds.get(3);
    expect(xi!.shape).toEqual([2, 3]);
    expect(xi!.toList()).toEqual([18, 19, 20, 21, 22, 23]);
    expect(yi!.item()).toBe(13);
    const [xb, yb] = ds.gather([4, 0, 4]);
    expect(xb!.shape).toEqual([3, 2, 3]);
    expect(xb!.toList()).toEqual([24, 25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29]);
    expect(yb!.toList()).toEqual([14, 10, 14]);
  });

  it('names what does not fit', () => {
    expect(() => new TensorDataset()).toThrow(/TensorDataset: give at least one tensor/);
    expect(() => new TensorDataset(x, tensor([1, 2]))).toThrow(
      /TensorDataset: tensor 1 has 2 samples \(shape \[2\]\) but tensor 0 has 5 \(shape \[5, 2, 3\]\)/,
    );
    expect(() => new TensorDataset(tensor(3))).toThrow(/tensor 0 is a scalar/);
    expect(() => new TensorDataset([1, 2] as never)).toThrow(/argument 0 is not a Tensor/);
    expect(() => new TensorDataset(x).gather([5])).toThrow(/TensorDataset.gather: index 5 at position 0 is out of range \[0, 5\)/);
  });

  it('fromImages: (N, C, H, W) or flat inputs, and the labels as class indices', () => {
    const images = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 12);
    const img = createDataset({ name: 't', images, labels: Int32Array.from([2, 0, 1]), channels: 1, height: 2, width: 2 });
    const a = TensorDataset.fromImages(img);
    expect(a.tensors.map((t) => t.shape)).toEqual([[3, 1, 2, 2], [3]]);
    expect(a.tensors[1]!.toList()).toEqual([2, 0, 1]);
    expect(Array.from(a.tensors[0]!.data)).toEqual(Array.from(images));
    const b = TensorDataset.fromImages(img, { layout: 'flat', labels: false });
    expect(b.tensors.map((t) => t.shape)).toEqual([[3, 4]]);
  });
});

describe('TensorLoader', () => {
  const n = 23;
  const ds = new TensorDataset(arange(n).reshape(n, 1));
  const images = createDataset({ name: 'n', images: new Float32Array(n), channels: 1, height: 1, width: 1 });

  it("serves DataLoader's orders for the same options, each sample once per epoch", () => {
    const opts = { batchSize: 5, shuffle: true, seed: 7 };
    const a = new TensorLoader(ds, opts);
    const b = new DataLoader(images, opts);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen: number[] = [];
      for (const [xb] of a) {
        const idx = b.nextIndices()!;
        expect(xb!.toList()).toEqual(Array.from(idx));
        seen.push(...xb!.toList());
      }
      expect(b.nextIndices()).toBeNull();
      expect(seen.sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(a.length).toBe(5);
  });

  it('resumes from a saved state exactly, and refuses a state from other batching', () => {
    const a = new TensorLoader(ds, { batchSize: 4, seed: 3 });
    for (let i = 0; i < 9; i++) a.nextIndices();
    const state = a.state();
    const rest = Array.from({ length: 8 }, () => a.nextIndices()).map((v) => (v ? Array.from(v) : null));
    const b = new TensorLoader(ds, { batchSize: 4, seed: 99 });
    b.loadState(state);
    expect(Array.from({ length: 8 }, () => b.nextIndices()).map((v) => (v ? Array.from(v) : null))).toEqual(rest);
    expect(() => new TensorLoader(ds, { batchSize: 5 }).loadState(state)).toThrow(
      /TensorLoader.loadState: the state was saved for batchSize=4 but this loader has batchSize=5/,
    );
  });
});
