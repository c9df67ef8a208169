/**
 * The thread pool (threads.ts, the protocol of assembly/common.ts): a late worker never acts on
 * another call's arguments (played by hand on two module instances over one memory), a worker's
 * exception reaches the caller and a kernel that breaks the protocol is an error rather than a
 * hang, and stress with back-to-back threaded kernels and memory growth.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conv2dParams, F32, MatmulParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';

import { createWasmBackend, type WasmBackend } from '../../../src/kernels/wasm/index.js';
import { ARGS_OFFSET, CTRL_OFFSET } from '../../../src/kernels/wasm/memory.js';
import { ThreadPool } from '../../../src/kernels/wasm/threads.js';
import { WASM_BASE64 } from '../../../src/kernels/wasm/module.generated.js';
import { CONTROL } from '../../../src/kernels/wasm/abi.js';
import { writeMatmulArgs } from '../../../src/kernels/wasm/abi.generated.js';

import { bitDiffs, expectClose, randArr, rms, rng, seed } from './helpers.js';

describe("wasm thread pool: a late worker never acts on another call's arguments", () => {
  // Plays the parts of the caller and of a late worker by hand, on two instances of the module
  // over one shared memory (globals are per instance, as per thread). The failure this guards
  // against: the caller finished a threaded kernel (generation g) alone and moved on to another
  // call (single-threaded, so GEN stays g) with new arguments; a worker that saw GEN = g only
  // now enters the kernel, reads the NEW arguments and used to claim "items" of g beyond g's
  // item count (its count came from the new arguments) — running them on foreign arguments
  // (out-of-bounds traps, corrupted outputs) and pushing FINISHED past the next kernel's count
  // (the caller then waited forever).
  const M = 40;
  const N = 72;
  const K = 24;
  let memory: WebAssembly.Memory;
  let caller: Record<string, CallableFunction>;
  let worker: Record<string, CallableFunction>;
  let ctrl: Int32Array;
  let ctrl64: BigUint64Array;
  let args: Float64Array;
  let f32: Float32Array;
  const GEN = CONTROL.gen / 4;
  const FINISHED = CONTROL.finished / 4;
  const QUEUE = CONTROL.queue / 8; // u64 index
  const TOTAL = CONTROL.total / 8; // u64 index
  // Operands at fixed offsets above the heap start.
  const A1 = 1 << 20;
  const B1 = A1 + M * K * 4;
  const C1 = B1 + K * N * 4;
  const A2 = 2 << 20;
  const B2 = A2 + 4 * M * K * 4;
  const C2 = B2 + 4 * K * N * 4;
  const SCRATCH = 4 << 20;

  beforeAll(async () => {
    memory = new WebAssembly.Memory({ initial: 256, maximum: 1024, shared: true });
    const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
    const mod = await WebAssembly.compile(bytes);
    caller = (await WebAssembly.instantiate(mod, { env: { memory } })).exports as Record<string, CallableFunction>;
    worker = (await WebAssembly.instantiate(mod, { env: { memory } })).exports as Record<string, CallableFunction>;
    ctrl = new Int32Array(memory.buffer, CTRL_OFFSET, 64);
    ctrl64 = new BigUint64Array(memory.buffer, CTRL_OFFSET, 8);
    args = new Float64Array(memory.buffer, ARGS_OFFSET, 64);
    f32 = new Float32Array(memory.buffer);
  });

  /** Matmul arguments: C (batch × M × N) = A·B with the given operands. */
  function matmulArgs(a: number, b: number, c: number, batch: number): void {
    const scratchStride = (caller.gemmScratchBytes as () => number)() + 64;
    writeMatmulArgs(args, {
      a,
      b,
      c,
      batch,
      M,
      N,
      K,
      transA: false,
      transB: false,
      strideA: M * K,
      strideB: K * N,
      alpha: 1,
      beta: 0,
      scratch: SCRATCH,
      scratchStride,
      preA: 0,
      preB: 0,
      bias: 0,
      act: 0,
    });
  }

  /**
   * Opens generation g with `total` items as the caller's kernel does once it knows its count
   * (beginItems in assembly/common.ts): queue reset, FINISHED 0, tagged count, GEN.
   */
  function open(g: number, total: number): void {
    Atomics.store(ctrl64, QUEUE, BigInt(g) << 32n);
    Atomics.store(ctrl, FINISHED, 0);
    Atomics.store(ctrl64, TOTAL, (BigInt(g) << 32n) | BigInt(total));
    Atomics.store(ctrl, GEN, g);
  }
  type Kernel = (args: number, tid: number, nth: number, gen: number) => number;

  it('the caller opens the generation with its item count', () => {
    seed(11);
    f32.set(randArr(M * K), A1 / 4);
    f32.set(randArr(K * N), B1 / 4);
    f32.set(randArr(4 * M * K), A2 / 4);
    f32.set(randArr(4 * K * N), B2 / 4);
    matmulArgs(A1, B1, C1, 1);
    const total = (caller.matmul as Kernel)(ARGS_OFFSET, 0, 2, 5);
    expect(total).toBeGreaterThan(1);
    expect(Atomics.load(ctrl, GEN)).toBe(5);
    expect(Atomics.load(ctrl64, TOTAL)).toBe((5n << 32n) | BigInt(total));
    expect(Atomics.load(ctrl64, QUEUE)).toBe((5n << 32n) | BigInt(total)); // all claimed by the caller
    expect(Atomics.load(ctrl, FINISHED)).toBe(total);
  });

  it('a late worker that claims nothing does not read the new arguments, write, or count', () => {
    // After generation 5 (above) the caller moves on: a larger single-threaded call (more
    // items), GEN stays 5. Then the late worker of generation 5 comes in.
    const total5 = Atomics.load(ctrl, FINISHED);
    matmulArgs(A2, B2, C2, 4);
    (caller.matmul as Kernel)(ARGS_OFFSET, 0, 1, 0);
    const want = f32.slice(C2 / 4, C2 / 4 + 4 * M * N);
    expect(want.some(Number.isNaN)).toBe(false);
    f32.fill(NaN, C2 / 4, C2 / 4 + 4 * M * N);
    expect((worker.matmul as Kernel)(ARGS_OFFSET, 1, 2, 5)).toBe(0);
    expect(worker.claimedItems()).toBe(0);
    expect(Atomics.load(ctrl, FINISHED)).toBe(total5);
    expect(f32.subarray(C2 / 4, C2 / 4 + 4 * M * N).every(Number.isNaN)).toBe(true);
  });

  it('a late worker never claims from a newer generation, nor waits for one', () => {
    matmulArgs(A2, B2, C2, 4);
    f32.fill(NaN, C2 / 4, C2 / 4 + 4 * M * N);
    const run = worker.matmul as Kernel;
    // Generation 6 is open with 4 unclaimed items: a worker still holding 5 takes none.
    open(6, 4);
    expect(run(ARGS_OFFSET, 1, 2, 5)).toBe(0);
    // (Not a state the caller produces — it publishes the count before GEN — but a worker
    // whose generation shows no count and is no longer current must return, not spin.)
    Atomics.store(ctrl64, TOTAL, 5n << 32n);
    Atomics.store(ctrl, GEN, 7);
    expect(run(ARGS_OFFSET, 1, 2, 6)).toBe(0);
    expect(Atomics.load(ctrl, FINISHED)).toBe(0);
    expect(f32.subarray(C2 / 4, C2 / 4 + 4 * M * N).every(Number.isNaN)).toBe(true);
  });

  it('a worker of the open generation claims against the published count', () => {
    matmulArgs(A2, B2, C2, 4);
    f32.fill(NaN, C2 / 4, C2 / 4 + 4 * M * N);
    const want = new Float32Array(4 * M * N);
    const a = f32.slice(A2 / 4, A2 / 4 + 4 * M * K);
    const b = f32.slice(B2 / 4, B2 / 4 + 4 * K * N);
    js.matmul(a, b, want, { batch: 4, M, N, K, transA: false, transB: false, strideA: M * K, strideB: K * N });
    // 4 matrices in the batch, at least 2 per thread: one item each.
    open(9, 4);
    expect((worker.matmul as Kernel)(ARGS_OFFSET, 1, 2, 9)).toBe(4);
    expect(worker.claimedItems()).toBe(4);
    expect(Atomics.load(ctrl, FINISHED)).toBe(4);
    expectClose(f32.subarray(C2 / 4, C2 / 4 + 4 * M * N), want, 'worker matmul', { scale: rms(want) });
  });
});

