/**
 * The reference js kernels: The fused optimizer steps against their update formulas.
 */
import { describe, expect, it } from 'vitest';

import { jsBackend as K } from '../../../src/kernels/js/index.js';

import { rnd } from './helpers.js';

describe('fused optimizer steps', () => {
  it('sgdStep: weight decay, momentum (first step and later), dampening, nesterov', () => {
    for (const nesterov of [false, true])
      for (const first of [true, false]) {
        const hp = { lr: 0.1, momentum: 0.9, dampening: nesterov ? 0 : 0.2, weightDecay: 0.01, nesterov, first };
        const p = rnd(5);
        const g = rnd(5);
        const buf = rnd(5);
        const [p0, buf0] = [p.slice(), buf.slice()];
        K.fused.sgdStep(p, g, buf, hp);
        for (let i = 0; i < 5; i++) {
          const d = g[i]! + hp.weightDecay * p0[i]!;
          const b = first ? d : hp.momentum * buf0[i]! + (1 - hp.dampening) * d;
          const step = nesterov ? d + hp.momentum * b : b;
          expect(buf[i]).toBeCloseTo(b, 5);
          expect(p[i]).toBeCloseTo(p0[i]! - hp.lr * step, 5);
        }
      }
  });

  it("adamStep matches PyTorch's formula (Adam, AdamW, amsgrad)", () => {
    for (const [decoupled, amsgrad] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const hp = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled, amsgrad, step: 3 };
      const p = rnd(4);
      const g = rnd(4);
      const m = rnd(4).map(Math.abs);
      const v = rnd(4).map((x) => x * x);
      const vmax = v.map((x) => x * 1.5);
      const [p0, m0, v0, vmax0] = [p.slice(), m.slice(), v.slice(), vmax.slice()];
      K.fused.adamStep(p, g, m, v, amsgrad ? vmax : null, hp);
      for (let i = 0; i < 4; i++) {
        let gi = g[i]!;
        let pi = p0[i]!;
        if (decoupled) pi *= 1 - hp.lr * hp.weightDecay;
        else gi += hp.weightDecay * pi;
        const mi = hp.beta1 * m0[i]! + (1 - hp.beta1) * gi;
        const vi = hp.beta2 * v0[i]! + (1 - hp.beta2) * gi * gi;
        const vh = amsgrad ? Math.max(vmax0[i]!, vi) : vi;
        const mhat = mi / (1 - hp.beta1 ** 3);
        const vhat = vh / (1 - hp.beta2 ** 3);
        expect(p[i]).toBeCloseTo(pi - (hp.lr * mhat) / (Math.sqrt(vhat) + hp.eps), 5);
        expect(m[i]).toBeCloseTo(mi, 6);
        expect(v[i]).toBeCloseTo(vi, 6);
      }
    }
  });
});
