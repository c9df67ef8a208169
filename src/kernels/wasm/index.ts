/**
 * The WebAssembly SIMD backend: the hot kernels (GEMM, conv, elementwise, reduce, optimizer
 * steps, max/average pooling, nearest upsampling) run as AssemblyScript code over one shared
 * memory, split across worker threads; slices and index select/add move rows with the wasm
 * copy/add; the rest (permutes, argmax, strided or short slice runs, and the broadcasts the
 * wasm plans do not cover) delegate to the js reference backend on the same arrays (views into
 * wasm memory are ordinary Float32Arrays).
 *
 *   const backend = await createWasmBackend({ threads: 2 });
 *   const a = backend.alloc(512 * 512); // a view into wasm memory
 *   ...
 *   await backend.dispose();            // optional: stops the workers (they never block exit)
 *
 * Arrays from `alloc` are used in place. Any other Float32Array (user data) is copied into
 * wasm memory for the call and, for outputs, copied back.
 *
 * Threads: `opts.threads`, else env AELAB_THREADS, else the number of cores. Shared memory needs
 * SharedArrayBuffer (always in Node; cross-origin isolation in browsers); without it the backend
 * runs single-threaded over ordinary memory. Kernels below a size threshold run on the calling
 * thread only; larger ones are cut into work items that all threads claim from a shared queue
 * (see threads.ts).
 *
 * Determinism: results are bit-identical run to run AND across thread counts (1, 2, … threads,
 * and whichever of them happen to take part in a given call). Every threaded kernel cuts its
 * work into items that are disjoint pieces of the output; what an output element sums, and in
 * which order, depends only on the call's arguments (shapes), never on the thread count, on
 * which thread claims which item, or on timing. Where a kernel does combine partial results
 * (the weight gradient of 1–3-channel conv layers sums per-image-group partials), the groups
 * are fixed by the geometry and the partials are added in item order. Single-threaded fallbacks
 * (small kernels while the workers sleep, the back-off in threads.ts) are therefore invisible in
 * the results. The relaxed-SIMD and baseline builds differ from each other (fused vs separate
 * multiply-add) and may differ across CPUs; within one build on one machine, a seed gives one
 * result. Tests: "determinism" in test/kernels/wasm.test.ts.
 *
 * Two builds of the kernels ship: baseline SIMD, and relaxed SIMD (fused multiply-add in the
 * GEMM micro-kernel, which then issues two FMAs per cycle instead of a multiply and an add). The relaxed one is used where the engine supports it
 * (on Node 20/21 by turning on V8's flag); `relaxedSimd: false` or env AELAB_WASM_RELAXED=0
 * forces the baseline.
 */
import type {
  AdadeltaParams,
  AdagradParams,
  AdamParams,
  BinaryOp,
  Conv2dParams,
  F32,
  FusedBinaryOp,
  FullBackend,
  FusedKernels,
  MatmulActivation,
  MatmulParams,
  Pool2dParams,
  ReduceOp,
  RmspropParams,
  SgdParams,
  Shape,
  UnaryGradOp,
  UnaryOp,
} from '../backend.js';
import { jsBackend } from '../js/index.js';
import { axisSizes, sliceWalk } from '../js/shape.js';
import { BINARY_OPS } from '../backend.js';
import { lossBinary } from '../js/losses.js';
import { gatherRows8 as jsGatherRows8 } from '../js/shape.js';
import { WASM_BASE64, WASM_INITIAL_PAGES, WASM_MAX_PAGES, WASM_RELAXED_BASE64 } from './module.generated.js';
import { ARG_SLOTS, ARGS_OFFSET, CTRL_OFFSET, Heap } from './memory.js';
import { defaultThreadCount, ThreadPool } from './threads.js';

export interface WasmBackendOptions {
  /** Threads including the calling one (default: env AELAB_THREADS, else the number of cores). */
  threads?: number;
  /**
   * false: use ordinary (unshared) memory and one thread, as happens automatically where
   * SharedArrayBuffer is unavailable (a page without cross-origin isolation).
   */
  sharedMemory?: boolean;
  /**
   * Use the build with relaxed SIMD (fused multiply-add in GEMM) when the engine
   * supports it: Chrome ≥ 114, Node ≥ 22, and Node 20/21, where V8 has it behind a flag that
   * this backend turns on (process-wide; it only enables the wasm feature). Default true; false
   * (or env AELAB_WASM_RELAXED=0) forces the baseline SIMD build.
   */
  relaxedSimd?: boolean;
}

export interface WasmBackend extends FullBackend {
  /** Threads this backend splits heavy kernels across (1 = no workers). */
  readonly threads: number;
  /** Which build runs: baseline SIMD, or with relaxed SIMD (fused multiply-add). */
  readonly simd: 'simd' | 'relaxed-simd';
  /** Stops the worker threads. The backend must not be used afterwards. */
  dispose(): Promise<void>;
}

// Kernel exports of the module, in the order the thread pool indexes them.
const KERNELS = [
  'matmul',
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'unary',
  'unaryGrad',
  'binary',
  'bceRows',
  'bceLogitsRows',
  'klNormalRows',
  'reparameterize',
  'gatherRows8',
  'where',
  'clamp',
  'reduce',
  'adamStep',
  'sgdStep',
  'rmspropStep',
  'adagradStep',
  'adadeltaStep',
  'maxPool2d',
  'maxPool2dBackward',
  'packShared',
  'avgPool2d',
  'avgPool2dBackward',
  'upsampleNearest',
  'upsampleNearestBackward',
] as const;
type KernelName = (typeof KERNELS)[number];
const K = Object.fromEntries(KERNELS.map((name, i) => [name, i])) as Record<KernelName, number>;

// Op codes: must match src/kernels/wasm/assembly/elementwise.ts and reduce.ts.
const UNARY_CODES: Record<UnaryOp, number> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  abs: 4,
  sign: 5,
  square: 6,
  reciprocal: 7,
  sigmoid: 8,
  tanh: 9,
  relu: 10,
  leakyRelu: 11,
  elu: 12,
  softplus: 13,
  addScalar: 14,
  mulScalar: 15,
  powScalar: 16,
  rsubScalar: 17,
};
const UNARY_COPY = 18;
/** Unary ops that cost a polynomial or more per element: worth threads at smaller sizes. */
const HEAVY_UNARY = new Set<UnaryOp>(['exp', 'log', 'sigmoid', 'tanh', 'elu', 'softplus', 'powScalar']);
const GRAD_CODES: Record<UnaryGradOp, number> = { relu: 0, leakyRelu: 1, elu: 2, softplus: 3, sigmoid: 4, tanh: 5 };
const BINARY_CODES: Record<BinaryOp | FusedBinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  gt: 7,
  ge: 8,
  lt: 9,
  le: 10,
  eq: 11,
  ne: 12,
  bce: 13,
  bceGrad: 14,
  bceLogits: 15,
  bceLogitsGrad: 16,
  sigmoidSqErr: 17,
};
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
const MATMUL_ACT: Record<MatmulActivation, number> = { none: 0, relu: 1, sigmoid: 2, tanh: 3 };

// When to split a kernel across threads. Dispatch costs a few µs when workers are spinning and
// tens of µs when they sleep, so only kernels well above that are split.
/**
 * GEMM: floating-point operations. From 1 MFLOP a GEMM is long enough for spinning workers to
 * pay for their dispatch: the VAE's 20-wide code layers (2 MFLOP each) gain from the workers
 * still spinning after the big GEMM before them (a sleeping pool is not woken for these:
 * weight < WAKE_WEIGHT).
 */
const PAR_FLOPS = 1 << 20;
/** The GEMM's column block (NC in assembly/gemm.ts): a shared packed B must fit one. */
const GEMM_NC = 2048;
/**
 * Convolutions: floating-point operations. A convolution runs at roughly half the GEMM's rate
 * (im2col / col2im around each GEMM), so the same count takes twice as long: at this threshold
 * a 1→32-channel 3×3 layer on 128 MNIST images (14 MFLOP) wakes sleeping workers
 * (weight ≥ WAKE_WEIGHT in threads.ts) instead of running on the caller alone.
 */
