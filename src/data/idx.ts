/**
 * IDX files on disk: raw or gzip-compressed (detected by the magic bytes 1f 8b, not by the file
 * name, because mirrors and caches rename files freely). Node only; the byte-level format is in
 * idx-codec.ts so the browser can share it.
 */

import { readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError, fmtCount } from './errors.js';
import { decodeIdx, encodeIdx, isGzip, type IdxArray, type IdxData, type IdxDtype } from './idx-codec.js';

export { decodeIdx, encodeIdx, isGzip, IDX_DTYPES, dtypeOf } from './idx-codec.js';
export type { IdxArray, IdxData, IdxDtype } from './idx-codec.js';

/**
 * Returns the bytes, decompressed when they are gzip. A damaged or cut-off gzip stream becomes a
 * DataError naming the file, since zlib's own message ("unexpected end of file") names nothing.
 */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DataError(
      `${file}: corrupt gzip data (${reason}) in ${fmtCount(bytes.length)} compressed bytes starting at byte 0; ` +
        `the file is damaged or was not fully downloaded — delete it and fetch it again`,
      { file, offset: 0 },
      { cause: err },
    );
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message);
    throw new DataError(`${path}: cannot read IDX file (${reason})`, { file: path }, { cause: err });
  }
}

/** Reads an IDX file, raw or gzipped. Errors name the file and the byte offset. */
export function readIdx(path: string): IdxArray {
  return decodeIdx(maybeGunzip(readBytes(path), path), path);
}

/** Decodes IDX bytes that may be gzip-compressed; `source` names them in errors. */
export function decodeIdxMaybeGzip(bytes: Uint8Array, source: string): IdxArray {
  return decodeIdx(maybeGunzip(bytes, source), source);
}

export interface WriteIdxOptions {
  /** Compress with gzip. Default: true when the path ends in .gz. */
  gzip?: boolean;
}

/**
 * Writes an IDX file. Written to a temporary name and renamed, so a reader never sees half a file.
 */
export function writeIdx(
  path: string,
  arr: { shape: readonly number[]; data: IdxData; dtype?: IdxDtype },
  options: WriteIdxOptions = {},
): void {
  const gzip = options.gzip ?? path.endsWith('.gz');
  const raw = encodeIdx(arr);
  const bytes = gzip ? gzipSync(raw) : raw;
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
