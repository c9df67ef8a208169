/**
 * The lab server over real loopback requests: a temp lab root (index.html, .js, .wasm, a
 * subfolder, symlinks pointing out of it) and a temp dataset folder. Every request goes to
 * 127.0.0.1 only.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contentType,
  CONTENT_SECURITY_POLICY,
  isLoopback,
  requestSegments,
  startLabServer,
  type LabDataset,
  type LabServer,
} from '../../src/cli/lab-server.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request to 127.0.0.1, the path sent exactly as given (no normalisation). */
function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

function expectSecurityHeaders(h: IncomingHttpHeaders): void {
  expect(h['cross-origin-opener-policy']).toBe('same-origin');
  expect(h['cross-origin-embedder-policy']).toBe('require-corp');
  expect(h['cross-origin-resource-policy']).toBe('same-origin');
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(h['cache-control']).toBeTruthy();
}

let base = '';
let root = '';
let dataDir = '';
let server: LabServer;
let dataset: LabDataset;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'aelab-lab-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'assets'), { recursive: true });
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>lab</title>');
  writeFileSync(join(root, 'assets', 'main-3f2a1b.js'), 'export const x = 1;\n');
  writeFileSync(join(root, 'assets', 'style.css'), 'body{}');
  writeFileSync(join(root, 'kernels.wasm'), WASM);
  writeFileSync(join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'sub', 'index.html'), '<p>sub</p>');
  writeFileSync(join(root, 'sub', 'page.json'), '{"a":1}');
  writeFileSync(join(root, '.env'), SECRET);
  writeFileSync(join(base, 'secret.txt'), SECRET);
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret.txt'), SECRET);
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(join(base, 'outside'), join(root, 'link-dir'));
  symlinkSync(join(root, 'index.html'), join(root, 'link-in.html'));

  dataDir = join(base, 'data');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'train-images-idx3-ubyte'), Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]));
  writeFileSync(join(dataDir, 'train-labels-idx1-ubyte.gz'), Buffer.from([0x1f, 0x8b, 8, 0]));
  writeFileSync(join(dataDir, 'notes.txt'), SECRET);
  symlinkSync(join(base, 'secret.txt'), join(dataDir, 't10k-images-idx3-ubyte'));
  dataset = {
    name: 'tiny',
    kind: 'idx',
    root: dataDir,
    files: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte'],
    roles: { 'train-images-idx3-ubyte': 'train-images', 'train-labels-idx1-ubyte.gz': 'train-labels' },
    source: 'test folder',
  };
  server = await startLabServer({ root, datasets: [dataset], port: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe('startLabServer: files and headers', () => {
  it('listens on 127.0.0.1 and gives its URL', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves index.html at / with the isolation and security headers', async () => {
    const r = await get(server.port, '/');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('<!doctype html><title>lab</title>');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expectSecurityHeaders(r.headers);
    expect(r.headers['content-security-policy']).toContain("'wasm-unsafe-eval'");
    expect(r.headers['content-security-policy']).toContain("worker-src 'self' blob:");
  });

  it.each([
    ['/assets/main-3f2a1b.js', 'text/javascript; charset=utf-8'],
    ['/assets/style.css', 'text/css; charset=utf-8'],
    ['/kernels.wasm', 'application/wasm'],
    ['/logo.svg', 'image/svg+xml'],
    ['/sub/page.json', 'application/json; charset=utf-8'],
  ])('%s is served as %s', async (path, type) => {
    const r = await get(server.port, path);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expectSecurityHeaders(r.headers);
  });

  it('sends the wasm bytes unchanged, with their length', async () => {
    const r = await get(server.port, '/kernels.wasm');
    expect(r.body.equals(WASM)).toBe(true);
    expect(r.headers['content-length']).toBe(String(WASM.length));
  });

  it('caches hashed build assets for good and revalidates the rest', async () => {
    expect((await get(server.port, '/assets/main-3f2a1b.js')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get(server.port, '/')).headers['cache-control']).toBe('no-cache');
  });

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await get(server.port, '/kernels.wasm');
    const etag = first.headers.etag!;
    const r = await get(server.port, '/kernels.wasm', { headers: { 'If-None-Match': etag } });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expectSecurityHeaders(r.headers);
    expect((await get(server.port, '/kernels.wasm', { headers: { 'If-None-Match': `"x", ${etag}` } })).status).toBe(304);
    expect((await get(server.port, '/kernels.wasm', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
  });

  it('follows a symlink that stays inside the root', async () => {
    const r = await get(server.port, '/link-in.html');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('<title>lab</title>');
  });

  it('HEAD gives the headers and length of GET, without a body', async () => {
    const r = await get(server.port, '/assets/main-3f2a1b.js', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String('export const x = 1;\n'.length));
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.body.length).toBe(0);
    expectSecurityHeaders(r.headers);
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])('%s → 405 with Allow: GET, HEAD', async (method) => {
    const r = await get(server.port, '/', { method });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
    expectSecurityHeaders(r.headers);
  });

  it('a missing file → 404 with the same headers', async () => {
    const r = await get(server.port, '/nope.js');
    expect(r.status).toBe(404);
    expectSecurityHeaders(r.headers);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('lists no directory: a folder is 404 (its index.html is served only at /)', async () => {
    for (const p of ['/sub', '/sub/', '/assets/', '/link-dir', '/link-dir/']) {
      const r = await get(server.port, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString(), p).not.toContain('page.json');
    }
  });

  it('refuses Host headers that name another site (DNS rebinding)', async () => {
    expect((await get(server.port, '/', { headers: { Host: `evil.example:${server.port}` } })).status).toBe(403);
    expect((await get(server.port, '/', { headers: { Host: `localhost:${server.port}` } })).status).toBe(200);
    expect((await get(server.port, '/', { headers: { Host: `127.0.0.1:${server.port}` } })).status).toBe(200);
  });
});

describe('startLabServer: nothing outside the root', () => {
  const attempts = [
    '/../secret.txt',
    '/../../../../etc/passwd',
    '/..%2fsecret.txt',
    '/..%2Fetc',
    '/%2e%2e/secret.txt',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/%252e%252e/secret.txt',
    '//etc/passwd',
    '///etc/passwd',
    '/etc/passwd',
    'http://127.0.0.1/etc/passwd',
    '/%00',
    '/index.html%00.js',
    '/..\\secret.txt',
    '/%5c..%5csecret.txt',
    '/assets\\..\\..\\secret.txt',
    '/link-out.txt',
    '/link-dir/secret.txt',
    '/.env',
    '/%2eenv',
    '/./index.html',
    '/%',
    '/%zz',
  ];
  it.each(attempts)('%s → 404 (or 400), never the file', async (path) => {
    const r = await get(server.port, path);
    expect([400, 404]).toContain(r.status);
    expect(r.body.toString()).not.toContain(SECRET);
    expect(r.body.toString()).not.toContain('root:');
    expectSecurityHeaders(r.headers);
  });

  it('the absolute path of a file outside the root → 404', async () => {
    const r = await get(server.port, join(base, 'secret.txt'));
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain(SECRET);
  });
});

describe('startLabServer: datasets', () => {
  it('/data/index.json lists each dataset with its files, sizes and URLs', async () => {
    const r = await get(server.port, '/data/index.json');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expectSecurityHeaders(r.headers);
    const idx = JSON.parse(r.body.toString()) as {
      datasets: Array<{
        name: string;
        kind: string;
        source: string;
        files: Array<{ path: string; url: string; size: number; role?: string }>;
      }>;
    };
    expect(idx.datasets).toHaveLength(1);
    const d = idx.datasets[0]!;
    expect(d).toMatchObject({ name: 'tiny', kind: 'idx', source: 'test folder' });
    // the symlink out of the dataset folder is neither listed nor served
    expect(d.files).toEqual([
      { path: 'train-images-idx3-ubyte', url: '/data/tiny/train-images-idx3-ubyte', size: 20, role: 'train-images' },
      { path: 'train-labels-idx1-ubyte.gz', url: '/data/tiny/train-labels-idx1-ubyte.gz', size: 4, role: 'train-labels' },
    ]);
  });

  it('serves a listed file as its bytes: IDX as octet-stream, .gz as gzip', async () => {
    const a = await get(server.port, '/data/tiny/train-images-idx3-ubyte');
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/octet-stream');
    expect([...a.body]).toEqual([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
    expect(a.headers['content-length']).toBe('20');
    const b = await get(server.port, '/data/tiny/train-labels-idx1-ubyte.gz', { method: 'HEAD' });
    expect(b.headers['content-type']).toBe('application/gzip');
    expect(b.headers['content-encoding']).toBeUndefined();
    expect(b.headers['content-length']).toBe('4');
  });

  it.each([
    '/data/tiny/notes.txt',
    '/data/tiny/t10k-images-idx3-ubyte',
    '/data/tiny/',
    '/data/tiny',
    '/data/',
    '/data/nope/train-images-idx3-ubyte',
    '/data/tiny/../tiny/notes.txt',
    '/data/tiny/%2e%2e/secret.txt',
    '/data/tiny/..%2f..%2fsecret.txt',
  ])('%s → 404, never an unlisted file', async (path) => {
    const r = await get(server.port, path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain(SECRET);
  });

  it('streams a large file whole, with a matching Content-Length', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    const dir = mkdtempSync(join(tmpdir(), 'aelab-lab-big-'));
    writeFileSync(join(dir, 'big-images-idx3-ubyte'), big);
    const s = await startLabServer({
      root,
      datasets: [{ name: 'big', kind: 'idx', root: dir, files: ['big-images-idx3-ubyte'] }],
      port: 0,
    });
    try {
      const r = await get(s.port, '/data/big/big-images-idx3-ubyte');
      expect(r.headers['content-length']).toBe(String(big.length));
      expect(r.body.equals(big)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('rejects dataset names that are not one URL segment, and duplicates', async () => {
    const d = (name: string): LabDataset => ({ name, kind: 'idx', root: dataDir, files: ['train-images-idx3-ubyte'] });
    await expect(startLabServer({ root, datasets: [d('a/b')], port: 0 })).rejects.toThrow(/lab dataset name 'a\/b'/);
    await expect(startLabServer({ root, datasets: [d('..')], port: 0 })).rejects.toThrow(/lab dataset name '\.\.'/);
    await expect(startLabServer({ root, datasets: [d('x'), d('x')], port: 0 })).rejects.toThrow(/two lab datasets are named 'x'/);
    await expect(startLabServer({ root, datasets: [{ ...d('x'), files: ['../secret.txt'] }], port: 0 })).rejects.toThrow(
      /not a plain relative path/,
    );
  });
});

describe('startLabServer: ports', () => {
  let blocker: Server;
  let taken = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    taken = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  it('moves to the next free port when the asked one is taken', async () => {
    const s = await startLabServer({ root, port: taken });
    try {
      expect(s.port).toBeGreaterThan(taken);
      expect(s.port).toBeLessThan(taken + 20);
      expect(s.url).toBe(`http://127.0.0.1:${s.port}/`);
      expect((await get(s.port, '/')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('with strictPort, fails with a message naming the port', async () => {
    await expect(startLabServer({ root, port: taken, strictPort: true })).rejects.toThrow(
      new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is in use \\(strict port\\); .*--port`),
    );
  });

  it('a root that is not a folder is named', async () => {
    await expect(startLabServer({ root: join(base, 'nowhere'), port: 0 })).rejects.toThrow(/lab root .*nowhere is not a readable folder/);
  });

  it('close() frees the port', async () => {
    const s = await startLabServer({ root, port: 0 });
    await get(s.port, '/');
    await s.close();
    await expect(get(s.port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('lab-server helpers', () => {
  it('requestSegments decodes once and refuses traversal, NUL, backslashes, encoded slashes', () => {
    expect(requestSegments('/')).toEqual([]);
    expect(requestSegments('/assets/a%20b.js')).toEqual(['assets', 'a b.js']);
    expect(requestSegments('/%252e%252e')).toEqual(['%2e%2e']);
    for (const p of [
      '/..',
      '/a/../b',
      '/%2e%2e/x',
      '/a%2fb',
      '/a%5Cb',
      '/a\\b',
      '/%00',
      '//x',
      '/a/',
      '/.git/config',
      'x',
      '/%E0%A4%A',
      '/C:/Windows/win.ini',
      '/index.html::$DATA',
    ]) {
      expect(requestSegments(p), p).toBeNull();
    }
  });

  it('contentType knows the lab and dataset files', () => {
    expect(contentType('a.wasm')).toBe('application/wasm');
    expect(contentType('A.HTML')).toBe('text/html; charset=utf-8');
    expect(contentType('x.png')).toBe('image/png');
    expect(contentType('train-images-idx3-ubyte')).toBe('application/octet-stream');
  });

  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com']) expect(isLoopback(h), h).toBe(false);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** A module exporting ans() = 42: type () → i32, one function, its export, its body. */
const WASM_42 = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03,
  0x61, 0x6e, 0x73, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b,
]);

describe('startLabServer in Chromium: what the lab needs works, the rest is blocked', () => {
  it.skipIf(!hasChromium)(
    `the page is cross-origin isolated; wasm, module and blob workers, SharedArrayBuffer and /data run; inline script is blocked${hasChromium ? '' : ` — SKIPPED: no ${CHROMIUM}`}`,
    async () => {
      const lab = mkdtempSync(join(tmpdir(), 'aelab-lab-browser-'));
      writeFileSync(
        join(lab, 'index.html'),
        '<!doctype html><title>lab</title><script>window.inlineRan = true</script><script type="module" src="/main.js"></script>',
      );
      writeFileSync(join(lab, 'ans.wasm'), WASM_42);
      writeFileSync(join(lab, 'worker.js'), 'postMessage({ isolated: self.crossOriginIsolated, sab: typeof SharedArrayBuffer });\n');
      writeFileSync(
        join(lab, 'main.js'),
        `const once = (w) => new Promise((ok, no) => { w.onmessage = (e) => ok(e.data); w.onerror = (e) => no(new Error(String(e.message))); });
         const r = { isolated: self.crossOriginIsolated, inlineRan: self.inlineRan === true };
         try { r.shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer; } catch (e) { r.shared = String(e); }
         try { const { instance } = await WebAssembly.instantiateStreaming(fetch('/ans.wasm')); r.wasm = instance.exports.ans(); } catch (e) { r.wasm = String(e); }
         try { r.worker = await once(new Worker('/worker.js', { type: 'module' })); } catch (e) { r.worker = String(e); }
         try { r.blobWorker = await once(new Worker(URL.createObjectURL(new Blob(['postMessage(7)'], { type: 'text/javascript' })))); } catch (e) { r.blobWorker = String(e); }
         try { r.data = (await (await fetch('/data/index.json')).json()).datasets.map((d) => d.name); } catch (e) { r.data = String(e); }
         try { r.evalRan = eval('1 + 1') === 2; } catch { r.evalRan = false; }
         self.result = r;`,
      );
      const s = await startLabServer({ root: lab, datasets: [dataset], port: 0 });
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage();
        await page.goto(s.url);
        const r = await page.waitForFunction(() => (self as unknown as { result?: unknown }).result, undefined, { timeout: 20_000 });
        expect(await r.jsonValue()).toEqual({
          isolated: true,
          inlineRan: false,
          shared: true,
          wasm: 42,
          worker: { isolated: true, sab: 'function' },
          blobWorker: 7,
          data: ['tiny'],
          evalRan: false,
        });
      } finally {
        await browser.close();
        await s.close();
      }
    },
  );
});
