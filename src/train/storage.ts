/**
 * Where a run keeps its metrics log and checkpoints. The Trainer's loop only talks to a
 * RunStorage, so the same loop writes folders on disk in Node (FileStorage, storage-node.ts)
 * and keeps everything in memory in a browser (MemoryStorage, here).
 *
 * Names are paths in both: `<run>/metrics.jsonl`, `<run>/checkpoints/last`. A checkpoint is
 * written and read as a whole (the three files of checkpoint.ts), so a storage can keep it as
 * one record and replace it in one step, never leaving a half-written one.
 */
import { MODEL_FILE } from './checkpoint.js';

/** The files of one checkpoint (see checkpoint.ts). */
export interface CheckpointFiles {
  /** model.safetensors: the weights. */
  model: Uint8Array;
  /** optimizer.json: optimizer(s) and scheduler state. */
  optimizer?: string;
  /** state.json: counters, loader and generator states. */
  state?: string;
}

/** A checkpoint as read back: `dir` is where it was found (FileStorage may fall back to `<dir>.old`). */
export interface StoredCheckpoint {
  dir: string;
  files: CheckpointFiles;
}

export interface RunStorage {
  /** Joins path segments as this storage names things. */
  join(...parts: string[]): string;
  /** Makes a run folder (and its parents) if the storage has folders. */
  makeDir(dir: string): void;
  /** Writes a whole checkpoint at `dir`, replacing the one there; a failure leaves the old one whole. */
  writeCheckpoint(dir: string, files: CheckpointFiles): void;
  /** Reads the checkpoint at `dir`; throws "no checkpoint at <dir>" when there is none. */
  readCheckpoint(dir: string): StoredCheckpoint;
  /** Appends to a text file (the metrics log). */
  appendText(path: string, text: string): void;
  /** A text file's content, or null when it does not exist. */
  readText(path: string): string | null;
  /** Replaces a text file. */
  writeText(path: string, text: string): void;
}

/**
 * POSIX path joining as Node's `path.posix.join`: segments joined by '/', then '.', empty
 * segments and 'name/..' pairs removed; '.' for an empty result.
 */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  if (joined === '') return '.';
  const absolute = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (seg !== '..' || !absolute) out.push(seg);
  }
  let body = out.join('/');
  if (body === '' && !absolute) body = '.';
  if (body !== '' && joined.endsWith('/')) body += '/';
  return absolute ? '/' + body : body;
}

/** The error every storage throws for a missing checkpoint. */
export function noCheckpointError(dir: string): Error {
  return new Error(`no checkpoint at ${dir} (missing ${MODEL_FILE})`);
}

/**
 * Everything in memory: checkpoints and text files in two maps keyed by path. What the Trainer
 * uses in a browser; read a checkpoint's bytes with `readCheckpoint(dir)` to keep them (IndexedDB,
 * a download), and give the same storage to another Trainer to resume from it.
 */
export class MemoryStorage implements RunStorage {
  readonly checkpoints = new Map<string, CheckpointFiles>();
  readonly texts = new Map<string, string>();

  join(...parts: string[]): string {
    return joinPath(...parts);
  }

  makeDir(): void {}

  writeCheckpoint(dir: string, files: CheckpointFiles): void {
    // Copies, so later writes by the caller cannot change a stored checkpoint.
    this.checkpoints.set(joinPath(dir), { ...files, model: files.model.slice() });
  }

  readCheckpoint(dir: string): StoredCheckpoint {
    const files = this.checkpoints.get(joinPath(dir));
    if (files === undefined) throw noCheckpointError(dir);
    return { dir, files };
  }

  appendText(path: string, text: string): void {
    const key = joinPath(path);
    this.texts.set(key, (this.texts.get(key) ?? '') + text);
  }

  readText(path: string): string | null {
    return this.texts.get(joinPath(path)) ?? null;
  }

  writeText(path: string, text: string): void {
    this.texts.set(joinPath(path), text);
  }
}
