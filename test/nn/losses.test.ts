/**
 * Losses as likelihoods (seed 000): MSE is the Gaussian NLL up to constants, BCE the Bernoulli
 * NLL, CE the categorical one — tested as identities, plus numerical stability at the extremes,
 * closed forms (KL), gradients by finite differences, and the error messages.
 */
import { describe, expect, it } from 'vitest';
import { losses, mean, mul, oneHot, sigmoid, sum, tensor, type Tensor } from '../../src/index.js';
import { awayFromZero, expectClose, expectGrad, normal, uniform } from '../helpers/engine.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

function gradOf(f: (x: Tensor) => Tensor, x0: Tensor): number[] {
  const x = tensor(x0.data, x0.shape, { requiresGrad: true });
  f(x).backward();
  return x.grad!.toList();
}

describe('MSE is the Gaussian negative log-likelihood up to constants', () => {
  const y = normal([4, 6], 1, false);
  const t = normal([4, 6], 2, false);

  it('gaussianNll(full, variance 1) = ½·mse + ½·log 2π (elementwise mean)', () => {
    const g = losses.gaussianNll(y, t, 1, { full: true }).item();
    expect(g).toBeCloseTo(0.5 * losses.mse(y, t).item() + HALF_LOG_2PI, 5);
    expect(losses.gaussianNll(y, t, 1).item()).toBeCloseTo(0.5 * losses.mse(y, t).item(), 6);
    expect(losses.gaussianNllUnitVariance(y, t).item()).toBeCloseTo(0.5 * losses.mse(y, t).item(), 6);
  });

  it('and the gradients agree: ∇ gaussianNll = ½ ∇ mse', () => {
    const gm = gradOf((x) => losses.mse(x, t), y);
    const gg = gradOf((x) => losses.gaussianNll(x, t, 1, { full: true }), y);
    expectClose(
      gg,
      gm.map((v) => v / 2),
      1e-6,
    );
  });

  it('with a variance σ²: ½(log σ² + (y − μ)²/σ²) per element, 0-d, per-sample and full-shape variances', () => {
    const v = uniform([4, 6], 0.5, 2, 3, false);
    const ref = y.toList().map((mu, i) => 0.5 * (Math.log(v.data[i]!) + (t.data[i]! - mu) ** 2 / v.data[i]!));
    expectClose(losses.gaussianNll(y, t, v, { reduction: 'none' }).data, ref, 1e-5);
    expectClose(
      losses.gaussianNll(y, t, 0.25, { reduction: 'none' }).data,
      y.toList().map((mu, i) => 0.5 * (Math.log(0.25) + (t.data[i]! - mu) ** 2 / 0.25)),
      1e-5,
    );
    const vs = uniform([4], 0.5, 2, 4, false); // one variance per sample, broadcast over features
    const refS = y
      .toList()
      .map((mu, i) => 0.5 * (Math.log(vs.data[Math.floor(i / 6)]!) + (t.data[i]! - mu) ** 2 / vs.data[Math.floor(i / 6)]!));
    expectClose(losses.gaussianNll(y, t, vs, { reduction: 'none' }).data, refS, 1e-5);
    expect(losses.gaussianNll(y, t, v, { reduction: 'sum' }).item()).toBeCloseTo(
      ref.reduce((a, b) => a + b, 0),
      3,
    );
  });

  it('rejects negative variances and misfitting variance shapes', () => {
    expect(() => losses.gaussianNll(y, t, -1)).toThrow(/gaussianNll: variance has a negative entry/);
    expect(() => losses.gaussianNll(y, t, tensor([1, 2, 3]))).toThrow(
      /gaussianNll: variance shape \[3\] does not fit input shape \[4, 6\]/,
    );
  });
});

