/**
 * `aelab lab`: finding the built lab and the datasets, its argument errors, and the real command
 * spawned (prints the URL, serves, stops on SIGINT with exit 0; the message when the lab is not
 * built). Requests go to 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/cli/errors.js';
import { builtLabDir, hostWarning, labDataset, labRoot, runLab } from '../../src/cli/lab.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES } from '../../src/data/sources.js';
import { runCli } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-labcmd-'));

function caught(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected an error');
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  expect(url.startsWith('http://127.0.0.1:')).toBe(true);
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function fakeLab(): string {
  const root = tmp();
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>the lab</title>');
  return root;
}

/** Names like the official IDX files; findIdxFiles goes by the names only. */
function fakeIdxFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
    writeFileSync(join(dir, f), Buffer.from([0x1f, 0x8b, 8, 0]));
  return dir;
}

describe('labRoot: which folder is served', () => {
  it('without a built lab, says so in one line naming the expected folder (exit 2)', () => {
    const pkg = tmp();
    const e = caught(() => labRoot(undefined, pkg));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`the lab is not built in this copy of aelab (expected it in ${join(pkg, 'web', 'dist')})`);
    expect(e.message).toContain('npm run build:web');
    expect(e.message).toContain('--root DIR');
    expect(e.message).not.toContain('\n');
  });

  it('serves the package’s web/dist once it holds index.html', () => {
    const pkg = tmp();
    mkdirSync(join(pkg, 'web', 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'web', 'dist', 'index.html'), '');
    expect(labRoot(undefined, pkg)).toBe(builtLabDir(pkg));
  });

  it('--root must be a folder with index.html', () => {
    const empty = tmp();
    expect(caught(() => labRoot(empty)).message).toBe(
      `--root ${empty} has no index.html; point it at a built lab (the output folder of its build)`,
    );
    expect(caught(() => labRoot(join(empty, 'nope'))).message).toContain('is not a folder');
    const lab = fakeLab();
    expect(labRoot(lab)).toBe(lab);
  });
});

describe('labDataset: what --data serves', () => {
  it('an IDX folder: its images and labels files with their roles, nothing else', () => {
    const dir = fakeIdxFolder(join(tmp(), 'my set'));
    writeFileSync(join(dir, 'notes.txt'), 'not data');
    const d = labDataset(dir);
    expect(d).toMatchObject({ name: 'my-set', kind: 'idx', root: dir });
    expect(d.files.sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
    expect(d.roles).toEqual({
      'train-images-idx3-ubyte.gz': 'train-images',
      'train-labels-idx1-ubyte.gz': 'train-labels',
      't10k-images-idx3-ubyte.gz': 'test-images',
      't10k-labels-idx1-ubyte.gz': 'test-labels',
    });
  });

  it('a CSV folder, a PNG folder (class subfolders, hidden entries skipped), single files', () => {
    const csvDir = join(tmp(), 'rows');
    mkdirSync(csvDir);
    writeFileSync(join(csvDir, 'train.csv'), 'label,p0\n1,0\n');
    writeFileSync(join(csvDir, 'test.csv.gz'), '');
    expect(labDataset(csvDir)).toMatchObject({ name: 'rows', kind: 'csv', files: ['test.csv.gz', 'train.csv'] });
    expect(labDataset(join(csvDir, 'train.csv'))).toMatchObject({ name: 'train', kind: 'csv', root: csvDir, files: ['train.csv'] });

    const pngDir = join(tmp(), 'shapes');
    for (const c of ['circle', 'square', '.cache']) mkdirSync(join(pngDir, c), { recursive: true });
    writeFileSync(join(pngDir, 'circle', 'a.png'), '');
    writeFileSync(join(pngDir, 'square', 'b.png'), '');
    writeFileSync(join(pngDir, '.cache', 'c.png'), '');
    expect(labDataset(pngDir)).toMatchObject({ name: 'shapes', kind: 'png-folder', files: ['circle/a.png', 'square/b.png'] });

    const idxDir = tmp();
    writeFileSync(join(idxDir, 'digits-images-idx3-ubyte'), '');
    writeFileSync(join(idxDir, 'digits-labels-idx1-ubyte'), '');
    expect(labDataset(join(idxDir, 'digits-images-idx3-ubyte'))).toMatchObject({
      name: 'digits',
      kind: 'idx',
      files: ['digits-images-idx3-ubyte', 'digits-labels-idx1-ubyte'],
      roles: { 'digits-images-idx3-ubyte': 'images', 'digits-labels-idx1-ubyte': 'labels' },
    });
  });

  it('a folder without dataset files, or no such path, is named', () => {
    const empty = tmp();
    writeFileSync(join(empty, 'readme.md'), '');
    expect(caught(() => labDataset(empty)).message).toContain(`${empty} holds no dataset files`);
    const e = caught(() => labDataset(join(empty, 'nope')));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`no file or folder at ${join(empty, 'nope')}`);
  });

  it("'fashion-mnist' is searched where the CLI looks: Debian's folder, then the cache", () => {
    const systemDir = join(tmp(), 'none');
    const cacheDir = tmp();
    const e = caught(() => labDataset('fashion-mnist', { systemDir, cacheDir }));
    expect(e.message).toContain(`Fashion-MNIST not found in ${systemDir}`);
    expect(e.message).toContain(join(cacheDir, 'fashion-mnist'));
    expect(e.message).toContain('apt-get install dataset-fashion-mnist');
    fakeIdxFolder(join(cacheDir, 'fashion-mnist'));
    const d = labDataset('Fashion-MNIST', { systemDir, cacheDir });
    expect(d).toMatchObject({
      name: 'fashion-mnist',
      kind: 'idx',
      root: join(cacheDir, 'fashion-mnist'),
      classNames: FASHION_MNIST_CLASSES,
    });
    expect(d.source).toContain('cache');
    expect(d.files).toHaveLength(4);
  });
  it("'mnist' is the cache's MNIST IDX folder; the embedded digits are not files for the lab", () => {
    const cacheDir = tmp();
    expect(caught(() => labDataset('mnist', { cacheDir })).message).toBe(
      `--data mnist: no MNIST IDX files in ${join(cacheDir, 'mnist')} (the cache); pass --data PATH to a folder holding them`,
    );
    fakeIdxFolder(join(cacheDir, 'mnist'));
    expect(labDataset('MNIST', { cacheDir })).toMatchObject({
      name: 'mnist',
      kind: 'idx',
      root: join(cacheDir, 'mnist'),
      classNames: MNIST_CLASSES,
    });
  });
});

