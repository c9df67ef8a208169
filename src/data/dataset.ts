/**
 * The in-memory image dataset every loader produces and every consumer (DataLoader, trainer,
 * experiments, the lab) reads. Plain typed arrays, no tensors: the engine is a layer below
 * nothing here, and a dataset must be cheap to slice, filter and post to a Web Worker.
 */

import { DataError } from './errors.js';
import { IDX_DTYPES, type IdxArray } from './idx-codec.js';

export interface ImageDataset {
  /** Short name, e.g. 'mnist', 'fashion-mnist', or the folder/file name. */
  name: string;
  /** (N, C, H, W) row-major, every value in [0, 1]. */
  images: Float32Array;
  /** (N,) class indices in [0, numClasses), or null for unlabelled data. */
  labels: Int32Array | null;
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Human-readable class names, indexed by label. */
  classNames?: string[];
  /** Where the data came from (folder, file, or the embedded copy), so users can tell which was used. */
  source?: string;
  /**
   * The 8-bit pixels `images` was scaled from, when the data came as bytes (IDX ubyte files, the
   * embedded digits): images[i] = bytes[i] / 255 exactly, (N, C, H, W) like images. A quarter of
   * the memory per batch: the DataLoader gathers training batches from it. Code that changes
   * pixels makes a new dataset without it (subset and concatDatasets carry it along).
   */
  bytes?: Uint8Array;
}

export interface DatasetInit {
  name: string;
  images: Float32Array;
  labels?: Int32Array | null;
  channels: number;
  height: number;
  width: number;
  classNames?: string[];
  source?: string;
  /** The 8-bit pixels images was divided by 255 from (ImageDataset.bytes). */
  bytes?: Uint8Array;
}

