/** The file system as a RunStorage (storage.ts): what the Trainer writes to in Node. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { SafetensorsError } from '../io/safetensors.js';
import { MODEL_FILE, OPTIMIZER_FILE, STATE_FILE } from './checkpoint.js';
import { noCheckpointError, type CheckpointFiles, type RunStorage, type StoredCheckpoint } from './storage.js';

/**
 * Runs as folders: a checkpoint is a folder of its three files, first written completely into
 * `<dir>.tmp-<pid>/`, then swapped in by renames (old → `<dir>.old`, new → `<dir>`, old
 * removed), so at every instant either the old or the new checkpoint is whole on disk.
 */
export class FileStorage implements RunStorage {
  join(...parts: string[]): string {
    return join(...parts);
  }

  makeDir(dir: string): void {
    mkdirSync(dir, { recursive: true });
  }

  writeCheckpoint(dir: string, files: CheckpointFiles): void {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileAtomicSync(join(tmp, MODEL_FILE), files.model);
    if (files.optimizer !== undefined) writeFileAtomicSync(join(tmp, OPTIMIZER_FILE), files.optimizer);
    if (files.state !== undefined) writeFileAtomicSync(join(tmp, STATE_FILE), files.state);
    const old = `${dir}.old`;
    rmSync(old, { recursive: true, force: true });
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  }

  readCheckpoint(dir: string): StoredCheckpoint {
    // A crash between the two renames of writeCheckpoint leaves only `<dir>.old`: use it.
    if (!existsSync(dir) && existsSync(`${dir}.old`)) dir = `${dir}.old`;
    const modelPath = join(dir, MODEL_FILE);
    if (!existsSync(modelPath)) throw noCheckpointError(dir);
    let model: Uint8Array;
    try {
      model = readFileSync(modelPath);
    } catch (e) {
      throw new SafetensorsError(`${modelPath}: cannot read: ${(e as Error).message}`, modelPath);
    }
    const files: CheckpointFiles = { model };
    const optimizer = this.readText(join(dir, OPTIMIZER_FILE));
    if (optimizer !== null) files.optimizer = optimizer;
    const state = this.readText(join(dir, STATE_FILE));
    if (state !== null) files.state = state;
    return { dir, files };
  }

  appendText(path: string, text: string): void {
    appendFileSync(path, text);
  }

  readText(path: string): string | null {
    return existsSync(path) ? readFileSync(path, 'utf8') : null;
  }

  writeText(path: string, text: string): void {
    writeFileSync(path, text);
  }
}
