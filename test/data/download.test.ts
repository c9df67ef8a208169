import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile } from '../../src/data/download.js';
import { DownloadError } from '../../src/data/errors.js';
import { encodeIdx } from '../../src/data/idx-codec.js';
import { FASHION_MNIST_CLASSES, loadDataset, loadFashionMnist } from '../../src/data/sources.js';
import { caughtAsync, useTempDir } from './helpers.js';

const tmp = useTempDir();

// Small stand-ins for the four official files, served from 127.0.0.1 only (no internet here).
const files: Record<string, Buffer> = {};
for (const [prefix, n] of [['train', 12], ['t10k', 4]] as const) {
  files[`${prefix}-images-idx3-ubyte.gz`] = gzipSync(
    encodeIdx({ shape: [n, 28, 28], data: Uint8Array.from({ length: n * 784 }, (_, i) => (i * 13) % 256) }),
  );
  files[`${prefix}-labels-idx1-ubyte.gz`] = gzipSync(encodeIdx({ shape: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
}
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const goodSums = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { md5: md5(v), sha256: sha256(v) }]));

let server: Server;
let base = '';
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    const name = url.split('/').pop() ?? '';
    const body = files[name];
    if (url.startsWith('/truncated/') && body) {
      // Promise the whole file, send half, then drop the connection.
      res.writeHead(200, { 'Content-Length': String(body.length), 'Content-Type': 'application/gzip' });
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    if (url.startsWith('/files/') && body) {
      res.writeHead(200, { 'Content-Length': String(body.length), 'Content-Type': 'application/gzip' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const name = 'train-labels-idx1-ubyte.gz';

describe('downloadFile', () => {
  it('downloads, verifies SHA-256 and MD5, and reports progress', async () => {
    const dir = tmp();
    const dest = join(dir, 'sub', name);
    const progress: number[] = [];
    const r = await downloadFile(`${base}/files/${name}`, dest, { ...goodSums[name], onProgress: (got) => progress.push(got) });
    expect(r.bytes).toBe(files[name]!.length);
    expect(r.sha256).toBe(goodSums[name]!.sha256);
    expect(readFileSync(dest).equals(files[name]!)).toBe(true);
    expect(progress.at(-1)).toBe(files[name]!.length);
    expect(readdirSync(join(dir, 'sub'))).toEqual([name]); // no temporary file left
  });

  it('a checksum mismatch leaves nothing behind', async () => {
    const dir = tmp();
    const dest = join(dir, name);
    const e = await caughtAsync(() => downloadFile(`${base}/files/${name}`, dest, { sha256: '0'.repeat(64) }));
    expect(e).toBeInstanceOf(DownloadError);
    expect(e.message).toBe(
      `checksum mismatch for ${base}/files/${name}: expected SHA256 ${'0'.repeat(64)}, got ${goodSums[name]!.sha256} ` +
        `(${files[name]!.length} bytes); the file was discarded`,
    );
    expect(readdirSync(dir)).toEqual([]);
    const e2 = await caughtAsync(() => downloadFile(`${base}/files/${name}`, dest, { md5: 'f'.repeat(32) }));
    expect(e2.message).toContain('expected MD5 ffffffffffffffffffffffffffffffff');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a dropped connection leaves nothing behind', async () => {
    const dir = tmp();
    const e = await caughtAsync(() => downloadFile(`${base}/truncated/train-images-idx3-ubyte.gz`, join(dir, 'x.gz')));
    expect(e).toBeInstanceOf(DownloadError);
    expect(e.message).toMatch(/interrupted after|truncated: expected/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('HTTP errors and refused connections are reported with the URL', async () => {
    const dir = tmp();
    const e = await caughtAsync(() => downloadFile(`${base}/nothing-here.gz`, join(dir, 'y.gz')));
    expect(e.message).toBe(`download of ${base}/nothing-here.gz failed: HTTP 404 Not Found`);
    // Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    const e2 = await caughtAsync(() => downloadFile('http://127.0.0.1:9/z.gz', join(dir, 'z.gz'), { timeoutMs: 5000 }));
    expect(e2.message).toMatch(/^download of http:\/\/127\.0\.0\.1:9\/z\.gz failed: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('Fashion-MNIST download into the cache', () => {
  it('downloads the official file names when allowed, then loads from the cache without the network', async () => {
    const cacheDir = tmp();
    const systemDir = join(cacheDir, 'no-system-copy');
    const opts = { cacheDir, systemDir, baseUrl: `${base}/files`, checksums: goodSums };
    await expect(loadFashionMnist(opts)).rejects.toThrow(/Fashion-MNIST \(train\) not found/);
    const before = hits.length;
    const logs: string[] = [];
    const train = await loadFashionMnist({ ...opts, download: true, log: (m) => logs.push(m) });
    expect(train.n).toBe(12);
    expect(train.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(train.source).toContain('downloaded to cache');
    expect(logs).toContain(`fashion-mnist: downloading ${base}/files/train-images-idx3-ubyte.gz`);
    expect(hits.slice(before).sort()).toEqual(['/files/train-images-idx3-ubyte.gz', '/files/train-labels-idx1-ubyte.gz']);
    expect(readdirSync(join(cacheDir, 'fashion-mnist')).sort()).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);

    const all = await loadDataset('fashion-mnist', { ...opts, download: true, split: 'all' });
    expect(all.n).toBe(16);
    const n = hits.length;
    const again = await loadDataset('fashion-mnist', { ...opts, download: true, split: 'all' });
    expect(again.source).toContain('cache');
    expect(hits.length).toBe(n); // served from the cache
  });

  it('a bad checksum fails the load and leaves no file in the cache', async () => {
    const cacheDir = tmp();
    const bad = { ...goodSums, 'train-images-idx3-ubyte.gz': { md5: '0'.repeat(32) } };
    const e = await caughtAsync(() =>
      loadFashionMnist({ cacheDir, systemDir: join(cacheDir, 'none'), baseUrl: `${base}/files/`, checksums: bad, download: true }),
    );
    expect(e).toBeInstanceOf(DownloadError);
    expect(e.message).toContain('checksum mismatch for');
    expect(e.message).toContain('train-images-idx3-ubyte.gz');
    expect(existsSync(join(cacheDir, 'fashion-mnist', 'train-images-idx3-ubyte.gz'))).toBe(false);
    expect(readdirSync(join(cacheDir, 'fashion-mnist')).filter((f) => f.includes('part'))).toEqual([]);
  });

  it('a truncated transfer leaves no partial file in the cache', async () => {
    const cacheDir = tmp();
    const e = await caughtAsync(() =>
      loadFashionMnist({ cacheDir, systemDir: join(cacheDir, 'none'), baseUrl: `${base}/truncated`, checksums: goodSums, download: true }),
    );
    expect(e).toBeInstanceOf(DownloadError);
    expect(readdirSync(join(cacheDir, 'fashion-mnist'))).toEqual([]);
  });

  it('the official manifest has the published MD5s', async () => {
    const { FASHION_MNIST_FILES, FASHION_MNIST_URL } = await import('../../src/data/sources.js');
    expect(FASHION_MNIST_URL).toBe('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/');
    expect(FASHION_MNIST_FILES['train-images-idx3-ubyte.gz']!.md5).toBe('8d4fb7e6c68d591d4c3dfef9ec88bf0d');
    expect(Object.keys(FASHION_MNIST_FILES)).toHaveLength(4);
  });
});
