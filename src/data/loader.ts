/**
 * DataLoader: batches over an ImageDataset with seeded shuffling and exactly resumable state.
 *
 * The loader owns its Generator and draws one permutation per epoch at the epoch's start. Its
 * saved state is (epoch, position, generator state at the start of the epoch): restoring it redraws
 * the same permutation and continues at the same batch, so a resumed run sees the same batches in
 * the same order, bit for bit. Because the generator is rewound on restore, it must not be shared
 * with anything else — noise transforms take their own generator.
 */

import type { Backend } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { Generator, type GeneratorState } from '../tensor/random.js';
import { DataError } from './errors.js';
import { sampleSize, type ImageDataset } from './dataset.js';

/**
 * Copies of datasets' 8-bit pixels in backend memory, made on first use by gatherToBackend and
 * kept per dataset array and backend; given back when the dataset's array is collected.
 */
const residentBytes = new WeakMap<Uint8Array, Map<Backend, Uint8Array>>();
const residentFinalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<Map<Backend, Uint8Array>>((copies) => {
        for (const [b, a] of copies) b.free(a);
      })
    : null;

function resident(bytes: Uint8Array, backend: Backend, allocBytes: (n: number) => Uint8Array): Uint8Array {
  // The js backend's kernel reads any array: no copy.
  if (backend.name === 'js') return bytes;
  let copies = residentBytes.get(bytes);
  if (!copies) {
    copies = new Map();
    residentBytes.set(bytes, copies);
    residentFinalizer?.register(bytes, copies);
  }
  let a = copies.get(backend);
  if (!a) {
    a = allocBytes(bytes.length);
    a.set(bytes);
    copies.set(backend, a);
  }
  return a;
}

export interface Batch {
  /** (size, C, H, W) row-major. */
  x: Float32Array;
  /** (size,) labels, or null for unlabelled data. */
  y: Int32Array | null;
  size: number;
  /** Which dataset samples are in the batch, in order. */
  indices: Int32Array;
}

export interface DataLoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (default true); false iterates in dataset order. */
  shuffle?: boolean;
  /** Seed of the loader's own generator (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
}

export interface DataLoaderState {
  /** Epochs completed before the current one (0 for the first). */
  epoch: number;
  /** Batches already served from the current epoch. */
  position: number;
  /** The generator as it was just before this epoch's permutation was drawn. */
  generator: GeneratorState;
  /** Checked on restore, so a state is not applied to a different dataset or batching. */
  n: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
}

/**
 * Seeded batches of the indices 0..n−1 with exactly resumable state: the order DataLoader (and
 * the tensor datasets' TensorLoader) serve samples in. See the file comment for the state.
 */
export class BatchSampler {
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly gen: Generator;
  private epochStart: GeneratorState;
  private order: Int32Array;
  private _epoch = 0;
  private position = 0;

