/**
 * The fused loss kernels against the js reference and against the separate kernels they fuse (to
 * the bit): bceLogits over the whole range of logits, bceRows, bceLogitsRows, klNormalRows and
 * reparameterize, with and without their optional outputs.
 */
import { expect, it } from 'vitest';
import type { FusedBinaryOp } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { eachBuild, expectClose, randArr, w, wb } from './helpers.js';

eachBuild('losses', () => {
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

  it("bceRows: the binary kernels' values and the reduce kernel's row sums, to the bit; against the reference", () => {
    // rows of 1..40 and 784 elements (vector blocks, SUM_BLOCK folds, every tail), 300 rows (threaded)
    for (const [rows, cols] of [
      [3, 1],
      [2, 3],
      [2, 4],
      [5, 15],
      [3, 16],
      [4, 17],
      [2, 40],
      [7, 784],
      [300, 257],
    ] as const) {
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
    expect(() => wb.fused.bceRows(new Float32Array(6), new Float32Array(5), 2, 3, new Float32Array(2), null)).toThrow(
      /y has 5 elements, needs 6/,
    );
  });

  it("bceLogitsRows: the binary kernels' values and the reduce kernel's row sums, to the bit; against the reference", () => {
    // rows of 1..40 and 784 elements (vector blocks, SUM_BLOCK folds, every tail), 300 rows (threaded)
    for (const [rows, cols] of [
      [3, 1],
      [2, 3],
      [2, 4],
      [5, 15],
      [3, 16],
      [4, 17],
      [2, 40],
      [7, 784],
      [300, 257],
    ] as const) {
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
    expect(() => wb.fused.bceLogitsRows(new Float32Array(5), new Float32Array(6), 2, 3, new Float32Array(2), null, null)).toThrow(
      /z has 5 elements, needs 6/,
    );
  });

  it("klNormalRows and reparameterize: the separate kernels' bits; against the reference", () => {
    for (const [rows, cols] of [
      [3, 1],
      [2, 5],
      [4, 16],
      [5, 37],
      [300, 20],
      [128, 257],
    ] as const) {
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
});