const PAR_CONV_FLOPS = 1 << 20;
/** Cheap elementwise ops, reductions, optimizer steps: elements. */
const PAR_ELEMS = 1 << 16;
/** Slices: unit-stride runs at least this long use the wasm copy / add (shorter ones do not repay the call). */
const SLICE_RUN = 8;
/** Transcendental elementwise ops: elements. */
const PAR_ELEMS_HEAVY = 1 << 14;
/**
 * Weight gradient of layers with 1–3 input channels: at most this many image groups (items),
 * each with its own partial dW. A constant, not a function of the thread count: the grouping
 * decides the order of the sum over images (see "Determinism" above).
 */
const WG_IMAGE_GROUPS = 16;
/** im2col buffer per thread, in floats: 2 MB keeps the column block in L2/L3. */
const COL_CAP = 1 << 19;
/** Columns (images × output pixels) the conv kernels aim at per GEMM (see conv.ts). */
const CONV_COLS = 512;

// ---------------------------------------------------------------------------------------------
// Module loading and feature tests

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
async function relaxedSimdSupported(): Promise<boolean> {
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
function sharedMemorySupported(): boolean {
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
function compileModule(shared: boolean, relaxed: boolean): Promise<WebAssembly.Module> {
  const key = `${shared}/${relaxed}`;
  let m = compiled.get(key);
  if (m === undefined) {
    const bytes = shared ? moduleBytes(relaxed) : unsharedVariant(moduleBytes(relaxed));
    m = WebAssembly.compile(bytes);
    compiled.set(key, m);
  }
  return m;
}

function envThreads(): number | undefined {
  const env = typeof process !== 'undefined' ? process.env?.AELAB_THREADS : undefined;
  if (env === undefined || env === '') return undefined;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`wasm backend: AELAB_THREADS must be a positive integer, got '${env}'`);
  return n;
}

/** Creates a wasm backend with its own memory and worker threads. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  if (!wasmSimdSupported()) {
    throw new Error('wasm backend: this JavaScript engine lacks WebAssembly SIMD or threads support; use the js backend');
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new Error(`wasm backend: threads must be a positive integer, got ${String(opts.threads)}`);
  }
  const shared = opts.sharedMemory !== false && sharedMemorySupported();
  let threads = opts.threads ?? envThreads() ?? (await defaultThreadCount());
  threads = Math.max(1, Math.min(threads, 64));
  if (!shared) threads = 1;

  const envRelaxed = typeof process !== 'undefined' ? process.env?.AELAB_WASM_RELAXED : undefined;
  const relaxed = opts.relaxedSimd !== false && envRelaxed !== '0' && (await relaxedSimdSupported());
  const module = await compileModule(shared, relaxed);
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  // Browsers may refuse to reserve 4 GiB of address space: ask for less there.
  let maxPages = isNode ? WASM_MAX_PAGES : Math.min(WASM_MAX_PAGES, 32768);
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: WASM_INITIAL_PAGES, maximum: maxPages, shared });
  } catch {
    maxPages = 16384;
    memory = new WebAssembly.Memory({ initial: WASM_INITIAL_PAGES, maximum: maxPages, shared });
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as Record<string, unknown>;
  const heapBase = (exports.heapBase as () => number)();
  if (heapBase > CTRL_OFFSET) {
    throw new Error(`wasm backend: the module's static data (${heapBase} bytes) overlaps the control block at ${CTRL_OFFSET}`);
  }
  const ctrl = (exports.ctrlOffset as () => number)();
  if (ctrl !== CTRL_OFFSET) {
    throw new Error(
      `wasm backend: module built for a control block at ${ctrl}, the loader uses ${CTRL_OFFSET}: rebuild (node tools/build-wasm.mjs)`,
    );
  }
  const gemmScratch = (exports.gemmScratchBytes as () => number)();
  const pool = await ThreadPool.create({
    module,
    memory,
    kernels: KERNELS,
    exports,
    ctrlOffset: CTRL_OFFSET,
    argsOffset: ARGS_OFFSET,
    threads,
  });
  const mem: MemOps = {
    fill: exports.fillF32 as MemOps['fill'],
    copy: exports.copyF32 as MemOps['copy'],
    add: exports.addF32 as MemOps['add'],
    repeatEach: exports.repeatEachF32 as MemOps['repeatEach'],
  };
  return new WasmBackendImpl(new Heap(memory, maxPages), pool, gemmScratch, shared, relaxed ? 'relaxed-simd' : 'simd', mem);
}

// ---------------------------------------------------------------------------------------------
// Shape canonicalisation

function product(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

interface Plan {
  mode: number;
  d0: number;
  d1: number;
  d2: number;
}

/**
 * Reduces a broadcast (shapes right-aligned to the output rank) to one of the kernel's modes by
 * dropping size-1 output dims and merging neighbours with the same broadcast pattern. Kinds:
 * 0 both full, 1 a broadcast, 2 b broadcast, 3 both broadcast. Null: use the general js path.
 */
function binaryPlan(aShape: Shape, bShape: Shape, outShape: Shape): Plan | null {
  const sizes: number[] = [];
  const kinds: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    const o = outShape[d]!;
    if (o === 1) continue;
    const kind = (aShape[d] === 1 ? 1 : 0) | (bShape[d] === 1 ? 2 : 0);
    if (kinds.length > 0 && kinds[kinds.length - 1] === kind) sizes[sizes.length - 1]! *= o;
    else {
      sizes.push(o);
      kinds.push(kind);
    }
  }
  const [s0 = 1, s1 = 1, s2 = 1] = sizes;
  const sig = kinds.join('');
  switch (sig) {
    case '':
    case '0':
      return { mode: 0, d0: s0, d1: 0, d2: 0 };
    case '1':
      return { mode: 1, d0: s0, d1: 0, d2: 0 };
    case '2':
      return { mode: 2, d0: s0, d1: 0, d2: 0 };
    case '20': // b is a row vector repeated over the rows of a
      return { mode: 3, d0: s0, d1: s1, d2: 0 };
    case '10':
      return { mode: 4, d0: s0, d1: s1, d2: 0 };
    case '02': // b is a column vector
      return { mode: 5, d0: s0, d1: s1, d2: 0 };
    case '01':
      return { mode: 6, d0: s0, d1: s1, d2: 0 };
    case '202': // b varies only along the middle dim (per-channel over NCHW)
      return { mode: 7, d0: s0, d1: s1, d2: s2 };
    case '101':
      return { mode: 8, d0: s0, d1: s1, d2: s2 };
    default:
      return null;
  }
}

/**
 * Reduces (shape, axes) to one of the reduce kernel's modes: size-1 dims dropped, neighbouring
 * reduced / kept dims merged. 'R' = reduced, 'K' = kept. Null: use the js path.
 */
function reducePlan(shape: Shape, axes: readonly number[]): Plan | 'copy' | null {
  const reduced = new Set(axes);
  const sizes: number[] = [];
  const kinds: string[] = [];
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const k = reduced.has(d) ? 'R' : 'K';
    if (kinds.length > 0 && kinds[kinds.length - 1] === k) sizes[sizes.length - 1]! *= s;
    else {
      sizes.push(s);
      kinds.push(k);
    }
  }
  const [s0 = 1, s1 = 1, s2 = 1] = sizes;
  switch (kinds.join('')) {
    case '':
      return { mode: 0, d0: 1, d1: 0, d2: 0 };
    case 'K':
      return 'copy';
    case 'R':
      return { mode: 0, d0: s0, d1: 0, d2: 0 };
    case 'KR':
      return { mode: 1, d0: s0, d1: s1, d2: 0 };
    case 'RK':
      return { mode: 2, d0: s0, d1: s1, d2: 0 };
    case 'KRK':
      return { mode: 3, d0: s0, d1: s1, d2: s2 };
    case 'RKR':
      return { mode: 4, d0: s0, d1: s1, d2: s2 };
    default:
      return null;
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * 1 when max pooling (forward and gradient) takes the vector path of assembly/pool.ts: 2×2
 * windows, stride 2, no padding, and rows of at least 4 windows (four windows per step).
 */
function maxPoolQuads(p: Pool2dParams): number {
  return p.kH === 2 && p.kW === 2 && p.strideH === 2 && p.strideW === 2 && p.padH === 0 && p.padW === 0 && p.outW >= 4 ? 1 : 0;
}

/** Every index in 0..size−1 (wasm memory has no bounds checks, so the kernels need this first). */
function checkIndices(op: string, idx: Int32Array, size: number): void {
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    if (!(i >= 0 && i < size)) throw new Error(`wasm backend ${op}: index ${i} at position ${k} is outside 0..${size - 1}`);
  }
}

