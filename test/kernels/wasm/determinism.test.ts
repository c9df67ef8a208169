/**
 * Determinism: every threaded kernel (conv forward and gradients in every work split, matmul,
 * reductions, elementwise, optimizers) and a 300-step CNN training run give the same bits on 1
 * and on 2 threads (see "Determinism" in src/kernels/wasm/index.ts).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conv2dParams, F32 } from '../../../src/kernels/backend.js';

import { getBackend, useBackend } from '../../../src/kernels/registry.js';
import { createWasmBackend, type WasmBackend } from '../../../src/kernels/wasm/index.js';

import { loadEmbeddedMnist } from '../../../src/data/index.js';
import { CNNClassifier, defaultConfig, type OptimizerLike } from '../../../src/models/index.js';
import { Adam } from '../../../src/optim/index.js';
import { tensor } from '../../../src/tensor/creation.js';
import { Generator } from '../../../src/tensor/random.js';
import { bitDiffs, prod, randArr, seed } from './helpers.js';

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
    seed(31);
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
    seed(32);
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
      b.fused.bceRows(
        t,
        z.map((v) => v / 6),
        640,
        301,
        o.subarray(0, 640),
        o.subarray(640),
      );
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