/** C·H·W: the number of values per sample. */
export function sampleSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/** Builds a dataset after checking that the array lengths agree with the shape. */
export function createDataset(init: DatasetInit): ImageDataset {
  const { name, images, channels, height, width } = init;
  const labels = init.labels ?? null;
  for (const [k, v] of [['channels', channels], ['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new DataError(`dataset '${name}': ${k} must be a positive integer, got ${v}`);
  }
  const d = channels * height * width;
  if (images.length % d !== 0) {
    throw new DataError(
      `dataset '${name}': images has ${images.length} values, not a multiple of C·H·W = ${channels}·${height}·${width} = ${d}`,
    );
  }
  const n = images.length / d;
  if (labels !== null && labels.length !== n) {
    throw new DataError(`dataset '${name}': ${n} images but ${labels.length} labels`);
  }
  const ds: ImageDataset = { name, images, labels, n, channels, height, width };
  if (init.classNames !== undefined) ds.classNames = init.classNames;
  if (init.source !== undefined) ds.source = init.source;
  if (init.bytes !== undefined) {
    if (init.bytes.length !== images.length) {
      throw new DataError(`dataset '${name}': bytes has ${init.bytes.length} values but images has ${images.length}`);
    }
    ds.bytes = init.bytes;
  }
  return ds;
}

/** k / 255 as float32 for k = 0..255: how 8-bit pixels become [0, 1] values everywhere. */
export const UNIT_OF_BYTE = Float32Array.from({ length: 256 }, (_, k) => k / 255);

/** The view of sample i, (C, H, W) flattened; shares memory with the dataset. */
export function getImage(ds: ImageDataset, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new RangeError(`getImage: index ${i} out of range [0, ${ds.n})`);
  const d = sampleSize(ds);
  return ds.images.subarray(i * d, (i + 1) * d);
}

/** Number of classes: the class-name count when known, otherwise max label + 1 (0 if unlabelled). */
export function numClasses(ds: ImageDataset): number {
  if (ds.classNames) return ds.classNames.length;
  if (!ds.labels) return 0;
  let max = -1;
  for (let i = 0; i < ds.labels.length; i++) if (ds.labels[i]! > max) max = ds.labels[i]!;
  return max + 1;
}

/** How many samples carry each label. */
export function classCounts(ds: ImageDataset): number[] {
  const counts = new Array<number>(numClasses(ds)).fill(0);
  if (ds.labels) for (let i = 0; i < ds.labels.length; i++) counts[ds.labels[i]!]! += 1;
  return counts;
}

/** A new dataset holding copies of the given samples, in the given order (repeats allowed). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const d = sampleSize(ds);
  const m = indices.length;
  const images = new Float32Array(m * d);
  const labels = ds.labels ? new Int32Array(m) : null;
  const bytes = ds.bytes ? new Uint8Array(m * d) : null;
  for (let j = 0; j < m; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw new RangeError(`subset of '${ds.name}': index ${i} at position ${j} is out of range [0, ${ds.n})`);
    }
    images.set(ds.images.subarray(i * d, (i + 1) * d), j * d);
    if (bytes) bytes.set(ds.bytes!.subarray(i * d, (i + 1) * d), j * d);
    if (labels) labels[j] = ds.labels![i]!;
  }
  return withArrays(ds, name, images, labels, bytes);
}

function withArrays(ds: ImageDataset, name: string, images: Float32Array, labels: Int32Array | null, bytes: Uint8Array | null = null): ImageDataset {
  const out: ImageDataset = {
    name,
    images,
    labels,
    n: labels ? labels.length : images.length / sampleSize(ds),
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
  };
  if (ds.classNames) out.classNames = ds.classNames.slice();
  if (ds.source !== undefined) out.source = ds.source;
  if (bytes) out.bytes = bytes;
  return out;
}

export interface FilterByLabelOptions {
  /**
   * Renumber the kept labels 0..k-1 in the order they were given (and narrow classNames to
   * match), e.g. to train a 2-class classifier on digits 3 and 8. Default: keep original labels.
   */
  relabel?: boolean;
}

/** The samples whose label is one of `labels`, in dataset order. */
export function filterByLabel(
  ds: ImageDataset,
  labels: Iterable<number>,
  options: FilterByLabelOptions = {},
): ImageDataset {
  if (!ds.labels) throw new DataError(`filterByLabel: dataset '${ds.name}' has no labels`);
  const wanted = [...labels];
  const map = new Map<number, number>();
  for (const l of wanted) if (!map.has(l)) map.set(l, map.size);
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (map.has(ds.labels[i]!)) keep.push(i);
  const out = subset(ds, keep);
  if (options.relabel) {
    const lab = out.labels!;
    for (let i = 0; i < lab.length; i++) lab[i] = map.get(lab[i]!)!;
    if (ds.classNames) {
      out.classNames = [...map.keys()].map((l) => ds.classNames![l] ?? String(l));
    } else {
      out.classNames = [...map.keys()].map(String);
    }
  }
  return out;
}

/** Concatenates datasets of the same image shape (e.g. train + test). */
export function concatDatasets(parts: ImageDataset[], name?: string): ImageDataset {
  const first = parts[0];
  if (!first) throw new DataError('concatDatasets: no datasets given');
  const d = sampleSize(first);
  let n = 0;
  for (const p of parts) {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new DataError(
        `concatDatasets: '${p.name}' is ${p.channels}×${p.height}×${p.width} but '${first.name}' is ` +
          `${first.channels}×${first.height}×${first.width}`,
      );
    }
    if ((p.labels === null) !== (first.labels === null)) {
      throw new DataError(`concatDatasets: '${p.name}' and '${first.name}' differ in having labels`);
    }
    n += p.n;
  }
  const images = new Float32Array(n * d);
  const labels = first.labels ? new Int32Array(n) : null;
  const bytes = parts.every((p) => p.bytes) ? new Uint8Array(n * d) : null;
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * d);
    if (bytes) bytes.set(p.bytes!, at * d);
    if (labels) labels.set(p.labels!, at);
    at += p.n;
  }
  const out = withArrays(first, name ?? first.name, images, labels, bytes);
  const sources = [...new Set(parts.map((p) => p.source).filter((s): s is string => s !== undefined))];
  if (sources.length) out.source = sources.join(' + ');
  return out;
}

/**
 * How raw pixel values map to [0, 1]: 8-bit images are divided by 255, data already in [0, 1]
 * is kept. Anything else is rejected rather than min-max scaled, because silently rescaling
 * (say) standardised data would hide a wrong file.
 */
export function detectScale(min: number, max: number): 1 | 255 | null {
  if (!(min >= 0)) return null;
  if (max <= 1) return 1;
  if (max <= 255) return 255;
  return null;
}

/**
 * out[i] = src[i] / 255 through a 256-entry table. A separate function so the loop sees one array
 * type (the generic loop over the IdxData union is several times slower on 47M pixels).
 */
function bytesToUnit(src: Uint8Array, out: Float32Array): void {
  const table = UNIT_OF_BYTE;
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
}

