/**
 * Thread pool for the wasm kernels: worker threads (Node `worker_threads`, or Web Workers in a
 * cross-origin-isolated page) that each instantiate the same module over the same shared
 * memory and wait for work on a control block in that memory.
 *
 * Dispatch is synchronous, from the calling thread:
 *   1. the caller writes the kernel arguments into the shared argument block,
 *   2. stores the kernel index and thread count,
 *   3. runs the kernel itself, which reads the arguments, computes its item count and opens the
 *      generation: resets the work queue to (generation, item 0) and FINISHED to 0, publishes
 *      the count (TOTAL, tagged with the generation), bumps GEN (seq-cst stores, which also
 *      publish everything written before) and wakes sleeping workers; then every thread claims
 *      items from the queue until none are left (see assembly/common.ts) and the kernel returns
 *      the item count,
 *   4. waits until FINISHED reaches that count.
 * The caller never waits for a worker that has not claimed anything: a worker that wakes up late
 * (busy machine, slow futex wake-up) finds the queue empty, so a threaded kernel is never much
 * slower than the single-threaded one. Waiting is a short spin on Atomics.load and then
 * Atomics.wait, so idle workers cost nothing.
 *
 * Safety against late workers (the part that is easy to get wrong): once run() returns, the
 * caller rewrites the argument block for its next kernel — threaded or not — while a worker
 * that saw the old GEN may only now be entering the kernel. Such a worker must not act on what
 * it reads. Every kernel therefore starts with joinItems (assembly/common.ts): a worker first
 * claims an item against the *published*, generation-tagged item count and reads the kernel
 * arguments only after that claim succeeded. A successful claim proves the generation was still
 * open, and it stays open (the caller waits for that item) until the worker is done with it;
 * a worker that cannot claim returns without touching memory. The kernel index and thread count
 * the worker read before the claim are covered by the same argument.
 *
 * Results never depend on how many threads took part or which thread ran which item: every
 * kernel's items, and the order in which anything is summed, are a function of the call's
 * arguments only (see index.ts, "Determinism"). That is what lets run() fall back to the caller
 * alone at any time (small kernels while workers sleep, back-off) without changing a single bit.
 *
 * Errors: a worker that throws writes its message to a shared error buffer and raises ERROR,
 * which the caller checks while waiting; the caller then closes the generation (no further
 * claims), waits until no worker is inside a kernel (ACTIVE = 0), and throws an Error carrying
 * the worker's message. The same happens when the caller's own part throws. Protocol violations
 * — a kernel that did not open its generation with the count it returned, or returned with
 * unclaimed items; FINISHED short of the count with no worker inside a kernel, or past it — are
 * reported as errors, never waited on: the pool cannot hang.
 *
 * Waking a sleeping worker is expensive (Atomics.notify, and on a busy machine the woken worker
 * preempts the caller on its core). Workers therefore count
 * themselves in SLEEPERS while blocked, and a kernel only wakes them when it is large
 * (`weight` ≥ WAKE_WEIGHT, in multiples of the threading threshold); smaller kernels use the
 * workers only while they are still spinning after the previous kernel, else run on the caller.
 *
 * On an oversubscribed machine a worker can claim an item and then be descheduled for a whole
 * time slice while the caller waits for it, and 2 threads then run slower than one. So after
 * each large threaded kernel the caller compares the elapsed time with what it would have taken
 * alone (its own compute time × items / items it did); when threading lost twice in a row, the
 * pool runs single-threaded for a back-off period (250 ms, doubling up to 8 s while it keeps
 * losing) and then tries threads again.
 *
 * The control block (at CTRL_OFFSET): its fields are CONTROL in abi.ts, which the kernels'
 * item queue (assembly/common.ts) reads through generated constants.
 */
import { CONTROL } from './abi.js';

// Indices of the control block's fields in Int32 (and, for the u64 fields, BigUint64) views.
const GEN = CONTROL.gen / 4;
const KERNEL = CONTROL.kernel / 4;
const NTH = CONTROL.nth / 4;
const QUEUE_U64 = CONTROL.queue / 8;
const FINISHED = CONTROL.finished / 4;
const ERROR = CONTROL.error / 4;
const SLEEPERS = CONTROL.sleepers / 4;
const TOTAL_U64 = CONTROL.total / 8;
const ACTIVE = CONTROL.active / 4;