describe('BCE is the Bernoulli negative log-likelihood', () => {
  const p = uniform([5, 8], 0.05, 0.95, 10, false);
  const y = tensor(
    Float32Array.from({ length: 40 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)),
    [5, 8],
  );

  it('bernoulliNll = BCE summed per sample, then the mean over the batch', () => {
    const perSample = sum(losses.bce(p, y, { reduction: 'none' }), 1);
    expect(losses.bernoulliNll(p, y).item()).toBeCloseTo(mean(perSample).item(), 5);
    expect(losses.bernoulliNll(p, y).item()).toBeCloseTo(losses.bce(p, y, { reduction: 'sum' }).item() / 5, 5);
    expect(losses.bernoulliNll(p, y).item()).toBeCloseTo(losses.bce(p, y).item() * 8, 5);
    expect(losses.bernoulliNll(p, y, { reduction: 'none' }).shape).toEqual([5]);
  });

  it('a batch reduced to a scalar (the per-sample kernel) gives the elementwise values and gradients', () => {
    // rank 3, with probabilities at 0 and 1 (the −100 clamps, where the gradient is 0)
    const pd = uniform([3, 4, 5], 0.05, 0.95, 12, false).data.slice();
    pd[3] = 0;
    pd[17] = 1;
    const yd = uniform([3, 4, 5], 0, 1, 13, false).data;
    for (const reduction of ['mean', 'sum'] as const) {
      const grads: Float32Array[][] = [];
      const values: number[] = [];
      for (const fused of [true, false]) {
        const q = tensor(pd, [3, 4, 5], { requiresGrad: true });
        const t = tensor(yd, [3, 4, 5], { requiresGrad: true });
        const l = fused ? losses.bce(q, t, { reduction }) : (reduction === 'mean' ? mean : sum)(losses.bce(q, t, { reduction: 'none' }));
        l.backward();
        values.push(l.item());
        grads.push([q.grad!.data, t.grad!.data]);
      }
      // (the sums run in another order: float32 rounding of the total)
      expect(Math.abs(values[0]! - values[1]!)).toBeLessThanOrEqual(2e-7 * Math.abs(values[1]!));
      expectClose(grads[0]![0]!, Array.from(grads[1]![0]!), 1e-6);
      expectClose(grads[0]![1]!, Array.from(grads[1]![1]!), 1e-6);
    }
  });

  it('BCE is −[y log p + (1 − y) log(1 − p)]', () => {
    const ref = p.toList().map((q, i) => -(y.data[i]! * Math.log(q) + (1 - y.data[i]!) * Math.log(1 - q)));
    expectClose(losses.bce(p, y, { reduction: 'none' }).data, ref, 1e-6);
  });

  it('the logits forms equal the probability forms', () => {
    const z = normal([5, 8], 11, false);
    expect(losses.bernoulliNllWithLogits(z, y).item()).toBeCloseTo(losses.bernoulliNll(sigmoid(z), y).item(), 4);
    expect(losses.bceWithLogits(z, y).item()).toBeCloseTo(losses.bce(sigmoid(z), y).item(), 5);
  });

  it('BCE on probabilities exactly 0 or 1: loss clamped at 100 per element, gradient finite', () => {
    const q = tensor([0, 1, 0, 1, 0.5], undefined, { requiresGrad: true });
    const t = tensor([0, 1, 1, 0, 1]);
    const l = losses.bce(q, t, { reduction: 'none' });
    expectClose(l.data, [0, 0, 100, 100, Math.LN2], 1e-6);
    sum(l).backward();
    expect(q.grad!.toList().every(Number.isFinite), `grad ${q.grad!.toList()}`).toBe(true);
  });

  it('BCE at the −100 clamp: denormal probabilities, loss and gradient on either side of e^−100', () => {
    // 27·2^−149 is the smallest float32 whose log is above −100, 26·2^−149 the largest below
    const above = 27 * 2 ** -149;
    const below = 26 * 2 ** -149;
    const q = tensor([above, below, 2 ** -149, 1e-30, 0.25], undefined, { requiresGrad: true });
    const t = tensor([1, 1, 1, 1, 1]);
    const l = losses.bce(q, t, { reduction: 'none' });
    expectClose(l.data, [-Math.log(above), 100, 100, -Math.log(Math.fround(1e-30)), -Math.log(0.25)], 1e-6);
    sum(l).backward();
    const g = q.grad!.toList();
    // d/dp −log p = −1/p where the clamp is inactive (overflowing to −∞ in float32 near 0), 0 where active
    expect(g[0]).toBe(-Infinity);
    expect(g[1]).toBe(0);
    expect(g[2]).toBe(0);
    expect(g[3]! / -1e30).toBeCloseTo(1, 5);
    expect(g[4]).toBeCloseTo(-4, 5);
  });

  it('a saturated sigmoid output (float32 rounds it to exactly 1) still trains with BCE: no NaN', () => {
    const z = tensor([30, -30, 0.3], undefined, { requiresGrad: true });
    const t = tensor([1, 0, 1]);
    losses.bce(sigmoid(z), t).backward();
    expect(z.grad!.toList().every(Number.isFinite), `grad ${z.grad!.toList()}`).toBe(true);
    // d/dz = (σ(z) − y)/3
    expect(z.grad!.data[2]).toBeCloseTo((1 / (1 + Math.exp(-0.3)) - 1) / 3, 6);
  });

  it('bceWithLogits is exact and stable at ±100', () => {
    const x = tensor([100, 100, -100, -100], undefined, { requiresGrad: true });
    const t = tensor([1, 0, 1, 0]);
    const l = losses.bceWithLogits(x, t, { reduction: 'none' });
    expectClose(l.data, [0, 100, 100, 0], 1e-6);
    expect(l.toList().every(Number.isFinite)).toBe(true);
    sum(l).backward();
    expectClose(x.grad!.data, [0, 1, -1, 0], 1e-6);
  });
});