  /** `owner` names the loader in error messages. */
  constructor(
    n: number,
    options: DataLoaderOptions,
    private readonly owner = 'BatchSampler',
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError(`${owner}: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.n = n;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.gen = new Generator(options.seed ?? 0);
    this.epochStart = this.gen.getState();
    this.order = this.drawOrder();
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** Epochs completed so far (the current epoch's index). */
  get epoch(): number {
    return this._epoch;
  }

  private drawOrder(): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.n }, (_, i) => i);
    return this.gen.permutation(this.n);
  }

  private startNextEpoch(): void {
    this._epoch += 1;
    this.position = 0;
    this.epochStart = this.gen.getState();
    this.order = this.drawOrder();
  }

  /**
   * The indices of the next batch of the current epoch, or null when the epoch is exhausted (the
   * sampler then moves on to the next epoch, so the following call starts it).
   */
  nextIndices(): Int32Array | null {
    if (this.position >= this.length) {
      this.startNextEpoch();
      return null;
    }
    const start = this.position * this.batchSize;
    const end = Math.min(start + this.batchSize, this.n);
    this.position += 1;
    return this.order.subarray(start, end);
  }

  state(): DataLoaderState {
    return {
      epoch: this._epoch,
      position: this.position,
      generator: { s: [...this.epochStart.s], spare: this.epochStart.spare },
      n: this.n,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
    };
  }

  loadState(state: DataLoaderState): void {
    const where = `${this.owner}.loadState`;
    const mismatch = (['n', 'batchSize', 'shuffle', 'dropLast'] as const).filter((k) => state[k] !== this[k]);
    if (mismatch.length) {
      throw new DataError(
        `${where}: the state was saved for ${mismatch.map((k) => `${k}=${String(state[k])}`).join(', ')} ` +
          `but this loader has ${mismatch.map((k) => `${k}=${String(this[k])}`).join(', ')}`,
      );
    }
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.position) || state.position < 0 || state.position > this.length) {
      throw new DataError(`${where}: invalid epoch ${state.epoch} / position ${state.position} (${this.length} batches per epoch)`);
    }
    this.gen.setState(state.generator);
    this.epochStart = this.gen.getState();
    this.order = this.drawOrder();
    this._epoch = state.epoch;
    this.position = state.position;
  }
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: ImageDataset;
  private readonly sampler: BatchSampler;

  constructor(dataset: ImageDataset, options: DataLoaderOptions) {
    this.dataset = dataset;
    this.sampler = new BatchSampler(dataset.n, options, 'DataLoader');
  }

  get batchSize(): number {
    return this.sampler.batchSize;
  }

  get shuffle(): boolean {
    return this.sampler.shuffle;
  }

  get dropLast(): boolean {
    return this.sampler.dropLast;
  }

  /** Batches per epoch. */
  get length(): number {
    return this.sampler.length;
  }

  /** Epochs completed so far (the current epoch's index). */
  get epoch(): number {
    return this.sampler.epoch;
  }

  /**
   * The next batch of the current epoch, or null when the epoch is exhausted (the loader then
   * moves on to the next epoch, so the following call starts it).
   */
  nextBatch(): Batch | null {
    const indices = this.nextIndices();
    return indices === null ? null : this.gather(indices);
  }

  /**
   * Advances exactly as nextBatch does but returns only which samples make up the batch, for a
   * caller that copies them into memory of its own with gatherInto (the Trainer fills a tensor's
   * storage directly, saving a copy and an allocation per step).
   */
  nextIndices(): Int32Array | null {
    return this.sampler.nextIndices();
  }

  /** Copies the given samples into a fresh batch (callers may keep or mutate it). */
  gather(indices: Int32Array): Batch {
    const size = indices.length;
    const x = new Float32Array(size * sampleSize(this.dataset));
    const y = this.gatherInto(indices, x);
    return { x, y, size, indices: Int32Array.from(indices) };
  }

  /**
   * Copies the given samples, in order, into the start of `out` (which must hold
   * indices.length × sample size floats) and returns their labels, or null for unlabelled data.
   */
  gatherInto(indices: Int32Array, out: Float32Array): Int32Array | null {
    const ds = this.dataset;
    const d = sampleSize(ds);
    const y = this.batchLabels('DataLoader.gatherInto', indices, out);
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      out.set(ds.images.subarray(i * d, (i + 1) * d), j * d);
    }
    return y;
  }

  /**
   * Checks that `out` holds the samples `indices` (each a sample of the dataset) and returns their
   * labels, or null for unlabelled data.
   */
  private batchLabels(where: string, indices: Int32Array, out: Float32Array): Int32Array | null {
    const ds = this.dataset;
    const d = sampleSize(ds);
    const size = indices.length;
    if (out.length < size * d) {
      throw new DataError(`${where}: out holds ${out.length} floats, the ${size} samples need ${size * d}`);
    }
    const y = ds.labels ? new Int32Array(size) : null;
    for (let j = 0; j < size; j++) {
      const i = indices[j]!;
      if (!(i >= 0 && i < ds.n)) throw new DataError(`${where}: index ${i} at position ${j} is outside 0..${ds.n - 1}`);
      if (y) y[j] = ds.labels![i]!;
    }
    return y;
  }

  /**
   * gatherInto for an `out` in backend memory (a tensor's storage). A dataset with 8-bit pixels
   * (ImageDataset.bytes) is gathered from a copy of them in backend memory, made on first use, by
   * the backend's gatherRows8 kernel: a quarter of the bytes to fetch from all over the dataset,
   * on every thread. The values are those of gatherInto, to the bit; a backend without that
   * (fused, optional) kernel gets gatherInto itself.
   */
  gatherToBackend(indices: Int32Array, out: Float32Array, backend: Backend = getBackend()): Int32Array | null {
    const ds = this.dataset;
    const { gatherRows8, allocBytes } = backend.fused ?? {};
    if (!ds.bytes || !gatherRows8 || !allocBytes) return this.gatherInto(indices, out);
    const y = this.batchLabels('DataLoader.gatherToBackend', indices, out);
    gatherRows8(resident(ds.bytes, backend, allocBytes), sampleSize(ds), indices, out);
    return y;
  }

  /** Iterates the rest of the current epoch, then advances to the next epoch. */
  *[Symbol.iterator](): Iterator<Batch> {
    for (let b = this.nextBatch(); b !== null; b = this.nextBatch()) yield b;
  }

  state(): DataLoaderState {
    return this.sampler.state();
  }

  loadState(state: DataLoaderState): void {
    this.sampler.loadState(state);
  }
}
