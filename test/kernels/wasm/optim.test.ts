/**
 * The fused optimizer steps against the js reference: every variant of Adam / AdamW / AMSGrad,
 * SGD, RMSprop, Adagrad and Adadelta over several steps, on wasm and on ordinary arrays.
 */
import { it } from 'vitest';
import type { AdadeltaParams, AdagradParams, AdamParams, RmspropParams, SgdParams } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, randArr, rms, w, wb } from './helpers.js';

eachBuild('optim', () => {
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
