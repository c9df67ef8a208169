// Helpers shared by every kernel: argument block access, work partitioning across threads,
// and partial (1–3 lane) vector loads/stores for loop tails.
//
// Calling convention: every exported kernel is `(args: usize, tid: i32, nth: i32, gen: u32): i32`.
// `args` points at a block of f64 slots written by the JS side (pointers are byte offsets into
// the shared memory, stored as non-negative doubles); `tid` selects the thread's scratch block.
//
// Work sharing is dynamic: a kernel cuts its work into `total` independent items (disjoint
// pieces of the output) and every participating thread claims items from a shared counter until
// none are left, then the kernel returns `total`. The caller waits until the FINISHED counter
// reaches `total`. A worker that wakes up late simply finds no items left, so the caller never
// waits for a thread that has not started — on a busy machine the kernel degrades to running
// on the threads that are actually scheduled. The counter is a 64-bit word (generation << 32 |
// next item): a worker still holding the previous kernel's generation cannot claim an item of
// the next kernel (whose arguments it has not read).

/** Pointer / unsigned slot (byte offsets may exceed 2^31, so convert through u32). */
@inline export function argP(args: usize, i: i32): usize {
  return <usize>(<u32>load<f64>(args + (<usize>i << 3)));
}
@inline export function argI(args: usize, i: i32): i32 {
  return <i32>load<f64>(args + (<usize>i << 3));
}
@inline export function argF(args: usize, i: i32): f32 {
  return <f32>load<f64>(args + (<usize>i << 3));
}
@inline export function argD(args: usize, i: i32): f64 {
  return load<f64>(args + (<usize>i << 3));
}

// Control block addresses: must match CTRL_OFFSET and the slots in ../memory.ts / ../threads.ts.
export const CTRL: usize = 32768;
const QUEUE: usize = CTRL + 16; // u64: generation << 32 | next item
const FINISHED: usize = CTRL + 24; // i32: items finished in the current generation

/** The control block offset this module was compiled with (checked by the JS side). */
export function ctrlOffset(): usize {
  return CTRL;
}

// Per-thread item iteration state (globals are per instance, i.e. per thread).
let seqNext: i32 = 0;
let claimed: i32 = 0;

/** Starts an item loop. */
@inline export function beginItems(): void {
  seqNext = 0;
  claimed = 0;
}

/** The next item to process, or −1. Single-threaded calls walk 0…total−1 without atomics. */
@inline export function nextItem(gen: u32, total: i32, nth: i32): i32 {
  if (nth == 1) return seqNext < total ? seqNext++ : -1;
  let item = -1;
  for (;;) {
    const cur = atomic.load<u64>(QUEUE);
    if (<u32>(cur >> 32) != gen || <i32>(<u32>cur) >= total) break;
    if (atomic.cmpxchg<u64>(QUEUE, cur, cur + 1) == cur) {
      item = <i32>(<u32>cur);
      claimed++;
      break;
    }
  }
  return item;
}

/** Items this thread processed in its latest kernel (the caller uses it to judge threading). */
export function claimedItems(): i32 {
  return nth1 ? seqNext : claimed;
}
let nth1 = true;

/** Ends an item loop: publishes this thread's finished items (and, by the seq-cst add, its writes). */
@inline export function endItems(nth: i32): void {
  nth1 = nth == 1;
  if (nth > 1 && claimed > 0) atomic.add<i32>(FINISHED, claimed);
}

/** Elements per item of the elementwise kernels when threaded (32 KB of floats). */
export const CHUNK: i32 = 8192;

/** Item count of a flat range of n elements: one item single-threaded, CHUNK-sized otherwise. */
@inline export function flatItems(n: i32, nth: i32): i32 {
  return nth == 1 ? 1 : (n + CHUNK - 1) / CHUNK;
}
@inline export function flatLo(it: i32, nth: i32): i32 {
  return nth == 1 ? 0 : it * CHUNK;
}
@inline export function flatHi(it: i32, n: i32, nth: i32): i32 {
  return nth == 1 ? n : min(n, (it + 1) * CHUNK);
}

/** Start of part `tid` of [0, n) split into nth contiguous parts aligned to `align`. */
@inline export function partLo(n: i32, tid: i32, nth: i32, align: i32): i32 {
  const units = (n + align - 1) / align;
  const per = (units + nth - 1) / nth;
  const lo = per * tid * align;
  return lo < n ? lo : n;
}
@inline export function partHi(n: i32, tid: i32, nth: i32, align: i32): i32 {
  const units = (n + align - 1) / align;
  const per = (units + nth - 1) / nth;
  const hi = per * (tid + 1) * align;
  return hi < n ? hi : n;
}

/** Loads `cnt` (0..4) floats into the low lanes of a vector; the rest are zero. */
export function loadPartial(p: usize, cnt: i32): v128 {
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
export function storePartial(p: usize, v: v128, cnt: i32): void {
  if (cnt > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Horizontal sum of four lanes, in f64 so long reductions keep their precision. */
@inline export function hsum64(v: v128): f64 {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}
@inline export function hmax(v: v128): f32 {
  const a = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const b = f32x4.max(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2));
  return f32x4.extract_lane(b, 0);
}
@inline export function hmin(v: v128): f32 {
  const a = f32x4.min(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const b = f32x4.min(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2));
  return f32x4.extract_lane(b, 0);
}

/** Zeroes n floats at p. */
export function zeroF32(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}
