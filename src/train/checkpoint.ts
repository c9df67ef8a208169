/**
 * Checkpoints: a folder per checkpoint, written so that a crash or Ctrl-C never leaves a broken
 * or half-written one and never destroys the last good one.
 *
 *   <run>/checkpoints/last/   model.safetensors   weights, PyTorch names and layout
 *                             optimizer.json      optimizer(s) and scheduler state
 *                             state.json          epoch, step, loader and RNG states, best metric
 *   <run>/checkpoints/best/   the same, from the epoch with the best validation loss
 *
 * A checkpoint is first written completely into `<name>.tmp-<pid>/`, then swapped in by renames
 * (old → `<name>.old`, new → `<name>`, old removed), so at every instant either the old or the
 * new checkpoint is whole on disk.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { encodeSafetensors, parseSafetensorsHeader, SafetensorsError, toFloat32Array } from '../io/safetensors.js';
import { loadSafetensorsSync } from '../io/safetensors-node.js';
import type { Module } from '../nn/module.js';

export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.json';
export const STATE_FILE = 'state.json';

export interface CheckpointData {
  model: Module;
  /** JSON-able optimizer/scheduler states (Float32Arrays are encoded as base64). */
  optimizer?: unknown;
  state: Record<string, unknown>;
  metadata?: Record<string, string>;
}

/** Serialises the model's state dict as safetensors bytes with PyTorch names. */
export function modelToSafetensors(model: Module, metadata: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[name] = { dtype: 'F32', shape: t.shape.slice(), data: t.data.slice() };
  return encodeSafetensors(tensors, { format: 'pt', ...metadata });
}

/**
 * Writes the model's weights to a safetensors file (PyTorch's names and layout, so
 * `safetensors.torch.load_file` reads it) with string metadata in its header, e.g. the config
 * to rebuild the model from: `saveModelWeights(model, 'ae.safetensors', { config: JSON.stringify(cfg) })`.
 * The file is replaced atomically.
 */
export function saveModelWeights(model: Module, path: string, metadata: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw new TypeError(`saveModelWeights: metadata '${k}' must be a string (JSON.stringify objects), got ${typeof v}`);
  writeFileAtomicSync(path, modelToSafetensors(model, metadata));
}

/** The metadata strings in a safetensors file's header (what saveModelWeights stored), without reading the weights into a model. */
export function readModelMetadata(path: string): Record<string, string> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read: ${(e as Error).message}`, path);
  }
  return parseSafetensorsHeader(bytes, path).metadata;
}

/** Loads weights from a safetensors file into the model (strict: names and shapes must match). */
export function loadModelWeights(model: Module, path: string): void {
  const { tensors } = loadSafetensorsSync(path);
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) sd[name] = { shape: t.shape, data: toFloat32Array(t) };
  try {
    model.loadStateDict(sd);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** JSON with Float32Arrays stored as { $f32: base64 } so optimizer state round-trips exactly. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (v instanceof Float32Array) return { $f32: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
      if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
      return v;
    },
    1,
  );
}

export function fromJson<T = unknown>(text: string, source: string): T {
  try {
    return JSON.parse(text, (_k, v: unknown) => {
      if (v && typeof v === 'object' && '$f32' in v) {
        const b = Buffer.from((v as { $f32: string }).$f32, 'base64');
        const out = new Float32Array(b.byteLength / 4);
        new Uint8Array(out.buffer).set(b);
        return out;
      }
      if (v && typeof v === 'object' && '$num' in v) return Number((v as { $num: string }).$num);
      return v;
    }) as T;
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
}

/** Writes a whole checkpoint folder and swaps it in atomically. */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileAtomicSync(join(tmp, MODEL_FILE), modelToSafetensors(data.model, data.metadata));
  if (data.optimizer !== undefined) writeFileAtomicSync(join(tmp, OPTIMIZER_FILE), toJson(data.optimizer));
  writeFileAtomicSync(join(tmp, STATE_FILE), toJson(data.state));
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  optimizer: unknown;
  state: Record<string, unknown>;
}

/** Loads a checkpoint folder's weights into the model and returns its optimizer and state records. */
export function loadCheckpoint(dir: string, model: Module): LoadedCheckpoint {
  // A crash between the two renames of saveCheckpoint leaves only `<dir>.old`: use it.
  if (!existsSync(dir) && existsSync(`${dir}.old`)) dir = `${dir}.old`;
  const modelPath = join(dir, MODEL_FILE);
  if (!existsSync(modelPath)) throw new Error(`no checkpoint at ${dir} (missing ${MODEL_FILE})`);
  loadModelWeights(model, modelPath);
  const optPath = join(dir, OPTIMIZER_FILE);
  const optimizer = existsSync(optPath) ? fromJson(readFileSync(optPath, 'utf8'), optPath) : undefined;
  const statePath = join(dir, STATE_FILE);
  const state = existsSync(statePath) ? fromJson<Record<string, unknown>>(readFileSync(statePath, 'utf8'), statePath) : {};
  return { optimizer, state };
}
