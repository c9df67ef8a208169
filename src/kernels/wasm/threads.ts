/**
 * Thread pool for the wasm kernels: worker threads (Node `worker_threads`, or Web Workers in a
 * cross-origin-isolated page) that each instantiate the same module over the same shared
 * memory and wait for work on a control block in that memory.
 *
 * Dispatch is synchronous, from the calling thread:
 *   1. the caller writes the kernel arguments into the shared argument block,
 *   2. stores the kernel index and thread count, resets the work queue to (generation, item 0)
 *      and FINISHED to 0, bumps GEN (seq-cst Atomics, which also publish the arguments) and
 *      notifies the workers,
 *   3. runs the kernel itself: every thread claims items from the queue until none are left
 *      (see assembly/common.ts) and the kernel returns the item count,
 *   4. waits until FINISHED reaches that count.
 * The caller never waits for a worker that has not claimed anything: a worker that wakes up late
 * (busy machine, slow futex wake-up) finds the queue empty, so a threaded kernel is never much
 * slower than the single-threaded one. Waiting is a short spin on Atomics.load and then
 * Atomics.wait, so idle workers cost nothing. A worker that throws raises ERROR, which the
 * caller checks while waiting, so it never deadlocks.
 *
 * Waking a sleeping worker is expensive: Atomics.notify measured ~200 µs on a busy 2-core
 * machine (the woken worker preempts the caller on its core). Workers therefore count
 * themselves in SLEEPERS while blocked, and a kernel only wakes them when it is large
 * (`weight` ≥ WAKE_WEIGHT, in multiples of the threading threshold); smaller kernels use the
 * workers only while they are still spinning after the previous kernel, else run on the caller.
 *
 * On an oversubscribed machine a worker can claim an item and then be descheduled for a whole
 * time slice while the caller waits for it; measured here, 2 threads then ran 2–3× slower than
 * one. So after each large threaded kernel the caller compares the elapsed time with what it
 * would have taken alone (its own compute time × items / items it did); when threading lost
 * twice in a row, the pool runs single-threaded for a back-off period (250 ms, doubling up to
 * 8 s while it keeps losing) and then tries threads again.
 *
 * Control block (at CTRL_OFFSET): Int32 slots 0 GEN, 1 KERNEL (−1 = exit), 2 NTH; bytes 16–23
 * the queue (u64: generation << 32 | next item); Int32 slot 6 FINISHED; slot 8 ERROR;
 * slot 10 SLEEPERS.
 */

const GEN = 0;
const KERNEL = 1;
const NTH = 2;
const QUEUE_I64 = 2; // BigInt64 index of byte 16
const FINISHED = 6;
const ERROR = 8;
const SLEEPERS = 10;

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
  const { module, memory, tid, ctrlOffset, argsOffset, kernels, spinMs } = data;
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
    // A stale (gen, k, nth) read is harmless: the queue holds the newer generation, so the
    // kernel claims nothing and returns.
    try {
      fns[k](argsOffset, tid, Atomics.load(ctrl, ${NTH}), gen);
    } catch (e) {
      Atomics.store(ctrl, ${ERROR}, 1);
    }
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
  private readonly ctrl: Int32Array;
  private readonly queue: BigInt64Array;
  private gen = 0;
  private readonly argsOffset: number;
  private readonly workers: WorkerHandle[];
  private readonly canWait: boolean;
  private readonly claimedItems: () => number;
  private disposed = false;
  // Threading self-check state (see the header).
  private strikes = 0;
  private backoffMs = 0;
  private backoffUntil = 0;

  private constructor(init: PoolInit, workers: WorkerHandle[]) {
    this.threads = workers.length + 1;
    this.fns = init.kernels.map((name) => {
      const f = init.exports[name];
      if (typeof f !== 'function') throw new Error(`wasm backend: the module has no kernel export '${name}'`);
      return f as KernelFn;
    });
    this.claimedItems = init.exports.claimedItems as () => number;
    this.ctrl = new Int32Array(init.memory.buffer, init.ctrlOffset, 64);
    this.queue = new BigInt64Array(init.memory.buffer, init.ctrlOffset, 8);
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
    const base = {
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
    return new ThreadPool(init, workers);
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
      (weight < WAKE_WEIGHT && Atomics.load(ctrl, SLEEPERS) > 0) ||
      (this.backoffUntil > 0 && performance.now() < this.backoffUntil)
    ) {
      fn(this.argsOffset, 0, 1, 0);
      return;
    }
    if (this.disposed) throw new Error('wasm backend: used after dispose()');
    const gen = (this.gen = (this.gen + 1) >>> 0);
    Atomics.store(ctrl, KERNEL, k);
    Atomics.store(ctrl, NTH, Math.min(nth, this.threads));
    Atomics.store(this.queue, QUEUE_I64, BigInt(gen) << 32n);
    Atomics.store(ctrl, FINISHED, 0);
    Atomics.store(ctrl, GEN, gen | 0);
    // A worker that counts itself as sleeping after this load re-checks GEN in Atomics.wait.
    if (Atomics.load(ctrl, SLEEPERS) > 0) Atomics.notify(ctrl, GEN);
    // The caller's own items. If it throws, the items it claimed will never finish: report
    // the error (the memory written so far is the caller's problem either way).
    const t0 = performance.now();
    const total = fn(this.argsOffset, 0, nth, gen);
    const t1 = performance.now();
    let d = Atomics.load(ctrl, FINISHED);
    if (d !== total) {
      const t0 = performance.now();
      let spins = 0;
      while ((d = Atomics.load(ctrl, FINISHED)) !== total) {
        if (Atomics.load(ctrl, ERROR) !== 0) break;
        if ((++spins & 255) === 0 && this.canWait && performance.now() - t0 > CALLER_SPIN_MS) {
          Atomics.wait(ctrl, FINISHED, d, 20);
        }
      }
    }
    if (Atomics.load(ctrl, ERROR) !== 0) {
      Atomics.store(ctrl, ERROR, 0);
      throw new Error(`wasm backend: a worker thread failed in kernel #${k}`);
    }
    if (weight >= WAKE_WEIGHT && total >= 2) this.judge(t0, t1, performance.now(), total);
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