describe('wasm thread pool: errors', () => {
  /**
   * A minimal module for the pool: imports a shared 1-page env.memory, exports `claimedItems`
   * (→ 0) and a kernel `boom(args, tid, nth, gen)` whose body is `body` (wasm bytecode).
   */
  function poolModule(body: number[]): Uint8Array {
    const leb = (n: number): number[] => {
      const out: number[] = [];
      do {
        let b = n & 0x7f;
        n >>>= 7;
        if (n !== 0) b |= 0x80;
        out.push(b);
      } while (n !== 0);
      return out;
    };
    const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
    const name = (t: string): number[] => [t.length, ...Array.from(t, (c) => c.charCodeAt(0))];
    const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
    const I32 = 0x7f;
    const code = (b: number[]): number[] => [...leb(b.length + 3), 0x01, 0x01, I32, ...b]; // one i32 local (#4)
    return Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(
        1,
        vec([
          [0x60, 4, I32, I32, I32, I32, 1, I32],
          [0x60, 0, 1, I32],
        ]),
      ),
      ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x03, 0x01, 0x01]])), // shared, 1..1 pages
      ...section(3, vec([[0x00], [0x01]])),
      ...section(
        7,
        vec([
          [...name('boom'), 0x00, 0x00],
          [...name('claimedItems'), 0x00, 0x01],
        ]),
      ),
      ...section(10, vec([code([...body, 0x0b]), code([0x41, 0x00, 0x0b])])),
    ]);
  }
  /** i32.const of a control block address (CTRL_OFFSET + delta), as signed LEB128. */
  const ctrlAddr = (delta: number): number[] => {
    const n = CTRL_OFFSET + delta; // < 2^20: three bytes
    return [0x41, (n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, (n >> 14) & 0x3f];
  };
  const gen64 = [0x20, 0x03, 0xad, 0x42, 0x20, 0x86]; // i64(gen as u32) << 32
  const i64store = [0xfe, 0x18, 0x03, 0x00];
  const i32store = [0xfe, 0x17, 0x02, 0x00];
  /** Opens generation `gen` with 1 item, as beginItems (assembly/common.ts) does. */
  const openGeneration = [
    ...ctrlAddr(16),
    ...gen64,
    ...i64store, // QUEUE = gen << 32
    ...ctrlAddr(24),
    0x41,
    0x00,
    ...i32store, // FINISHED = 0
    ...ctrlAddr(48),
    ...gen64,
    0x42,
    0x01,
    0x84,
    ...i64store, // TOTAL = gen << 32 | 1
    ...ctrlAddr(0),
    0x20,
    0x03,
    ...i32store, // GEN = gen
    ...ctrlAddr(0),
    0x41,
    0x7f,
    0xfe,
    0x00,
    0x02,
    0x00,
    0x1a, // notify(GEN, all)
  ];

  async function poolFor(body: number[]): Promise<ThreadPool> {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const module = await WebAssembly.compile(poolModule(body));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return ThreadPool.create({
      module,
      memory,
      kernels: ['boom'],
      exports: instance.exports as Record<string, unknown>,
      ctrlOffset: CTRL_OFFSET,
      argsOffset: ARGS_OFFSET,
      threads: 2,
    });
  }

  const claimOne = [...ctrlAddr(16), 0x42, 0x01, 0xfe, 0x1f, 0x03, 0x00, 0x1a]; // QUEUE += 1 (item 0)
  const ifWorker = (then: number[]): number[] => [0x20, 0x01, 0x04, 0x40, ...then, 0x0b]; // if (tid) { … }

  it("a worker's exception reaches the caller with its message, and the pool stays usable", async () => {
    // boom on a worker: claims the generation's only item, then traps (unreachable). On the
    // caller: opens the generation with 1 item and waits until the item is claimed (as a real
    // kernel's caller part returns only once every item is taken). Only the worker's error
    // can then end the wait.
    const pool = await poolFor([
      ...ifWorker([...claimOne, 0x00]),
      ...openGeneration,
      // loop while (QUEUE & 0xffffffff) == 0 && ++local4 < 2^30 (bounded: a failure, not a hang)
      ...[0x03, 0x40, ...ctrlAddr(16), 0xfe, 0x11, 0x03, 0x00, 0x42, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x83, 0x50],
      ...[0x20, 0x04, 0x41, 0x01, 0x6a, 0x22, 0x04, 0x41, 0x80, 0x80, 0x80, 0x80, 0x04, 0x49, 0x71, 0x0d, 0x00, 0x0b],
      ...[0x41, 0x01],
    ]);
    try {
      for (let round = 0; round < 3; round++) {
        expect(() => pool.run(0, 2)).toThrow(/worker thread failed in kernel #0 \(boom\): worker 1: RuntimeError: unreachable/);
      }
    } finally {
      await pool.dispose();
    }
  });

  it('a kernel that breaks the protocol is an error, not a hang', async () => {
    const returnAtOnce = ifWorker([0x41, 0x00, 0x0f]); // workers: return 0
    const cases: [string, number[], RegExp][] = [
      ['returns 1 item, never opens the generation', [0x41, 0x01], /did not open its generation/],
      ['opens 1 item, returns 2', [...returnAtOnce, ...openGeneration, 0x41, 0x02], /did not open its generation with its item count/],
      ['opens 1 item, leaves it unclaimed', [...returnAtOnce, ...openGeneration, 0x41, 0x01], /returned with unclaimed items/],
      [
        'claims its item but never finishes it',
        [...returnAtOnce, ...openGeneration, ...claimOne, 0x41, 0x01],
        /0 of 1 items finished and no worker is running/,
      ],
    ];
    for (const [what, body, message] of cases) {
      const pool = await poolFor(body);
      try {
        expect(() => pool.run(0, 2), what).toThrow(message);
      } finally {
        await pool.dispose();
      }
    }
  });
});

