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

/**
 * The same backend without its fused kernels: ops and optimizers then run the composites of
 * primitives instead (what a new backend that implements only the primitives gets). For tests
 * and for checking a new backend's primitives; the arrays it allocates are the backend's own.
 */
export function primitivesOnly(b: Backend): Backend {
  // A view of b that hides `fused`: methods still run on b (class-based backends need their `this`).
  const view = Object.create(b) as Backend & { name: string };
  Object.defineProperty(view, 'fused', { value: undefined, enumerable: true });
  Object.defineProperty(view, 'name', { value: `${b.name} (primitives only)`, enumerable: true });
  return view;
}

export type BackendName = 'js' | 'wasm';

export interface SetBackendOptions {
  /** Worker threads for the wasm backend (default: AELAB_THREADS or the number of cores). */
  threads?: number;
}

const created = new Map<string, Backend>();

/**
 * Selects a backend by name (or installs a given kernel table) and returns it.
 * `AELAB_BACKEND=js|wasm` sets the default chosen by `initBackend()`.
 */
export async function setBackend(which: BackendName | Backend, opts: SetBackendOptions = {}): Promise<Backend> {
  if (typeof which !== 'string') {
    useBackend(which);
    return which;
  }
  if (which === 'js') {
    useBackend(jsBackend);
    return jsBackend;
  }
  if (which === 'wasm') {
    const key = `wasm:${opts.threads ?? 'default'}`;
    let b = created.get(key);
    if (!b) {
      const mod = await import('./wasm/index.js');
      if (!mod.wasmSimdSupported()) throw new Error('setBackend: this runtime has no WebAssembly SIMD; use the js backend');
      // Threads: opts.threads, else AELAB_THREADS, else the number of cores (createWasmBackend).
      b = await mod.createWasmBackend(opts.threads === undefined ? {} : { threads: opts.threads });
      created.set(key, b);
    }
    useBackend(b);
    return b;
  }
  throw new Error(`setBackend: unknown backend '${which as string}' (expected 'js' or 'wasm')`);
}

function envBackend(): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.AELAB_BACKEND;
}

/**
 * Picks the fastest backend this runtime supports — wasm when WebAssembly SIMD is available —
 * unless AELAB_BACKEND names one. Falls back to js (with the reason) if wasm cannot start.
 */
export async function initBackend(opts: SetBackendOptions = {}): Promise<{ backend: Backend; note?: string }> {
  const want = envBackend();
  if (want && want !== 'js' && want !== 'wasm')
    throw new Error(`AELAB_BACKEND must be 'js' or 'wasm', got '${want}'`);
  if (want === 'js') return { backend: await setBackend('js') };
  try {
    return { backend: await setBackend('wasm', opts) };
  } catch (e) {
    if (want === 'wasm') throw e;
    return { backend: await setBackend('js'), note: `wasm backend unavailable (${(e as Error).message}); using js` };
  }
}