describe('cross-entropy is the categorical negative log-likelihood', () => {
  const logits = normal([4, 5], 20, false);
  const labels = [3, 0, 4, 1];

  it('integer targets and one-hot targets agree, in value and gradient', () => {
    const a = losses.crossEntropy(logits, labels).item();
    const b = losses.crossEntropy(logits, oneHot(labels, 5)).item();
    expect(a).toBeCloseTo(b, 6);
    expect(losses.crossEntropy(logits, tensor(labels)).item()).toBeCloseTo(a, 6);
    expectClose(
      gradOf((x) => losses.crossEntropy(x, labels), logits),
      gradOf((x) => losses.crossEntropy(x, oneHot(labels, 5)), logits),
      1e-6,
    );
    expect(losses.categoricalNll(logits, labels).item()).toBe(a);
  });

  it('equals −mean log softmax of the true class', () => {
    let ref = 0;
    for (let i = 0; i < 4; i++) {
      const row = Array.from(logits.data.subarray(i * 5, i * 5 + 5));
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      ref -= row[labels[i]!]! - lse;
    }
    expect(losses.crossEntropy(logits, labels).item()).toBeCloseTo(ref / 4, 5);
    expect(losses.crossEntropy(logits, labels, { reduction: 'sum' }).item()).toBeCloseTo(ref, 4);
  });

  it('the gradient is (softmax − onehot)/N', () => {
    const g = gradOf((x) => losses.crossEntropy(x, labels), logits);
    const ref: number[] = [];
    for (let i = 0; i < 4; i++) {
      const row = Array.from(logits.data.subarray(i * 5, i * 5 + 5));
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => ref.push((Math.exp(v) / z - (j === labels[i] ? 1 : 0)) / 4));
    }
    expectClose(g, ref, 1e-6);
  });

  it('soft targets: −Σ p·log softmax', () => {
    const soft = tensor([
      [0.5, 0.5, 0, 0, 0],
      [0.1, 0.2, 0.3, 0.2, 0.2],
      [0, 0, 0, 0, 1],
      [0.25, 0.25, 0.25, 0.25, 0],
    ]);
    let ref = 0;
    for (let i = 0; i < 4; i++) {
      const row = Array.from(logits.data.subarray(i * 5, i * 5 + 5));
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      row.forEach((v, j) => (ref -= soft.data[i * 5 + j]! * (v - lse)));
    }
    expect(losses.crossEntropy(logits, soft).item()).toBeCloseTo(ref / 4, 5);
  });

  it('ignoreIndex skips rows and averages over the rest', () => {
    const a = losses.crossEntropy(logits, [3, 0, 4, 1], { ignoreIndex: 0 }).item();
    const kept = losses.crossEntropy(logits, [3, 0, 4, 1], { reduction: 'none' }).toList();
    expect(a).toBeCloseTo((kept[0]! + kept[2]! + kept[3]!) / 3, 5);
  });

  it('is stable for huge logits', () => {
    const l = losses.crossEntropy(
      tensor([
        [1000, 0],
        [0, -1000],
      ]),
      [0, 1],
    );
    expect(l.item()).toBeCloseTo(500, 3);
  });

  it('rejects bad targets naming the position', () => {
    expect(() => losses.crossEntropy(logits, [0, 1, 5, 0])).toThrow(/nll: target 5 at position 2 is not a class index in \[0, 5\)/);
    expect(() => losses.crossEntropy(logits, [0, 1])).toThrow(/expected 4 class targets/);
    expect(() => losses.crossEntropy(tensor([1, 2]), [0])).toThrow(/crossEntropy: expected logits of shape \(N, C\), got \[2\]/);
  });
});

