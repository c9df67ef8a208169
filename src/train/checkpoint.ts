/**
 * Checkpoints: a folder per checkpoint, written so that a crash or Ctrl-C never leaves a broken
 * or half-written one and never destroys the last good one.
 *
 *   <run>/checkpoints/last/   model.safetensors   weights, PyTorch names and layout
 *                             optimizer.json      optimizer(s) and scheduler state
 *                             state.json          epoch, step, loader and RNG states, best metric
 *   <run>/checkpoints/best/   the same, from the epoch with the best validation loss
 *
 * This file turns a model and its training state into those three files' contents and back, on
 * bytes and strings only, so it runs in a browser too; a RunStorage (storage.ts) keeps them.
 * Reading and writing them as folders on disk is checkpoint-node.ts and storage-node.ts.
 */
import { decodeSafetensors, encodeSafetensors, toFloat32Array } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { CheckpointFiles, RunStorage, StoredCheckpoint } from './storage.js';

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

type NodeBuffer = { from(data: ArrayBuffer | string, offsetOrEncoding?: number | string, length?: number): Uint8Array & { toString(enc: string): string } };
/** Node's Buffer where there is one: it encodes base64 natively, much faster than btoa over a string. */
const nodeBuffer = (): NodeBuffer | undefined => (globalThis as { Buffer?: NodeBuffer }).Buffer;

/** RFC 4648 base64 with padding (what Node's Buffer writes; btoa gives the same text). */
export function bytesToBase64(b: Uint8Array): string {
  const nb = nodeBuffer();
  if (nb) return nb.from(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength).toString('base64');
  let bin = '';
  // In chunks: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function base64ToBytes(text: string): Uint8Array {
  const nb = nodeBuffer();
  if (nb) return nb.from(text, 'base64');
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** JSON with Float32Arrays stored as { $f32: base64 } so optimizer state round-trips exactly. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (v instanceof Float32Array) return { $f32: bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
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
        const b = base64ToBytes((v as { $f32: string }).$f32);
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

export interface LoadedCheckpoint {
  optimizer: unknown;
  state: Record<string, unknown>;
}

/** The three files of a checkpoint of `data` (what a RunStorage writes). */
export function encodeCheckpoint(data: CheckpointData): CheckpointFiles {
  return {
    model: modelToSafetensors(data.model, data.metadata),
    ...(data.optimizer !== undefined && { optimizer: toJson(data.optimizer) }),
    state: toJson(data.state),
  };
}

/**
 * Loads a checkpoint's weights into the model (strict: names and shapes must match) and returns
 * its optimizer and state records; errors name the files as `storage` names them.
 */
export function decodeCheckpoint({ dir, files }: StoredCheckpoint, model: Module, storage: Pick<RunStorage, 'join'>): LoadedCheckpoint {
  const join = (...parts: string[]): string => storage.join(...parts);
  loadWeightsFromBytes(model, files.model, join(dir, MODEL_FILE));
  const optimizer = files.optimizer !== undefined ? fromJson(files.optimizer, join(dir, OPTIMIZER_FILE)) : undefined;
  const state = files.state !== undefined ? fromJson<Record<string, unknown>>(files.state, join(dir, STATE_FILE)) : {};
  return { optimizer, state };
}

/** Loads safetensors bytes into the model (strict); errors start with `source`. */
export function loadWeightsFromBytes(model: Module, bytes: Uint8Array, source: string): void {
  const { tensors } = decodeSafetensors(bytes, source);
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) sd[name] = { shape: t.shape, data: toFloat32Array(t) };
  try {
    model.loadStateDict(sd);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}
