/**
 * The loss terms of src/ops/losses.ts: binary cross-entropy (of probabilities and of logits,
 * elementwise and per sample), the squared error of sigmoid outputs, the Gaussian KL term and the
 * reparameterised sample. Each is checked fused (the backend's kernel, with the bits of its
 * composite where it promises them) and on the same backend without fused kernels, where the op
 * runs as its composite of primitives; then fused against composite, values and gradients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  backward,
  bcePerSample,
  bceWithLogitsPerSample,
  binaryCrossEntropy,
  binaryCrossEntropyGrad,
  binaryCrossEntropyWithLogits,
  binaryCrossEntropyWithLogitsGrad,
  exp,
  Generator,
  getBackend,
  klNormalPerSample,
  mul,
  reparameterize,
  sigmoid,
  sigmoidSquaredError,
  sub,
  sum,
  tensor,
  useBackend,
  type Tensor,
} from '../../src/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { primitivesOnly } from '../../src/kernels/registry.js';
import { expectClose, expectGrad, normal, uniform } from '../helpers/engine.js';
import { expectFusedMatchesComposite } from '../helpers/fused.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

/** Values from `values` first, then draws of `draw`. */
function withSpecials(shape: number[], values: number[], draw: () => number, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, i) => (i < values.length ? values[i]! : draw())),
    shape,
    { requiresGrad },
  );
}

