/**
 * Starting the wasm backend (index.ts, loader.ts): SIMD detection, the thread count from options
 * and AELAB_THREADS, ordinary (unshared) memory where SharedArrayBuffer is missing, the Node
 * process exiting with or without dispose(), and the choice of the relaxed-SIMD build.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { MatmulParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';

import { createWasmBackend, wasmSimdSupported } from '../../../src/kernels/wasm/index.js';

import { expectClose, randArr, rms, seed } from './helpers.js';

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
      seed(7);
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
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
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
