// Helpers shared by bench/run.mjs (the parent) and bench/worker.mjs (one configuration per child
// process): the data every row trains on, the models' definitions in words, and small statistics.
import { createReadStream, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';

export const FASHION_TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
export { BATCH, LR, median } from './train-loop.mjs';

export const MODEL_DESC = {
  mlp: 'MLP AE 784-512-256-32-256-512-784 (ReLU, sigmoid out)',
  conv: 'Conv AE 1→32→64 (3×3 s2) → 16 → 64×7×7 → 32 → 1 (ConvTranspose 3×3 s2)',
};

/**
 * The first `n` images of the Fashion-MNIST training set scaled to [0, 1], as one Float32Array
 * (n·784). Only the bytes needed are decompressed (the stream stops early), so the data adds
 * ~n·784·5 bytes to a row's peak RSS instead of the whole 47 MB file: rows compare engines, not
 * data loaders. torch_ref.py reads the same bytes the same way (gzip.open().read(k)).
 * Without the file, uniform random pixels from a fixed LCG (the output says so).
 */
export async function loadImages(n, file = FASHION_TRAIN) {
  const pixels = 784;
  if (!existsSync(file)) {
    const out = new Float32Array(n * pixels);
    let s = 12345 >>> 0;
    for (let i = 0; i < out.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 4294967296;
    }
    return { data: out, n, source: `random uniform pixels (${file} not found)`, real: false };
  }
  const avail = 60000;
  const take = Math.min(n, avail);
  const need = 16 + take * pixels;
  const buf = Buffer.alloc(need);
  let got = 0;
  await new Promise((resolve, reject) => {
    const src = createReadStream(file);
    const gz = createGunzip();
    const done = () => {
      src.destroy();
      gz.destroy();
      resolve();
    };
    gz.on('data', (chunk) => {
      const k = Math.min(chunk.length, need - got);
      chunk.copy(buf, got, 0, k);
      got += k;
      if (got >= need) done();
    });
    gz.on('end', resolve);
    gz.on('error', reject);
    src.on('error', reject);
    src.pipe(gz);
  });
  if (got < need) throw new Error(`${file}: only ${got} bytes after gunzip, expected ${need}`);
  const magic = buf.readUInt32BE(0);
  const count = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  if (magic !== 0x803 || rows !== 28 || cols !== 28)
    throw new Error(`${file}: not an IDX image file of 28×28 (magic 0x${magic.toString(16)}, ${rows}×${cols})`);
  if (count < take) throw new Error(`${file}: ${count} images, need ${take}`);
  // Cycle when more images are asked for than the file has (very long --steps).
  const out = new Float32Array(n * pixels);
  for (let i = 0; i < n * pixels; i++) out[i] = buf[16 + (i % (take * pixels))] / 255;
  return { data: out, n, source: `Fashion-MNIST train, first ${take} images (${file})`, real: true };
}

/** Batch i (cycling over the loaded images) as a subarray view: (batch, 784). */
export function batchView(images, i, batch = 128) {
  const nb = Math.floor(images.n / batch);
  const j = i % nb;
  return images.data.subarray(j * batch * 784, (j + 1) * batch * 784);
}

/** Peak resident set size of this process in MB (Linux: maxRSS is in KiB). */
export function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

/** The marker a worker prints before its one-line JSON result, so logs can share stdout. */
export const RESULT_MARK = '@@BENCH_RESULT ';

export function emit(result) {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
}

/** The value after `--name` in argv, or `dflt`: the option syntax of the stand-alone bench scripts. */
export function argValue(argv, name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
}