describe.each(['fused', 'primitives only'] as const)('loss terms, %s', (mode) => {
  let saved: Backend;
  beforeAll(() => {
    saved = getBackend();
    if (mode === 'primitives only') useBackend(primitivesOnly(saved));
  });
  afterAll(() => useBackend(saved));

  it("sigmoidSquaredError is (sigmoid(z) − y)² with the separate kernels' bits, broadcasting y", () => {
    const g = new Generator(5);
    const n = 3 * 700;
    const z = tensor(
      Float32Array.from({ length: n }, (_, i) => (i < 6 ? [-120, -30, 0, 30, 120, NaN][i]! : 8 * g.normal())),
      [3, 700],
    );
    const y = tensor(
      Float32Array.from({ length: n }, () => g.random()),
      [3, 700],
    );
    const d = sub(sigmoid(z), y);
    expect(Array.from(sigmoidSquaredError(z, y).data)).toEqual(Array.from(mul(d, d).data));
    const row = tensor(
      Float32Array.from({ length: 700 }, () => g.random()),
      [1, 700],
    );
    const dr = sub(sigmoid(z), row);
    expect(Array.from(sigmoidSquaredError(z, row).data)).toEqual(Array.from(mul(dr, dr).data));
    expect(sigmoidSquaredError(tensor([0]), tensor([1])).item()).toBe(0.25);
  });

  it('bceWithLogitsPerSample: the bits of sum(bceLogits) and of summed sigmoidSqErr, with their gradient', () => {
    const g = new Generator(6);
    // 3 samples of 706 elements: blocks of 16, two f32 blocks of 512, a tail of 2
    const shape = [3, 706];
    const n = 3 * 706;
    const specials = [-120, -30, 0, 30, 120, -0];
    const zv = Float32Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i]! : 8 * g.normal()));
    const yv = Float32Array.from({ length: n }, () => g.random());
    const z = tensor(zv, shape, { requiresGrad: true });
    const y = tensor(yv, shape);
    const sq = tensor(new Float32Array(3));
    const l = bceWithLogitsPerSample(z, y, sq);
    expect(l.shape).toEqual([3]);
    expect(Array.from(l.data)).toEqual(Array.from(sum(binaryCrossEntropyWithLogits(z, y), 1).data));
    expect(Array.from(sq.data)).toEqual(Array.from(sum(sigmoidSquaredError(z, y), 1).data));
    // gradient of Σ_b w_b·loss_b: w_b·(sigmoid(z) − y), against the composite's
    const w = tensor([0.5, -2, 3]);
    backward(l, w);
    const z2 = tensor(zv, shape, { requiresGrad: true });
    backward(sum(binaryCrossEntropyWithLogits(z2, y), 1), w);
    expect(Array.from(z.grad!.data)).toEqual(Array.from(z2.grad!.data));
    // samples of any rank: (B, C, H, W) as (B, C·H·W)
    const z4 = tensor(zv, [3, 2, 1, 353]);
    const sq4 = tensor(new Float32Array(3));
    expect(Array.from(bceWithLogitsPerSample(z4, tensor(yv, [3, 2, 1, 353]), sq4).data)).toEqual(Array.from(l.data));
    expect(Array.from(sq4.data)).toEqual(Array.from(sq.data));
    // every tail length (rows of 1..20 elements), against the elementwise op summed in float64
    for (let cols = 1; cols <= 20; cols++) {
      const zc = normal([2, cols], 100 + cols);
      const yc = uniform([2, cols], 0, 1, 200 + cols);
      const e = binaryCrossEntropyWithLogits(zc, yc).data;
      const got = bceWithLogitsPerSample(zc, yc).data;
      for (let r = 0; r < 2; r++) {
        let t = 0;
        for (let c = 0; c < cols; c++) t += e[r * cols + c]!;
        expect(got[r], `cols ${cols} row ${r}`).toBe(Math.fround(t));
      }
    }
    // no sqErr, a NaN logit, one element per sample, an empty batch
    expect(Number.isNaN(bceWithLogitsPerSample(tensor([[NaN, 0]]), tensor([[1, 1]])).item())).toBe(true);
    expect(bceWithLogitsPerSample(tensor([[0], [0]]), tensor([[1], [0]])).toList()).toEqual([Math.fround(Math.LN2), Math.fround(Math.LN2)]);
    expect(bceWithLogitsPerSample(tensor(new Float32Array(0), [0, 4]), tensor(new Float32Array(0), [0, 4])).shape).toEqual([0]);
  });

  it('klNormalPerSample and reparameterize: the bits of their composites, and of their gradients', () => {
    const g = new Generator(9);
    // 4 samples of 37 latents: blocks of 16 and a tail of 5; log σ² over a wide range
    const n = 4 * 37;
    const muv = Float32Array.from({ length: n }, () => 2 * g.normal());
    const lvv = Float32Array.from({ length: n }, () => 6 * g.random() - 4);
    const epsv = Float32Array.from({ length: n }, () => g.normal());
    const mu = tensor(muv, [4, 37], { requiresGrad: true });
    const lv = tensor(lvv, [4, 37], { requiresGrad: true });
    const mu2 = tensor(muv, [4, 37], { requiresGrad: true });
    const lv2 = tensor(lvv, [4, 37], { requiresGrad: true });
    const kl = klNormalPerSample(mu, lv);
    const kl2 = mul(sum(sub(sub(add(lv2, 1), mul(mu2, mu2)), exp(lv2)), 1), -0.5);
    expect(Array.from(kl.data)).toEqual(Array.from(kl2.data));
    const w = tensor([1, -0.5, 2, 0.25]);
    backward(kl, w);
    backward(kl2, w);
    expectClose(mu.grad!.data, mu2.grad!.data, 1e-6, 'kl d/dmu');
    expectClose(lv.grad!.data, lv2.grad!.data, 1e-6, 'kl d/dlogvar');
    // reparameterize, eps differentiated too
    const eps = tensor(epsv, [4, 37], { requiresGrad: true });
    const eps2 = tensor(epsv, [4, 37], { requiresGrad: true });
    mu.grad = null;
    lv.grad = null;
    mu2.grad = null;
    lv2.grad = null;
    const z = reparameterize(mu, lv, eps);
    const z2 = add(mu2, mul(exp(mul(lv2, 0.5)), eps2));
    expect(Array.from(z.data)).toEqual(Array.from(z2.data));
    const gz = tensor(
      Float32Array.from({ length: n }, () => g.normal()),
      [4, 37],
    );
    backward(z, gz);
    backward(z2, gz);
    for (const [a, b, what] of [
      [mu, mu2, 'mu'],
      [lv, lv2, 'logvar'],
      [eps, eps2, 'eps'],
    ] as const)
      expectClose(a.grad!.data, b.grad!.data, 1e-6, `z d/d${what}`);
    expect(() => klNormalPerSample(normal([2, 3], 1), normal([2, 4], 2))).toThrow(
      /mu \[2, 3\] and logvar \[2, 4\] must have the same shape/,
    );
    expect(() => reparameterize(normal([2, 3], 1), normal([2, 3], 2), normal([3, 2], 3))).toThrow(/mu \[2, 3\] and eps \[3, 2\]/);
  });

  it('bceWithLogitsPerSample: errors name the shapes', () => {
    expect(() => bceWithLogitsPerSample(normal([2, 3], 1), normal([3, 2], 2))).toThrow(/logits \[2, 3\] and targets \[3, 2\]/);
    expect(() => bceWithLogitsPerSample(normal([2, 3], 1), normal([2, 3], 2), tensor([0, 0, 0]))).toThrow(
      /sqErr has 3 elements, the batch has 2/,
    );
  });
});

