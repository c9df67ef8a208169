/**
 * The wasm backend's heap: one (shared) WebAssembly.Memory, managed entirely from JS.
 *
 * Layout of the memory (byte offsets):
 *   [0, CTRL_OFFSET)            the module's static data (asserted empty-ish at start-up)
 *   [CTRL_OFFSET, +256)         thread control block (its fields: CONTROL in abi.ts)
 *   [ARGS_OFFSET, +8·ARG_SLOTS) kernel argument block (f64 slots, one kernel's layout at a time:
 *                               ARG_LAYOUTS in abi.ts)
 *   [HEAP_START, …)             blocks handed out by `Heap.alloc`
 *
 * The allocator rounds each request up to a size class (multiples of 64 bytes, then four
 * classes per power of two, so at most 25 % waste) and keeps one free list per class. Training
 * loops allocate the same shapes every step, so after the first step every request is served
 * from a free list; nothing is ever coalesced or returned to the engine (wasm memory cannot
 * shrink anyway). Blocks are 64-byte aligned (cache lines, and 16-byte vector alignment).
 *
 * With shared memory, growing never detaches existing views, but `memory.buffer` becomes a new
 * SharedArrayBuffer object: every buffer object ever seen is remembered so `owns` recognises
 * views created before a growth.
 */

export const CTRL_OFFSET = 32768;
export const ARGS_OFFSET = CTRL_OFFSET + 256;
export const ARG_SLOTS = 64;
export const HEAP_START = 65536;
const PAGE = 65536;
/** Grow by at least this many bytes at a time (fewer, larger growths). */
const MIN_GROW = 16 << 20;

/** Bytes of the size class that serves a request of `bytes` bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 64) return 64;
  if (bytes <= 1024) return (bytes + 63) & ~63;
  // step = a quarter of the largest power of two ≤ bytes (clz32 below 2^31 bytes)
  const step = bytes < 2 ** 31 ? (1 << (31 - Math.clz32(bytes))) / 4 : 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / step) * step;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new Set<ArrayBufferLike>();
  private top = HEAP_START;
  private readonly freeLists = new Map<number, number[]>();
  /** Live blocks: byte offset → [class bytes, requested bytes]. */
  private readonly live = new Map<number, [number, number]>();
  private liveUserBytes = 0;
  private readonly maxBytes: number;

  constructor(memory: WebAssembly.Memory, maxPages: number) {
    this.memory = memory;
    this.maxBytes = maxPages * PAGE;
    this.buffers.add(memory.buffer);
  }

  /** The current buffer (the largest view range). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** True when `a` is a view into this heap's memory (any growth generation). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** Live bytes requested through `alloc(…, true)` (the user-visible count). */
  get userBytes(): number {
    return this.liveUserBytes;
  }

  /** Reserves a 64-byte aligned block of at least `bytes` bytes and returns its offset. */
  alloc(bytes: number, user: boolean): number {
    const cls = sizeClass(Math.max(bytes, 1));
    const list = this.freeLists.get(cls);
    let off: number;
    let fresh = false;
    if (list !== undefined && list.length > 0) {
      off = list.pop()!;
    } else {
      off = this.top;
      const end = off + cls;
      if (end > this.maxBytes) {
        throw new Error(`wasm backend: out of memory allocating ${bytes} bytes (heap at ${this.top} bytes, limit ${this.maxBytes} bytes)`);
      }
      this.ensure(end);
      this.top = end;
      fresh = true;
    }
    this.live.set(off, [cls, user ? bytes : 0]);
    if (user) this.liveUserBytes += bytes;
    // Fresh memory from the engine is already zero; recycled blocks are zeroed by the caller
    // over the bytes it hands out (see `zeroIfRecycled`).
    this.lastWasFresh = fresh;
    return off;
  }

  /** Whether the block returned by the latest `alloc` came straight from untouched memory. */
  lastWasFresh = false;

  /** Returns a block; unknown offsets (foreign arrays, double frees) are ignored. */
  free(off: number): boolean {
    const entry = this.live.get(off);
    if (entry === undefined) return false;
    this.live.delete(off);
    this.liveUserBytes -= entry[1];
    let list = this.freeLists.get(entry[0]);
    if (list === undefined) {
      list = [];
      this.freeLists.set(entry[0], list);
    }
    list.push(off);
    return true;
  }

  /** Float32 view of `n` floats at byte offset `off` over the current buffer. */
  f32(off: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, off, n);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const want = Math.min(this.maxBytes, Math.max(end, have + MIN_GROW, have + (have >> 2)));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.buffers.add(this.memory.buffer);
  }
}