describe('wasm backend, 2 threads: stress', () => {
  let w2: WasmBackend;
  let w1: WasmBackend;
  beforeAll(async () => {
    w2 = await createWasmBackend({ threads: 2 });
    w1 = await createWasmBackend({ threads: 1 });
  });
  afterAll(async () => {
    await w2.dispose();
    await w1.dispose();
  });

  it('back-to-back threaded kernels of varying sizes, small single-threaded calls and allocations in between', () => {
    // The pattern of a backward pass: a large threaded kernel (which wakes the workers), then at
    // once smaller calls on the caller with other arguments — a batched matmul that accumulates
    // (beta = 1) and a broadcasting add — plus fresh allocations and frees. A worker arriving
    // late for the large kernel used to read these calls' arguments and run "items" of them:
    // double accumulation, out-of-bounds traps, or a hang. Everything is checked bit for bit
    // against one thread (results do not depend on the thread count).
    const r = rng(21);
    const pick = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
    const live: F32[] = [];
    const own = (a: F32): F32 => {
      const v = w2.alloc(a.length);
      v.set(a);
      return v;
    };
    const check = (got: F32, want: F32, what: string): void => {
      const d = bitDiffs(got, want);
      if (d !== 0) throw new Error(`${what}: ${d} of ${want.length} elements differ from 1 thread`);
    };
    for (let round = 0; round < 300; round++) {
      // 1. large: ≥ 8× the threading threshold, so sleeping workers are woken
      const M = pick(128, 320);
      const N = pick(128, 320);
      const K = pick(160, 400);
      const p: MatmulParams = { batch: 1, M, N, K, transA: r() < 0.3, transB: r() < 0.3, strideA: 0, strideB: 0 };
      const a = randArr(M * K);
      const b = randArr(K * N);
      const c2 = w2.alloc(M * N);
      const c1 = new Float32Array(M * N);
      w2.matmul(own(a), own(b), c2, p);
      w1.matmul(a, b, c1, p);
      check(c2, c1, `round ${round}: matmul ${M}×${K}·${K}×${N}`);
      // 2. small batched matmul accumulating into its output (runs on the caller)
      const bt = pick(17, 40);
      const m = pick(2, 9);
      const q: MatmulParams = { batch: bt, M: m, N: m, K: m, transA: false, transB: false, strideA: m * m, strideB: m * m, beta: 1 };
      const sa = randArr(bt * m * m);
      const sb = randArr(bt * m * m);
      const sc = randArr(bt * m * m);
      const sc2 = own(sc);
      w2.matmul(own(sa), own(sb), sc2, q);
      w1.matmul(sa, sb, sc, q);
      check(sc2, sc, `round ${round}: small batched matmul`);
      // 3. a small broadcasting add (pointers where a matmul has its sizes)
      const rows = pick(3, 30);
      const cols = pick(3, 30);
      const x = randArr(rows * cols);
      const y = randArr(cols);
      const o2 = w2.alloc(rows * cols);
      const o1 = new Float32Array(rows * cols);
      w2.binary('add', own(x), [rows, cols], own(y), [1, cols], o2, [rows, cols]);
      w1.binary('add', x, [rows, cols], y, [1, cols], o1, [rows, cols]);
      check(o2, o1, `round ${round}: binary add`);
      live.push(c2, sc2, o2);
      // Free most of it again (reused blocks), keep some (the heap keeps growing).
      while (live.length > 12) w2.free(live.splice(Math.floor(r() * live.length), 1)[0]!);
    }
  });

  it('memory grown right before threaded kernels that use the new region', () => {
    // Every round allocates operands past the end of the memory (forcing a growth) and runs
    // threaded kernels on them at once, including conv2dBackwardInput (memory.fill on its
    // output) and im2col over padded rows; the workers must see the grown memory.
    const r = rng(22);
    const startBytes = w2.alloc(1).buffer.byteLength;
    const p: Conv2dParams = {
      batch: 16,
      inC: 16,
      inH: 14,
      inW: 14,
      outC: 32,
      outH: 14,
      outW: 14,
      kH: 3,
      kW: 3,
      strideH: 1,
      strideW: 1,
      padH: 1,
      padW: 1,
      dilH: 1,
      dilW: 1,
      groups: 1,
    };
    const xN = p.batch * p.inC * p.inH * p.inW;
    const gN = p.batch * p.outC * p.outH * p.outW;
    const wN = p.outC * p.inC * 9;
    for (let round = 0; round < 8; round++) {
      // A block bigger than the growth step, never freed: the next blocks lie past the old end.
      w2.alloc((5 << 20) + round * 4096);
      const x = Float32Array.from({ length: xN }, () => r() * 2 - 1);
      const g = Float32Array.from({ length: gN }, () => r() * 2 - 1);
      const wt = Float32Array.from({ length: wN }, () => r() * 2 - 1);
      const x2 = w2.alloc(xN);
      const g2 = w2.alloc(gN);
      const wt2 = w2.alloc(wN);
      x2.set(x);
      g2.set(g);
      wt2.set(wt);
      const dx2 = w2.alloc(xN);
      const dw2 = w2.alloc(wN);
      const y2 = w2.alloc(gN);
      const dx1 = new Float32Array(xN);
      const dw1 = new Float32Array(wN);
      const y1 = new Float32Array(gN);
      w2.conv2dBackwardInput(g2, wt2, dx2, p);
      w2.conv2dBackwardWeight(x2, g2, dw2, p);
      w2.conv2d(x2, wt2, null, y2, p);
      w1.conv2dBackwardInput(g, wt, dx1, p);
      w1.conv2dBackwardWeight(x, g, dw1, p);
      w1.conv2d(x, wt, null, y1, p);
      expect(bitDiffs(dx2, dx1), `round ${round} dx`).toBe(0);
      expect(bitDiffs(dw2, dw1), `round ${round} dw`).toBe(0);
      expect(bitDiffs(y2, y1), `round ${round} y`).toBe(0);
    }
    expect(w2.alloc(1).buffer.byteLength).toBeGreaterThan(startBytes + 8 * (20 << 20));
  });
});