function checkLen(op: string, name: string, a: F32, need: number): void {
  if (a.length < need) {
    throw new Error(`wasm backend ${op}: ${name} has ${a.length} elements, needs ${need}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The backend

/**
 * AELAB_POISON_UNINIT=1 fills memory handed out without zeroing (Tensor.uninit) with NaN, so a
 * kernel that leaves part of its output unwritten shows up in tests (the wasm test project sets it).
 */
const POISON_UNINIT = typeof process !== 'undefined' && process.env?.AELAB_POISON_UNINIT === '1';

/** Bulk memory operations, called directly (they are memory-bound: no threads). */
interface MemOps {
  fill(p: number, n: number, v: number): void;
  copy(dst: number, src: number, n: number): void;
  add(dst: number, src: number, n: number): void;
  repeatEach(dst: number, src: number, n: number, t: number): void;
}

/** A heap block that only grows: reallocated (contents dropped) when more bytes are asked for. */
class GrowingBlock {
  off = 0;
  private bytes = 0;
  constructor(private readonly heap: Heap) {}
  /** Makes the block at least `bytes` long; returns its offset. */
  ensure(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.bytes > 0) this.heap.free(this.off);
      this.off = this.heap.alloc(bytes, false);
      this.bytes = bytes;
    }
    return this.off;
  }
}

class WasmBackendImpl implements WasmBackend {
  readonly name = 'wasm';
  readonly threads: number;
  readonly simd: 'simd' | 'relaxed-simd';
  private readonly heap: Heap;
  private readonly pool: ThreadPool;
  private readonly gemmScratch: number;
  /** Views into shared memory survive growth; views into ordinary memory are detached by it. */
  private readonly stableViews: boolean;
  private argsView: Float64Array;
  /** Per-thread scratch: thread t's block starts at scratchBlock.off + t·scratchStride. */
  private readonly scratchBlock: GrowingBlock;
  private scratchStride = 0;
  /** The operand a threaded matmul's items share, packed once (see matmul). */
  private readonly packBlock: GrowingBlock;
  /** Temporaries of the current call: foreign inputs copied in, foreign outputs to copy back. */
  private readonly temps: number[] = [];
  private readonly backs: [number, F32][] = [];

  private readonly mem: MemOps;

  readonly fused: FusedKernels = {
    unaryGrad: (op, x, g, out, p) => this.unaryGrad(op, x, g, out, p),
    binary: (op, a, aShape, b, bShape, out, outShape) => this.binary(op, a, aShape, b, bShape, out, outShape),
    bceRows: (p, y, rows, cols, loss, grad) => this.bceRows(p, y, rows, cols, loss, grad),
    bceLogitsRows: (z, y, rows, cols, loss, sq, diff) => this.bceLogitsRows(z, y, rows, cols, loss, sq, diff),
    klNormalRows: (mu, lv, rows, cols, out, dlv) => this.klNormalRows(mu, lv, rows, cols, out, dlv),
    reparameterize: (mu, lv, eps, z, half) => this.reparameterize(mu, lv, eps, z, half),
    matmulEpilogue: (a, b, out, p) => this.gemm(a, b, out, p, p.bias, p.act),
    upsampleNearest: (x, planes, h, w, sh, sw, out) => this.upsampleNearest(x, planes, h, w, sh, sw, out),
    upsampleNearestBackward: (g, planes, h, w, sh, sw, out) => this.upsampleNearestBackward(g, planes, h, w, sh, sw, out),
    allocBytes: (n) => this.allocBytes(n),
    gatherRows8: (src, d, idx, out) => this.gatherRows8(src, d, idx, out),
    adamStep: (p, g, m, v, vmax, hp) => this.adamStep(p, g, m, v, vmax, hp),
    sgdStep: (p, g, buf, hp) => this.sgdStep(p, g, buf, hp),
    rmspropStep: (p, g, squareAvg, gradAvg, buf, hp) => this.rmspropStep(p, g, squareAvg, gradAvg, buf, hp),
    adagradStep: (p, g, sum, hp) => this.adagradStep(p, g, sum, hp),
    adadeltaStep: (p, g, squareAvg, accDelta, hp) => this.adadeltaStep(p, g, squareAvg, accDelta, hp),
  };

  constructor(heap: Heap, pool: ThreadPool, gemmScratch: number, stableViews: boolean, simd: 'simd' | 'relaxed-simd', mem: MemOps) {
    this.simd = simd;
    this.mem = mem;
    this.heap = heap;
    this.scratchBlock = new GrowingBlock(heap);
    this.packBlock = new GrowingBlock(heap);
    this.pool = pool;
    this.threads = pool.threads;
    this.gemmScratch = gemmScratch;
    this.stableViews = stableViews;
    this.argsView = new Float64Array(heap.buffer, ARGS_OFFSET, ARG_SLOTS);
  }

  /** The argument block (re-viewed after a growth detached ordinary memory). */
  private get args(): Float64Array {
    if (this.argsView.length === 0) this.argsView = new Float64Array(this.heap.buffer, ARGS_OFFSET, ARG_SLOTS);
    return this.argsView;
  }

  /**
   * Writes argument slots from `first` on. Callers pass the results of `inp` / `outp` as
   * arguments, so every allocation (which may grow, and without shared memory detach, the
   * memory) happens before the block is viewed.
   */
  private setArgs(first: number, ...values: number[]): void {
    // Indexed stores: TypedArray.set is a slow builtin path on shared memory (see fill).
    const a = this.args;
    for (let i = 0; i < values.length; i++) a[first + i] = values[i]!;
  }

  // --- memory -------------------------------------------------------------------------------

  alloc(n: number, zeroed = true): F32 {
    if (!Number.isInteger(n) || n < 0) throw new Error(`wasm backend alloc: invalid length ${n}`);
    // Without shared memory a growth would detach every view handed out, so arrays then live
    // in JS and kernels copy them through wasm memory.
    if (!this.stableViews) return new Float32Array(n);
    const off = this.heap.alloc(n * 4, true);
    if (zeroed) {
      if (!this.heap.lastWasFresh) this.mem.fill(off, n, 0);
    } else if (POISON_UNINIT) this.mem.fill(off, n, NaN);
    return this.heap.f32(off, n);
  }

  free(a: F32 | Uint8Array): void {
    if (this.heap.owns(a)) this.heap.free(a.byteOffset);
  }

  allocBytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`wasm backend allocBytes: invalid length ${n}`);
    if (!this.stableViews) return new Uint8Array(n);
    const off = this.heap.alloc(n, true);
    if (!this.heap.lastWasFresh) this.mem.fill(off, Math.ceil(n / 4), 0);
    return new Uint8Array(this.heap.buffer, off, n);
  }

  allocatedBytes(): number {
    return this.heap.userBytes;
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }

  /** Byte offset of an input inside wasm memory (foreign arrays are copied in). */
  private inp(a: F32): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const off = this.heap.alloc(a.byteLength, false);
    this.heap.f32(off, a.length).set(a);
    this.temps.push(off);
    return off;
  }

  /** Byte offset of an output (foreign arrays get a temporary, copied back by `done`). */
  private outp(a: F32, readsOld: boolean): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const off = this.heap.alloc(a.byteLength, false);
    if (readsOld) this.heap.f32(off, a.length).set(a);
    this.temps.push(off);
    this.backs.push([off, a]);
    return off;
  }

  private done(): void {
    for (const [off, a] of this.backs) a.set(this.heap.f32(off, a.length));
    this.backs.length = 0;
    for (const off of this.temps) this.heap.free(off);
    this.temps.length = 0;
  }

  /**
   * Runs kernel k (arguments already in this.args), then `after` (still before foreign outputs
   * are copied back), and releases the call's temporaries.
   */
  private run(k: number, nth: number, after?: () => void): void {
    try {
      this.pool.run(k, nth, this.weight);
      after?.();
    } finally {
      this.done();
    }
  }

  /** Per-thread scratch of at least `bytes` bytes (grown, never shrunk). */
  private scratch(bytes: number): void {
    const stride = roundUp(bytes + 64, 64);
    if (stride <= this.scratchStride) return;
    this.scratchBlock.ensure(stride * this.threads);
    this.scratchStride = stride;
  }

  /** Threads for a kernel of `work` units with threading threshold `threshold` (see `run`). */
  private par(work: number, threshold: number): number {
    this.weight = work / threshold;
    return work >= threshold ? this.threads : 1;
  }
  /** Size of the kernel being dispatched, in multiples of its threading threshold. */
  private weight = 0;

  /** Drops the temporaries of a call that failed before `run` (validation errors). */
  private abort(e: unknown): never {
    this.backs.length = 0;
    for (const off of this.temps) this.heap.free(off);
    this.temps.length = 0;
    throw e;
  }

  // --- simple kernels -------------------------------------------------------------------------

  fill(out: F32, value: number): void {
    if (this.heap.owns(out)) this.mem.fill(out.byteOffset, out.length, value);
    else out.fill(value);
  }

  copy(src: F32, out: F32): void {
    const n = Math.min(src.length, out.length);
    if (this.heap.owns(src) && this.heap.owns(out)) this.mem.copy(out.byteOffset, src.byteOffset, n);
    else out.set(src.length === n ? src : src.subarray(0, n));
  }

  unary(op: UnaryOp, x: F32, out: F32, p: number): void {
    const n = out.length;
    if (n === 0) return;
    checkLen('unary', 'x', x, n);
    let code = UNARY_CODES[op];
    if (code === undefined) throw new Error(`wasm backend: unknown unary op '${op as string}'`);
    if (op === 'powScalar') {
      // Same fast paths as the reference (x·x and sqrt), which also avoid the scalar pow.
      if (p === 2) code = UNARY_CODES.square;
      else if (p === 0.5) code = UNARY_CODES.sqrt;
      else if (p === 1) code = UNARY_COPY;
      else if (p === -1) code = UNARY_CODES.reciprocal;
    }
    this.setArgs(0, code, this.inp(x), this.outp(out, false), n, p);
    this.run(K.unary, this.par(n, HEAVY_UNARY.has(op) ? PAR_ELEMS_HEAVY : PAR_ELEMS));
  }

  unaryGrad(op: UnaryGradOp, x: F32, g: F32, out: F32, p: number): void {
    const n = out.length;
    if (n === 0) return;
    checkLen('unaryGrad', 'x', x, n);
    checkLen('unaryGrad', 'g', g, n);
    const code = GRAD_CODES[op];
    if (code === undefined) throw new Error(`wasm backend: unknown unary grad op '${op as string}'`);
    this.setArgs(0, code, this.inp(x), this.inp(g), this.outp(out, false), n, p);
    const heavy = op === 'elu' || op === 'softplus';
    this.run(K.unaryGrad, this.par(n, heavy ? PAR_ELEMS_HEAVY : PAR_ELEMS));
  }

  binary(op: BinaryOp | FusedBinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void {
    const n = out.length;
    if (n === 0) return;
    const code = BINARY_CODES[op];
    if (code === undefined) throw new Error(`wasm backend: unknown binary op '${op as string}'`);
    const plan = aShape.length === outShape.length && bShape.length === outShape.length ? binaryPlan(aShape, bShape, outShape) : null;
    if (plan === null || a.length !== product(aShape) || b.length !== product(bShape) || n !== product(outShape)) {
      if ((BINARY_OPS as readonly string[]).includes(op)) jsBackend.binary(op as BinaryOp, a, aShape, b, bShape, out, outShape);
      else lossBinary(op as FusedBinaryOp, a, aShape, b, bShape, out, outShape);
      return;
    }
    this.setArgs(0, code, plan.mode, this.inp(a), this.inp(b), this.outp(out, false), plan.d0, plan.d1, plan.d2);
    const rows = plan.mode <= 2 ? n : plan.mode <= 6 ? plan.d0 : plan.d0 * plan.d1;
    const heavy = op === 'pow' || op === 'bce' || op === 'bceGrad' || op === 'bceLogits' || op === 'bceLogitsGrad' || op === 'sigmoidSqErr';
    const nth = rows >= this.threads ? this.par(n, heavy ? PAR_ELEMS_HEAVY : PAR_ELEMS) : 1;
    this.run(K.binary, nth);
  }

  bceRows(p: F32, y: F32, rows: number, cols: number, loss: F32, grad: F32 | null): void {
    this.termRows(K.bceRows, 'bceRows', ['p', 'y', 'loss', 'sq', 'grad'], p, y, rows, cols, loss, null, grad, 1);
  }

  bceLogitsRows(z: F32, y: F32, rows: number, cols: number, loss: F32, sq: F32 | null, diff: F32 | null): void {
    this.termRows(K.bceLogitsRows, 'bceLogitsRows', ['z', 'y', 'loss', 'sq', 'diff'], z, y, rows, cols, loss, sq, diff, 1);
  }

  klNormalRows(mu: F32, lv: F32, rows: number, cols: number, out: F32, dlv: F32 | null): void {
    this.termRows(K.klNormalRows, 'klNormalRows', ['mu', 'lv', 'out', 'sq', 'dlv'], mu, lv, rows, cols, out, null, dlv, -0.5);
  }

  /** The row-terms kernels of assembly/elementwise.ts: per-row sums (scaled), optional second sums and per-element gradients. */
  private termRows(
    k: number,
    op: string,
    names: readonly [string, string, string, string, string],
    a: F32,
    b: F32,
    rows: number,
    cols: number,
    loss: F32,
    sq: F32 | null,
    aux: F32 | null,
    scale: number,
  ): void {
    const n = rows * cols;
    if (rows === 0) return;
    checkLen(op, names[0], a, n);
    checkLen(op, names[1], b, n);
    checkLen(op, names[2], loss, rows);
    if (sq) checkLen(op, names[3], sq, rows);
    if (aux) checkLen(op, names[4], aux, n);
    this.setArgs(
      0,
      this.inp(a),
      this.inp(b),
      rows,
      cols,
      this.outp(loss, false),
      sq ? this.outp(sq, false) : 0,
      aux ? this.outp(aux, false) : 0,
      scale,
    );
    this.run(k, rows >= this.threads ? this.par(n, PAR_ELEMS_HEAVY) : 1);
  }

  reparameterize(mu: F32, lv: F32, eps: F32, z: F32, half: F32 | null): void {
    const n = z.length;
    if (n === 0) return;
    checkLen('reparameterize', 'mu', mu, n);
    checkLen('reparameterize', 'lv', lv, n);
    checkLen('reparameterize', 'eps', eps, n);
    if (half) checkLen('reparameterize', 'half', half, n);
    this.setArgs(0, this.inp(mu), this.inp(lv), this.inp(eps), this.outp(z, false), half ? this.outp(half, false) : 0, n);
    this.run(K.reparameterize, this.par(n, PAR_ELEMS_HEAVY));
  }

  gatherRows8(src: Uint8Array, d: number, idx: Int32Array, out: F32): void {
    const m = idx.length;
    if (m === 0 || d === 0) return;
    // Bytes outside wasm memory would be copied in whole for every call: the reference instead.
    if (!this.heap.owns(src)) return jsGatherRows8(src, d, idx, out);
    checkLen('gatherRows8', 'out', out, m * d);
    const rows = Math.floor(src.length / d);
    for (let j = 0; j < m; j++) {
      const r = idx[j]!;
      if (!(r >= 0 && r < rows)) throw new Error(`gatherRows8: index ${r} at position ${j} is not a row of the ${rows} in src`);
    }
    const io = this.heap.alloc(4 * m, false);
    new Int32Array(this.heap.buffer, io, m).set(idx);
    this.temps.push(io);
    this.setArgs(0, src.byteOffset, d, io, m, this.outp(out, false));
    this.run(K.gatherRows8, m >= this.threads ? this.par(m * d, PAR_ELEMS) : 1);
  }

  where(cond: F32, a: F32, b: F32, out: F32): void {
    const n = out.length;
    if (n === 0) return;
    checkLen('where', 'cond', cond, n);
    checkLen('where', 'a', a, n);
    checkLen('where', 'b', b, n);
    this.setArgs(0, this.inp(cond), this.inp(a), this.inp(b), this.outp(out, false), n);
    this.run(K.where, this.par(n, PAR_ELEMS));
  }

  clamp(x: F32, lo: number, hi: number, out: F32): void {
    const n = out.length;
    if (n === 0) return;
    checkLen('clamp', 'x', x, n);
    this.setArgs(0, this.inp(x), this.outp(out, false), n, lo, hi);
    this.run(K.clamp, this.par(n, PAR_ELEMS));
  }

  expand(x: F32, xShape: Shape, out: F32, outShape: Shape): void {
    // A scalar (the gradient of sum / mean, every training step): one fill. Otherwise, when x's
    // shape (aligned right) is (1, …, 1, dims equal to out's, 1, …, 1): each element repeated
    // over the trailing dims (a per-row sum's gradient), and that block copied over the leading
    // dims (a bias). Anything else: the reference loop.
    if (x.length === 1 && out.length > 0) {
      this.fill(out, x[0]!);
      return;
    }
    const n = x.length;
    if (n > 0 && out.length % n === 0 && this.heap.owns(x) && this.heap.owns(out)) {
      const r = outShape.length - xShape.length;
      // phase 0: leading broadcast dims, 1: equal dims, 2: trailing broadcast dims
      let phase = 0;
      let inner = 1; // product of the trailing broadcast dims
      for (let d = 0; d < outShape.length; d++) {
        const xd = d < r ? 1 : xShape[d - r]!;
        const od = outShape[d]!;
        if (xd === od) {
          if (od === 1) continue;
          if (phase === 2) return jsBackend.expand(x, xShape, out, outShape);
          phase = 1;
        } else if (xd !== 1) {
          return jsBackend.expand(x, xShape, out, outShape);
        } else if (phase === 0) {
          continue;
        } else {
          phase = 2;
          inner *= od;
        }
      }
      const block = n * inner;
      if (inner > 1) this.mem.repeatEach(out.byteOffset, x.byteOffset, n, inner);
      else this.mem.copy(out.byteOffset, x.byteOffset, n);
      // Copies of the filled prefix double it: log₂(repeats) calls rather than one per repeat.
      for (let filled = block; filled < out.length;) {
        const c = Math.min(filled, out.length - filled);
        this.mem.copy(out.byteOffset + 4 * filled, out.byteOffset, c);
        filled += c;
      }
      return;
    }
    jsBackend.expand(x, xShape, out, outShape);
  }

  reduce(op: ReduceOp, x: F32, shape: Shape, axes: readonly number[], out: F32): void {
    const code = REDUCE_CODES[op];
    if (code === undefined) throw new Error(`wasm backend: unknown reduce op '${op as string}'`);
    const plan = x.length === 0 || x.length !== product(shape) ? null : reducePlan(shape, axes);
    if (plan === null) {
      jsBackend.reduce(op, x, shape, axes, out);
      return;
    }
    if (plan === 'copy') {
      this.copy(x, out);
      return;
    }
    this.setArgs(0, code, plan.mode, this.inp(x), this.outp(out, false), plan.d0, plan.d1, plan.d2);
    this.run(K.reduce, plan.mode === 0 ? 1 : this.par(x.length, PAR_ELEMS));
  }

  argmax(x: F32, shape: Shape, axis: number, out: F32): void {
    jsBackend.argmax(x, shape, axis, out);
  }

  // --- GEMM ------------------------------------------------------------------------------------

  matmul(a: F32, b: F32, out: F32, p: MatmulParams): void {
    this.gemm(a, b, out, p, null, 'none');
  }

  /** matmul, with the epilogue of FusedKernels.matmulEpilogue when bias or act is given. */
  private gemm(a: F32, b: F32, out: F32, p: MatmulParams, bias: F32 | null, actName: MatmulActivation): void {
    const { batch, M, N, K: Kd, transA, transB, strideA, strideB } = p;
    const alpha = p.alpha ?? 1;
    const beta = p.beta ?? 0;
    if (batch <= 0 || M <= 0 || N <= 0) return;
    checkLen('matmul', 'a', a, strideA * (batch - 1) + M * Kd);
    checkLen('matmul', 'b', b, strideB * (batch - 1) + Kd * N);
    checkLen('matmul', 'out', out, batch * M * N);
    const act = MATMUL_ACT[actName];
    if (act === undefined) throw new Error(`wasm backend: unknown matmul activation '${String(actName)}'`);
    if (bias && bias.length !== N) throw new Error(`wasm backend matmul: bias has ${bias.length} elements, needs ${N}`);
    this.scratch(this.gemmScratch);
    const pa = this.inp(a);
    const pb = this.inp(b);
    const pbias = bias ? this.inp(bias) : 0;
    const po = this.outp(out, beta !== 0);
    const nth = this.par(2 * batch * M * N * Kd, PAR_FLOPS);
    // Threaded single matrix: its items (blocks of C along the larger of M and N) all read the
    // whole of the other operand; pack that once, threaded, instead of once per item.
    let preA = 0;
    let preB = 0;
    if (batch === 1 && nth > 1 && Kd > 0) {
      const splitN = N >= M;
      if (splitN || N <= GEMM_NC) {
        const rows = splitN ? M : N;
        const packed = this.packBlock.ensure(4 * Kd * roundUp(rows, 8));
        // op(A)(i, k) = a[i·rs + k·cs]; op(B)(k, j) = b[k·rs + j·cs]
        if (splitN) this.setArgs(0, pa, transA ? 1 : Kd, transA ? M : 1, M, Kd, 0, packed);
        else this.setArgs(0, pb, transB ? 1 : N, transB ? Kd : 1, N, Kd, 1, packed);
        try {
          this.pool.run(K.packShared, nth, this.weight);
        } catch (e) {
          this.abort(e);
        }
        if (splitN) preA = packed;
        else preB = packed;
      }
    }
    this.setArgs(
      0,
      pa,
      pb,
      po,
      batch,
      M,
      N,
      Kd,
      transA ? 1 : 0,
      transB ? 1 : 0,
      strideA,
      strideB,
      alpha,
      beta,
      this.scratchBlock.off,
      this.scratchStride,
      preA,
      preB,
      pbias,
      act,
    );
    this.run(K.matmul, nth);
  }

  // --- convolution -----------------------------------------------------------------------------

  /** Slots 0–19 of the conv kernels: the four pointers, then the geometry. */
  private convArgs(in0: number, in1: number, bias: number, out: number, p: Conv2dParams): void {
    this.setArgs(
      0,
      in0,
      in1,
      bias,
      out,
      p.batch,
      p.inC,
      p.inH,
      p.inW,
      p.outC,
      p.outH,
      p.outW,
      p.kH,
      p.kW,
      p.strideH,
      p.strideW,
      p.padH,
      p.padW,
      p.dilH,
      p.dilW,
      p.groups,
    );
  }

  private convCheck(op: string, p: Conv2dParams, x: F32 | null, w: F32, g: F32 | null): void {
    const icg = p.inC / p.groups;
    const ocg = p.outC / p.groups;
    if (!Number.isInteger(icg) || !Number.isInteger(ocg)) {
      throw new Error(`wasm backend ${op}: channels ${p.inC}→${p.outC} not divisible by groups ${p.groups}`);
    }
    if (x) checkLen(op, 'x', x, p.batch * p.inC * p.inH * p.inW);
    checkLen(op, 'w', w, p.outC * icg * p.kH * p.kW);
    if (g) checkLen(op, 'g', g, p.batch * p.outC * p.outH * p.outW);
  }

  private static pointwise(p: Conv2dParams): boolean {
    return p.kH === 1 && p.kW === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
  }

  /** Pixels per im2col chunk for `rows` col rows, within COL_CAP floats (a multiple of 8). */
  private static pixelChunk(rows: number, P: number): number {
    return Math.max(1, Math.min(P, Math.max(8, Math.floor(COL_CAP / Math.max(rows, 1) / 8) * 8)));
  }

  /**
   * Image blocking of the conv kernels for `rows` col rows (see conv.ts): blocks of `nb` whole
   * images side by side, about CONV_COLS columns, within COL_CAP floats of col; or, for an
   * image whose col does not fit, one image in pixel chunks (a whole one for a pointwise conv,
   * which reads x in place). From the geometry alone.
   *
   * `weightsShared`: the forward and input-gradient GEMMs, where a block saves re-packing the
   * weights (rows × ocg floats) and a ragged column tile (up to 7 columns) per image but costs
   * a copy of the image's output or G (ocg × P floats). On the conv AE, blocks pay for 32→64
   * channels at 7×7 (P = 49, 288 rows), not for 1→32 at 14×14 (P = 196, 9 rows), hence one
   * image per block once P ≥ 8·rows. (The weight gradient always gains: K grows to nb·P.)
   */
  private static imageBlock(p: Conv2dParams, rows: number, weightsShared: boolean): { nb: number; pChunk: number } {
    const P = p.outH * p.outW;
    const fit = Math.floor(COL_CAP / Math.max(rows * P, 1));
    if (fit < 1) return { nb: 1, pChunk: WasmBackendImpl.pointwise(p) ? P : WasmBackendImpl.pixelChunk(rows, P) };
    if (weightsShared && P >= 8 * rows) return { nb: 1, pChunk: P };
    return { nb: Math.max(1, Math.min(p.batch, fit, Math.round(CONV_COLS / P))), pChunk: P };
  }

  /**
   * The image block size for a kernel whose results do not depend on it (forward, input
   * gradient), with `perBlock` items per block: the size in [nb/2, nb] that gives every thread
   * ≥ 2 items and the busiest thread the fewest images.
   */
  private static balancedBlock(nb: number, batch: number, perBlock: number, nth: number): number {
    if (nth <= 1 || nb <= 1) return nb;
    let best = 0;
    let bestLoad = Infinity;
    for (let n = nb; n >= Math.ceil(nb / 2); n--) {
      const items = Math.ceil(batch / n) * perBlock;
      const load = Math.ceil(items / nth) * n; // images of the busiest thread (× perBlock)
      if (items >= 2 * nth && load < bestLoad) {
        best = n;
        bestLoad = load;
      }
    }
    return best > 0 ? best : Math.max(1, Math.floor((batch * perBlock) / (2 * nth)));
  }

  /** Floats per phase row of the conv stage (WQ in conv.ts). */
  private static stageWidth(p: Conv2dParams): number {
    return Math.max(Math.ceil((p.inW + p.padW) / p.strideW), p.outW + Math.floor(((p.kW - 1) * p.dilW) / p.strideW));
  }

  /** Floats of the conv stage (one input channel's padded, phase-split rows; see conv.ts). */
  private static stageFloats(p: Conv2dParams, pChunk: number): number {
    if (WasmBackendImpl.pointwise(p)) return 0;
    const wq = WasmBackendImpl.stageWidth(p);
    const span = (p.kH - 1) * p.dilH + 1;
    const whole = (p.outH - 1) * p.strideH + span;
    const rows =
      pChunk < p.outH * p.outW
        ? Math.min(whole, (Math.floor((pChunk - 1) / p.outW) + 1) * p.strideH + span)
        : Math.max(whole, p.inH + p.padH);
    return rows * p.strideW * wq;
  }

  /**
   * Per-thread conv scratch: the GEMM's packing buffers, then col, aux, stage and the weight
   * gradient's transposed accumulator (sizes in floats), with 16 bytes of slack after col and
   * stage (col2im's masked vector tails read and write up to 3 floats past a run). Returns the
   * byte offsets of the four within a thread's block (arg slots 27–30; 0 = no accumulator).
   */
  private convScratch(colFloats: number, auxFloats: number, stageFloats: number, ctFloats = 0): [number, number, number, number] {
    const col = roundUp(this.gemmScratch, 64);
    const aux = col + roundUp(colFloats * 4 + 16, 64);
    const stage = aux + roundUp(auxFloats * 4, 64);
    const ct = stage + roundUp(stageFloats * 4 + 16, 64);
    this.scratch(ct + ctFloats * 4);
    return [col, aux, stage, ctFloats > 0 ? ct : 0];
  }

  conv2d(x: F32, w: F32, bias: F32 | null, out: F32, p: Conv2dParams): void {
    const P = p.outH * p.outW;
    if (p.batch === 0 || p.outC === 0 || P === 0) return;
    this.convCheck('conv2d', p, x, w, null);
    checkLen('conv2d', 'out', out, p.batch * p.outC * P);
    if (bias) checkLen('conv2d', 'bias', bias, p.outC);
    const Kc = (p.inC / p.groups) * p.kH * p.kW;
    const nth = this.par(2 * p.batch * p.outC * P * Kc, PAR_CONV_FLOPS);
    const pointwise = WasmBackendImpl.pointwise(p);
    // Items are (image block, pixel chunk). Each output element is one dot product over Kc
    // whatever the blocking, so nb and the chunk may follow the thread count.
    const blk = WasmBackendImpl.imageBlock(p, Kc, true);
    const nb = WasmBackendImpl.balancedBlock(blk.nb, p.batch, 1, nth);
    let chunk = blk.pChunk;
    // Cut images into pixel chunks too when there are fewer than 2 per thread.
    if (nb === 1 && nth > 1 && p.batch < 2 * nth) chunk = Math.min(chunk, roundUp(Math.ceil(P / Math.ceil((2 * nth) / p.batch)), 8));
    const offs = this.convScratch(
      pointwise && nb === 1 ? 0 : Kc * nb * chunk,
      nb > 1 ? (p.outC / p.groups) * nb * P : 0,
      WasmBackendImpl.stageFloats(p, chunk),
    );
    try {
      this.convArgs(this.inp(x), this.inp(w), bias ? this.inp(bias) : 0, this.outp(out, false), p);
    } catch (e) {
      this.abort(e);
    }
    this.setArgs(20, this.scratchBlock.off, this.scratchStride, chunk, 0, 0, 0, nb, ...offs);
    this.run(K.conv2d, nth);
  }

  conv2dBackwardInput(g: F32, w: F32, out: F32, p: Conv2dParams): void {
    const inSize = p.batch * p.inC * p.inH * p.inW;
    if (inSize === 0) return;
    this.convCheck('conv2dBackwardInput', p, null, w, g);
    checkLen('conv2dBackwardInput', 'out', out, inSize);
    const P = p.outH * p.outW;
    const icg = p.inC / p.groups;
    const kk = p.kH * p.kW;
    if (P === 0 || p.outC === 0) {
      this.fill(out.subarray(0, inSize), 0);
      return;
    }
    const nth = this.par(2 * p.batch * p.outC * P * icg * kk, PAR_CONV_FLOPS);
    const pointwise = WasmBackendImpl.pointwise(p);
    // The pixel chunk sets the order in which col2im adds into dx: from the geometry only (not
    // from the thread count). nb does not change any value (col2im runs per image), so it may
    // follow the thread count. Items are (image block, group, input-channel chunk): cut
    // channels when there are fewer than 2 (block, group) pairs per thread.
    const blk = WasmBackendImpl.imageBlock(p, icg * kk, true);
    const nb = WasmBackendImpl.balancedBlock(blk.nb, p.batch, p.groups, nth);
    const chunk = blk.pChunk;
    let cChunk = icg;
    const pairs = Math.ceil(p.batch / nb) * p.groups;
    if (nth > 1 && pairs < 2 * nth) cChunk = Math.max(1, Math.ceil(icg / Math.ceil((2 * nth) / pairs)));
    const offs = this.convScratch(
      pointwise && nb === 1 ? 0 : cChunk * kk * nb * chunk,
      nb > 1 ? (p.outC / p.groups) * nb * P : 0,
      WasmBackendImpl.stageFloats(p, chunk),
    );
    try {
      this.convArgs(this.inp(g), this.inp(w), 0, this.outp(out, false), p);
    } catch (e) {
      this.abort(e);
    }
    this.setArgs(20, this.scratchBlock.off, this.scratchStride, chunk, cChunk, 0, 0, nb, ...offs);
    this.run(K.conv2dBackwardInput, nth);
  }

  conv2dBackwardWeight(x: F32, g: F32, out: F32, p: Conv2dParams): void {
    const icg = p.inC / p.groups;
    const ocg = p.outC / p.groups;
    const kk = p.kH * p.kW;
    const wSize = p.outC * icg * kk;
    if (wSize === 0) return;
    this.convCheck('conv2dBackwardWeight', p, x, out, g);
    const P = p.outH * p.outW;
    const nth = this.par(2 * p.batch * p.outC * P * icg * kk, PAR_CONV_FLOPS);
    // mode 0: items (group, input-channel chunk) — no repeated work; mode 1: (group,
    // output-channel chunk), repeating im2col per item; mode 2: groups of images, each summed
    // into its own partial dW, for layers with too few input channels to split (a first layer
    // on 1–3 channels). Modes 0 and 1 only cut dW into disjoint blocks, so their chunk sizes may
    // follow the thread count (aiming at ≥ 2 items per thread); whether mode 2 is used, and its
    // image groups, change the order of the sum over images and so depend on the geometry only.
    let mode = 0;
    let chunk = icg;
    if (p.inC < 4 && p.batch >= 2 && P > 0) {
      mode = 2;
      chunk = Math.ceil(p.batch / Math.min(p.batch, WG_IMAGE_GROUPS));
    } else if (nth > 1 && p.groups < 2 * nth) {
      const cuts = Math.ceil((2 * nth) / p.groups);
      if (icg >= cuts) chunk = Math.ceil(icg / cuts);
      else if (ocg >= 4 * cuts) {
        mode = 1;
        chunk = roundUp(Math.ceil(ocg / cuts), 4);
      } else chunk = 1;
    }
    const pointwise = WasmBackendImpl.pointwise(p);
    // The image block (the GEMM's K = nb·P) and the pixel chunk are the blocking of the sum over
    // images and pixels: from the geometry only.
    const { nb, pChunk } = WasmBackendImpl.imageBlock(p, icg * kk, false);
    const cols = (mode === 0 ? chunk : icg) * kk; // col rows = dW columns per item
    const ocRows = mode === 1 ? chunk : ocg;
    // dWᵀ when fewer 4×8 micro-kernel tiles cover it than dW (see conv.ts).
    const tiles = (m: number, n: number): number => Math.ceil(m / 4) * Math.ceil(n / 8);
    const transposed = tiles(cols, ocRows) < tiles(ocRows, cols);
    const offs = this.convScratch(
      pointwise && nb === 1 ? 0 : cols * nb * pChunk,
      nb > 1 ? ocRows * nb * P : 0,
      WasmBackendImpl.stageFloats(p, pChunk),
      transposed ? cols * ocRows : 0,
    );
    const items = mode === 2 ? Math.ceil(p.batch / chunk) : 0;
    let outPtr = 0;
    let partials = 0;
    try {
      if (mode === 2) {
        partials = this.heap.alloc(items * wSize * 4, false);
        this.temps.push(partials);
      }
      outPtr = this.outp(out, false);
      this.convArgs(this.inp(x), this.inp(g), 0, outPtr, p);
    } catch (e) {
      this.abort(e);
    }
    this.setArgs(20, this.scratchBlock.off, this.scratchStride, Math.max(1, pChunk), chunk, mode, partials, nb, ...offs);
    if (mode !== 2) {
      this.run(K.conv2dBackwardWeight, nth);
      return;
    }
    this.run(K.conv2dBackwardWeight, nth, () => {
      // dW = Σ of the partials in item order (fixed by the geometry: see above).
      const dst = this.heap.f32(outPtr, wSize);
      this.mem.copy(outPtr, partials, wSize);
      for (let t = 1; t < items; t++) {
        const part = this.heap.f32(partials + t * wSize * 4, wSize);
        for (let i = 0; i < wSize; i++) dst[i]! += part[i]!;
      }
    });
  }

  // --- delegated to the reference (not hot, or memory-bound index shuffles) ---------------------

  permute(x: F32, shape: Shape, perm: readonly number[], out: F32): void {
    jsBackend.permute(x, shape, perm, out);
  }
  // Slices (and concat, which adds each part into place): runs of unit stride go through the
  // wasm copy / add rather than a JS element loop over shared memory; strided runs stay in JS.
  slice(x: F32, shape: Shape, starts: readonly number[], steps: readonly number[], out: F32, outShape: Shape): void {
    if (!this.sliceRuns('slice', x, out, shape, starts, steps, outShape)) jsBackend.slice(x, shape, starts, steps, out, outShape);
  }
  sliceAdd(g: F32, gShape: Shape, starts: readonly number[], steps: readonly number[], out: F32, shape: Shape): void {
    if (!this.sliceRuns('sliceAdd', g, out, shape, starts, steps, gShape)) jsBackend.sliceAdd(g, gShape, starts, steps, out, shape);
  }
  /**
   * slice (copy the part of `src`, shape `full`, into `out`, shape `part`) or sliceAdd (add
   * `src`, shape `part`, into that part of `out`, shape `full`); false (nothing done) when an
   * array is not in wasm memory.
   */
  private sliceRuns(
    op: 'slice' | 'sliceAdd',
    src: F32,
    out: F32,
    full: Shape,
    starts: readonly number[],
    steps: readonly number[],
    part: Shape,
  ): boolean {
    if (!this.heap.owns(src) || !this.heap.owns(out)) return false;
    const add = op === 'sliceAdd';
    checkLen(op, add ? 'g' : 'x', src, product(add ? part : full));
    checkLen(op, 'out', out, product(add ? full : part));
    const sb = src.byteOffset,
      ob = out.byteOffset;
    // (ib, is): the run's start and stride in the full array; o: its start in the part
    sliceWalk(full, starts, steps, part, (ib, is, o, len) => {
      if (is === 1 && len >= SLICE_RUN) {
        if (add) this.mem.add(ob + 4 * ib, sb + 4 * o, len);
        else this.mem.copy(ob + 4 * o, sb + 4 * ib, len);
      } else if (add) for (let j = 0, p = ib; j < len; j++, p += is) out[p] = out[p]! + src[o + j]!;
      else for (let j = 0, p = ib; j < len; j++, p += is) out[o + j] = src[p]!;
    });
    return true;
  }
  // Index select / add along an axis: each picked slice is a run of `inner` floats, moved with
  // the wasm copy / add when it is long enough (rows of a matrix), as the slices above.
  indexSelect(x: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
    if (!this.indexRuns('indexSelect', x, out, shape, axis, idx)) jsBackend.indexSelect(x, shape, axis, idx, out);
  }
  indexAdd(g: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
    if (!this.indexRuns('indexAdd', g, out, shape, axis, idx)) jsBackend.indexAdd(g, shape, axis, idx, out);
  }
  /**
   * indexSelect (copy the picked slices of `src`, shape `shape`, into `out`) or indexAdd (add
   * the slices of `src` into the picked slices of `out`, shape `shape`) with the wasm copy / add;
   * false (nothing done) when the runs are short or an array is not in wasm memory.
   */
  private indexRuns(op: 'indexSelect' | 'indexAdd', src: F32, out: F32, shape: Shape, axis: number, idx: Int32Array): boolean {
    const [outer, size, inner] = axisSizes(shape, axis);
    const m = idx.length;
    if (inner < SLICE_RUN || !this.heap.owns(src) || !this.heap.owns(out)) return false;
    const add = op === 'indexAdd';
    const full = outer * size * inner;
    const picked = outer * m * inner;
    checkLen(op, add ? 'g' : 'x', src, add ? picked : full);
    checkLen(op, 'out', out, add ? full : picked);
    checkIndices(op, idx, size);
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < m; k++) {
        const pickedAt = 4 * (o * m + k) * inner;
        const fullAt = 4 * (o * size + idx[k]!) * inner;
        if (add) this.mem.add(out.byteOffset + fullAt, src.byteOffset + pickedAt, inner);
        else this.mem.copy(out.byteOffset + pickedAt, src.byteOffset + fullAt, inner);
      }
    return true;
  }
  maxPool2d(x: F32, out: F32, idx: F32, p: Pool2dParams): void {
    const planes = p.batch * p.channels;
    const outSize = planes * p.outH * p.outW;
    if (outSize === 0) return;
    checkLen('maxPool2d', 'x', x, planes * p.inH * p.inW);
    checkLen('maxPool2d', 'out', out, outSize);
    checkLen('maxPool2d', 'idx', idx, outSize);
    this.setArgs(
      0,
      this.inp(x),
      this.outp(out, false),
      this.outp(idx, false),
      planes,
      p.inH,
      p.inW,
      p.outH,
      p.outW,
      p.kH,
      p.kW,
      p.strideH,
      p.strideW,
      p.padH,
      p.padW,
      maxPoolQuads(p),
    );
    this.run(K.maxPool2d, planes >= this.threads ? this.par(outSize * p.kH * p.kW, PAR_ELEMS) : 1);
  }
  maxPool2dBackward(g: F32, idx: F32, out: F32, p: Pool2dParams): void {
    const planes = p.batch * p.channels;
    const inPlane = p.inH * p.inW;
    const outPlane = p.outH * p.outW;
    if (planes * inPlane === 0) return;
    checkLen('maxPool2dBackward', 'g', g, planes * outPlane);
    checkLen('maxPool2dBackward', 'idx', idx, planes * outPlane);
    checkLen('maxPool2dBackward', 'out', out, planes * inPlane);
    this.setArgs(
      0,
      this.inp(g),
      this.inp(idx),
      this.outp(out, false),
      planes,
      inPlane,
      outPlane,
      p.inH,
      p.inW,
      p.outH,
      p.outW,
      maxPoolQuads(p),
    );
    this.run(K.maxPool2dBackward, planes >= this.threads ? this.par(planes * inPlane, PAR_ELEMS) : 1);
  }
  avgPool2d(x: F32, out: F32, p: Pool2dParams): void {
    this.avgPoolCall(K.avgPool2d, 'avgPool2d', x, out, p, false);
  }
  avgPool2dBackward(g: F32, out: F32, p: Pool2dParams): void {
    this.avgPoolCall(K.avgPool2dBackward, 'avgPool2dBackward', g, out, p, true);
  }
  /** Average pooling forward (x → out) or backward (g → out, input-sized). */
  private avgPoolCall(k: number, what: string, src: F32, out: F32, p: Pool2dParams, backward: boolean): void {
    const planes = p.batch * p.channels;
    const inSize = planes * p.inH * p.inW;
    const outSize = planes * p.outH * p.outW;
    if ((backward ? inSize : outSize) === 0) return;
    checkLen(what, backward ? 'g' : 'x', src, backward ? outSize : inSize);
    checkLen(what, 'out', out, backward ? inSize : outSize);
    this.setArgs(
      0,
      this.inp(src),
      this.outp(out, false),
      planes,
      p.inH,
      p.inW,
      p.outH,
      p.outW,
      p.kH,
      p.kW,
      p.strideH,
      p.strideW,
      p.padH,
      p.padW,
    );
    this.run(k, planes >= this.threads ? this.par(outSize * p.kH * p.kW, PAR_ELEMS) : 1);
  }
  upsampleNearest(x: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
    this.upsampleCall(K.upsampleNearest, 'upsampleNearest', x, planes, h, w, sh, sw, out, false);
  }
  upsampleNearestBackward(g: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
    this.upsampleCall(K.upsampleNearestBackward, 'upsampleNearestBackward', g, planes, h, w, sh, sw, out, true);
  }
  /** Nearest upsampling forward (x → out) or backward (g → out, input-sized). */
  private upsampleCall(
    k: number,
    what: string,
    src: F32,
    planes: number,
    h: number,
    w: number,
    sh: number,
    sw: number,
    out: F32,
    backward: boolean,
  ): void {
    const small = planes * h * w;
    const big = small * sh * sw;
    if (small === 0) return;
    checkLen(what, backward ? 'g' : 'x', src, backward ? big : small);
    checkLen(what, 'out', out, backward ? small : big);
    this.setArgs(0, this.inp(src), this.outp(out, false), planes, h, w, sh, sw);
    this.run(k, planes >= this.threads ? this.par(big, PAR_ELEMS) : 1);
  }

  // --- optimizers ------------------------------------------------------------------------------

  adamStep(p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void {
    const n = p.length;
    if (n === 0) return;
    checkLen('adamStep', 'g', g, n);
    checkLen('adamStep', 'm', m, n);
    checkLen('adamStep', 'v', v, n);
    const ams = hp.amsgrad && vmax !== null;
    if (ams) checkLen('adamStep', 'vmax', vmax, n);
    this.setArgs(
      0,
      this.outp(p, true),
      this.inp(g),
      this.outp(m, true),
      this.outp(v, true),
      ams ? this.outp(vmax, true) : 0,
      n,
      hp.lr,
      hp.beta1,
      hp.beta2,
      hp.eps,
      hp.weightDecay,
      hp.decoupled ? 1 : 0,
      ams ? 1 : 0,
      hp.step,
    );
    this.run(K.adamStep, this.par(n, PAR_ELEMS / 2));
  }

  sgdStep(p: F32, g: F32, buf: F32 | null, hp: SgdParams): void {
    const n = p.length;
    if (n === 0) return;
    checkLen('sgdStep', 'g', g, n);
    const useBuf = hp.momentum !== 0 && buf !== null;
    if (useBuf) checkLen('sgdStep', 'buf', buf, n);
    this.setArgs(
      0,
      this.outp(p, true),
      this.inp(g),
      useBuf ? this.outp(buf, !hp.first) : 0,
      n,
      hp.lr,
      hp.momentum,
      hp.dampening,
      hp.weightDecay,
      hp.nesterov ? 1 : 0,
      hp.first ? 1 : 0,
    );
    this.run(K.sgdStep, this.par(n, PAR_ELEMS));
  }

  rmspropStep(p: F32, g: F32, squareAvg: F32, gradAvg: F32 | null, buf: F32 | null, hp: RmspropParams): void {
    const n = p.length;
    if (n === 0) return;
    checkLen('rmspropStep', 'g', g, n);
    checkLen('rmspropStep', 'squareAvg', squareAvg, n);
    if (gradAvg) checkLen('rmspropStep', 'gradAvg', gradAvg, n);
    if (buf) checkLen('rmspropStep', 'buf', buf, n);
    this.setArgs(
      0,
      this.outp(p, true),
      this.inp(g),
      this.outp(squareAvg, true),
      gradAvg ? this.outp(gradAvg, true) : 0,
      buf ? this.outp(buf, true) : 0,
      n,
      hp.lr,
      hp.alpha,
      hp.eps,
      hp.weightDecay,
      hp.momentum,
    );
    this.run(K.rmspropStep, this.par(n, PAR_ELEMS / 2));
  }

  adagradStep(p: F32, g: F32, sum: F32, hp: AdagradParams): void {
    const n = p.length;
    if (n === 0) return;
    checkLen('adagradStep', 'g', g, n);
    checkLen('adagradStep', 'sum', sum, n);
    this.setArgs(0, this.outp(p, true), this.inp(g), this.outp(sum, true), n, hp.clr, hp.eps, hp.weightDecay);
    this.run(K.adagradStep, this.par(n, PAR_ELEMS / 2));
  }

  adadeltaStep(p: F32, g: F32, squareAvg: F32, accDelta: F32, hp: AdadeltaParams): void {
    const n = p.length;
    if (n === 0) return;
    checkLen('adadeltaStep', 'g', g, n);
    checkLen('adadeltaStep', 'squareAvg', squareAvg, n);
    checkLen('adadeltaStep', 'accDelta', accDelta, n);
    this.setArgs(
      0,
      this.outp(p, true),
      this.inp(g),
      this.outp(squareAvg, true),
      this.outp(accDelta, true),
      n,
      hp.lr,
      hp.rho,
      hp.eps,
      hp.weightDecay,
    );
    this.run(K.adadeltaStep, this.par(n, PAR_ELEMS / 2));
  }
}
