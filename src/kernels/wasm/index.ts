/**
 * The WebAssembly SIMD backend: the hot kernels (GEMM, conv, elementwise, reduce, optimizer
 * steps, max/average pooling, nearest upsampling) run as AssemblyScript code over one shared
 * memory, split across worker threads; slices and index select/add move rows with the wasm
 * copy/add; the rest (permutes, argmax, strided or short slice runs, and the broadcasts the
 * wasm plans do not cover) delegate to the js reference backend on the same arrays (views into
 * wasm memory are ordinary Float32Arrays). It implements every primitive and every fused kernel
 * of backend.ts.
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
 * result. Tests: test/kernels/wasm/determinism.test.ts.
 *
 * Two builds of the kernels ship: baseline SIMD, and relaxed SIMD (fused multiply-add in the
 * GEMM micro-kernel, which then issues two FMAs per cycle instead of a multiply and an add). The relaxed one is used where the engine supports it
 * (on Node 20/21 by turning on V8's flag); `relaxedSimd: false` or env AELAB_WASM_RELAXED=0
 * forces the baseline.
 *
 * The files (the kernel families as assembly/ has them; each family is functions of the
 * backend's WasmContext):
 *
 *   index.ts        createWasmBackend: the kernel table below
 *   loader.ts       the module's bytes, engine feature tests, compilation
 *   memory.ts       the heap (allocator) and the memory layout
 *   threads.ts      the thread pool and its protocol
 *   context.ts      WasmContext: a kernel call's arguments, temporaries and threading
 *   abi.ts          the kernels' argument layouts and op codes (generated for both sides)
 *   elementwise.ts  unary, unaryGrad, binary (+ the fused loss ops), where, clamp, expand
 *   losses.ts       bceRows, bceLogitsRows, klNormalRows, reparameterize
 *   reduce.ts       reduce, argmax
 *   gemm.ts         matmul, matmulEpilogue
 *   conv.ts         conv2d and its gradients
 *   pool.ts         max / average pooling, nearest upsampling, their gradients
 *   shape.ts        permute, slices, index select / add, gatherRows8
 *   optim.ts        the fused optimizer steps
 */
import type { FullBackend } from '../backend.js';
import { KERNEL_NAMES } from './abi.js';
import { type MemOps, WasmContext } from './context.js';
import * as conv from './conv.js';
import * as ew from './elementwise.js';
import * as gemm from './gemm.js';
import { compileModule, envThreads, relaxedSimdSupported, sharedMemorySupported, wasmSimdSupported } from './loader.js';
import * as losses from './losses.js';
import { ARGS_OFFSET, CTRL_OFFSET, Heap } from './memory.js';
import { WASM_INITIAL_PAGES, WASM_MAX_PAGES } from './module.generated.js';
import * as optim from './optim.js';
import * as pool from './pool.js';
import * as reduce from './reduce.js';
import * as shape from './shape.js';
import { defaultThreadCount, ThreadPool } from './threads.js';