describe('KL(N(μ, σ²) ‖ N(0, 1))', () => {
  it('is 0 at μ = 0, log σ² = 0', () => {
    const z = tensor(new Float32Array(12), [3, 4]);
    expect(losses.klNormal(z, z).item()).toBe(0);
  });

  it('matches the closed form ½ Σ_j (μ² + σ² − 1 − log σ²), mean over the batch', () => {
    const mu = normal([3, 4], 30, false);
    const lv = normal([3, 4], 31, false);
    const per = [0, 1, 2].map((i) => {
      let s = 0;
      for (let j = 0; j < 4; j++) {
        const m = mu.data[i * 4 + j]!;
        const l = lv.data[i * 4 + j]!;
        s += 0.5 * (m * m + Math.exp(l) - 1 - l);
      }
      return s;
    });
    expectClose(losses.klNormal(mu, lv, { reduction: 'none' }).data, per, 1e-5);
    expect(losses.klNormal(mu, lv).item()).toBeCloseTo((per[0]! + per[1]! + per[2]!) / 3, 5);
    expect(losses.klNormal(mu, lv, { reduction: 'sum' }).item()).toBeCloseTo(per[0]! + per[1]! + per[2]!, 4);
  });

  it('its gradient: ∂/∂μ = μ/N, ∂/∂logvar = (e^logvar − 1)/(2N)', () => {
    const mu = normal([2, 3], 32);
    const lv = normal([2, 3], 33);
    losses.klNormal(mu, lv).backward();
    expectClose(
      mu.grad!.data,
      mu.toList().map((m) => m / 2),
      1e-6,
    );
    expectClose(
      lv.grad!.data,
      lv.toList().map((l) => (Math.exp(l) - 1) / 4),
      1e-6,
    );
  });

  it('is positive away from the prior', () => {
    expect(losses.klNormal(tensor([[0.5]]), tensor([[0.2]])).item()).toBeGreaterThan(0);
  });
});

