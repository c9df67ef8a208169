import { describe, expect, it } from 'vitest';
import { concatDatasets, createDataset, filterByLabel, subset } from '../../src/data/dataset.js';
import { DataLoader, type Batch } from '../../src/data/loader.js';
import { getBackend } from '../../src/kernels/registry.js';

function ds(n: number, labelled = true) {
  // 1×1×2 samples: [i, -i] so batches can be checked against indices.
  const images = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    images[2 * i] = i;
    images[2 * i + 1] = -i;
  }
  return createDataset({ name: 'd', images, labels: labelled ? Int32Array.from({ length: n }, (_, i) => i * 10) : null, channels: 1, height: 1, width: 2 });
}

const ids = (bs: Batch[]) => bs.map((b) => Array.from(b.indices));

describe('DataLoader', () => {
  it('serves every sample once per epoch in batches, laid out N×C×H×W', () => {
    const loader = new DataLoader(ds(10), { batchSize: 4, seed: 1 });
    expect(loader.length).toBe(3);
    const batches = [...loader];
    expect(batches.map((b) => b.size)).toEqual([4, 4, 2]);
    const seen = batches.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const b of batches) {
      expect(b.x.length).toBe(b.size * 2);
      b.indices.forEach((i, j) => {
        expect(b.x[2 * j]).toBe(i);
        expect(b.x[2 * j + 1]).toBe(-i);
        expect(b.y![j]).toBe(i * 10);
      });
    }
    expect(loader.epoch).toBe(1);
  });

  it('same seed same order; new order each epoch; no shuffle keeps dataset order', () => {
    const a = new DataLoader(ds(20), { batchSize: 5, seed: 7 });
    const b = new DataLoader(ds(20), { batchSize: 5, seed: 7 });
    const a1 = ids([...a]);
    expect(a1).toEqual(ids([...b]));
    const a2 = ids([...a]);
    expect(a2).not.toEqual(a1);
    expect(ids([...new DataLoader(ds(20), { batchSize: 5, seed: 8 })])).not.toEqual(a1);
    const plain = new DataLoader(ds(5), { batchSize: 2, shuffle: false });
    expect(ids([...plain])).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('dropLast drops the incomplete batch; unlabelled data gives y = null', () => {
    const l = new DataLoader(ds(10, false), { batchSize: 4, dropLast: true });
    const bs = [...l];
    expect(bs.map((b) => b.size)).toEqual([4, 4]);
    expect(bs[0]!.y).toBeNull();
    expect(l.length).toBe(2);
  });

  it('nextIndices + gatherInto serve the same batches as nextBatch, into the caller\'s memory', () => {
    const a = new DataLoader(ds(10), { batchSize: 4, seed: 3 });
    const b = new DataLoader(ds(10), { batchSize: 4, seed: 3 });
    for (let step = 0; step < 8; step++) {
      const batch = a.nextBatch();
      const idx = b.nextIndices();
      if (batch === null) {
        expect(idx).toBeNull();
        continue;
      }
      expect(Array.from(idx!)).toEqual(Array.from(batch.indices));
      const out = new Float32Array(12).fill(7); // one spare sample at the end stays untouched
      const y = b.gatherInto(idx!, out);
      expect(Array.from(out.subarray(0, batch.size * 2))).toEqual(Array.from(batch.x));
      expect(Array.from(out.subarray(batch.size * 2))).toEqual(new Array(12 - batch.size * 2).fill(7));
      expect(Array.from(y!)).toEqual(Array.from(batch.y!));
    }
    expect(b.epoch).toBe(a.epoch);
    expect(new DataLoader(ds(3, false), { batchSize: 2 }).gatherInto(Int32Array.of(2, 0), new Float32Array(4))).toBeNull();
  });

  it('gatherToBackend: from the 8-bit pixels (every byte value, rows of odd length) the bits of gatherInto; carried by subset, filter and concat', () => {
    // 3×7×5 = 105 values per sample (vector blocks of 16 and a tail), 40 samples: every byte value
    const n = 40;
    const d = 105;
    const bytes = Uint8Array.from({ length: n * d }, (_, i) => (i * 97 + (i >> 5)) & 255);
    const images = Float32Array.from(bytes, (v) => v / 255);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
    const full = createDataset({ name: 'b', images, bytes, labels, channels: 3, height: 7, width: 5 });
    expect(new Set(bytes).size).toBe(256);
    const parts = [full, subset(full, [39, 0, 17, 17, 5]), filterByLabel(full, [3, 1]), concatDatasets([full, subset(full, [2, 3])])];
    for (const data of parts) {
      expect(data.bytes, data.name).toBeDefined();
      const loader = new DataLoader(data, { batchSize: 16, seed: 3 });
      const b = getBackend();
      for (let idx = loader.nextIndices(); idx !== null; idx = loader.nextIndices()) {
        const want = new Float32Array(idx.length * d);
        const wantY = loader.gatherInto(idx, want);
        const got = b.alloc(idx.length * d, false);
        const gotY = loader.gatherToBackend(idx, got);
        expect(Array.from(got)).toEqual(Array.from(want));
        expect(Array.from(gotY!)).toEqual(Array.from(wantY!));
        b.free(got);
      }
    }
    // a dataset without bytes, and bytes that disagree in length
    const plain = new DataLoader(ds(6), { batchSize: 4, seed: 1 });
    const out = new Float32Array(8);
    expect(Array.from(plain.gatherToBackend(Int32Array.from([5, 1]), out)!)).toEqual([50, 10]);
    expect(Array.from(out.subarray(0, 4))).toEqual([5, -5, 1, -1]);
    expect(() => createDataset({ name: 'x', images: new Float32Array(4), bytes: new Uint8Array(3), channels: 1, height: 2, width: 2 })).toThrow(
      "dataset 'x': bytes has 3 values but images has 4",
    );
    const loader = new DataLoader(full, { batchSize: 4 });
    expect(() => loader.gatherToBackend(Int32Array.from([0, 40]), new Float32Array(2 * d))).toThrow(/index 40 at position 1 is outside 0..39/);
  });

  it('gatherInto names a buffer that is too small and an index outside the dataset', () => {
    const loader = new DataLoader(ds(5), { batchSize: 2 });
    expect(() => loader.gatherInto(Int32Array.of(0, 1), new Float32Array(3))).toThrow(/out holds 3 floats, the 2 samples need 4/);
    expect(() => loader.gatherInto(Int32Array.of(0, 5), new Float32Array(4))).toThrow(/index 5 at position 1 is outside 0\.\.4/);
    expect(() => loader.gather(Int32Array.of(-1))).toThrow(/index -1 at position 0/);
  });

  it('resumes from a saved state exactly, mid-epoch and across epochs', () => {
    const ref = new DataLoader(ds(23), { batchSize: 4, seed: 99 });
    const full: number[][] = [];
    for (let e = 0; e < 3; e++) full.push(...ids([...ref]));

    const run = new DataLoader(ds(23), { batchSize: 4, seed: 99 });
    const got: number[][] = ids([...run]); // epoch 0
    got.push(Array.from(run.nextBatch()!.indices), Array.from(run.nextBatch()!.indices)); // 2 batches of epoch 1
    const saved = JSON.parse(JSON.stringify(run.state())); // survives a checkpoint round trip
    expect(saved.epoch).toBe(1);
    expect(saved.position).toBe(2);

    const resumed = new DataLoader(ds(23), { batchSize: 4, seed: 12345 }); // seed is overridden by the state
    resumed.loadState(saved);
    for (let e = 0; e < 2; e++) got.push(...ids([...resumed]));
    expect(got).toEqual(full);
    expect(resumed.epoch).toBe(3);
  });

  it('rejects a state from a different dataset or batching', () => {
    const a = new DataLoader(ds(10), { batchSize: 4 });
    const b = new DataLoader(ds(12), { batchSize: 4 });
    expect(() => b.loadState(a.state())).toThrow('the state was saved for n=10 but this loader has n=12');
    expect(() => new DataLoader(ds(3), { batchSize: 0 })).toThrow('batchSize must be a positive integer, got 0');
  });
});
