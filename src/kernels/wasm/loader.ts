/**
 * Loading the kernels' module: the embedded bytes (baseline and relaxed-SIMD builds), the
 * engine feature tests (SIMD, relaxed SIMD, shared memory), and compilation, cached per variant.
 */
import { WASM_BASE64, WASM_RELAXED_BASE64 } from './module.generated.js';

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
const decoded = new Map<boolean, Uint8Array<ArrayBuffer>>();
/** The baseline (relaxed = false) or relaxed-SIMD build's bytes. */
function moduleBytes(relaxed = false): Uint8Array<ArrayBuffer> {
  let bytes = decoded.get(relaxed);
  if (bytes === undefined) {
    bytes = decode(relaxed ? WASM_RELAXED_BASE64 : WASM_BASE64);
    decoded.set(relaxed, bytes);
  }
  return bytes;
}

let relaxedOk: boolean | null = null;
/** True when the engine accepts the relaxed-SIMD build (enabling V8's flag on Node 20/21). */
export async function relaxedSimdSupported(): Promise<boolean> {
  if (relaxedOk !== null) return relaxedOk;
  const validate = (): boolean => {
    try {
      return WebAssembly.validate(moduleBytes(true));
    } catch {
      return false;
    }
  };
  relaxedOk = validate();
  const major = typeof process !== 'undefined' ? Number(process.versions?.node?.split('.')[0]) : NaN;
  if (!relaxedOk && (major === 20 || major === 21)) {
    // V8 11.3–11.8 implement relaxed SIMD completely but ship it disabled (enabled from V8 11.4
    // in Chrome, Node 22). The flag is read when modules are validated and compiled.
    try {
      const modName = 'node:v8';
      const v8 = (await import(/* @vite-ignore */ modName)) as typeof import('node:v8');
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxedOk = validate();
    } catch {
      relaxedOk = false;
    }
  }
  return relaxedOk;
}

/** True when this engine can run the kernels (WebAssembly with SIMD and atomics). */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(moduleBytes());
  } catch {
    return false;
  }
}

/** Shared memory (and so threads) works here: Node, or a cross-origin-isolated page. */
export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The module declares its memory import shared. Without SharedArrayBuffer we patch the
 * import's limits flag (0x03 shared+max → 0x01 max) so it links against ordinary memory;
 * atomic instructions stay valid on unshared memory.
 */
function unsharedVariant(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  let pos = 8;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = out[pos++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  while (pos < out.length) {
    const id = out[pos++]!;
    const size = leb();
    const end = pos + size;
    if (id === 2) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        // (not `pos += leb()`: that would read pos before leb() advances it)
        const moduleLen = leb();
        pos += moduleLen;
        const fieldLen = leb();
        pos += fieldLen;
        const kind = out[pos++]!;
        if (kind === 0)
          leb(); // function: type index
        else if (kind === 1) {
          pos++; // table: elem type
          const f = out[pos++]!;
          leb();
          if (f & 1) leb();
        } else if (kind === 2) {
          if (out[pos] === 0x03) out[pos] = 0x01;
          return out;
        } else if (kind === 3) pos += 2; // global: type, mutability
      }
    }
    pos = end;
  }
  return out;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();
export function compileModule(shared: boolean, relaxed: boolean): Promise<WebAssembly.Module> {
  const key = `${shared}/${relaxed}`;
  let m = compiled.get(key);
  if (m === undefined) {
    const bytes = shared ? moduleBytes(relaxed) : unsharedVariant(moduleBytes(relaxed));
    m = WebAssembly.compile(bytes);
    compiled.set(key, m);
  }
  return m;
}

export function envThreads(): number | undefined {
  const env = typeof process !== 'undefined' ? process.env?.AELAB_THREADS : undefined;
  if (env === undefined || env === '') return undefined;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`wasm backend: AELAB_THREADS must be a positive integer, got '${env}'`);
  return n;
}