/** Bytes of the shared buffer a failing worker writes its error text to. */
const ERROR_BUF_BYTES = 4096;

/** Kernels at least this many times the threading threshold wake sleeping workers. */
const WAKE_WEIGHT = 8;
/** Back-off bounds (ms) after threading lost (see above). */
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 8000;

// Spinning avoids futex wake-ups between back-to-back kernels and is free on an idle core, but
// with more runnable threads than cores a spinning thread can sit on its partner's core and
// slow it down, so both spins are short.
/** How long a worker keeps spinning for the next kernel before sleeping (ms). */
const WORKER_SPIN_MS = 0.2;
/** How long the caller spins for claimed items to finish before sleeping (ms). */
const CALLER_SPIN_MS = 0.2;

/**
 * The worker's body, as source text so it runs without resolving a file next to this module
 * (works from src/ under vitest, from dist/, and from a bundle).
 */
const WORKER_CORE = `
function aelabWorker(data, post) {
  const { module, memory, tid, ctrlOffset, argsOffset, kernels, spinMs, errorBuf } = data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const fns = kernels.map((name) => instance.exports[name]);
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, 64);
  let gen = Atomics.load(ctrl, ${GEN});
  post('ready');
  for (;;) {
    if (Atomics.load(ctrl, ${GEN}) === gen) {
      const t0 = performance.now();
      let spins = 0;
      while (Atomics.load(ctrl, ${GEN}) === gen) {
        if ((++spins & 255) === 0 && performance.now() - t0 > spinMs) {
          Atomics.add(ctrl, ${SLEEPERS}, 1);
          Atomics.wait(ctrl, ${GEN}, gen);
          Atomics.sub(ctrl, ${SLEEPERS}, 1);
        }
      }
    }
    gen = Atomics.load(ctrl, ${GEN});
    const k = Atomics.load(ctrl, ${KERNEL});
    if (k < 0) break;
    // A stale (gen, k, nth) read is harmless: the kernel claims an item before it reads
    // anything else (joinItems, assembly/common.ts), and a successful claim proves that k and
    // nth belong to gen; otherwise it returns at once.
    Atomics.add(ctrl, ${ACTIVE}, 1);
    try {
      fns[k](argsOffset, tid, Math.max(2, Atomics.load(ctrl, ${NTH})), gen);
    } catch (e) {
      // First error wins: its text goes to the shared error buffer (Int32 0 = length, 1 = tid,
      // UTF-8 from byte 8), then ERROR is raised so the caller stops waiting and reads it.
      const err = new Int32Array(errorBuf, 0, 2);
      if (Atomics.compareExchange(err, 0, 0, -1) === 0) {
        let text;
        try {
          text = String(e && e.stack ? e.stack : e);
        } catch {
          text = 'unprintable exception';
        }
        const bytes = new TextEncoder().encode(text).subarray(0, errorBuf.byteLength - 8);
        new Uint8Array(errorBuf, 8, bytes.length).set(bytes);
        Atomics.store(err, 1, tid);
        Atomics.store(err, 0, bytes.length);
      }
      Atomics.store(ctrl, ${ERROR}, 1);
    }
    Atomics.sub(ctrl, ${ACTIVE}, 1);
    Atomics.notify(ctrl, ${FINISHED});
  }
}
`;

const NODE_WORKER_SOURCE = `${WORKER_CORE}
const { workerData, parentPort } = require('node:worker_threads');
aelabWorker(workerData, (m) => parentPort.postMessage(m));
`;

const BROWSER_WORKER_SOURCE = `${WORKER_CORE}
self.onmessage = (ev) => {
  self.onmessage = null;
  aelabWorker(ev.data, (m) => self.postMessage(m));
  self.postMessage('exit');
  self.close();
};
`;

type KernelFn = (args: number, tid: number, nth: number, gen: number) => number;