describe('loss gradients (finite differences)', () => {
  const t = normal([3, 4], 40, false);
  const y01 = tensor(
    Float32Array.from({ length: 12 }, (_, i) => i % 2),
    [3, 4],
  );
  it('mse', () => expectGrad((x) => losses.mse(x, t), [normal([3, 4], 41)], TIGHT));
  it('l1 (away from the kink)', () => expectGrad((d) => losses.l1(d.add(t), t), [awayFromZero([3, 4], 42)], TIGHT));
  it('bce', () => expectGrad((p) => losses.bce(p, y01), [uniform([3, 4], 0.1, 0.9, 43)], TIGHT));
  it('bceWithLogits', () => expectGrad((z) => losses.bceWithLogits(z, y01), [normal([3, 4], 44)], TIGHT));
  it('bernoulliNll and bernoulliNllWithLogits', () => {
    expectGrad((p) => losses.bernoulliNll(p, y01), [uniform([3, 4], 0.1, 0.9, 45)], TIGHT);
    expectGrad((z) => losses.bernoulliNllWithLogits(z, y01), [normal([3, 4], 46)], TIGHT);
  });
  it('crossEntropy (indices, one-hot)', () => {
    expectGrad((z) => losses.crossEntropy(z, [1, 0, 3]), [normal([3, 4], 47)], TIGHT);
    expectGrad((z) => losses.crossEntropy(z, oneHot([1, 0, 3], 4)), [normal([3, 4], 48)], TIGHT);
  });
  it('nll', () => expectGrad((lp) => losses.nll(lp, [2, 2, 0]), [normal([3, 4], 49)], TIGHT));
  it('klNormal', () => expectGrad((m, l) => losses.klNormal(m, l), [normal([3, 4], 50), normal([3, 4], 51)], TIGHT));
  it('gaussianNll with a learned variance', () => {
    expectGrad((m, v) => losses.gaussianNll(m, t, v, { full: true }), [normal([3, 4], 52), uniform([3, 4], 0.5, 2, 53)], TIGHT);
  });
  it('every reduction', () => {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      expectGrad((x) => losses.mse(x, t, { reduction }), [normal([3, 4], 54)], TIGHT);
      expectGrad((x) => mul(losses.klNormal(x, t, { reduction }), 1), [normal([3, 4], 55)], TIGHT);
    }
  });
});

describe('loss errors', () => {
  it('shape mismatch names the loss and both shapes', () => {
    expect(() => losses.mse(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(6), [3, 2]))).toThrow(
      /mse: input shape \[2, 3\] and target shape \[3, 2\] differ/,
    );
    expect(() => losses.bce(tensor([0.5]), tensor([1, 0]))).toThrow(/bce: probabilities shape \[1\] and target shape \[2\] differ/);
    expect(() => losses.klNormal(tensor([0]), tensor([0, 0]))).toThrow(/klNormal: mu shape \[1\] and logvar shape \[2\] differ/);
  });
  it("probabilities or targets outside [0, 1] are refused, as PyTorch's binary_cross_entropy does, naming the element", () => {
    expect(() => losses.bce(tensor([0.5, 1.5]), tensor([0, 1]))).toThrow(/^bce: all probabilities must be between 0 and 1, but probabilities\[1\] = 1.5 \(for logits use bceWithLogits\)/);
    // a batch goes through the per-sample kernel: the same check, a 2-D index
    const p = tensor([[0.1, 0.2, 0.3], [0.4, 0.5, -0.25]]);
    const y = tensor([[0, 1, 0], [1, 0, 1]]);
    expect(() => losses.bce(p, y)).toThrow(/^bce: .* probabilities\[1, 2\] = -0.25/);
    expect(() => losses.bce(p, y, { reduction: 'none' })).toThrow(/^bce: .* probabilities\[1, 2\] = -0.25/);
    expect(() => losses.bce(tensor([[0.5, 0.5]]), tensor([[1, 2]]))).toThrow(/^bce: all targets must be between 0 and 1, but targets\[0, 1\] = 2$/);
    expect(() => losses.bce(tensor([0.5, NaN]), tensor([1, 0]))).toThrow(/probabilities\[1\] = NaN/);
    expect(() => losses.bernoulliNll(tensor([[0.5, 3]]), tensor([[1, 0]]))).toThrow(/^bernoulliNll: .* probabilities\[0, 1\] = 3/);
    expect(() => losses.bernoulliNll(tensor([3]), tensor([1]))).toThrow(/^bernoulliNll: .* probabilities\[0\] = 3/);
    // the ends of the interval are probabilities (a saturated sigmoid gives them)
    expect(losses.bce(tensor([[0, 1]]), tensor([[0, 1]])).item()).toBe(0);
  });

  it('unknown reduction', () => {
    expect(() => losses.mse(tensor([1]), tensor([1]), { reduction: 'avg' as never })).toThrow(
      /reduction must be 'mean', 'sum' or 'none', got 'avg'/,
    );
  });
});
