/**
 * The wasm backend against the js reference, kernel by kernel, on seeded random inputs: odd
 * sizes (not multiples of the 4×8 GEMM tile or of the f32x4 width), every broadcast pattern the
 * binary kernel specialises (and ones it hands to the reference), every reduce layout, conv
 * with stride / padding / dilation / groups / 1×1, and sizes large enough to be split across
 * threads. Everything runs with 1 thread and with 2 threads. Inputs are mostly views into wasm
 * memory (the fast path); some tests pass ordinary Float32Arrays to cover the copy-in/out path.
 *
 * Tolerance: |wasm − js| ≤ 1e-5·(|js| + scale), scale 0 for elementwise kernels and the RMS of
 * the reference output for sums of products (GEMM, conv, reductions), where the two backends
 * round in different orders.
 *
 * At the end: the thread pool itself — late workers must never act on another call's arguments
 * (played by hand on two module instances), a worker's exception reaches the caller, stress
 * with memory growth and back-to-back kernels — and determinism: every kernel, and a 300-step
 * training run, give the same bits on 1 and 2 threads.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AdadeltaParams,
  AdagradParams,
  AdamParams,
  BinaryOp,
  Conv2dParams,
  F32,
  FullBackend,
  FusedBinaryOp,
  MatmulActivation,
  MatmulEpilogueParams,
  MatmulParams,
  Pool2dParams,
  ReduceOp,
  RmspropParams,
  SgdParams,
  Shape,
  UnaryGradOp,
  UnaryOp,
} from '../../src/kernels/backend.js';
import { FUSED_BINARY_OPS } from '../../src/kernels/backend.js';
import { jsBackend as js } from '../../src/kernels/js/index.js';
import { getBackend, useBackend } from '../../src/kernels/registry.js';
import { createWasmBackend, wasmSimdSupported, type WasmBackend } from '../../src/kernels/wasm/index.js';
import { ARGS_OFFSET, CTRL_OFFSET } from '../../src/kernels/wasm/memory.js';
import { ThreadPool } from '../../src/kernels/wasm/threads.js';
import { WASM_BASE64 } from '../../src/kernels/wasm/module.generated.js';
import { loadEmbeddedMnist } from '../../src/data/index.js';
import { CNNClassifier, defaultConfig, type OptimizerLike } from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';

// ---------------------------------------------------------------------------------------------
// helpers

/** mulberry32: small seeded generator so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let rand = rng(1);

function randArr(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

const prod = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** A primitive binary op, or a fused loss op (FusedKernels.binary), on backend b. */
function bin(b: FullBackend, op: BinaryOp | FusedBinaryOp, a: F32, as: Shape, bb: F32, bs: Shape, out: F32, os: Shape): void {
  if ((FUSED_BINARY_OPS as readonly string[]).includes(op)) b.fused.binary(op as FusedBinaryOp, a, as, bb, bs, out, os);
  else b.binary(op as BinaryOp, a, as, bb, bs, out, os);
}

function rms(a: F32): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s / Math.max(1, a.length));
}