describe('fused loss terms against their composites (values and gradients)', () => {
  const g = new Generator(21);
  const prob = (shape: number[], seed: number) => uniform(shape, 0.02, 0.98, seed);

  it('binaryCrossEntropy, same shapes and broadcast targets', () => {
    expectFusedMatchesComposite(binaryCrossEntropy, [prob([3, 5], 1), uniform([3, 5], 0, 1, 2)], { fusedOp: 'bce', label: 'bce' });
    expectFusedMatchesComposite(binaryCrossEntropy, [prob([2, 3, 4], 3), uniform([4], 0, 1, 4)], {
      fusedOp: 'bce',
      label: 'bce, y broadcast',
    });
  });

  it('binaryCrossEntropy where the −100 clamp is active (p = 0, 1, subnormal, 1 − ε)', () => {
    const values = [0, 1, 1e-42, 1 - 2 ** -24, 1e-30, 0.5];
    const targets = [0.3, 0.7, 1, 0, 0.5, 1];
    const p = withSpecials([2, 6], values, () => g.random(), true);
    const y = withSpecials([2, 6], targets, () => g.random(), true);
    expectFusedMatchesComposite(binaryCrossEntropy, [p, y], { fusedOp: 'bce', label: 'bce clamped' });
    const pv = withSpecials([2, 6], values, () => g.random());
    const yv = withSpecials([2, 6], targets, () => g.random());
    expectFusedMatchesComposite(binaryCrossEntropyGrad, [pv, yv], { label: 'bceGrad clamped' });
  });

  it('binaryCrossEntropyWithLogits over the whole range of logits', () => {
    const z = withSpecials([3, 40], [-120, -30, -1e-3, 0, 1e-3, 30, 120], () => 8 * g.normal(), true);
    expectFusedMatchesComposite(binaryCrossEntropyWithLogits, [z, uniform([3, 40], 0, 1, 5)], { fusedOp: 'bceLogits', label: 'bceLogits' });
    expectFusedMatchesComposite(binaryCrossEntropyWithLogits, [normal([4, 6], 6), uniform([1, 6], 0, 1, 7)], {
      fusedOp: 'bceLogits',
      label: 'bceLogits, y broadcast',
    });
  });

  it('the gradient kernels and sigmoidSquaredError (not differentiable)', () => {
    const z = withSpecials([3, 40], [-120, -30, 0, 30, 120], () => 8 * g.normal());
    const y = uniform([3, 40], 0, 1, 8, false);
    expectFusedMatchesComposite(binaryCrossEntropyGrad, [uniform([3, 40], 0.02, 0.98, 9, false), y], { label: 'bceGrad' });
    expectFusedMatchesComposite(binaryCrossEntropyWithLogitsGrad, [z, y], { label: 'bceLogitsGrad' });
    expectFusedMatchesComposite(sigmoidSquaredError, [z, y], { label: 'sigmoidSqErr' });
    expectFusedMatchesComposite(sigmoidSquaredError, [z, uniform([40], 0, 1, 10, false)], { label: 'sigmoidSqErr, y broadcast' });
  });

  it('per-sample sums: bcePerSample, bceWithLogitsPerSample, klNormalPerSample', () => {
    expectFusedMatchesComposite(bcePerSample, [prob([4, 37], 11), uniform([4, 37], 0, 1, 12)], {
      fusedOp: 'bcePerSample',
      label: 'bcePerSample',
    });
    expectFusedMatchesComposite((z, y) => bceWithLogitsPerSample(z, y), [normal([4, 2, 3, 5], 13), uniform([4, 2, 3, 5], 0, 1, 14)], {
      fusedOp: 'bceWithLogitsPerSample',
      label: 'bceWithLogitsPerSample',
    });
    expectFusedMatchesComposite(klNormalPerSample, [normal([5, 20], 15), uniform([5, 20], -4, 2, 16)], {
      fusedOp: 'klNormalPerSample',
      label: 'klNormalPerSample',
    });
  });

  it('bceWithLogitsPerSample fills sqErr the same way fused and as a composite', () => {
    const z = normal([3, 50], 17, false);
    const y = uniform([3, 50], 0, 1, 18, false);
    const saved = getBackend();
    const sqOf = (b: Backend): Float32Array => {
      useBackend(b);
      try {
        const sq = tensor(new Float32Array(3));
        bceWithLogitsPerSample(z, y, sq);
        return sq.data.slice();
      } finally {
        useBackend(saved);
      }
    };
    expectClose(sqOf(primitivesOnly(saved)), sqOf(saved), 1e-5, 'sqErr');
  });

  it('reparameterize, differentiated in mu, logvar and eps', () => {
    expectFusedMatchesComposite(reparameterize, [normal([4, 9], 19), uniform([4, 9], -4, 2, 20), normal([4, 9], 21)], {
      fusedOp: 'reparameterize',
      label: 'reparameterize',
    });
  });

  describe("the composites' gradients by finite differences", () => {
    let saved: Backend;
    beforeAll(() => {
      saved = getBackend();
      useBackend(primitivesOnly(saved));
    });
    afterAll(() => useBackend(saved));
    // (probabilities kept away from 0 and 1, where the log's curvature defeats the differences)
    it('binaryCrossEntropy', () => expectGrad(binaryCrossEntropy, [uniform([3, 4], 0.1, 0.9, 22), uniform([3, 4], 0.05, 0.95, 23)], TIGHT));
    it('binaryCrossEntropyWithLogits', () =>
      expectGrad(binaryCrossEntropyWithLogits, [normal([3, 4], 24), uniform([3, 4], 0, 1, 25)], TIGHT));
    it('klNormalPerSample', () => expectGrad(klNormalPerSample, [normal([3, 4], 26), uniform([3, 4], -2, 1, 27)], TIGHT));
    it('reparameterize', () => expectGrad(reparameterize, [normal([3, 4], 28), uniform([3, 4], -2, 1, 29), normal([3, 4], 30)], TIGHT));
  });
});

