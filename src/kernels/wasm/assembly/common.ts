// Helpers shared by every kernel: argument block access, work partitioning across threads,
// and partial (1–3 lane) vector loads/stores for loop tails.
//
// Calling convention: every exported kernel is `(args: usize, tid: i32, nth: i32, gen: u32): i32`.
// `args` points at a block of f64 slots written by the JS side, one per argument, laid out as
// ../abi.ts says (a kernel reads them through its generated class: changetype<XArgs>(args).name;
// pointers are byte offsets into the shared memory, stored as non-negative doubles); `tid`
// selects the thread's scratch block.
//
// Work sharing is dynamic: a kernel cuts its work into `total` independent items (disjoint
// pieces of the output) and every participating thread claims items from a shared counter until
// none are left, then the kernel returns `total`. The caller waits until the FINISHED counter
// reaches `total`. A worker that wakes up late simply finds no items left, so the caller never
// waits for a thread that has not started — on a busy machine the kernel degrades to running
// on the threads that are actually scheduled.
//
// The protocol every kernel follows:
//
//   if (!joinItems(tid, nth, gen)) return 0;   // before reading ANY argument
//   …read the arguments, compute total…
//   beginItems(total);
//   for (let it = nextItem(); it >= 0; it = nextItem()) { …item it… }
//   endItems();
//   return total;
//
// Why a worker must claim before it reads the arguments: the caller only rewrites the argument
// block (for its next kernel, threaded or not) after every item of this one has finished. A
// worker holding a claimed, unfinished item therefore pins the argument block; a worker that
// has claimed nothing may be reading the *next* kernel's arguments (it can be descheduled for
// milliseconds between seeing GEN and reading them). So:
//   - the item count is published by the caller, tagged with the generation (TOTAL: u64
//     gen << 32 | total), before the generation is opened (GEN), and a worker claims against
//     that, never against a count it derived from arguments it read itself;
//   - the queue is tagged too (QUEUE: u64 gen << 32 | next item), so an item of an older
//     generation can never be claimed once the caller has moved on;
//   - a worker reads the arguments (and trusts the kernel index and thread count it read from
//     the control block) only after its first successful claim, which proves the generation
//     was still open at that moment and stays open until the worker finishes that item.
// (Were a worker to claim against a `total` it computed itself, a late worker that read the
// next call's arguments could claim "items" of an exhausted generation and run them with those
// arguments — out-of-bounds traps, corrupted outputs, or an overshooting FINISHED that hangs the
// caller.)

import { CTRL, CTRL_FINISHED, CTRL_GEN, CTRL_QUEUE, CTRL_SLEEPERS, CTRL_TOTAL } from './abi.generated';

// Control block addresses (../abi.ts CONTROL at ../memory.ts CTRL_OFFSET, generated).
const GEN = CTRL_GEN; // i32: current generation (written by the caller)
const QUEUE = CTRL_QUEUE; // u64: generation << 32 | next item
const FINISHED = CTRL_FINISHED; // i32: items finished in the current generation
const SLEEPERS = CTRL_SLEEPERS; // i32: workers blocked in Atomics.wait on GEN
const TOTAL = CTRL_TOTAL; // u64: generation << 32 | item count, published by the caller

/** The control block offset this module was compiled with (checked by the JS side). */
export function ctrlOffset(): usize {
  return CTRL;
}

// Per-thread item iteration state (globals are per instance, i.e. per thread).
const SEQ: i32 = 0; // single-threaded call: walk 0…total−1 without atomics
const CALLER: i32 = 1; // threaded call, calling thread: publishes the item count
const WORKER: i32 = 2; // threaded call, worker thread
let role: i32 = SEQ;
let curGen: u32 = 0;
let curTotal: i32 = 0;
let seqNext: i32 = 0;
let claimed: i32 = 0;
let pending: i32 = -1; // a worker's first item, claimed in joinItems
let lastClaimed: i32 = 0;

/** Claims the next item of generation curGen below curTotal, or returns −1. */
@inline function claim(): i32 {
  let item = -1;
  for (;;) {
    const cur = atomic.load<u64>(QUEUE);
    if (<u32>(cur >> 32) != curGen || <u32>cur >= <u32>curTotal) break;
    if (atomic.cmpxchg<u64>(QUEUE, cur, cur + 1) == cur) {
      item = <i32>(<u32>cur);
      break;
    }
  }
  return item;
}

/**
 * Enters a kernel call. Returns false when this thread has nothing to do: a worker that could
 * not claim an item (the generation is exhausted or gone), and which must then return without
 * reading any argument. A worker waits here until the caller has published the item count.
 */