describe('aelab lab: arguments', () => {
  it('hostWarning: loopback is quiet, anything else warns', () => {
    expect(hostWarning('127.0.0.1')).toBeNull();
    expect(hostWarning('localhost')).toBeNull();
    expect(hostWarning('0.0.0.0')).toMatch(/--host 0\.0\.0\.0 is not a loopback address: anyone who can reach this machine/);
  });

  it.each([
    [['lab', '--port', '70000'], /--port must be an integer in 0…65535, got '70000'/],
    [['lab', '--port', 'http'], /--port must be an integer in 0…65535, got 'http'/],
    [['lab', '--root', '/nonexistent/lab'], /--root \/nonexistent\/lab is not a folder/],
    [['lab', '--host'], /option '--host <address>' argument missing/],
  ])('%j → one line, exit 2', async (args, re) => {
    const r = await runCli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a --data path that does not exist stops it before it serves (exit 2)', async () => {
    const r = await runCli('lab', '--root', fakeLab(), '--port', '0', '--data', '/nonexistent/set');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--data /nonexistent/set: no file or folder at /nonexistent/set');
    expect(r.stdout).toBe('');
  });

  it('--help lists its options, and the program lists lab', async () => {
    const r = await runCli('lab', '--help');
    expect(r.code).toBe(0);
    for (const o of ['--port', '--strict-port', '--host', '--open', '--data', '--root']) expect(r.stdout).toContain(o);
    expect((await runCli('--help')).stdout).toMatch(/\blab\b/);
  });
});

describe('runLab in-process', () => {
  it('prints the URL and datasets, serves them, and returns 0 when stopped', async () => {
    let out = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    try {
      const dir = fakeIdxFolder(join(tmp(), 'tiny'));
      const running = runLab({ root: fakeLab(), port: 0, host: '127.0.0.1', data: [dir, dir] }, stopped);
      await vi.waitFor(() => expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\//), { timeout: 5000 });
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)![0];
      expect(out).toContain('datasets: tiny (idx, 4 files');
      const index = JSON.parse((await fetchText(`${url}data/index.json`)).body) as { datasets: Array<{ name: string }> };
      // the same folder twice gets a second name rather than a clash
      expect(index.datasets.map((d) => d.name)).toEqual(['tiny', 'tiny-2']);
      stop();
      expect(await running).toBe(0);
      expect(out).toContain('aelab lab: stopped');
    } finally {
      o.mockRestore();
    }
  });
});

describe('aelab lab as a process', () => {
  const bin = join(repo, 'bin', 'aelab.js');
  beforeAll(() => {
    if (!existsSync(join(repo, 'dist', 'cli', 'lab.js'))) throw new Error(`dist/ lacks cli/lab.js: run 'npm run build' before this test`);
  });

  it('prints the URL, serves the lab, warns when --open finds no browser, and exits 0 on SIGINT', async () => {
    const root = fakeLab();
    const emptyPath = tmp(); // no xdg-open / open on PATH: opening fails, which must only warn
    const child = spawn(process.execPath, [bin, 'lab', '--root', root, '--port', '0', '--open'], {
      env: { PATH: emptyPath, HOME: tmp(), AELAB_CACHE: tmp() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await vi.waitFor(() => expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+\//), { timeout: 15_000, interval: 50 });
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)![0];
      const r = await fetchText(url);
      expect(r.status).toBe(200);
      expect(r.body).toContain('<title>the lab</title>');
      await vi.waitFor(() => expect(stderr).toMatch(/warning: could not open a browser .*open http:\/\/127\.0\.0\.1:\d+\/ yourself/), {
        timeout: 5000,
      });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('aelab lab: stopped');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('in a copy of aelab without web/dist, exits 2 with one line saying the lab is not built', async () => {
    // an installed package without the lab: bin/, dist/ and package.json, its dependencies linked
    const pkg = tmp();
    cpSync(join(repo, 'bin'), join(pkg, 'bin'), { recursive: true });
    cpSync(join(repo, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
    const child = spawn(process.execPath, [join(pkg, 'bin', 'aelab.js'), 'lab'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`the lab is not built in this copy of aelab (expected it in ${join(pkg, 'web', 'dist')})`);
  });
});