describe('binary cross-entropy of probabilities checks its inputs', () => {
  it('binaryCrossEntropy and bcePerSample refuse values outside [0, 1], naming the op and the element', () => {
    expect(() => binaryCrossEntropy(tensor([0.2, 1.25]), tensor([0, 1]))).toThrow(/^binaryCrossEntropy: all probabilities must be between 0 and 1, but probabilities\[1\] = 1.25/);
    expect(() => bcePerSample(tensor([[0.2, 0.3]]), tensor([[0, -1]]))).toThrow(/^bcePerSample: all targets must be between 0 and 1, but targets\[0, 1\] = -1/);
    expect(bcePerSample(tensor([[0.5, 0.5]]), tensor([[1, 0]])).item()).toBeCloseTo(2 * Math.LN2, 6);
  });
  it('refuses them without fused kernels too', () => {
    const full = getBackend();
    useBackend(primitivesOnly(full));
    try {
      expect(() => binaryCrossEntropy(tensor([0.2, NaN]), tensor([0, 1]))).toThrow(/probabilities\[1\] = NaN/);
      expect(() => bcePerSample(tensor([[-0.5, 0.3]]), tensor([[0, 1]]))).toThrow(/probabilities\[0, 0\] = -0.5/);
    } finally {
      useBackend(full);
    }
  });
});