/** Asserts |got − want| ≤ rtol·(|want| + scale) elementwise; NaN must match NaN, ±∞ exactly. */
function expectClose(got: F32, want: F32, what: string, opts: { rtol?: number; scale?: number } = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const scale = opts.scale ?? 0;
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) throw new Error(`${what}: [${i}] got ${g}, want ${w}`);
      continue;
    }
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g !== w) throw new Error(`${what}: [${i}] got ${g}, want ${w}`);
      continue;
    }
    const tol = rtol * (Math.abs(w) + scale) + 1e-37;
    if (!(Math.abs(g - w) <= tol)) {
      throw new Error(`${what}: [${i}] got ${g}, want ${w} (|diff| ${Math.abs(g - w)} > tol ${tol})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('wasm backend: environment', () => {
  it('detects SIMD support in Node', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  it('takes the thread count from AELAB_THREADS unless given', async () => {
    const saved = process.env.AELAB_THREADS;
    process.env.AELAB_THREADS = '1';
    try {
      const b1 = await createWasmBackend();
      expect(b1.threads).toBe(1);
      await b1.dispose();
      const b2 = await createWasmBackend({ threads: 2 });
      expect(b2.threads).toBe(2);
      await b2.dispose();
      process.env.AELAB_THREADS = 'x';
      await expect(createWasmBackend()).rejects.toThrow(/AELAB_THREADS/);
    } finally {
      if (saved === undefined) delete process.env.AELAB_THREADS;
      else process.env.AELAB_THREADS = saved;
    }
  });

  it('runs on ordinary (unshared) memory when shared memory is unavailable', async () => {
    // As in a page without cross-origin isolation: one thread, arrays live in JS, and memory
    // growth (which detaches ordinary buffers) must not break anything.
    const b = await createWasmBackend({ sharedMemory: false, threads: 2 });
    try {
      expect(b.threads).toBe(1);
      rand = rng(7);
      const M = 70;
      const N = 90;
      const K = 50;
      const a = b.alloc(M * K);
      a.set(randArr(M * K));
      const bb = randArr(K * N);
      const p: MatmulParams = { batch: 1, M, N, K, transA: false, transB: false, strideA: 0, strideB: 0 };
      for (let round = 0; round < 2; round++) {
        const got = b.alloc(M * N);
        const want = new Float32Array(M * N);
        b.matmul(a, bb, got, p);
        js.matmul(a, bb, want, p);
        expectClose(got, want, `unshared matmul round ${round}`, { scale: rms(want) });
        // A large temporary forces the memory to grow between the rounds.
        const big = new Float32Array(20 << 20);
        b.unary('neg', big, big, 0);
      }
      const x = randArr(1000, -3, 3);
      const o1 = b.alloc(1000);
      const o2 = new Float32Array(1000);
      b.unary('tanh', x, o1, 0);
      js.unary('tanh', x, o2, 0);
      expectClose(o1, o2, 'unshared tanh', { rtol: 2e-6 });
    } finally {
      await b.dispose();
    }
  });

  it('rejects invalid thread counts', async () => {
    await expect(createWasmBackend({ threads: 0 })).rejects.toThrow(/threads/);
  });

  /**
   * Transpiles src/kernels to a temp dir (TypeScript API, no type check) so child Node
   * processes can import the backend: for exit behaviour and engine flags.
   */
  function transpileKernels(): string {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const srcDir = join(root, 'src', 'kernels');
    const out = mkdtempSync(join(tmpdir(), 'aelab-wasm-'));
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => {
        const p = join(d, f);
        if (statSync(p).isDirectory()) return f === 'assembly' || f === 'build' ? [] : walk(p);
        return p.endsWith('.ts') ? [p] : [];
      });
    for (const file of walk(srcDir)) {
      const dest = join(out, relative(srcDir, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(dest), { recursive: true });
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(dest, js);
    }
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    return out;
  }

  it('does not keep the Node process alive and shuts down cleanly', () => {
    // Two scripts in a child process: one never disposes (unref'd workers must not block
    // exit), one disposes explicitly.
    const out = transpileKernels();
    try {
      const script = (dispose: boolean): string => `
        import { createWasmBackend } from './wasm/index.js';
        const b = await createWasmBackend({ threads: 2 });
        const a = b.alloc(256 * 256), c = b.alloc(256 * 256);
        a.fill(1);
        b.matmul(a, a, c, { batch: 1, M: 256, N: 256, K: 256, transA: false, transB: false, strideA: 0, strideB: 0 });
        if (c[0] !== 256) throw new Error('bad result ' + c[0]);
        ${dispose ? 'await b.dispose(); console.log("disposed");' : 'console.log("done");'}
      `;
      for (const dispose of [false, true]) {
        const file = join(out, `main-${dispose}.mjs`);
        writeFileSync(file, script(dispose));
        const t0 = Date.now();
        const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe(dispose ? 'disposed' : 'done');
        expect(Date.now() - t0).toBeLessThan(15_000);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('selects the relaxed-SIMD build unless told not to', async () => {
    const auto = await createWasmBackend({ threads: 1 });
    expect(auto.simd).toBe('relaxed-simd');
    await auto.dispose();
    const off = await createWasmBackend({ threads: 1, relaxedSimd: false });
    expect(off.simd).toBe('simd');
    await off.dispose();
    const saved = process.env.AELAB_WASM_RELAXED;
    process.env.AELAB_WASM_RELAXED = '0';
    try {
      const envOff = await createWasmBackend({ threads: 1 });
      expect(envOff.simd).toBe('simd');
      await envOff.dispose();
    } finally {
      if (saved === undefined) delete process.env.AELAB_WASM_RELAXED;
      else process.env.AELAB_WASM_RELAXED = saved;
    }
  });
});

describe.each([
  [1, 'simd'],
  [2, 'simd'],
  [1, 'relaxed-simd'],
  [2, 'relaxed-simd'],
] as const)('wasm backend vs js, %i thread(s), %s build', (threads, simd) => {
  let wb: WasmBackend;

  beforeAll(async () => {
    wb = await createWasmBackend({ threads, relaxedSimd: simd === 'relaxed-simd' });
    expect(wb.threads).toBe(threads);
    // Node 20 gets relaxed SIMD by enabling V8's flag; newer engines have it by default.
    expect(wb.simd).toBe(simd);
    rand = rng(1000 + threads);
  });
  afterAll(async () => {
    await wb.dispose();
  });

  /** A wasm-memory copy of `a` (the fast path: no copy in/out). */
  function w(a: F32): F32 {
    const v = wb.alloc(a.length);
    v.set(a);
    return v;
  }

  // --- memory ------------------------------------------------------------------------------

  describe('memory', () => {
    it('alloc returns zero-filled views, reuses freed blocks zeroed, and counts live bytes', () => {
      const before = wb.allocatedBytes();
      const a = wb.alloc(1000);
      expect(a).toBeInstanceOf(Float32Array);
      expect(a.length).toBe(1000);
      expect(a.every((v) => v === 0)).toBe(true);
      expect(wb.allocatedBytes()).toBe(before + 4000);
      a.fill(7);
      const off = a.byteOffset;
      wb.free(a);
      expect(wb.allocatedBytes()).toBe(before);
      const b = wb.alloc(1000);
      expect(b.byteOffset).toBe(off); // same size class, recycled
      expect(b.every((v) => v === 0)).toBe(true);
      wb.free(b);
      wb.free(b); // double free is ignored
      wb.free(new Float32Array(3)); // foreign arrays are ignored
      expect(wb.allocatedBytes()).toBe(before);
      const z = wb.alloc(0);
      expect(z.length).toBe(0);
      wb.free(z);
      expect(wb.allocatedBytes()).toBe(before);
    });

    it('grows memory without invalidating existing views', () => {
      const small = wb.alloc(16);
      small.set(randArr(16));
      const keep = Float32Array.from(small);
      const big = wb.alloc(40 << 20); // 160 MB: forces growth
      big[big.length - 1] = 3;
      expect(big[big.length - 1]).toBe(3);
      expect(Array.from(small)).toEqual(Array.from(keep));
      // Views created before the growth still count as wasm memory (no copy): kernels see them.
      const out = wb.alloc(16);
      wb.unary('neg', small, out, 0);
      expect(Array.from(out)).toEqual(Array.from(keep).map((v) => -v));
      wb.free(big);
      wb.free(small);
      wb.free(out);
    });
  });

  // --- fill / copy / where / clamp / expand -------------------------------------------------

  it('fill and copy', () => {
    for (const n of [0, 1, 5, 1003]) {
      const o1 = wb.alloc(n);
      const o2 = new Float32Array(n);
      wb.fill(o1, 2.5);
      js.fill(o2, 2.5);
      expectClose(o1, o2, `fill ${n}`);
      const src = randArr(n);
      wb.copy(w(src), o1);
      js.copy(src, o2);
      expectClose(o1, o2, `copy ${n}`);
    }
  });

  it('where and clamp', () => {
    for (const n of [1, 3, 4, 17, 100_003]) {
      const cond = randArr(n).map((v) => (v > 0 ? 1 : v < -0.9 ? NaN : 0));
      const a = randArr(n);
      const b = randArr(n);
      const o1 = wb.alloc(n);
      const o2 = new Float32Array(n);
      wb.where(w(cond), w(a), b, o1);
      js.where(cond, a, b, o2);
      expectClose(o1, o2, `where ${n}`);
      const x = randArr(n, -3, 3);
      x[0] = NaN;
      wb.clamp(w(x), -1, 0.5, o1);
      js.clamp(x, -1, 0.5, o2);
      expectClose(o1, o2, `clamp ${n}`);
      wb.clamp(x, -Infinity, 0, o1); // foreign input
      js.clamp(x, -Infinity, 0, o2);
      expectClose(o1, o2, `clamp ${n} one-sided`);
    }
  });

  it('expand', () => {
    const cases: [Shape, Shape][] = [
      [[1], [5]],
      [
        [1, 4],
        [3, 4],
      ],
      [
        [3, 1],
        [3, 4],
      ],
      [
        [2, 1, 3],
        [2, 5, 3],
      ],
      [
        [2, 3],
        [2, 3],
      ],
      // trailing broadcast (a per-row sum's gradient), leading + trailing (per-channel over
      // NCHW), size-1 dims in between, and a middle broadcast (js path). x's shape comes padded
      // to out's rank (the backend contract).
      [
        [128, 1],
        [128, 784],
      ],
      [
        [1, 3, 1, 1],
        [2, 3, 4, 5],
      ],
      [
        [1, 3, 1, 1],
        [2, 3, 1, 7],
      ],
      [
        [1, 3, 1],
        [4, 3, 6],
      ],
      [
        [2, 1, 1, 3],
        [2, 4, 1, 3],
      ],
      [
        [2, 1, 3, 1],
        [2, 5, 3, 4],
      ],
    ];
    for (const [xs, os] of cases) {
      const x = randArr(prod(xs));
      const o1 = wb.alloc(prod(os));
      const o2 = new Float32Array(prod(os));
      wb.expand(w(x), xs, o1, os);
      js.expand(x, xs, o2, os);
      expectClose(o1, o2, `expand ${xs}→${os}`);
    }
  });

  // --- unary / unaryGrad ---------------------------------------------------------------------

  const unaryCases: [UnaryOp, number, number, number][] = [
    // op, lo, hi, p
    ['neg', -5, 5, 0],
    ['exp', -20, 20, 0],
    ['log', 1e-3, 50, 0],
    ['sqrt', 0, 50, 0],
    ['abs', -5, 5, 0],
    ['sign', -2, 2, 0],
    ['square', -5, 5, 0],
    ['reciprocal', 0.1, 5, 0],
    ['sigmoid', -30, 30, 0],
    ['tanh', -8, 8, 0],
    ['relu', -2, 2, 0],
    ['leakyRelu', -2, 2, 0.01],
    ['elu', -5, 2, 1.3],
    ['softplus', -40, 40, 0],
    ['addScalar', -2, 2, 0.75],
    ['mulScalar', -2, 2, -1.5],
    ['powScalar', 0.1, 3, 2],
    ['powScalar', 0, 3, 0.5],
    ['powScalar', 0.1, 3, 1.7],
    ['powScalar', -3, 3, 3],
    ['powScalar', 0.1, 3, -1],
    ['powScalar', -3, 3, 1],
    ['rsubScalar', -2, 2, 1],
  ];
  // Values where the polynomial kernels switch branches or hit special cases.
  const specials: Partial<Record<UnaryOp, number[]>> = {
    exp: [0, -0, -87.5, -100, -104.5, 88.5, 89, 100, -Infinity, Infinity, NaN, 1e-6],
    log: [0, -1, 1, 2, 1e-40, 1e-30, Infinity, NaN, 0.7071, 0.7072, 3.4e38],
    sigmoid: [0, -100, 100, -88, 88, NaN],
    tanh: [0, -0, 1e-5, -1e-5, 0.6249, 0.6251, -0.625, 9, 50, -50, Infinity, -Infinity, NaN],
    elu: [0, -1e-4, -0.4999, -0.5, -0.5001, -100, 1e-4],
    softplus: [0, 20, 20.001, 19.99, -20, -87, -103, -120, 100, NaN],
    sign: [0, -0, NaN, -Infinity, Infinity],
    relu: [0, -0, NaN],
    sqrt: [0, -1, Infinity],
  };

  it('unary: every op, odd lengths, special values', () => {
    for (const [op, lo, hi, p] of unaryCases) {
      for (const n of [1, 3, 4, 7, 129, 20_001]) {
        const x = randArr(n, lo, hi);
        const sp = specials[op] ?? [];
        for (let i = 0; i < Math.min(sp.length, n); i++) x[(i * 7) % n] = sp[i]!;
        const o1 = wb.alloc(n);
        const o2 = new Float32Array(n);
        wb.unary(op, w(x), o1, p);
        js.unary(op, x, o2, p);
        expectClose(o1, o2, `unary ${op}(p=${p}) n=${n}`, { rtol: 2e-6 });
        wb.free(o1);
      }
    }
    // Every special value at once, for every op (tails and full vectors alike).
    for (const [op, , , p] of unaryCases) {
      const x = Float32Array.from(specials[op] ?? [0]);
      const o1 = new Float32Array(x.length); // foreign output
      const o2 = new Float32Array(x.length);
      wb.unary(op, x, o1, p);
      js.unary(op, x, o2, p);
      expectClose(o1, o2, `unary ${op} specials`, { rtol: 2e-6 });
    }
  });

  it('unary in place (out aliases x)', () => {
    const x = randArr(1001, -3, 3);
    const v = w(x);
    const ref = new Float32Array(1001);
    js.unary('tanh', x, ref, 0);
    wb.unary('tanh', v, v, 0);
    expectClose(v, ref, 'tanh in place', { rtol: 2e-6 });
  });

  it('unaryGrad: every op', () => {
    const ops: [UnaryGradOp, number, number, number][] = [
      ['relu', -2, 2, 0],
      ['leakyRelu', -2, 2, 0.2],
      ['elu', -5, 2, 0.7],
      ['softplus', -30, 30, 0],
      ['sigmoid', 0, 1, 0], // x is the output y
      ['tanh', -1, 1, 0],
    ];
    for (const [op, lo, hi, p] of ops) {
      for (const n of [1, 5, 64, 70_001]) {
        const x = randArr(n, lo, hi);
        x[0] = 0;
        const g = randArr(n);
        const o1 = wb.alloc(n);
        const o2 = new Float32Array(n);
        wb.fused.unaryGrad(op, w(x), w(g), o1, p);
        js.fused.unaryGrad(op, x, g, o2, p);
        expectClose(o1, o2, `unaryGrad ${op} n=${n}`, { rtol: 2e-6 });
        wb.free(o1);
      }
    }
  });

  // --- binary --------------------------------------------------------------------------------

  // (bce and bceGrad take probabilities: tested in test/nn/losses.test.ts on both backends)
  const binaryOps: (BinaryOp | FusedBinaryOp)[] = [
    'add',
    'sub',
    'mul',
    'div',
    'pow',
    'maximum',
    'minimum',
    'gt',
    'ge',
    'lt',
    'le',
    'eq',
    'ne',
    'bceLogits',
    'bceLogitsGrad',
    'sigmoidSqErr',
  ];
  // exp and log polynomials: a few ulp
  const transcendental = (op: BinaryOp | FusedBinaryOp): boolean => op.startsWith('bce') || op === 'sigmoidSqErr';
  const binaryRtol = (op: BinaryOp | FusedBinaryOp): number => (op === 'pow' ? 1e-6 : transcendental(op) ? 2e-6 : 1e-7);
  const broadcastCases: [Shape, Shape, Shape, string][] = [
    [[7], [7], [7], 'same'],
    [[3, 5, 7], [3, 5, 7], [3, 5, 7], 'same 3-d'],
    [[1], [13], [13], 'a scalar'],
    [[2, 9], [1, 1], [2, 9], 'b scalar'],
    [[5, 6], [1, 6], [5, 6], 'row bias'],
    [[1, 6], [5, 6], [5, 6], 'a row'],
    [[5, 6], [5, 1], [5, 6], 'column'],
    [[5, 1], [5, 6], [5, 6], 'a column'],
    [[2, 3, 4, 5], [1, 3, 1, 1], [2, 3, 4, 5], 'per-channel NCHW'],
    [[1, 3, 1, 1], [2, 3, 4, 5], [2, 3, 4, 5], 'a per-channel'],
    [[4, 1], [1, 6], [4, 6], 'outer (general path)'],
    [[2, 1, 3], [1, 4, 1], [2, 4, 3], 'general path'],
    [[1, 1], [1, 1], [1, 1], 'all ones'],
    [[1, 7, 1], [1, 7, 1], [1, 7, 1], 'size-1 dims'],
    [[300, 257], [300, 257], [300, 257], 'large same (threaded)'],
    [[300, 257], [1, 257], [300, 257], 'large row (threaded)'],
    [[300, 257], [300, 1], [300, 257], 'large column (threaded)'],
    [[8, 16, 30, 30], [1, 16, 1, 1], [8, 16, 30, 30], 'large per-channel (threaded)'],
    [[70_001], [1], [70_001], 'large b scalar (threaded)'],
  ];

  it('binary: every op over every broadcast pattern', () => {
    for (const op of binaryOps) {
      for (const [as, bs, os, name] of broadcastCases) {
        const big = prod(os) > 10_000;
        if (big && op !== 'add' && op !== 'mul' && op !== 'div' && op !== 'pow' && op !== 'gt') continue;
        const positive = op === 'pow';
        const a = randArr(prod(as), positive ? 0.1 : -2, 2);
        const b = randArr(prod(bs), positive ? -2 : -2, 2);
        // exact ties for the comparisons
        if (op === 'eq' || op === 'ne' || op === 'ge' || op === 'le') {
          for (let i = 0; i < Math.min(a.length, b.length); i += 2) a[i] = b[i]!;
        }
        const o1 = wb.alloc(prod(os));
        const o2 = new Float32Array(prod(os));
        bin(wb, op, w(a), as, w(b), bs, o1, os);
        bin(js, op, a, as, b, bs, o2, os);
        // bceLogits(Grad) and sigmoidSqErr subtract terms of the size of |a| (≤ 2 here): float32
        // rounding of those
        expectClose(o1, o2, `binary ${op} ${name}`, { rtol: binaryRtol(op), scale: transcendental(op) ? 2 : 0 });
        wb.free(o1);
      }
    }
  });

  it('binary: special values and foreign arrays', () => {
    const vals = [0, -0, 1, -1, 2.5, -2.5, Infinity, -Infinity, NaN, 1e-30];
    const n = vals.length;
    const a = new Float32Array(n * n);
    const b = new Float32Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        a[i * n + j] = vals[i]!;
        b[i * n + j] = vals[j]!;
      }
    for (const op of binaryOps) {
      const o1 = new Float32Array(n * n);
      const o2 = new Float32Array(n * n);
      bin(wb, op, a, [n * n], b, [n * n], o1, [n * n]);
      bin(js, op, a, [n * n], b, [n * n], o2, [n * n]);
      expectClose(o1, o2, `binary ${op} specials`, { rtol: 2e-6, scale: op.startsWith('bce') ? 3 : 0 });
    }
  });

  it('bceLogits over the whole range of logits, where e^−|z| and log(1 + t) take every branch', () => {
    const n = 4001;
    const z = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      z[i] = (i - 2000) * 0.06; // −120 … 120: underflowing exp, both halves of log1p, √2 − 1 boundary
      y[i] = (i % 7) / 6;
    }
    for (const op of ['bceLogits', 'bceLogitsGrad', 'sigmoidSqErr'] as FusedBinaryOp[]) {
      const o1 = wb.alloc(n);
      const o2 = new Float32Array(n);
      wb.fused.binary(op, w(z), [n], w(y), [n], o1, [n]);
      js.fused.binary(op, z, [n], y, [n], o2, [n]);
      // the terms subtracted are of the size of |z|: float32 rounding of those, and no more
      for (let i = 0; i < n; i++) {
        const tol = 2e-6 * (Math.abs(o2[i]!) + Math.abs(z[i]!) + 1);
        if (!(Math.abs(o1[i]! - o2[i]!) <= tol)) throw new Error(`${op}(${z[i]}, ${y[i]}): got ${o1[i]}, want ${o2[i]}`);
      }
      wb.free(o1);
    }
  });

  it('bceRows: the binary kernels\' values and the reduce kernel\'s row sums, to the bit; against the reference', () => {
    // rows of 1..40 and 784 elements (vector blocks, SUM_BLOCK folds, every tail), 300 rows (threaded)
    for (const [rows, cols] of [[3, 1], [2, 3], [2, 4], [5, 15], [3, 16], [4, 17], [2, 40], [7, 784], [300, 257]] as const) {
      const n = rows * cols;
      // probabilities across (0, 1), with exact 0 and 1 (the −100 clamp), a subnormal and 1 − ε
      const p = randArr(n, 0, 1);
      const edges = [0, 1, 1e-42, 1 - 2 ** -24, 1e-30];
      for (let i = 0; i < Math.min(n, edges.length); i++) p[(i * 7) % n] = edges[i]!;
      const y = randArr(n, 0, 1);
      const loss = wb.alloc(rows);
      const grad = wb.alloc(n);
      wb.fused.bceRows(w(p), w(y), rows, cols, loss, grad);
      const e = wb.alloc(n);
      const ref = wb.alloc(rows);
      wb.fused.binary('bce', w(p), [n], w(y), [n], e, [n]);
      wb.reduce('sum', e, [rows, cols], [1], ref);
      expect(Array.from(loss), `loss ${rows}×${cols}`).toEqual(Array.from(ref));
      wb.fused.binary('bceGrad', w(p), [n], w(y), [n], e, [n]);
      expect(Array.from(grad), `grad ${rows}×${cols}`).toEqual(Array.from(e));
      const l2 = new Float32Array(rows);
      const g2 = new Float32Array(n);
      js.fused.bceRows(p, y, rows, cols, l2, g2);
      // (per element: logs ≥ −100, so terms up to 100 in size, summed over the row)
      expectClose(loss, l2, `bceRows loss ${rows}×${cols}`, { rtol: 2e-6, scale: 100 * cols });
      expectClose(grad, g2, `bceRows grad ${rows}×${cols}`, { rtol: 2e-6, scale: 1 });
      const l3 = new Float32Array(rows);
      wb.fused.bceRows(p, y, rows, cols, l3, null);
      expect(Array.from(l3)).toEqual(Array.from(loss));
      for (const a of [loss, grad, e, ref]) wb.free(a);
    }
    expect(() => wb.fused.bceRows(new Float32Array(6), new Float32Array(5), 2, 3, new Float32Array(2), null)).toThrow(/y has 5 elements, needs 6/);
  });

  it('bceLogitsRows: the binary kernels\' values and the reduce kernel\'s row sums, to the bit; against the reference', () => {
    // rows of 1..40 and 784 elements (vector blocks, SUM_BLOCK folds, every tail), 300 rows (threaded)
    for (const [rows, cols] of [[3, 1], [2, 3], [2, 4], [5, 15], [3, 16], [4, 17], [2, 40], [7, 784], [300, 257]] as const) {
      const n = rows * cols;
      const z = randArr(n, -8, 8);
      const y = randArr(n, 0, 1);
      const loss = wb.alloc(rows);
      const sq = wb.alloc(rows);
      const diff = wb.alloc(n);
      wb.fused.bceLogitsRows(w(z), w(y), rows, cols, loss, sq, diff);
      // the same bits as the separate wasm kernels
      const e = wb.alloc(n);
      const ref = wb.alloc(rows);
      wb.fused.binary('bceLogits', w(z), [n], w(y), [n], e, [n]);
      wb.reduce('sum', e, [rows, cols], [1], ref);
      expect(Array.from(loss), `loss ${rows}×${cols}`).toEqual(Array.from(ref));
      wb.fused.binary('sigmoidSqErr', w(z), [n], w(y), [n], e, [n]);
      wb.reduce('sum', e, [rows, cols], [1], ref);
      expect(Array.from(sq), `sq ${rows}×${cols}`).toEqual(Array.from(ref));
      wb.fused.binary('bceLogitsGrad', w(z), [n], w(y), [n], e, [n]);
      expect(Array.from(diff), `diff ${rows}×${cols}`).toEqual(Array.from(e));
      // and close to the reference
      const l2 = new Float32Array(rows);
      const q2 = new Float32Array(rows);
      const d2 = new Float32Array(n);
      js.fused.bceLogitsRows(z, y, rows, cols, l2, q2, d2);
      // (per element: float32 rounding of terms of the size of |z| ≤ 8, summed over the row)
      expectClose(loss, l2, `bceLogitsRows loss ${rows}×${cols}`, { rtol: 2e-6, scale: 9 * cols });
      expectClose(sq, q2, `bceLogitsRows sq ${rows}×${cols}`, { rtol: 2e-6, scale: cols });
      expectClose(diff, d2, `bceLogitsRows diff ${rows}×${cols}`, { rtol: 2e-6, scale: 1 });
      // without the optional outputs; foreign (non-wasm) arrays in and out
      const l3 = new Float32Array(rows);
      wb.fused.bceLogitsRows(z, y, rows, cols, l3, null, null);
      expect(Array.from(l3)).toEqual(Array.from(loss));
      for (const a of [loss, sq, diff, e, ref]) wb.free(a);
    }
    expect(() => wb.fused.bceLogitsRows(new Float32Array(5), new Float32Array(6), 2, 3, new Float32Array(2), null, null)).toThrow(/z has 5 elements, needs 6/);
  });

  it('klNormalRows and reparameterize: the separate kernels\' bits; against the reference', () => {
    for (const [rows, cols] of [[3, 1], [2, 5], [4, 16], [5, 37], [300, 20], [128, 257]] as const) {
      const n = rows * cols;
      const mu = randArr(n, -3, 3);
      const lv = randArr(n, -6, 3);
      const eps = randArr(n, -3, 3);
      const out = wb.alloc(rows);
      const dlv = wb.alloc(n);
      wb.fused.klNormalRows(w(mu), w(lv), rows, cols, out, dlv);
      // the composite with the separate wasm kernels
      const t1 = wb.alloc(n);
      const t2 = wb.alloc(n);
      const ref = wb.alloc(rows);
      wb.unary('addScalar', w(lv), t1, 1);
      wb.binary('mul', w(mu), [n], w(mu), [n], t2, [n]);
      wb.binary('sub', t1, [n], t2, [n], t1, [n]);
      wb.unary('exp', w(lv), t2, 0);
      wb.binary('sub', t1, [n], t2, [n], t1, [n]);
      wb.reduce('sum', t1, [rows, cols], [1], ref);
      wb.unary('mulScalar', ref, ref, -0.5);
      expect(Array.from(out), `kl ${rows}×${cols}`).toEqual(Array.from(ref));
      const o2 = new Float32Array(rows);
      const d2 = new Float32Array(n);
      js.fused.klNormalRows(mu, lv, rows, cols, o2, d2);
      expectClose(out, o2, `klNormalRows ${rows}×${cols}`, { rtol: 2e-6, scale: 20 * cols });
      expectClose(dlv, d2, `klNormalRows dlv ${rows}×${cols}`, { rtol: 2e-6, scale: 1 });
      // reparameterize
      const z = wb.alloc(n);
      const half = wb.alloc(n);
      wb.fused.reparameterize(w(mu), w(lv), w(eps), z, half);
      wb.unary('mulScalar', w(lv), t1, 0.5);
      wb.unary('exp', t1, t1, 0);
      wb.binary('mul', t1, [n], w(eps), [n], t1, [n]);
      wb.binary('add', w(mu), [n], t1, [n], t2, [n]);
      expect(Array.from(z), `z ${rows}×${cols}`).toEqual(Array.from(t2));
      const z2 = new Float32Array(n);
      const h2 = new Float32Array(n);
      js.fused.reparameterize(mu, lv, eps, z2, h2);
      expectClose(z, z2, `reparameterize ${rows}×${cols}`, { rtol: 2e-6, scale: 3 });
      expectClose(half, h2, `reparameterize half ${rows}×${cols}`, { rtol: 2e-6, scale: 1 });
      const z3 = new Float32Array(n);
      wb.fused.reparameterize(mu, lv, eps, z3, null); // foreign arrays, no half
      expect(Array.from(z3)).toEqual(Array.from(z));
      for (const a of [out, dlv, t1, t2, ref, z, half]) wb.free(a);
    }
  });

  it('gatherRows8: every byte value scaled as k/255 in float32, odd row lengths, threaded; foreign bytes; bad indices', () => {
    const unit = Float32Array.from({ length: 256 }, (_, k) => k / 255);
    for (const [rows, d, m] of [[5, 1, 3], [9, 15, 9], [7, 16, 4], [300, 263, 200], [1000, 784, 128]] as const) {
      const src = wb.fused.allocBytes(rows * d);
      for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 8)) & 255;
      const idx = Int32Array.from({ length: m }, (_, j) => (j * 37 + 3) % rows);
      const out = wb.alloc(m * d, false);
      wb.fused.gatherRows8(src, d, idx, out);
      const want = new Float32Array(m * d);
      for (let j = 0; j < m; j++) for (let k = 0; k < d; k++) want[j * d + k] = unit[src[idx[j]! * d + k]!]!;
      expect(Array.from(out), `${rows}×${d}, ${m} rows`).toEqual(Array.from(want));
      const ref = new Float32Array(m * d);
      js.fused.gatherRows8(src, d, idx, ref);
      expect(Array.from(ref)).toEqual(Array.from(want));
      // bytes outside wasm memory: the reference path, same values
      const out2 = new Float32Array(m * d);
      wb.fused.gatherRows8(Uint8Array.from(src), d, idx, out2);
      expect(Array.from(out2)).toEqual(Array.from(want));
      wb.free(src);
      wb.free(out);
    }
    const src = wb.fused.allocBytes(12);
    expect(src.length).toBe(12);
    expect(Array.from(src).every((v) => v === 0)).toBe(true);
    expect(() => wb.fused.gatherRows8(src, 4, Int32Array.from([0, 3]), wb.alloc(8))).toThrow(/index 3 at position 1 is not a row of the 3 in src/);
    expect(() => js.fused.gatherRows8(src, 4, Int32Array.from([-1]), new Float32Array(4))).toThrow(/index -1 at position 0/);
    wb.free(src);
  });

  it('binary in place (out aliases a)', () => {
    const a = randArr(6 * 50);
    const b = randArr(50);
    const ref = new Float32Array(300);
    js.binary('add', a, [6, 50], b, [1, 50], ref, [6, 50]);
    const va = w(a);
    wb.binary('add', va, [6, 50], w(b), [1, 50], va, [6, 50]);
    expectClose(va, ref, 'add in place');
  });

  // --- reduce / argmax -------------------------------------------------------------------------

  const reduceCases: [Shape, number[], string][] = [
    [[1], [0], 'single'],
    [[37], [0], 'all 1-d'],
    [[5, 7], [0, 1], 'all 2-d'],
    [[6, 33], [1], 'last axis'],
    [[33, 6], [0], 'first axis'],
    [[33, 13], [0], 'first axis, odd width'],
    [[4, 9, 11], [1], 'middle axis'],
    [[2, 4, 9, 11], [0, 2, 3], 'bias grad of NCHW'],
    [[3, 4, 5, 6], [0, 2], 'R K R K (general)'],
    [[3, 1, 5], [1], 'size-1 axis only'],
    [[3, 1, 5], [0, 1], 'with size-1 axis'],
    [[2, 3], [], 'no axes'],
    [[100_003], [0], 'large all'],
    [[129, 1000], [1], 'large last axis (threaded)'],
    [[1000, 129], [0], 'large first axis (threaded)'],
    [[3, 3000, 37], [1], 'large middle, few outer (threaded)'],
    [[40, 300, 17], [1], 'large middle (threaded)'],
    [[16, 32, 14, 14], [0, 2, 3], 'large NCHW bias grad (threaded)'],
  ];

  it('reduce: sum / max / min over every layout', () => {
    for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
      for (const [shape, axes, name] of reduceCases) {
        const x = randArr(prod(shape), -1, 1);
        const outLen = prod(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
        const o1 = wb.alloc(outLen);
        const o2 = new Float32Array(outLen);
        wb.reduce(op, w(x), shape, axes, o1);
        js.reduce(op, x, shape, axes, o2);
        // Sums: the reference accumulates in float32 along some layouts; allow for its rounding.
        const scale = op === 'sum' ? Math.sqrt(prod(shape) / outLen) : 0;
        expectClose(o1, o2, `reduce ${op} ${name}`, { rtol: op === 'sum' ? 1e-5 : 0, scale });
        wb.free(o1);
      }
    }
  });

  it('reduce: NaN propagates through max/min; empty input', () => {
    const x = randArr(40);
    x[17] = NaN;
    for (const op of ['max', 'min', 'sum'] as ReduceOp[]) {
      for (const [shape, axes] of [
        [[40], [0]],
        [[4, 10], [1]],
        [[4, 10], [0]],
      ] as [Shape, number[]][]) {
        const outLen = prod(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
        const o1 = new Float32Array(outLen);
        const o2 = new Float32Array(outLen);
        wb.reduce(op, x, shape, axes, o1);
        js.reduce(op, x, shape, axes, o2);
        expectClose(o1, o2, `reduce ${op} NaN ${shape}/${axes}`);
      }
      const o1 = new Float32Array(3);
      const o2 = new Float32Array(3);
      wb.reduce(op, new Float32Array(0), [0, 3], [0], o1);
      js.reduce(op, new Float32Array(0), [0, 3], [0], o2);
      expectClose(o1, o2, `reduce ${op} empty`);
    }
  });

  it('argmax', () => {
    for (const [shape, axis] of [
      [[10], 0],
      [[4, 7], 1],
      [[4, 7], 0],
      [[2, 3, 5], 1],
    ] as [Shape, number][]) {
      const x = randArr(prod(shape));
      const outLen = prod(shape) / shape[axis]!;
      const o1 = wb.alloc(outLen);
      const o2 = new Float32Array(outLen);
      wb.argmax(w(x), shape, axis, o1);
      js.argmax(x, shape, axis, o2);
      expectClose(o1, o2, `argmax ${shape} axis ${axis}`);
    }
  });

  // --- matmul --------------------------------------------------------------------------------

  function checkMatmul(p: MatmulParams, opts: { foreign?: boolean; what?: string } = {}): void {
    const aLen = p.strideA * (p.batch - 1) + p.M * p.K;
    const bLen = p.strideB * (p.batch - 1) + p.K * p.N;
    const a = randArr(Math.max(aLen, p.M * p.K));
    const b = randArr(Math.max(bLen, p.K * p.N));
    const c0 = randArr(p.batch * p.M * p.N);
    const want = Float32Array.from(c0);
    js.matmul(a, b, want, p);
    const got = opts.foreign ? Float32Array.from(c0) : w(c0);
    if (opts.foreign) wb.matmul(a, b, got, p);
    else wb.matmul(w(a), w(b), got, p);
    const what = opts.what ?? `matmul ${JSON.stringify(p)}`;
    expectClose(got, want, what, { scale: rms(want) + 1e-3 });
  }

  it('matmul: all transpose combinations over odd and tile-sized shapes', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 3],
      [5, 1, 9],
      [3, 5, 7],
      [4, 8, 16],
      [17, 33, 65],
      [64, 64, 64],
      [129, 67, 300], // M crosses the 128-row A block
      [9, 21, 1100], // K crosses the 512 k-block (split 3 × 367)
      [6, 2100, 10], // N crosses the 2048-column B block
      [128, 512, 784], // the dense layer (threaded)
      [257, 130, 33],
      // threaded, with the shared operand packed once (gemm.ts packShared): B when M > N, A
      // otherwise, over several K blocks and ragged panels
      [600, 44, 900],
      [42, 600, 1100],
      // threaded guided blocks (gemm.ts guidedSize) ending in a ragged panel / row tile (large
      // enough to wake sleeping workers)
      [100, 1003, 100],
      [1001, 20, 400],
    ];
    for (const [M, N, K] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          checkMatmul({ batch: 1, M, N, K, transA, transB, strideA: 0, strideB: 0 });
        }
      }
    }
  });

  it('matmul: alpha / beta', () => {
    for (const [alpha, beta] of [
      [1, 1],
      [0.5, 0],
      [-2, 0.25],
      [1, -1],
      [0, 1],
    ]) {
      for (const [M, N, K] of [
        [7, 9, 5],
        [64, 96, 200],
      ] as [number, number, number][]) {
        checkMatmul({ batch: 1, M, N, K, transA: false, transB: true, strideA: 0, strideB: 0, alpha, beta });
        checkMatmul({ batch: 1, M, N, K, transA: true, transB: false, strideA: 0, strideB: 0, alpha, beta });
      }
    }
  });

  it('matmul epilogue (bias, activation): as the reference, and bit for bit as the separate kernels', () => {
    const shapes: [number, number, number, number][] = [
      [1, 5, 7, 3], // tails
      [1, 128, 512, 784], // a dense layer (threaded, column blocks)
      [1, 600, 44, 300], // row blocks
      [3, 33, 65, 17], // batch
    ];
    for (const [batch, M, N, K] of shapes) {
      for (const act of ['none', 'relu', 'sigmoid', 'tanh'] as MatmulActivation[]) {
        for (const withBias of [true, false]) {
          if (act === 'none' && !withBias) continue;
          const a = randArr(batch * M * K);
          const b = randArr(N * K);
          const bias = withBias ? randArr(N) : null;
          const p: MatmulEpilogueParams = { batch, M, N, K, transA: false, transB: true, strideA: M * K, strideB: 0, bias, act };
          const want = new Float32Array(batch * M * N);
          js.fused.matmulEpilogue(a, b, want, p);
          const got = wb.alloc(batch * M * N);
          wb.fused.matmulEpilogue(w(a), w(b), got, { ...p, bias: bias ? w(bias) : null });
          const what = `matmul epilogue ${act} bias=${withBias} ${batch}×${M}×${N}×${K}`;
          // the GEMM's rounding, at the scale of the pre-activation (the activations are 1-Lipschitz)
          const pre = new Float32Array(batch * M * N);
          js.matmul(a, b, pre, p);
          expectClose(got, want, what, { rtol: 1e-5, scale: rms(pre) });
          // the separate kernels, on the wasm backend
          const sep = wb.alloc(batch * M * N);
          wb.matmul(w(a), w(b), sep, p);
          if (bias) wb.binary('add', sep, [batch * M, N], w(bias), [1, N], sep, [batch * M, N]);
          if (act !== 'none') wb.unary(act, sep, sep, 0);
          expect(bitDiffs(got, sep), what).toBe(0);
          wb.free(got);
          wb.free(sep);
        }
      }
    }
    expect(() =>
      wb.fused.matmulEpilogue(wb.alloc(6), wb.alloc(6), wb.alloc(4), { batch: 1, M: 2, N: 2, K: 3, transA: false, transB: true, strideA: 0, strideB: 0, bias: wb.alloc(3), act: 'none' }),
    ).toThrow(/bias has 3 elements, needs 2/);
  });

  it('matmul: K = 0 leaves beta·C', () => {
    const c0 = randArr(12);
    const got = w(c0);
    const want = Float32Array.from(c0);
    const p: MatmulParams = { batch: 1, M: 3, N: 4, K: 0, transA: false, transB: false, strideA: 0, strideB: 0, beta: 0.5 };
    wb.matmul(wb.alloc(0), wb.alloc(0), got, p);
    js.matmul(new Float32Array(0), new Float32Array(0), want, p);
    expectClose(got, want, 'matmul K=0');
  });

  it('matmul: batches, including broadcast (stride 0) operands', () => {
    const cases: [number, number, number, number, boolean, boolean, 'both' | 'a0' | 'b0'][] = [
      [3, 5, 7, 9, false, false, 'both'],
      [4, 16, 8, 24, false, true, 'a0'],
      [5, 9, 13, 6, true, false, 'b0'],
      [2, 33, 65, 17, true, true, 'both'],
      [3, 100, 120, 90, false, false, 'both'], // odd batch, threaded within each matrix
      [8, 64, 32, 48, false, true, 'b0'], // batch split across threads
      [1, 5, 5, 5, false, false, 'a0'],
    ];
    for (const [batch, M, N, K, transA, transB, mode] of cases) {
      const strideA = mode === 'a0' ? 0 : M * K;
      const strideB = mode === 'b0' ? 0 : K * N;
      checkMatmul({ batch, M, N, K, transA, transB, strideA, strideB });
      checkMatmul({ batch, M, N, K, transA, transB, strideA, strideB, alpha: 0.5, beta: 2 });
    }
  });

  it('matmul: ordinary (non-wasm) arrays are copied in and out', () => {
    checkMatmul(
      { batch: 2, M: 37, N: 41, K: 29, transA: false, transB: true, strideA: 37 * 29, strideB: 41 * 29, beta: 1 },
      { foreign: true },
    );
    checkMatmul({ batch: 1, M: 200, N: 180, K: 150, transA: true, transB: false, strideA: 0, strideB: 0 }, { foreign: true });
  });

  it('matmul: rejects short operands', () => {
    expect(() =>
      wb.matmul(wb.alloc(5), wb.alloc(6), wb.alloc(6), {
        batch: 1,
        M: 2,
        N: 3,
        K: 3,
        transA: false,
        transB: false,
        strideA: 0,
        strideB: 0,
      }),
    ).toThrow(/matmul: a has 5 elements, needs 6/);
  });

  // --- conv ----------------------------------------------------------------------------------

  function convParams(
    batch: number,
    inC: number,
    inH: number,
    inW: number,
    outC: number,
    kH: number,
    kW: number,
    o: { stride?: [number, number]; pad?: [number, number]; dil?: [number, number]; groups?: number } = {},
  ): Conv2dParams {
    const [strideH, strideW] = o.stride ?? [1, 1];
    const [padH, padW] = o.pad ?? [0, 0];
    const [dilH, dilW] = o.dil ?? [1, 1];
    const outH = Math.floor((inH + 2 * padH - dilH * (kH - 1) - 1) / strideH) + 1;
    const outW = Math.floor((inW + 2 * padW - dilW * (kW - 1) - 1) / strideW) + 1;
    return {
      batch,
      inC,
      inH,
      inW,
      outC,
      outH,
      outW,
      kH,
      kW,
      strideH,
      strideW,
      padH,
      padW,
      dilH,
      dilW,
      groups: o.groups ?? 1,
    };
  }

  const convCases: [string, Conv2dParams][] = [
    ['3×3 same', convParams(2, 3, 8, 8, 4, 3, 3, { pad: [1, 1] })],
    ['MNIST stride 2', convParams(4, 1, 28, 28, 8, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['odd sizes, 2×3 kernel', convParams(3, 5, 7, 5, 6, 2, 3)],
    ['asymmetric stride/pad', convParams(2, 3, 9, 11, 5, 3, 2, { stride: [2, 3], pad: [2, 1] })],
    ['dilation', convParams(2, 4, 12, 10, 3, 3, 3, { dil: [2, 3], pad: [1, 2] })],
    ['stride 2 on odd width, dilated columns', convParams(2, 3, 17, 29, 4, 3, 3, { stride: [2, 2], pad: [1, 1], dil: [1, 2] })],
    ['stride (1, 2), wide rows', convParams(2, 2, 5, 40, 3, 2, 4, { stride: [1, 2], pad: [0, 3] })],
    ['stride 3', convParams(2, 2, 16, 19, 3, 3, 3, { stride: [3, 3], pad: [1, 1] })],
    ['groups 2', convParams(2, 6, 9, 9, 4, 3, 3, { groups: 2, pad: [1, 1] })],
    ['depthwise', convParams(3, 8, 10, 10, 8, 3, 3, { groups: 8, stride: [2, 2], pad: [1, 1] })],
    ['1×1 pointwise', convParams(2, 16, 6, 7, 12, 1, 1)],
    ['1×1 pointwise groups', convParams(3, 8, 5, 5, 6, 1, 1, { groups: 2 })],
    ['1×1 stride 2', convParams(2, 4, 9, 9, 5, 1, 1, { stride: [2, 2] })],
    ['kernel larger than input + pad', convParams(1, 2, 3, 3, 2, 5, 5, { pad: [2, 2] })],
    ['single image (pixel split)', convParams(1, 8, 30, 30, 16, 3, 3, { pad: [1, 1] })],
    ['odd batch, threaded', convParams(3, 16, 20, 20, 32, 3, 3, { pad: [1, 1] })],
    ['im2col chunked (Kc·P > buffer)', convParams(1, 64, 32, 32, 8, 3, 3, { pad: [1, 1] })],
    ['conv AE encoder', convParams(16, 16, 14, 14, 32, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    // Weight-gradient work splits: 1 input channel and many images (per-thread partial sums),
    // 1 input channel and 1 image (output-channel chunks).
    ['first layer, many images', convParams(64, 1, 28, 28, 16, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['first layer, one image', convParams(1, 1, 64, 64, 32, 3, 3, { pad: [1, 1] })],
    // Image blocks (several images side by side in one GEMM): a partial last block, and blocks
    // inside the weight gradient's image groups.
    ['image blocks, partial last block', convParams(23, 6, 9, 9, 10, 3, 3, { stride: [2, 2], pad: [1, 1] })],
    ['first layer, stride 2, many images', convParams(40, 1, 28, 28, 8, 3, 3, { stride: [2, 2], pad: [1, 1] })],
  ];

  // Pooling geometries both pooling tests use.
  const POOL_2X2_28: [string, Pool2dParams] = ['2x2/2 over 28x28, 64 planes', { batch: 8, channels: 8, inH: 28, inW: 28, outH: 14, outW: 14, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }];
  const POOL_3X3_PAD1: [string, Pool2dParams] = ['3x3/2 pad 1 over 7x9', { batch: 3, channels: 5, inH: 7, inW: 9, outH: 4, outW: 5, kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }];

  it('maxPool2d and its gradient equal the js reference exactly (padding, odd sizes, NaN, many planes)', () => {
    /** The gradient of both backends from the same g (wasm with wasmIdx, js with jsIdx), exactly. */
    const expectSameGradient = (what: string, g: Float32Array, wasmIdx: Float32Array, jsIdx: Float32Array, n: number, p: Pool2dParams) => {
      const block = wb.alloc(n + 8);
      block.fill(7); // the kernel zeroes its output first, and nothing past it
      const d1 = block.subarray(0, n);
      const d2 = new Float32Array(n);
      wb.maxPool2dBackward(w(g), wasmIdx, d1, p);
      js.maxPool2dBackward(g, jsIdx, d2, p);
      expect(Array.from(d1), what).toEqual(Array.from(d2));
      expect(Array.from(block.subarray(n)), `${what}: past the output`).toEqual(new Array(8).fill(7));
    };
    const cases: [string, Pool2dParams][] = [
      POOL_2X2_28,
      POOL_3X3_PAD1,
      ['3x2/1 over 5x4', { batch: 1, channels: 2, inH: 5, inW: 4, outH: 3, outW: 3, kH: 3, kW: 2, strideH: 1, strideW: 1, padH: 0, padW: 0 }],
      // the vector path (pool.ts maxPool2x2Quad): rows of 7 windows (one quad, then the last four
      // again), an odd input width, values with many ties, and two NaNs in one window
      ['2x2/2 over 15x15, ties', { batch: 4, channels: 3, inH: 15, inW: 15, outH: 7, outW: 7, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }],
    ];
    for (const [name, p] of cases) {
      const planes = p.batch * p.channels;
      const x = randArr(planes * p.inH * p.inW);
      if (name.endsWith('ties')) {
        for (let i = 0; i < x.length; i++) x[i] = Math.floor(4 * Math.abs(x[i]!)) - 2;
        x[2 * p.inW + 12] = NaN; // window (1, 6): top-left and bottom-right
        x[3 * p.inW + 13] = NaN;
        x[p.inW + 1] = -0; // ±0 tie in window (0, 0)
        x[1] = 0;
        x[0] = -7;
        x[p.inW] = -7;
      }
      x[3] = NaN;
      x[x.length - 1] = -Infinity;
      const m = planes * p.outH * p.outW;
      // outputs inside larger blocks whose tails must stay untouched (no write past a row's end)
      const [ob, ib] = [wb.alloc(m + 8), wb.alloc(m + 8)];
      ob.fill(-5);
      ib.fill(-5);
      const [o1, i1] = [ob.subarray(0, m), ib.subarray(0, m)];
      const [o2, i2] = [new Float32Array(m), new Float32Array(m)];
      wb.maxPool2d(w(x), o1, i1, p);
      js.maxPool2d(x, o2, i2, p);
      expect(Array.from(o1), `${name} values`).toEqual(Array.from(o2));
      expect(Array.from(i1), `${name} indices`).toEqual(Array.from(i2));
      expect([...ob.subarray(m), ...ib.subarray(m)], `${name}: past the outputs`).toEqual(new Array(16).fill(-5));
      expectSameGradient(`${name} gradient`, randArr(m), i1, i2, x.length, p);
    }
    // Indices that are not window-local (the 2×2/2 vector path of the gradient must give way to
    // the scatter): two windows point at the same element, one at another window's, one at none.
    const p: Pool2dParams = { batch: 2, channels: 3, inH: 9, inW: 12, outH: 4, outW: 6, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 };
    const m = 6 * 4 * 6;
    const idx = new Float32Array(m);
    const x = randArr(6 * 9 * 12);
    js.maxPool2d(x, new Float32Array(m), idx, p);
    idx[7] = idx[0]!;
    idx[30] = 200;
    idx[40] = -1;
    expectSameGradient('gradient with foreign indices', randArr(m), w(idx), idx, x.length, p);
  });

  it('avgPool2d, upsampleNearest and their gradients equal the js reference exactly (padding, odd sizes, many planes)', () => {
    const cases: [string, Pool2dParams][] = [
      POOL_2X2_28,
      POOL_3X3_PAD1,
      ['3x2/1 pad 1,0 over 5x4', { batch: 1, channels: 2, inH: 5, inW: 4, outH: 5, outW: 3, kH: 3, kW: 2, strideH: 1, strideW: 1, padH: 1, padW: 0 }],
      ['2x2/2 over 32x32, 128 planes (threaded)', { batch: 8, channels: 16, inH: 32, inW: 32, outH: 16, outW: 16, kH: 2, kW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }],
    ];
    for (const [name, p] of cases) {
      const planes = p.batch * p.channels;
      const x = randArr(planes * p.inH * p.inW);
      const m = planes * p.outH * p.outW;
      const o1 = wb.alloc(m);
      const o2 = new Float32Array(m);
      wb.avgPool2d(w(x), o1, p);
      js.avgPool2d(x, o2, p);
      expect(Array.from(o1), `${name} values`).toEqual(Array.from(o2));
      const g = randArr(m);
      const d1 = wb.alloc(x.length);
      d1.fill(7); // the kernel zeroes its output first
      const d2 = new Float32Array(x.length);
      wb.avgPool2dBackward(w(g), d1, p);
      js.avgPool2dBackward(g, d2, p);
      expect(Array.from(d1), `${name} gradient`).toEqual(Array.from(d2));
    }
    for (const [planes, h, wd, sh, sw] of [
      [64, 14, 14, 2, 2],
      [128, 16, 16, 2, 2], // threaded
      [3, 5, 7, 3, 1],
      [2, 1, 3, 1, 4],
    ]) {
      const x = randArr(planes * h * wd);
      const big = x.length * sh * sw;
      const u1 = wb.alloc(big);
      const u2 = new Float32Array(big);
      wb.fused.upsampleNearest(w(x), planes, h, wd, sh, sw, u1);
      js.fused.upsampleNearest(x, planes, h, wd, sh, sw, u2);
      expect(Array.from(u1), `upsample ${planes}x${h}x${wd} by ${sh}x${sw}`).toEqual(Array.from(u2));
      const g = randArr(big);
      const d1 = wb.alloc(x.length);
      d1.fill(7);
      const d2 = new Float32Array(x.length);
      wb.fused.upsampleNearestBackward(w(g), planes, h, wd, sh, sw, d1);
      js.fused.upsampleNearestBackward(g, planes, h, wd, sh, sw, d2);
      expect(Array.from(d1), `upsample gradient ${planes}x${h}x${wd} by ${sh}x${sw}`).toEqual(Array.from(d2));
    }
  });

  it('conv2d (with and without bias)', () => {
    for (const [name, p] of convCases) {
      const x = randArr(p.batch * p.inC * p.inH * p.inW);
      const wt = randArr(p.outC * (p.inC / p.groups) * p.kH * p.kW);
      const bias = randArr(p.outC);
      const n = p.batch * p.outC * p.outH * p.outW;
      for (const withBias of [true, false]) {
        const o1 = wb.alloc(n);
        const o2 = new Float32Array(n);
        wb.conv2d(w(x), w(wt), withBias ? w(bias) : null, o1, p);
        js.conv2d(x, wt, withBias ? bias : null, o2, p);
        expectClose(o1, o2, `conv2d ${name} bias=${withBias}`, { scale: rms(o2) });
        wb.free(o1);
      }
    }
  });

  it('conv2dBackwardInput', () => {
    for (const [name, p] of convCases) {
      const g = randArr(p.batch * p.outC * p.outH * p.outW);
      const wt = randArr(p.outC * (p.inC / p.groups) * p.kH * p.kW);
      const n = p.batch * p.inC * p.inH * p.inW;
      const o1 = w(randArr(n)); // garbage: the kernel must overwrite
      const o2 = new Float32Array(n);
      wb.conv2dBackwardInput(w(g), w(wt), o1, p);
      js.conv2dBackwardInput(g, wt, o2, p);
      expectClose(o1, o2, `conv2dBackwardInput ${name}`, { scale: rms(o2) });
      wb.free(o1);
    }
  });

  it('conv2dBackwardWeight', () => {
    for (const [name, p] of convCases) {
      const x = randArr(p.batch * p.inC * p.inH * p.inW);
      const g = randArr(p.batch * p.outC * p.outH * p.outW);
      const n = p.outC * (p.inC / p.groups) * p.kH * p.kW;
      const o1 = w(randArr(n));
      const o2 = new Float32Array(n);
      wb.conv2dBackwardWeight(w(x), w(g), o1, p);
      js.conv2dBackwardWeight(x, g, o2, p);
      expectClose(o1, o2, `conv2dBackwardWeight ${name}`, { scale: rms(o2) });
      wb.free(o1);
    }
  });

  it('conv: ordinary arrays are copied in and out', () => {
    const p = convParams(2, 3, 9, 9, 4, 3, 3, { stride: [2, 2], pad: [1, 1] });
    const x = randArr(p.batch * p.inC * p.inH * p.inW);
    const wt = randArr(p.outC * p.inC * 9);
    const y1 = new Float32Array(p.batch * p.outC * p.outH * p.outW);
    const y2 = new Float32Array(y1.length);
    wb.conv2d(x, wt, null, y1, p);
    js.conv2d(x, wt, null, y2, p);
    expectClose(y1, y2, 'conv2d foreign', { scale: rms(y2) });
    const dx1 = new Float32Array(x.length);
    const dx2 = new Float32Array(x.length);
    wb.conv2dBackwardInput(y2, wt, dx1, p);
    js.conv2dBackwardInput(y2, wt, dx2, p);
    expectClose(dx1, dx2, 'conv2dBackwardInput foreign', { scale: rms(dx2) });
    const dw1 = new Float32Array(wt.length);
    const dw2 = new Float32Array(wt.length);
    wb.conv2dBackwardWeight(x, y2, dw1, p);
    js.conv2dBackwardWeight(x, y2, dw2, p);
    expectClose(dw1, dw2, 'conv2dBackwardWeight foreign', { scale: rms(dw2) });
  });

  // --- index shuffles, pooling, upsampling (delegated, checked anyway) ------------------------

  it('slice and sliceAdd equal the js reference exactly: unit-stride runs (wasm copy / add), strided and short runs', () => {
    const cases: [number[], number[], number[], number[]][] = [
      // shape, starts, steps, outShape
      [[128, 794], [0, 0], [1, 1], [128, 784]], // concat's part: rows of 784
      [[128, 794], [0, 784], [1, 1], [128, 10]], // the label part: runs of 10
      [[64, 3], [0, 1], [1, 1], [64, 2]], // runs of 2: JS path
      [[6, 40, 33], [1, 2, 0], [2, 3, 1], [3, 12, 33]], // 3-d, strided outer axes, unit inner runs
      [[5, 70], [0, 1], [1, 2], [5, 30]], // strided inner axis: JS path
      [[7], [2], [1], [5]],
    ];
    for (const [shape, starts, steps, outShape] of cases) {
      const what = `shape ${JSON.stringify(shape)} starts ${JSON.stringify(starts)} steps ${JSON.stringify(steps)}`;
      const x = randArr(shape.reduce((a, b) => a * b, 1));
      const m = outShape.reduce((a, b) => a * b, 1);
      const s1 = wb.alloc(m);
      const s2 = new Float32Array(m);
      wb.slice(w(x), shape, starts, steps, s1, outShape);
      js.slice(x, shape, starts, steps, s2, outShape);
      expect(Array.from(s1), `slice ${what}`).toEqual(Array.from(s2));
      const g = randArr(m);
      const base = randArr(x.length);
      const a1 = w(base);
      const a2 = Float32Array.from(base);
      wb.sliceAdd(w(g), outShape, starts, steps, a1, shape);
      js.sliceAdd(g, outShape, starts, steps, a2, shape);
      expect(Array.from(a1), `sliceAdd ${what}`).toEqual(Array.from(a2));
    }
  });

  it('indexSelect and indexAdd equal the js reference exactly (row runs through wasm, repeated indices add in order)', () => {
    const cases: [number[], number, number[]][] = [
      [[50, 16], 0, [3, 3, 49, 0, 7]], // rows of 16: wasm path; 3 repeated
      [[4, 9, 12], 1, [8, 0, 8, 2]], // axis 1 of 3-d: runs of 12
      [[6, 5], 1, [4, 0]], // runs of 1: JS path
    ];
    for (const [shape, axis, list] of cases) {
      const what = `shape ${JSON.stringify(shape)} axis ${axis}`;
      const idx = Int32Array.from(list);
      const x = randArr(shape.reduce((a, b) => a * b, 1));
      const outShape = shape.slice();
      outShape[axis] = idx.length;
      const m = outShape.reduce((a, b) => a * b, 1);
      const o1 = wb.alloc(m);
      const o2 = new Float32Array(m);
      wb.indexSelect(w(x), shape, axis, idx, o1);
      js.indexSelect(x, shape, axis, idx, o2);
      expect(Array.from(o1), `indexSelect ${what}`).toEqual(Array.from(o2));
      const g = randArr(m);
      const base = randArr(x.length);
      const a1 = w(base);
      const a2 = Float32Array.from(base);
      wb.indexAdd(w(g), shape, axis, idx, a1);
      js.indexAdd(g, shape, axis, idx, a2);
      expect(Array.from(a1), `indexAdd ${what}`).toEqual(Array.from(a2));
    }
    expect(() => wb.indexSelect(w(randArr(32)), [2, 16], 0, Int32Array.of(2), wb.alloc(16))).toThrow(/index 2 at position 0 is outside 0\.\.1/);
  });

  it('permute, slice, sliceAdd, indexSelect, indexAdd', () => {
    const shape = [3, 4, 5];
    const x = randArr(60);
    for (const perm of [
      [1, 0, 2],
      [2, 1, 0],
      [0, 2, 1],
    ]) {
      const o1 = wb.alloc(60);
      const o2 = new Float32Array(60);
      wb.permute(w(x), shape, perm, o1);
      js.permute(x, shape, perm, o2);
      expectClose(o1, o2, `permute ${perm}`);
    }
    const t1 = wb.alloc(20);
    const t2 = new Float32Array(20);
    wb.permute(w(x.subarray(0, 20)), [4, 5], [1, 0], t1);
    js.permute(x.subarray(0, 20), [4, 5], [1, 0], t2);
    expectClose(t1, t2, 'transpose');

    const starts = [1, 0, 1];
    const steps = [1, 2, 2];
    const outShape = [2, 2, 2];
    const s1 = wb.alloc(8);
    const s2 = new Float32Array(8);
    wb.slice(w(x), shape, starts, steps, s1, outShape);
    js.slice(x, shape, starts, steps, s2, outShape);
    expectClose(s1, s2, 'slice');
    const acc1 = w(x);
    const acc2 = Float32Array.from(x);
    wb.sliceAdd(s1, outShape, starts, steps, acc1, shape);
    js.sliceAdd(s2, outShape, starts, steps, acc2, shape);
    expectClose(acc1, acc2, 'sliceAdd');

    const idx = Int32Array.from([2, 0, 2, 1]);
    const i1 = wb.alloc(3 * 4 * 5);
    const i2 = new Float32Array(60);
    wb.indexSelect(w(x), shape, 1, idx, i1);
    js.indexSelect(x, shape, 1, idx, i2);
    expectClose(i1, i2, 'indexSelect');
    const a1 = wb.alloc(60);
    const a2 = new Float32Array(60);
    wb.indexAdd(i1, shape, 1, idx, a1);
    js.indexAdd(i2, shape, 1, idx, a2);
    expectClose(a1, a2, 'indexAdd');
  });

  it('pooling and upsampling', () => {
    const p: Pool2dParams = {
      batch: 2,
      channels: 3,
      inH: 7,
      inW: 6,
      outH: 4,
      outW: 3,
      kH: 3,
      kW: 2,
      strideH: 2,
      strideW: 2,
      padH: 1,
      padW: 0,
    };
    const x = randArr(2 * 3 * 7 * 6);
    const n = 2 * 3 * 4 * 3;
    const o1 = wb.alloc(n);
    const o2 = new Float32Array(n);
    const i1 = wb.alloc(n);
    const i2 = new Float32Array(n);
    wb.maxPool2d(w(x), o1, i1, p);
    js.maxPool2d(x, o2, i2, p);
    expectClose(o1, o2, 'maxPool2d');
    expectClose(i1, i2, 'maxPool2d idx');
    const g = randArr(n);
    const d1 = wb.alloc(x.length);
    const d2 = new Float32Array(x.length);
    wb.maxPool2dBackward(w(g), i1, d1, p);
    js.maxPool2dBackward(g, i2, d2, p);
    expectClose(d1, d2, 'maxPool2dBackward');
    wb.avgPool2d(w(x), o1, p);
    js.avgPool2d(x, o2, p);
    expectClose(o1, o2, 'avgPool2d');
    wb.avgPool2dBackward(w(g), d1, p);
    js.avgPool2dBackward(g, d2, p);
    expectClose(d1, d2, 'avgPool2dBackward');

    const u = randArr(2 * 3 * 4);
    const u1 = wb.alloc(2 * 3 * 4 * 6);
    const u2 = new Float32Array(2 * 3 * 4 * 6);
    wb.fused.upsampleNearest(w(u), 2, 3, 4, 2, 3, u1);
    js.fused.upsampleNearest(u, 2, 3, 4, 2, 3, u2);
    expectClose(u1, u2, 'upsampleNearest');
    const ug = randArr(u1.length);
    const b1 = wb.alloc(u.length);
    const b2 = new Float32Array(u.length);
    wb.fused.upsampleNearestBackward(w(ug), 2, 3, 4, 2, 3, b1);
    js.fused.upsampleNearestBackward(ug, 2, 3, 4, 2, 3, b2);
    expectClose(b1, b2, 'upsampleNearestBackward');
  });

  // --- optimizers ----------------------------------------------------------------------------

  it('adamStep: Adam, L2, AdamW, AMSGrad, several steps', () => {
    // every compiled variant of the kernel's loop (adamRange): decay none / L2 / AdamW × AMSGrad
    const variants: Partial<AdamParams>[] = [
      {},
      { weightDecay: 0.01 },
      { weightDecay: 0.05, decoupled: true },
      { amsgrad: true },
      { amsgrad: true, weightDecay: 0.03 },
      { amsgrad: true, weightDecay: 0.02, decoupled: true },
    ];
    for (const v of variants) {
      for (const n of [1, 7, 1000, 100_003]) {
        const hp0: AdamParams = {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0,
          decoupled: false,
          amsgrad: false,
          step: 1,
          ...v,
        };
        const p1 = w(randArr(n));
        const p2 = Float32Array.from(p1);
        const m1 = wb.alloc(n);
        const m2 = new Float32Array(n);
        const v1 = wb.alloc(n);
        const v2 = new Float32Array(n);
        const x1 = hp0.amsgrad ? wb.alloc(n) : null;
        const x2 = hp0.amsgrad ? new Float32Array(n) : null;
        for (let step = 1; step <= 3; step++) {
          const g = randArr(n);
          const hp = { ...hp0, step };
          wb.fused.adamStep(p1, w(g), m1, v1, x1, hp);
          js.fused.adamStep(p2, g, m2, v2, x2, hp);
        }
        // m = β1·m + (1−β1)·g cancels; the reference rounds once from float64, we round each
        // float32 step: compare relative to the array's scale.
        const what = `adam ${JSON.stringify(v)} n=${n}`;
        expectClose(p1, p2, `${what} p`, { scale: rms(p2) });
        expectClose(m1, m2, `${what} m`, { scale: rms(m2) });
        expectClose(v1, v2, `${what} v`, { scale: rms(v2) });
        if (x1 && x2) expectClose(x1, x2, `${what} vmax`, { scale: rms(x2) });
      }
    }
  });

  it('adamStep on ordinary arrays', () => {
    const n = 333;
    const hp: AdamParams = { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false, amsgrad: false, step: 4 };
    const p1 = randArr(n);
    const p2 = Float32Array.from(p1);
    const m1 = randArr(n);
    const m2 = Float32Array.from(m1);
    const v1 = randArr(n, 0, 1);
    const v2 = Float32Array.from(v1);
    const g = randArr(n);
    wb.fused.adamStep(p1, g, m1, v1, null, hp);
    js.fused.adamStep(p2, g, m2, v2, null, hp);
    expectClose(p1, p2, 'adam foreign p', { scale: rms(p2) });
    expectClose(m1, m2, 'adam foreign m', { scale: rms(m2) });
    expectClose(v1, v2, 'adam foreign v', { scale: rms(v2) });
  });

  it('sgdStep: plain, momentum, dampening, Nesterov, weight decay', () => {
    const variants: Partial<SgdParams>[] = [
      {},
      { weightDecay: 0.01 },
      { momentum: 0.9 },
      { momentum: 0.9, dampening: 0.3 },
      { momentum: 0.9, weightDecay: 0.02 },
      { momentum: 0.7, nesterov: true },
      { momentum: 0.8, nesterov: true, weightDecay: 0.05 },
    ];
    // with the first step (buffer = gradient) and the later ones, every compiled variant of the
    // kernel's loop: decay on/off × plain / momentum / Nesterov × first step or not
    for (const v of variants) {
      for (const n of [1, 9, 1000, 100_003]) {
        const base: SgdParams = { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, first: true, ...v };
        const p1 = w(randArr(n));
        const p2 = Float32Array.from(p1);
        const useBuf = base.momentum !== 0;
        const b1 = useBuf ? wb.alloc(n) : null;
        const b2 = useBuf ? new Float32Array(n) : null;
        for (let step = 0; step < 3; step++) {
          const g = randArr(n);
          const hp = { ...base, first: step === 0 };
          wb.fused.sgdStep(p1, w(g), b1, hp);
          js.fused.sgdStep(p2, g, b2, hp);
        }
        expectClose(p1, p2, `sgd ${JSON.stringify(v)} n=${n} p`, { scale: rms(p2) });
        // The buffer sums gradient-sized terms (|g| ≲ 1) that can cancel: measure its error
        // against their scale, not against the (possibly tiny) sum of one element.
        if (b1 && b2) expectClose(b1, b2, `sgd ${JSON.stringify(v)} n=${n} buf`, { scale: Math.max(rms(b2), 0.1) });
      }
    }
  });

  // The three optimizers below compound over steps through their running averages, so each runs
  // five steps with the same hyperparameters on both backends; the reference keeps its
  // intermediates in float64, the kernel in float32, so arrays compare against their own scale.
  // Every compiled variant of each kernel's loop runs (weight decay on/off; RMSprop also
  // centered × momentum), at lengths that exercise the vector loop, the scalar tail and threads.
  const OPT_SIZES = [1, 7, 1000, 100_003];

  it('rmspropStep: plain, centered, momentum, both, with and without weight decay', () => {
    for (const centered of [false, true])
      for (const momentum of [0, 0.8])
        for (const weightDecay of [0, 0.05])
          for (const n of OPT_SIZES) {
            const hp: RmspropParams = { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay, momentum };
            const p1 = w(randArr(n));
            const p2 = Float32Array.from(p1);
            const [s1, a1, b1] = [wb.alloc(n), centered ? wb.alloc(n) : null, momentum ? wb.alloc(n) : null];
            const [s2, a2, b2] = [new Float32Array(n), centered ? new Float32Array(n) : null, momentum ? new Float32Array(n) : null];
            for (let step = 0; step < 5; step++) {
              const g = randArr(n);
              wb.fused.rmspropStep(p1, w(g), s1, a1, b1, hp);
              js.fused.rmspropStep(p2, g, s2, a2, b2, hp);
            }
            const what = `rmsprop centered=${centered} momentum=${momentum} wd=${weightDecay} n=${n}`;
            expectClose(p1, p2, `${what} p`, { scale: rms(p2) });
            expectClose(s1, s2, `${what} squareAvg`, { scale: rms(s2) });
            if (a1 && a2) expectClose(a1, a2, `${what} gradAvg`, { scale: Math.max(rms(a2), 0.1) });
            if (b1 && b2) expectClose(b1, b2, `${what} buf`, { scale: Math.max(rms(b2), 0.1) });
          }
  });

  it('adagradStep: with and without weight decay, a decayed rate, a non-zero initial sum', () => {
    for (const weightDecay of [0, 0.02])
      for (const n of OPT_SIZES) {
        const p1 = w(randArr(n));
        const p2 = Float32Array.from(p1);
        const s1 = wb.alloc(n);
        s1.fill(0.5);
        const s2 = new Float32Array(n).fill(0.5);
        for (let step = 1; step <= 5; step++) {
          const hp: AdagradParams = { clr: 0.1 / (1 + (step - 1) * 0.1), eps: 1e-10, weightDecay };
          const g = randArr(n);
          wb.fused.adagradStep(p1, w(g), s1, hp);
          js.fused.adagradStep(p2, g, s2, hp);
        }
        const what = `adagrad wd=${weightDecay} n=${n}`;
        expectClose(p1, p2, `${what} p`, { scale: rms(p2) });
        expectClose(s1, s2, `${what} sum`, { scale: rms(s2) });
      }
  });

  it('adadeltaStep: with and without weight decay', () => {
    for (const weightDecay of [0, 0.1])
      for (const n of OPT_SIZES) {
        const hp: AdadeltaParams = { lr: 0.5, rho: 0.95, eps: 1e-6, weightDecay };
        const p1 = w(randArr(n));
        const p2 = Float32Array.from(p1);
        const [s1, d1] = [wb.alloc(n), wb.alloc(n)];
        const [s2, d2] = [new Float32Array(n), new Float32Array(n)];
        for (let step = 0; step < 5; step++) {
          const g = randArr(n);
          wb.fused.adadeltaStep(p1, w(g), s1, d1, hp);
          js.fused.adadeltaStep(p2, g, s2, d2, hp);
        }
        const what = `adadelta wd=${weightDecay} n=${n}`;
        expectClose(p1, p2, `${what} p`, { scale: rms(p2) });
        expectClose(s1, s2, `${what} squareAvg`, { scale: rms(s2) });
        expectClose(d1, d2, `${what} accDelta`, { scale: rms(d2) });
      }
  });

  it('rmspropStep, adagradStep and adadeltaStep on ordinary arrays (copied in and back)', () => {
    const n = 333;
    const g = randArr(n);
    const start = randArr(n);
    const state = () => randArr(n, 0, 1);
    const [sq, ga, buf, sum, acc] = [state(), randArr(n, -0.1, 0.1), randArr(n), state(), state()];
    // squareAvg must stay above gradAvg² for the centered form: start it at 1 + |ḡ|.
    for (let i = 0; i < n; i++) sq[i] = 1 + Math.abs(ga[i]!);
    const run = (b: typeof js) => {
      const out = { p: Float32Array.from(start), sq: Float32Array.from(sq), ga: Float32Array.from(ga), buf: Float32Array.from(buf) };
      b.fused.rmspropStep(out.p, g, out.sq, out.ga, out.buf, { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay: 0.1, momentum: 0.5 });
      const q = Float32Array.from(start);
      const s = Float32Array.from(sum);
      b.fused.adagradStep(q, g, s, { clr: 0.05, eps: 1e-10, weightDecay: 0.01 });
      const r = Float32Array.from(start);
      const [s3, a3] = [Float32Array.from(sq), Float32Array.from(acc)];
      b.fused.adadeltaStep(r, g, s3, a3, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0 });
      return [out.p, out.sq, out.ga, out.buf, q, s, r, s3, a3];
    };
    const got = run(wb);
    const want = run(js);
    got.forEach((a, i) => expectClose(a, want[i]!, `foreign array ${i}`, { scale: Math.max(rms(want[i]!), 0.1) }));
  });
});

// ---------------------------------------------------------------------------------------------
// The thread pool's protocol, memory growth under threads, and determinism

/** Number of elements where a and b differ bitwise (NaNs compared by bits too). */
function bitDiffs(a: F32, b: F32): number {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let d = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) d++;
  return d;
}

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
  const GEN = 0;
  const FINISHED = 6;
  const QUEUE = 2; // u64 index
  const TOTAL = 6; // u64 index
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
    args.set([a, b, c, batch, M, N, K, 0, 0, M * K, K * N, 1, 0, SCRATCH, scratchStride]);
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
    rand = rng(11);
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

describe('wasm backend: determinism', () => {
  // Results must be bit-identical run to run and across thread counts: items only cut outputs
  // into disjoint pieces, and every sum's order follows from the arguments alone (index.ts).
  let w1: WasmBackend;
  let w2: WasmBackend;
  beforeAll(async () => {
    w1 = await createWasmBackend({ threads: 1 });
    w2 = await createWasmBackend({ threads: 2 });
  });
  afterAll(async () => {
    await w1.dispose();
    await w2.dispose();
  });

  /** Runs `f` on 1 thread once and on 2 threads three times; all four results must agree bitwise. */
  function same(what: string, f: (b: WasmBackend) => F32): void {
    const ref = Float32Array.from(f(w1));
    for (let rep = 0; rep < 3; rep++) {
      const got = f(w2);
      const d = bitDiffs(got, ref);
      if (d !== 0) throw new Error(`${what}: ${d} of ${ref.length} elements differ between 1 and 2 threads (repeat ${rep})`);
    }
  }

  const conv = (batch: number, inC: number, hw: number, outC: number, k: number, stride: number, pad: number, groups = 1): Conv2dParams => {
    const o = Math.floor((hw + 2 * pad - k) / stride) + 1;
    return {
      batch,
      inC,
      inH: hw,
      inW: hw,
      outC,
      outH: o,
      outW: o,
      kH: k,
      kW: k,
      strideH: stride,
      strideW: stride,
      padH: pad,
      padW: pad,
      dilH: 1,
      dilW: 1,
      groups,
    };
  };

  it('conv forward and both gradients, every work split', () => {
    rand = rng(31);
    const cases: [string, Conv2dParams][] = [
      // Sizes ≥ 8× the threading threshold, so that sleeping workers are woken and take part.
      ['first layer, many images (image-group partials)', conv(64, 1, 28, 32, 3, 1, 1)],
      ['first layer, 3 channels', conv(64, 3, 28, 32, 3, 1, 1)],
      ['first layer, one image (output-channel split)', conv(1, 1, 128, 64, 3, 1, 1)],
      ['few images (channel chunks)', conv(2, 32, 16, 64, 3, 1, 1)],
      ['one image, many channels', conv(1, 64, 16, 64, 3, 1, 1)],
      ['conv AE encoder', conv(64, 16, 14, 32, 3, 2, 1)],
      ['conv AE first layer (image blocks inside image groups)', conv(256, 1, 28, 32, 3, 2, 1)],
      ['odd batch, image blocks', conv(67, 16, 14, 32, 3, 2, 1)],
      ['pointwise', conv(8, 64, 16, 128, 1, 1, 0)],
      ['groups', conv(16, 32, 16, 32, 3, 1, 1, 4)],
      ['im2col chunked', conv(1, 64, 32, 16, 3, 1, 1)],
    ];
    for (const [name, p] of cases) {
      const x = randArr(p.batch * p.inC * p.inH * p.inW);
      const wt = randArr(p.outC * (p.inC / p.groups) * p.kH * p.kW);
      const g = randArr(p.batch * p.outC * p.outH * p.outW);
      const bias = randArr(p.outC);
      same(`conv2d ${name}`, (b) => {
        const o = new Float32Array(g.length);
        b.conv2d(x, wt, bias, o, p);
        return o;
      });
      same(`conv2dBackwardInput ${name}`, (b) => {
        const o = new Float32Array(x.length);
        b.conv2dBackwardInput(g, wt, o, p);
        return o;
      });
      same(`conv2dBackwardWeight ${name}`, (b) => {
        const o = new Float32Array(wt.length);
        b.conv2dBackwardWeight(x, g, o, p);
        return o;
      });
    }
  });

  it('matmul (batch and block splits), reductions, elementwise, optimizers', () => {
    rand = rng(32);
    for (const [batch, M, N, K, tA, tB] of [
      [1, 512, 512, 256, false, false],
      [1, 64, 700, 300, true, false],
      [1, 700, 45, 300, false, true],
      [1, 601, 44, 900, true, true],
      [3, 130, 129, 257, true, true],
      [16, 96, 96, 96, false, false],
    ] as const) {
      const a = randArr(batch * M * K);
      const bb = randArr(batch * K * N);
      const c0 = randArr(batch * M * N);
      same(`matmul ${batch}×${M}×${N}×${K}`, (b) => {
        const o = Float32Array.from(c0);
        b.matmul(a, bb, o, { batch, M, N, K, transA: tA, transB: tB, strideA: M * K, strideB: K * N, alpha: 0.5, beta: 0.25 });
        return o;
      });
    }
    for (const [shape, axes] of [
      [[1 << 20], [0]],
      [[600, 1000], [1]],
      [[2000, 333], [0]],
      [[16, 500, 70], [1]],
      [
        [128, 32, 196],
        [0, 2],
      ],
    ] as [number[], number[]][]) {
      const x = randArr(prod(shape));
      for (const op of ['sum', 'max'] as const) {
        same(`reduce ${op} ${shape} over ${axes}`, (b) => {
          const keepShape = shape.filter((_, i) => !axes.includes(i));
          const o = new Float32Array(prod(keepShape));
          b.reduce(op, x, shape, axes, o);
          return o;
        });
      }
    }
    const bytes = Uint8Array.from({ length: 700 * 301 }, (_, i) => (i * 31) & 255);
    const rowsPicked = Int32Array.from({ length: 500 }, (_, j) => (j * 13) % 700);
    same('gatherRows8', (b) => {
      const src = b.fused.allocBytes(bytes.length);
      src.set(bytes);
      const o = new Float32Array(500 * 301);
      b.fused.gatherRows8(src, 301, rowsPicked, o);
      b.free(src);
      return o;
    });
    const z = randArr(640 * 301, -6, 6);
    const t = randArr(640 * 301, 0, 1);
    same('bceRows', (b) => {
      const o = new Float32Array(640 + 640 * 301);
      b.fused.bceRows(t, z.map((v) => v / 6), 640, 301, o.subarray(0, 640), o.subarray(640));
      return o;
    });
    same('bceLogitsRows', (b) => {
      const o = new Float32Array(640 + 640 + 640 * 301);
      b.fused.bceLogitsRows(z, t, 640, 301, o.subarray(0, 640), o.subarray(640, 1280), o.subarray(1280));
      return o;
    });
    const n = 600_001;
    const x = randArr(n, -4, 4);
    const y = randArr(n, -4, 4);
    same('unary tanh', (b) => {
      const o = new Float32Array(n);
      b.unary('tanh', x, o, 0);
      return o;
    });
    same('binary mul, row broadcast', (b) => {
      const o = new Float32Array(n - 1);
      b.binary('mul', x.subarray(0, n - 1), [2000, 300], y.subarray(0, 300), [1, 300], o, [2000, 300]);
      return o;
    });
    same('adam', (b) => {
      const p = Float32Array.from(x);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      for (let step = 1; step <= 3; step++) {
        b.fused.adamStep(p, y, m, v, null, {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          decoupled: true,
          amsgrad: false,
          step,
        });
      }
      return p;
    });
  });

  it('training a small CNN for 300 steps: the same bits on 2 threads as on 1', () => {
    // Also the stress test of the pool under real training (it used to fail within a few dozen
    // steps): 300 steps of a conv classifier on MNIST digits with 2 threads. The second conv
    // layer's kernels are large enough to wake sleeping workers; the first layer's weight
    // gradient takes the image-group path (1 input channel).
    const ds = loadEmbeddedMnist('train');
    const B = 16;
    const pool = 2048;
    const trainRun = (backend: WasmBackend, steps: number): { losses: number[]; params: Float32Array[] } => {
      const prev = getBackend();
      useBackend(backend);
      try {
        const m = new CNNClassifier(defaultConfig('cnn', [1, 28, 28], { channels: [16, 32], hidden: [32], dropout: 0.1 }), {
          generator: new Generator(5),
        });
        const opt = m.createOptimizers((params) => new Adam(params, { lr: 3e-3 }) as unknown as OptimizerLike);
        const ctx = { generator: new Generator(9), epoch: 0 };
        const losses: number[] = [];
        m.train();
        for (let s = 0; s < steps; s++) {
          const off = (s * B) % (pool - B);
          const x = tensor(ds.images.subarray(off * 784, (off + B) * 784), [B, 1, 28, 28]);
          const part = m.trainStep({ x, y: ds.labels!.slice(off, off + B) }, opt, ctx);
          losses.push(part.ce!);
          x.dispose();
        }
        return { losses, params: m.parameters().map((p) => Float32Array.from(p.data)) };
      } finally {
        useBackend(prev);
      }
    };
    const steps = 300;
    const a = trainRun(w2, steps);
    const head = a.losses.slice(0, 10).reduce((s, v) => s + v, 0) / 10;
    const tail = a.losses.slice(-10).reduce((s, v) => s + v, 0) / 10;
    expect(tail).toBeLessThan(0.5 * head);
    // (Equal to a 1-thread run also means equal to any other 2-thread run.)
    const c = trainRun(w1, steps);
    expect(c.losses).toEqual(a.losses);
    for (let i = 0; i < a.params.length; i++) {
      expect(bitDiffs(c.params[i]!, a.params[i]!), `param ${i}, 1 vs 2 threads`).toBe(0);
    }
  }, 180_000);
});