interface WorkerHandle {
  terminate(): Promise<unknown> | void;
  exited: Promise<void>;
  /** Node: whether the worker keeps the event loop alive (only while starting or stopping). */
  keepAlive(on: boolean): void;
}

export interface PoolInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Kernel export names; `run` takes an index into this list. */
  kernels: readonly string[];
  /** The caller's own instance's exports. */
  exports: Record<string, unknown>;
  ctrlOffset: number;
  argsOffset: number;
  threads: number;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** Cores available to this process / page. */
export async function defaultThreadCount(): Promise<number> {
  if (isNode()) {
    const modName = 'node:os';
    const os = (await import(/* @vite-ignore */ modName)) as typeof import('node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

export class ThreadPool {
  readonly threads: number;
  private readonly fns: KernelFn[];
  private readonly kernelNames: string[];
  private readonly ctrl: Int32Array;
  /** The control block as u64 words (QUEUE, TOTAL). */
  private readonly ctrl64: BigUint64Array;
  /** Set when a worker did not return after a failure: run everything on the caller. */
  private broken = false;
  private gen = 0;
  private readonly argsOffset: number;
  private readonly workers: WorkerHandle[];
  private readonly canWait: boolean;
  private readonly claimedItems: () => number;
  /** Where a failing worker leaves its error text (see WORKER_CORE). */
  private readonly errorBuf: SharedArrayBuffer | null;
  private disposed = false;
  // Threading self-check state (see the header).
  private strikes = 0;
  private backoffMs = 0;
  private backoffUntil = 0;

  private constructor(init: PoolInit, workers: WorkerHandle[], errorBuf: SharedArrayBuffer | null) {
    this.threads = workers.length + 1;
    this.errorBuf = errorBuf;
    this.kernelNames = [...init.kernels];
    this.fns = init.kernels.map((name) => {
      const f = init.exports[name];
      if (typeof f !== 'function') throw new Error(`wasm backend: the module has no kernel export '${name}'`);
      return f as KernelFn;
    });
    this.claimedItems = init.exports.claimedItems as () => number;
    this.ctrl = new Int32Array(init.memory.buffer, init.ctrlOffset, 64);
    this.ctrl64 = new BigUint64Array(init.memory.buffer, init.ctrlOffset, 8);
    this.argsOffset = init.argsOffset;
    this.workers = workers;
    // Atomics.wait throws on a browser's main thread: spin there instead.
    let canWait = true;
    try {
      Atomics.wait(this.ctrl, 63, 1, 0);
    } catch {
      canWait = false;
    }
    this.canWait = canWait;
  }

  /** Starts `init.threads − 1` workers (none for 1 thread) and waits until they are ready. */
  static async create(init: PoolInit): Promise<ThreadPool> {
    const n = Math.max(0, init.threads - 1);
    const workers: WorkerHandle[] = [];
    const errorBuf = n > 0 ? new SharedArrayBuffer(ERROR_BUF_BYTES) : null;
    const base = {
      errorBuf,
      module: init.module,
      memory: init.memory,
      ctrlOffset: init.ctrlOffset,
      argsOffset: init.argsOffset,
      kernels: [...init.kernels],
      spinMs: WORKER_SPIN_MS,
    };
    const ready: Promise<void>[] = [];
    try {
      if (n > 0 && isNode()) {
        const modName = 'node:worker_threads';
        const wt = (await import(/* @vite-ignore */ modName)) as typeof import('node:worker_threads');
        for (let i = 0; i < n; i++) {
          const w = new wt.Worker(NODE_WORKER_SOURCE, { eval: true, workerData: { ...base, tid: i + 1 } });
          const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
          workers.push({ terminate: () => w.terminate(), exited, keepAlive: (on) => (on ? w.ref() : w.unref()) });
          ready.push(
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', (e) => reject(new Error(`wasm backend: worker ${i + 1} failed to start: ${String(e)}`)));
            }),
          );
        }
      } else if (n > 0) {
        const url = URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
        for (let i = 0; i < n; i++) {
          const w = new Worker(url);
          let onExit: () => void = () => {};
          const exited = new Promise<void>((resolve) => (onExit = resolve));
          workers.push({
            terminate: () => {
              w.terminate();
              onExit();
            },
            exited,
            keepAlive: () => {},
          });
          ready.push(
            new Promise<void>((resolve, reject) => {
              // Messages: 'ready' once instantiated, 'exit' when it leaves its loop.
              w.onmessage = (ev: MessageEvent) => (ev.data === 'exit' ? onExit() : resolve());
              w.onerror = (e) => reject(new Error(`wasm backend: worker ${i + 1} failed to start: ${e.message}`));
            }),
          );
          w.postMessage({ ...base, tid: i + 1 });
        }
        URL.revokeObjectURL(url);
      }
      await Promise.all(ready);
      // Idle workers must never keep the process alive (they only hold the loop while starting).
      for (const w of workers) w.keepAlive(false);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new ThreadPool(init, workers, errorBuf);
  }

  /**
   * Runs kernel `k` on up to `nth` threads (1 = the caller alone) with the arguments already
   * written to the argument block; returns when every item is done. `weight` is the kernel's
   * size in multiples of its threading threshold: below WAKE_WEIGHT, sleeping workers are not
   * woken (the kernel runs on the caller unless they are still spinning).
   */
  run(k: number, nth: number, weight = Infinity): void {
    const fn = this.fns[k]!;
    const ctrl = this.ctrl;
    if (
      nth <= 1 ||
      this.workers.length === 0 ||
      this.broken ||
      (weight < WAKE_WEIGHT && Atomics.load(ctrl, SLEEPERS) > 0) ||
      (this.backoffUntil > 0 && performance.now() < this.backoffUntil)
    ) {
      // Alone: same items in index order, so the same bits as a threaded run (see the header).
      fn(this.argsOffset, 0, 1, 0);
      return;
    }
    if (this.disposed) throw new Error('wasm backend: used after dispose()');
    // Generation 0 is never used by a threaded call (single-threaded calls pass 0).
    const gen = (this.gen = (this.gen + 1) >>> 0 || 1);
    const g64 = BigInt(gen) << 32n;
    Atomics.store(ctrl, KERNEL, k);
    Atomics.store(ctrl, NTH, Math.min(nth, this.threads));
    // The kernel opens generation `gen` itself once it knows its item count (queue, FINISHED,
    // TOTAL, GEN, and the wake-up of sleeping workers: beginItems in assembly/common.ts).
    const t0 = performance.now();
    let total: number;
    try {
      total = fn(this.argsOffset, 0, Math.min(nth, this.threads), gen);
    } catch (e) {
      // The items the caller claimed will never finish: close the generation and let the
      // workers leave before the caller's memory is reused.
      this.abandon(g64);
      throw e;
    }
    const t1 = performance.now();
    // The caller's part returns after opening the generation with its item count (beginItems)
    // and after claiming every item left (its loop ends when none is). Anything else would leave
    // the wait below without an end: report it instead.
    const opened = Atomics.load(ctrl, GEN) === (gen | 0) && Atomics.load(this.ctrl64, TOTAL_U64) === (g64 | BigInt(total >>> 0));
    if (!opened || Atomics.load(this.ctrl64, QUEUE_U64) < (g64 | BigInt(total >>> 0))) {
      this.abandon(g64);
      throw new Error(
        `wasm backend: internal error: kernel #${k} (${this.kernelNames[k]}) ${opened ? 'returned with unclaimed items' : 'did not open its generation with its item count'}`,
      );
    }
    let d = Atomics.load(ctrl, FINISHED);
    let stuck = false;
    if (d < total) {
      const t0 = performance.now();
      let spins = 0;
      while ((d = Atomics.load(ctrl, FINISHED)) < total) {
        if (Atomics.load(ctrl, ERROR) !== 0) break;
        if ((++spins & 255) === 0) {
          // Every item is claimed (checked above), and a worker stays ACTIVE from before its
          // claims until after it has counted them in FINISHED. So no active worker and still
          // items missing (read in that order) can only be a protocol violation: an error,
          // never an endless wait. (ERROR is raised before ACTIVE drops, so check it again.)
          if (Atomics.load(ctrl, ACTIVE) === 0 && Atomics.load(ctrl, FINISHED) < total && Atomics.load(ctrl, ERROR) === 0) {
            stuck = true;
            break;
          }
          if (this.canWait && performance.now() - t0 > CALLER_SPIN_MS) Atomics.wait(ctrl, FINISHED, d, 20);
        }
      }
    }
    if (stuck) {
      this.abandon(g64);
      throw new Error(
        `wasm backend: internal error in kernel #${k} (${this.kernelNames[k]}): ${Atomics.load(ctrl, FINISHED)} of ${total} items finished and no worker is running`,
      );
    }
    if (Atomics.load(ctrl, ERROR) !== 0) {
      this.abandon(g64);
      Atomics.store(ctrl, ERROR, 0);
      throw new Error(`wasm backend: a worker thread failed in kernel #${k} (${this.kernelNames[k]}): ${this.takeWorkerError()}`);
    }
    if (d !== total) {
      this.abandon(g64);
      throw new Error(`wasm backend: internal error in kernel #${k} (${this.kernelNames[k]}): ${d} items finished of ${total}`);
    }
    if (weight >= WAKE_WEIGHT && total >= 2) this.judge(t0, t1, performance.now(), total);
  }

  /**
   * After a failure: closes generation `g64` (no item can be claimed any more, and workers
   * waiting for the item count give up), then waits until no worker is inside a kernel. If one
   * does not come back within a second, the pool stops using the workers.
   */
  private abandon(g64: bigint): void {
    Atomics.store(this.ctrl64, QUEUE_U64, g64 | 0xffffffffn);
    Atomics.store(this.ctrl64, TOTAL_U64, g64);
    const t0 = performance.now();
    while (Atomics.load(this.ctrl, ACTIVE) > 0) {
      if (performance.now() - t0 > 1000) {
        this.broken = true;
        return;
      }
      if (this.canWait) Atomics.wait(this.ctrl, FINISHED, Atomics.load(this.ctrl, FINISHED), 5);
    }
  }

  /** The text a failing worker left in the error buffer (and clears it for the next one). */
  private takeWorkerError(): string {
    if (this.errorBuf === null) return 'no details';
    const err = new Int32Array(this.errorBuf, 0, 2);
    // A worker that won the slot may still be writing its text (length −1): wait briefly.
    const t0 = performance.now();
    while (Atomics.load(err, 0) === -1 && performance.now() - t0 < 100) {
      if (this.canWait) Atomics.wait(err, 0, -1, 1);
    }
    const len = Atomics.load(err, 0);
    if (len <= 0) return 'no details';
    const tid = Atomics.load(err, 1);
    // TextDecoder refuses views of shared memory: copy out first.
    const text = new TextDecoder().decode(new Uint8Array(this.errorBuf, 8, len).slice());
    Atomics.store(err, 1, 0);
    Atomics.store(err, 0, 0);
    return `worker ${tid}: ${text}`;
  }

  /** Threading self-check after a large kernel: caller work t0→t1, finished at t2. */
  private judge(t0: number, t1: number, t2: number, total: number): void {
    const mine = this.claimedItems();
    if (mine <= 0) return; // the caller did nothing itself: no estimate
    const alone = ((t1 - t0) * total) / mine;
    if (t2 - t0 > 1.1 * alone && t2 - t1 > 0.2) {
      if (++this.strikes >= 2) {
        this.strikes = 0;
        this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs > 0 ? 2 * this.backoffMs : BACKOFF_MIN_MS);
        this.backoffUntil = t2 + this.backoffMs;
      }
    } else if (t2 - t0 < 0.8 * alone) {
      this.strikes = 0;
      this.backoffMs = 0;
      this.backoffUntil = 0;
    }
  }

  /** Stops the workers (they leave their loop and exit). Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length === 0) return;
    for (const w of this.workers) w.keepAlive(true);
    Atomics.store(this.ctrl, KERNEL, -1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 2000);
    });
    const all = Promise.all(this.workers.map((w) => w.exited)).then(() => 'ok' as const);
    const how = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (how === 'timeout') await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
