/**
 * Checkpoints and weight files on disk (Node): checkpoint.ts's files written as folders by
 * FileStorage (storage-node.ts), and single safetensors weight files.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../io/atomic.js';
import { parseSafetensorsHeader, SafetensorsError } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { decodeCheckpoint, encodeCheckpoint, loadWeightsFromBytes, modelToSafetensors, type CheckpointData, type LoadedCheckpoint } from './checkpoint.js';
import { FileStorage } from './storage-node.js';

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
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read: ${(e as Error).message}`, path);
  }
  loadWeightsFromBytes(model, bytes, path);
}

const disk = new FileStorage();

/**
 * Writes a whole checkpoint folder and swaps it in atomically: first written completely into
 * `<dir>.tmp-<pid>/`, then renamed (old → `<dir>.old`, new → `<dir>`, old removed), so at every
 * instant either the old or the new checkpoint is whole on disk.
 */
export function saveCheckpoint(dir: string, data: CheckpointData): void {
  disk.writeCheckpoint(dir, encodeCheckpoint(data));
}

/** Loads a checkpoint folder's weights into the model and returns its optimizer and state records. */
export function loadCheckpoint(dir: string, model: Module): LoadedCheckpoint {
  return decodeCheckpoint(disk.readCheckpoint(dir), model, disk);
}
