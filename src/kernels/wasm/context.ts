/**
 * One wasm backend's state and the machinery every kernel call goes through: the heap, the
 * thread pool, the argument block, and the call's temporaries. The kernel families (one file
 * each, as assembly/ has them) are functions of this context:
 *
 *   const px = c.inp(x), po = c.outp(out, false);     // offsets in wasm memory (foreign arrays copied in)
 *   writeUnaryArgs(c.args, { op, x: px, out: po, n, p });   // the arguments by name (abi.ts)
 *   c.run(K.unary, c.par(n, PAR_ELEMS));              // threaded above the threshold; temporaries released
 *
 * Every allocation (inp / outp, which may grow the memory and, without shared memory, detach
 * views of it) happens before the argument block is viewed (`c.args`).
 */
import type { F32 } from '../backend.js';
import { ARG_SLOTS, ARGS_OFFSET, Heap } from './memory.js';
import type { ThreadPool } from './threads.js';

// When to split a kernel across threads. Dispatch costs a few µs when workers are spinning and
// tens of µs when they sleep, so only kernels well above that are split.
/** Cheap elementwise ops, reductions, optimizer steps: elements. */
export const PAR_ELEMS = 1 << 16;
/** Transcendental elementwise ops: elements. */
export const PAR_ELEMS_HEAVY = 1 << 14;

/**
 * AELAB_POISON_UNINIT=1 fills memory handed out without zeroing (Tensor.uninit) with NaN, so a
 * kernel that leaves part of its output unwritten shows up in tests (the wasm test project sets it).
 */
const POISON_UNINIT = typeof process !== 'undefined' && process.env?.AELAB_POISON_UNINIT === '1';

/** Bulk memory operations of assembly/common.ts, called directly (they are memory-bound: no threads). */
export interface MemOps {
  fill(p: number, n: number, v: number): void;
  copy(dst: number, src: number, n: number): void;
  add(dst: number, src: number, n: number): void;
  repeatEach(dst: number, src: number, n: number, t: number): void;
}

/** A heap block that only grows: reallocated (contents dropped) when more bytes are asked for. */
export class GrowingBlock {
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

/** A call reduced to one of a kernel's canonical modes (binary and reduce) and its sizes. */
export interface Plan {
  mode: number;
  d0: number;
  d1: number;
  d2: number;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

export function checkLen(op: string, name: string, a: F32, need: number): void {
  if (a.length < need) {
    throw new Error(`wasm backend ${op}: ${name} has ${a.length} elements, needs ${need}`);
  }
}

/** Every index in 0..size−1 (wasm memory has no bounds checks, so the kernels need this first). */
export function checkIndices(op: string, idx: Int32Array, size: number): void {
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    if (!(i >= 0 && i < size)) throw new Error(`wasm backend ${op}: index ${i} at position ${k} is outside 0..${size - 1}`);
  }
}

export class WasmContext {
  readonly threads: number;
  readonly heap: Heap;
  readonly pool: ThreadPool;
  readonly mem: MemOps;
  /** Bytes of GEMM packing scratch each thread needs (assembly/gemm.ts). */
  readonly gemmScratch: number;
  /** Views into shared memory survive growth; views into ordinary memory are detached by it. */
  private readonly stableViews: boolean;
  private argsView: Float64Array;
  /** Per-thread scratch: thread t's block starts at scratchBlock.off + t·scratchStride. */
  readonly scratchBlock: GrowingBlock;
  scratchStride = 0;
  /** The operand a threaded matmul's items share, packed once (see gemm.ts). */
  readonly packBlock: GrowingBlock;
  /** Temporaries of the current call: foreign inputs copied in, foreign outputs to copy back. */
  readonly temps: number[] = [];
  private readonly backs: [number, F32][] = [];
  /** Size of the kernel being dispatched, in multiples of its threading threshold (see par). */
  weight = 0;

  constructor(heap: Heap, pool: ThreadPool, gemmScratch: number, stableViews: boolean, mem: MemOps) {
    this.heap = heap;
    this.pool = pool;
    this.threads = pool.threads;
    this.mem = mem;
    this.gemmScratch = gemmScratch;
    this.stableViews = stableViews;
    this.scratchBlock = new GrowingBlock(heap);
    this.packBlock = new GrowingBlock(heap);
    this.argsView = new Float64Array(heap.buffer, ARGS_OFFSET, ARG_SLOTS);
  }

  /**
   * The argument block, for a generated writer (abi.generated.ts); re-viewed after a growth
   * detached ordinary memory, so take it after the call's allocations.
   */
  get args(): Float64Array {
    if (this.argsView.length === 0) this.argsView = new Float64Array(this.heap.buffer, ARGS_OFFSET, ARG_SLOTS);
    return this.argsView;
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

  fill(out: F32, value: number): void {
    if (this.heap.owns(out)) this.mem.fill(out.byteOffset, out.length, value);
    else out.fill(value);
  }

  copy(src: F32, out: F32): void {
    const n = Math.min(src.length, out.length);
    if (this.heap.owns(src) && this.heap.owns(out)) this.mem.copy(out.byteOffset, src.byteOffset, n);
    else out.set(src.length === n ? src : src.subarray(0, n));
  }

  // --- a kernel call ------------------------------------------------------------------------

  /** Byte offset of an input inside wasm memory (foreign arrays are copied in). */
  inp(a: F32): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const off = this.heap.alloc(a.byteLength, false);
    this.heap.f32(off, a.length).set(a);
    this.temps.push(off);
    return off;
  }

  /** Byte offset of an output (foreign arrays get a temporary, copied back by `run`). */
  outp(a: F32, readsOld: boolean): number {
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
   * Runs kernel k (arguments already written) on nth threads, then `after` (still before
   * foreign outputs are copied back), and releases the call's temporaries.
   */
  run(k: number, nth: number, after?: () => void): void {
    try {
      this.pool.run(k, nth, this.weight);
      after?.();
    } finally {
      this.done();
    }
  }

  /** Per-thread scratch of at least `bytes` bytes (grown, never shrunk). */
  scratch(bytes: number): void {
    const stride = roundUp(bytes + 64, 64);
    if (stride <= this.scratchStride) return;
    this.scratchBlock.ensure(stride * this.threads);
    this.scratchStride = stride;
  }

  /** Threads for a kernel of `work` units with threading threshold `threshold` (sets `weight`). */
  par(work: number, threshold: number): number {
    this.weight = work / threshold;
    return work >= threshold ? this.threads : 1;
  }

  /** Drops the temporaries of a call that failed before `run` (validation errors). */
  abort(e: unknown): never {
    this.backs.length = 0;
    for (const off of this.temps) this.heap.free(off);
    this.temps.length = 0;
    throw e;
  }
}
