/**
 * TensorDataset: samples of any shape, as PyTorch's torch.utils.data.TensorDataset(*tensors) —
 * one or more tensors that share their first dimension, sample i being row i of each. It is what
 * the Trainer's fit loop trains your own models on: `new TensorDataset(x)` for an autoencoder
 * (the input is the target), `new TensorDataset(x, y)` for inputs and targets of any shapes.
 *
 * TensorLoader batches one with the same seeded, exactly resumable order as DataLoader.
 */
import { tensor } from '../tensor/creation.js';
import { keep, Tensor } from '../tensor/tensor.js';
import { sampleSize, type ImageDataset } from './dataset.js';
import { DataError } from './errors.js';
import { BatchSampler, type DataLoaderOptions, type DataLoaderState } from './loader.js';

export class TensorDataset {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0)
      throw new DataError('TensorDataset: give at least one tensor, e.g. new TensorDataset(x) or new TensorDataset(x, y)');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor))
        throw new DataError(`TensorDataset: argument ${i} is not a Tensor (got ${t === null ? 'null' : typeof t})`);
      if (t.ndim < 1) throw new DataError(`TensorDataset: tensor ${i} is a scalar; each tensor needs a first (sample) dimension`);
    });
    const n = tensors[0]!.shape[0]!;
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n)
        throw new DataError(
          `TensorDataset: tensor ${i} has ${t.shape[0]} samples (shape [${t.shape.join(', ')}]) but tensor 0 has ${n} ` +
            `(shape [${tensors[0]!.shape.join(', ')}]); all tensors need the same first dimension`,
        );
    });
    // the dataset outlives any tidy scope it was made in
    this.tensors = tensors.map((t) => keep(t));
  }

  /**
   * An image dataset as tensors: x (N, C, H, W) — or (N, C·H·W) with layout 'flat' — and, when
   * the dataset has labels and `labels` is not false, y (N) holding the class indices (as
   * crossEntropy takes them). The pixels are copied into backend memory.
   */
  static fromImages(ds: ImageDataset, opts: { layout?: 'image' | 'flat'; labels?: boolean } = {}): TensorDataset {
    const layout = opts.layout ?? 'image';
    if (layout !== 'image' && layout !== 'flat')
      throw new DataError(`TensorDataset.fromImages: layout must be 'image' or 'flat', got ${JSON.stringify(layout)}`);
    const shape = layout === 'image' ? [ds.n, ds.channels, ds.height, ds.width] : [ds.n, sampleSize(ds)];
    const x = tensor(ds.images, shape);
    if (!ds.labels || opts.labels === false) return new TensorDataset(x);
    return new TensorDataset(x, tensor(Float32Array.from(ds.labels), [ds.n]));
  }

  /** Number of samples (PyTorch's len(dataset)). */
  get length(): number {
    return this.tensors[0]!.shape[0]!;
  }

  /** The shape of one sample of each tensor (its shape without the first dimension). */
  get sampleShapes(): number[][] {
    return this.tensors.map((t) => t.shape.slice(1));
  }

  /** Sample i: one tensor per dataset tensor, without the sample dimension (PyTorch's dataset[i]). */
  get(i: number): Tensor[] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length)
      throw new RangeError(`TensorDataset.get: index ${i} out of range [0, ${this.length})`);
    return this.gather([i]).map((t) => t.shareWith(t.shape.slice(1)));
  }

  /** The samples `indices`, in order, as one batch tensor (k, …) per dataset tensor. */
  gather(indices: ArrayLike<number>): Tensor[] {
    const k = indices.length;
    const n = this.length;
    for (let j = 0; j < k; j++) {
      const i = indices[j]!;
      if (!Number.isInteger(i) || i < 0 || i >= n)
        throw new RangeError(`TensorDataset.gather: index ${i} at position ${j} is out of range [0, ${n})`);
    }
    // allocate every batch tensor before reading any storage: an allocation may move wasm memory
    const outs = this.tensors.map((t) => Tensor.uninit([k, ...t.shape.slice(1)]));
    this.tensors.forEach((t, ti) => {
      const src = t.data;
      const dst = outs[ti]!.data;
      const d = n === 0 ? 0 : t.size / n;
      for (let j = 0; j < k; j++) {
        const i = indices[j]!;
        dst.set(src.subarray(i * d, (i + 1) * d), j * d);
      }
    });
    return outs;
  }
}

/**
 * Batches of a TensorDataset as tensors ([x, y] per batch), shuffled by a seeded generator with
 * DataLoader's exactly resumable state (the same orders as a DataLoader with the same options).
 */
export class TensorLoader implements Iterable<Tensor[]> {
  readonly dataset: TensorDataset;
  private readonly sampler: BatchSampler;

  constructor(dataset: TensorDataset, options: DataLoaderOptions) {
    if (!(dataset instanceof TensorDataset)) throw new DataError('TensorLoader: expected a TensorDataset');
    this.dataset = dataset;
    this.sampler = new BatchSampler(dataset.length, options, 'TensorLoader');
  }

  get batchSize(): number {
    return this.sampler.batchSize;
  }

  /** Batches per epoch. */
  get length(): number {
    return this.sampler.length;
  }

  /** Epochs completed so far (the current epoch's index). */
  get epoch(): number {
    return this.sampler.epoch;
  }

  /** The next batch's sample indices, or null at the end of an epoch (the next call starts the next one). */
  nextIndices(): Int32Array | null {
    return this.sampler.nextIndices();
  }

  /** The next batch, or null at the end of an epoch (the next call starts the next one). */
  nextBatch(): Tensor[] | null {
    const idx = this.nextIndices();
    return idx === null ? null : this.dataset.gather(idx);
  }

  /** Iterates the rest of the current epoch, then advances to the next epoch. */
  *[Symbol.iterator](): Iterator<Tensor[]> {
    for (let b = this.nextBatch(); b !== null; b = this.nextBatch()) yield b;
  }

  state(): DataLoaderState {
    return this.sampler.state();
  }

  loadState(state: DataLoaderState): void {
    this.sampler.loadState(state);
  }
}
