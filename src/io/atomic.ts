/**
 * Atomic file replacement: write to a temporary file in the destination's folder, flush it to
 * disk (fsync), then rename it over the destination. rename(2) within one file system is atomic,
 * so a reader — or a crash at any moment — sees either the old complete file or the new complete
 * file, never a half-written one. The temp file lives in the same folder because a rename across
 * file systems is a copy, which is not atomic. After the rename the folder itself is fsynced so
 * the new directory entry survives a power cut too (best effort: not every platform allows it).
 */

// Namespace imports only: a browser bundle (the web lab) can then include this module's
// neighbours without failing on missing named exports of the stubbed node: modules; the file
// functions themselves only work in Node.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';

export interface AtomicWriteOptions {
  /** Create missing parent folders first (default true). */
  mkdir?: boolean;
  /** File mode for a new file (default 0o666 before umask); an existing file keeps its mode. */
  mode?: number;
}

function tempPathFor(path: string): string {
  // Hidden, unique per process and call, and recognisable if a crash ever leaves one behind.
  const rnd = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return nodePath.join(
    nodePath.dirname(path),
    `.${nodePath.basename(path)}.${process.pid}.${rnd}.tmp`,
  );
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

function wrap(path: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const out = new Error(`writeFileAtomic: cannot write ${path}: ${err?.message ?? String(e)}`);
  (out as NodeJS.ErrnoException).code = err?.code;
  return out;
}

/** Atomically replaces (or creates) `path` with `data`. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const bytes = toBytes(data);
  const dir = nodePath.dirname(path);
  const tmp = tempPathFor(path);
  let mode = opts.mode ?? 0o666;
  try {
    if (opts.mkdir ?? true) await fsp.mkdir(dir, { recursive: true });
    try {
      mode = (await fsp.stat(path)).mode & 0o7777;
    } catch {
      // no existing file: use the default mode
    }
    // 'wx': fail rather than follow a file or symlink someone placed at the temp name.
    const fh = await fsp.open(tmp, 'wx', mode);
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw wrap(path, e);
  }
  await syncDir(dir);
}

/** Synchronous twin of `writeFileAtomic`, for exit handlers and simple scripts. */
export function writeFileAtomicSync(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): void {
  const bytes = toBytes(data);
  const dir = nodePath.dirname(path);
  const tmp = tempPathFor(path);
  let mode = opts.mode ?? 0o666;
  try {
    if (opts.mkdir ?? true) fs.mkdirSync(dir, { recursive: true });
    try {
      mode = fs.statSync(path).mode & 0o7777;
    } catch {
      // no existing file: use the default mode
    }
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to clean up
    }
    throw wrap(path, e);
  }
  syncDirSync(dir);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows and some file systems refuse to open or fsync a folder; the rename already happened.
  }
}

function syncDirSync(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // as above
  }
}
