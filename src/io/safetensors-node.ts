/** safetensors files in Node: the byte codec of safetensors.ts over atomic file writes and reads. */
import * as fs from 'node:fs';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type DecodedSafetensors, type SafeTensor } from './safetensors.js';

/** Writes tensors to `path` atomically (a crash never leaves a half-written file). */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function saveSafetensorsSync(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata));
}

export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  return decodeSafetensors(await readBytes(path), path);
}

export function loadSafetensorsSync(path: string): DecodedSafetensors {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read: ${(e as Error).message}`, path);
  }
  return decodeSafetensors(bytes, path);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read: ${(e as Error).message}`, path);
  }
}