export function joinItems(tid: i32, nth: i32, gen: u32): bool {
  curGen = gen;
  seqNext = 0;
  claimed = 0;
  pending = -1;
  if (nth <= 1) {
    role = SEQ;
    return true;
  }
  if (tid == 0) {
    role = CALLER;
    return true;
  }
  role = WORKER;
  // The caller publishes the count before it stores GEN (beginItems), so this finds it at once;
  // the loop only guards the invariant. A different tag means the caller has moved on.
  let t: u64 = 0;
  for (;;) {
    t = atomic.load<u64>(TOTAL);
    if (<u32>(t >> 32) == gen) break;
    if (<u32>atomic.load<i32>(GEN) != gen) {
      lastClaimed = 0;
      return false;
    }
  }
  curTotal = <i32>(<u32>t);
  const it = claim();
  if (it < 0) {
    lastClaimed = 0;
    return false;
  }
  pending = it;
  claimed = 1;
  return true;
}

/**
 * Starts the item loop over `total` items. On the caller of a threaded call this opens the
 * generation: queue reset, FINISHED 0, the tagged item count, then GEN (seq-cst stores, which
 * also publish the arguments and the kernel index the JS side wrote before), and wakes sleeping
 * workers. Opening it only now, with the count known, means a worker that sees the new GEN
 * never waits for the count — in particular not for a caller that its own wake-up preempted.
 */
export function beginItems(total: i32): void {
  if (role == WORKER) {
    // The count the worker computed from the arguments must be the published one: they were
    // read after a successful claim, so they are this generation's.
    if (total != curTotal) unreachable();
    return;
  }
  curTotal = total;
  if (role == CALLER) {
    const g = <u64>curGen << 32;
    atomic.store<u64>(QUEUE, g);
    atomic.store<i32>(FINISHED, 0);
    atomic.store<u64>(TOTAL, g | <u64>(<u32>total));
    atomic.store<i32>(GEN, <i32>curGen);
    // A worker that counts itself as sleeping after this load re-checks GEN in its wait.
    if (atomic.load<i32>(SLEEPERS) > 0) atomic.notify(GEN, -1);
  }
}

/** The next item to process, or −1. */
@inline export function nextItem(): i32 {
  if (role == SEQ) return seqNext < curTotal ? seqNext++ : -1;
  if (pending >= 0) {
    const p = pending;
    pending = -1;
    return p;
  }
  const it = claim();
  if (it >= 0) claimed++;
  return it;
}

/** Ends the item loop: publishes this thread's finished items (and, by the seq-cst add, its writes). */
export function endItems(): void {
  lastClaimed = role == SEQ ? seqNext : claimed;
  if (role != SEQ && claimed > 0) atomic.add<i32>(FINISHED, claimed);
}

/** Items this thread processed in its latest kernel (the caller uses it to judge threading). */
export function claimedItems(): i32 {
  return lastClaimed;
}

/** Elements per item of the elementwise kernels when threaded (32 KB of floats). */
export const CHUNK: i32 = 8192;

/** Sums: elements added in f32x4 lanes over blocks of this many, then folded into f64 (reduce.ts). */
export const SUM_BLOCK: i32 = 512;

/**
 * Rows per item when work is cut into runs of whole rows (rows of a matrix, planes of an image
 * batch): about CHUNK elements per item threaded, all rows in one item single-threaded. The item
 * count is then (rows + per − 1) / per.
 */
@inline export function rowsPerItem(rows: i32, rowLen: i32, nth: i32): i32 {
  return nth == 1 ? rows : max(1, CHUNK / max(1, rowLen));
}

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

/** Loads `cnt` (0..3) floats into the low lanes of a vector; the rest are zero. */
export function loadPartial(p: usize, cnt: i32): v128 {
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
/** Stores the low `cnt` (0..3) lanes of v. */
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

/**
 * Fills n floats at p with v (called directly from JS, not through the thread pool: JS's
 * TypedArray fill and set take a slow generic path on shared memory).
 */
export function fillF32(p: usize, n: i32, v: f32): void {
  // (No memory.fill: on shared memory V8 runs it as a slow runtime call.)
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = p + (<usize>i << 2);
    v128.store(o, vv);
    v128.store(o, vv, 16);
    v128.store(o, vv, 32);
    v128.store(o, vv, 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), vv);
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), v);
}

/**
 * Repeats each of n floats at src t times, contiguously: dst[i·t + j] = src[i] (expand over
 * trailing dims, e.g. the gradient of a per-row sum). dst must not overlap src.
 */
export function repeatEachF32(dst: usize, src: usize, n: i32, t: i32): void {
  for (let i = 0; i < n; i++) fillF32(dst + ((<usize>i * <usize>t) << 2), t, load<f32>(src + (<usize>i << 2)));
}

/** dst[i] += src[i] for n floats (the ranges must not overlap). */
export function addF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** Copies n floats from src to dst (memmove semantics). */
export function copyF32(dst: usize, src: usize, n: i32): void {
  if (dst <= src || dst >= src + (<usize>n << 2)) {
    let i = 0;
    for (; i + 16 <= n; i += 16) {
      const o = <usize>i << 2;
      const a = v128.load(src + o), b = v128.load(src + o, 16), c = v128.load(src + o, 32), d = v128.load(src + o, 48);
      v128.store(dst + o, a);
      v128.store(dst + o, b, 16);
      v128.store(dst + o, c, 32);
      v128.store(dst + o, d, 48);
    }
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
  } else memory.copy(dst, src, <usize>n << 2);
}