/**
 * Turns an IDX images array (N,H,W), (N,C,H,W), (N,H,W,C) or (N,D) and an optional IDX labels
 * array into a dataset. ubyte images are divided by 255; other types must already be in [0,1]
 * or in [0,255].
 */
export function datasetFromIdx(
  name: string,
  images: IdxArray,
  labels: IdxArray | null,
  meta: { source?: string; classNames?: string[]; imagesFile?: string; labelsFile?: string } = {},
): ImageDataset {
  const imagesFile = meta.imagesFile ?? name;
  const s = images.shape;
  const n = s[0] ?? 0;
  let c: number;
  let h: number;
  let w: number;
  let channelsLast = false;
  if (s.length === 3) {
    [c, h, w] = [1, s[1]!, s[2]!];
  } else if (s.length === 4) {
    // IDX has no layout flag. Colour data in IDX is usually (N, H, W, C) with C ≤ 4 (e.g. exported
    // NumPy arrays); (N, C, H, W) is recognised when dimension 1 is the small one.
    if (s[3]! <= 4 && s[1]! > 4) {
      channelsLast = true;
      [c, h, w] = [s[3]!, s[1]!, s[2]!];
    } else {
      [c, h, w] = [s[1]!, s[2]!, s[3]!];
    }
  } else if (s.length === 2) {
    const side = Math.round(Math.sqrt(s[1]!));
    if (side * side === s[1]!) [c, h, w] = [1, side, side];
    else [c, h, w] = [1, 1, s[1]!];
  } else {
    throw new DataError(
      `${imagesFile}: IDX images must have 2, 3 or 4 dimensions (N×D, N×H×W, N×C×H×W or N×H×W×C), got ${s.join('×')}`,
      { file: imagesFile },
    );
  }
  const src = images.data;
  let scale: number;
  if (images.dtype === 'uint8') {
    scale = 255;
  } else {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      if (Number.isNaN(v)) { min = NaN; break; }
    }
    const detected = src.length === 0 ? 1 : detectScale(min, max);
    if (detected === null) {
      throw new DataError(
        `${imagesFile}: ${images.dtype} pixel values span [${min}, ${max}]; expected [0, 1] or [0, 255]`,
        { file: imagesFile },
      );
    }
    scale = detected;
  }
  const out = new Float32Array(src.length);
  const inv = 1 / scale;
  if (!channelsLast) {
    if (src instanceof Uint8Array) bytesToUnit(src, out);
    else for (let i = 0; i < src.length; i++) out[i] = src[i]! * inv;
  } else {
    // (N, H, W, C) → (N, C, H, W)
    const hw = h * w;
    for (let k = 0; k < n; k++) {
      const base = k * c * hw;
      for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) out[base + ch * hw + p] = src[base + p * c + ch]! * inv;
    }
  }
  let lab: Int32Array | null = null;
  if (labels) {
    const labelsFile = meta.labelsFile ?? `${name} labels`;
    if (labels.shape.length !== 1) {
      throw new DataError(`${labelsFile}: IDX labels must have 1 dimension, got ${labels.shape.join('×')}`, { file: labelsFile });
    }
    if (labels.shape[0] !== n) {
      throw new DataError(
        `${labelsFile}: ${labels.shape[0]} labels but ${imagesFile} has ${n} images`,
        { file: labelsFile },
      );
    }
    lab = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = labels.data[i]!;
      if (!Number.isInteger(v) || v < 0) {
        const offset = 8 + i * IDX_DTYPES[labels.dtype].bytes;
        throw new DataError(
          `${labelsFile}: label ${i} (at byte ${offset}) is ${v}; labels must be non-negative integers`,
          { file: labelsFile, offset },
        );
      }
      lab[i] = v;
    }
  }
  const init: DatasetInit = { name, images: out, labels: lab, channels: c, height: h, width: w };
  if (meta.classNames) init.classNames = meta.classNames;
  if (meta.source) init.source = meta.source;
  if (src instanceof Uint8Array && !channelsLast) init.bytes = src;
  return createDataset(init);
}

/** One line for logs and the CLI: "fashion-mnist: 60,000 × 1×28×28, 10 classes (source …)". */
export function describeDataset(ds: ImageDataset): string {
  const n = String(ds.n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const classes = ds.labels ? `, ${numClasses(ds)} classes` : ', unlabelled';
  return `${ds.name}: ${n} × ${ds.channels}×${ds.height}×${ds.width}${classes}${ds.source ? ` (${ds.source})` : ''}`;
}