export { wasmSimdSupported };

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
  const threadPool = await ThreadPool.create({
    module,
    memory,
    kernels: KERNEL_NAMES,
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
  const c = new WasmContext(new Heap(memory, maxPages), threadPool, gemmScratch, shared, mem);
  return kernelTable(c, relaxed ? 'relaxed-simd' : 'simd');
}

/** The backend: every kernel of backend.ts, each a function of the family file that runs it. */
function kernelTable(c: WasmContext, simd: 'simd' | 'relaxed-simd'): WasmBackend {
  return {
    name: 'wasm',
    threads: c.threads,
    simd,
    dispose: () => c.pool.dispose(),
    alloc: (n, zeroed) => c.alloc(n, zeroed),
    free: (a) => c.free(a),
    allocatedBytes: () => c.allocatedBytes(),
    fill: (out, value) => c.fill(out, value),
    copy: (src, out) => c.copy(src, out),
    unary: (op, x, out, p) => ew.unary(c, op, x, out, p),
    binary: (op, a, aShape, b, bShape, out, outShape) => ew.binary(c, op, a, aShape, b, bShape, out, outShape),
    where: (cond, a, b, out) => ew.where(c, cond, a, b, out),
    clamp: (x, lo, hi, out) => ew.clamp(c, x, lo, hi, out),
    expand: (x, xShape, out, outShape) => ew.expand(c, x, xShape, out, outShape),
    reduce: (op, x, shape, axes, out) => reduce.reduce(c, op, x, shape, axes, out),
    argmax: (x, shape, axis, out) => reduce.argmax(c, x, shape, axis, out),
    matmul: (a, b, out, p) => gemm.matmul(c, a, b, out, p),
    permute: (x, shp, perm, out) => shape.permute(c, x, shp, perm, out),
    slice: (x, shp, starts, steps, out, outShape) => shape.slice(c, x, shp, starts, steps, out, outShape),
    sliceAdd: (g, gShape, starts, steps, out, shp) => shape.sliceAdd(c, g, gShape, starts, steps, out, shp),
    indexSelect: (x, shp, axis, idx, out) => shape.indexSelect(c, x, shp, axis, idx, out),
    indexAdd: (g, shp, axis, idx, out) => shape.indexAdd(c, g, shp, axis, idx, out),
    conv2d: (x, w, bias, out, p) => conv.conv2d(c, x, w, bias, out, p),
    conv2dBackwardInput: (g, w, out, p) => conv.conv2dBackwardInput(c, g, w, out, p),
    conv2dBackwardWeight: (x, g, out, p) => conv.conv2dBackwardWeight(c, x, g, out, p),
    maxPool2d: (x, out, idx, p) => pool.maxPool2d(c, x, out, idx, p),
    maxPool2dBackward: (g, idx, out, p) => pool.maxPool2dBackward(c, g, idx, out, p),
    avgPool2d: (x, out, p) => pool.avgPool2d(c, x, out, p),
    avgPool2dBackward: (g, out, p) => pool.avgPool2dBackward(c, g, out, p),
    fused: {
      unaryGrad: (op, x, g, out, p) => ew.unaryGrad(c, op, x, g, out, p),
      binary: (op, a, aShape, b, bShape, out, outShape) => ew.binary(c, op, a, aShape, b, bShape, out, outShape),
      bceRows: (p, y, rows, cols, loss, grad) => losses.bceRows(c, p, y, rows, cols, loss, grad),
      bceLogitsRows: (z, y, rows, cols, loss, sq, diff) => losses.bceLogitsRows(c, z, y, rows, cols, loss, sq, diff),
      klNormalRows: (mu, lv, rows, cols, out, dlv) => losses.klNormalRows(c, mu, lv, rows, cols, out, dlv),
      reparameterize: (mu, lv, eps, z, half) => losses.reparameterize(c, mu, lv, eps, z, half),
      matmulEpilogue: (a, b, out, p) => gemm.matmulEpilogue(c, a, b, out, p),
      upsampleNearest: (x, planes, h, w, sh, sw, out) => pool.upsampleNearest(c, x, planes, h, w, sh, sw, out),
      upsampleNearestBackward: (g, planes, h, w, sh, sw, out) => pool.upsampleNearestBackward(c, g, planes, h, w, sh, sw, out),
      allocBytes: (n) => c.allocBytes(n),
      gatherRows8: (src, d, idx, out) => shape.gatherRows8(c, src, d, idx, out),
      adamStep: (p, g, m, v, vmax, hp) => optim.adamStep(c, p, g, m, v, vmax, hp),
      sgdStep: (p, g, buf, hp) => optim.sgdStep(c, p, g, buf, hp),
      rmspropStep: (p, g, squareAvg, gradAvg, buf, hp) => optim.rmspropStep(c, p, g, squareAvg, gradAvg, buf, hp),
      adagradStep: (p, g, sum, hp) => optim.adagradStep(c, p, g, sum, hp),
      adadeltaStep: (p, g, squareAvg, accDelta, hp) => optim.adadeltaStep(c, p, g, squareAvg, accDelta, hp),
    },
  };
}
