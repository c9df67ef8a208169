/**
 * Which kernel table the engine dispatches to. The js backend is always available; faster ones
 * (wasm) register themselves and are chosen by `setBackend`, by `AELAB_BACKEND=js|wasm`, or by
 * `initBackend()` which picks the fastest one this runtime supports.
 */
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';

let current: Backend = jsBackend;
const listeners: ((b: Backend) => void)[] = [];

export function getBackend(): Backend {
  return current;
}

/** Switches the kernel table. Tensors made on another backend stay readable (they are Float32Arrays). */
export function useBackend(b: Backend): void {
  current = b;
  for (const l of listeners) l(b);
}

export function onBackendChange(l: (b: Backend) => void): void {
  listeners.push(l);
}
