/**
 * The elementwise kernels against the js reference: fill, copy, where, clamp, expand (every
 * fast path and the general one), every unary op and activation derivative over odd lengths and
 * special values, every binary op (primitive and fused loss ops) over every broadcast pattern the
 * kernel specialises and the ones it hands to the reference, and in-place calls.
 */
import { it } from 'vitest';
import type { BinaryOp, FusedBinaryOp, Shape, UnaryGradOp, UnaryOp } from '../../../src/kernels/backend.js';
import { jsBackend as js } from '../../../src/kernels/js/index.js';
import { bin, eachBuild, expectClose, prod, randArr, w, wb } from './helpers.js';

eachBuild('elementwise', () => {
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

  it('binary in place (out aliases a)', () => {
    const a = randArr(6 * 50);
    const b = randArr(50);
    const ref = new Float32Array(300);
    js.binary('add', a, [6, 50], b, [1, 50], ref, [6, 50]);
    const va = w(a);
    wb.binary('add', va, [6, 50], w(b), [1, 50], va, [6, 50]);
    expectClose(va, ref, 'add in place');
  });
});
