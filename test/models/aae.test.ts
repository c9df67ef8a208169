import { describe, expect, it } from 'vitest';
import { AAE, MIXTURE, SWISSROLL, defaultConfig, samplePrior } from '../../src/models/index.js';
import { Generator, noGrad, tensor } from '../../src/index.js';
import { adam, avgPart, ctx, digits, paramShapes, spyFactory, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}) =>
  new AAE(defaultConfig('aae', [1, 28, 28], { hidden: [64], latent: 2, discriminatorHidden: [32], ...over }), {
    generator: new Generator(6),
  });

const N = 4000;

function columnStats(d: Float32Array, n: number, dim: number): { mean: number[]; variance: number[] } {
  const mean = new Array<number>(dim).fill(0);
  const variance = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += d[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) variance[j]! += (d[i * dim + j]! - mean[j]!) ** 2 / n;
  return { mean, variance };
}

describe('samplePrior', () => {
  it('normal: (n, dim) with mean 0 and variance 1', () => {
    const t = samplePrior('normal', N, 3, new Generator(1));
    expect(t.shape).toEqual([N, 3]);
    const s = columnStats(t.data, N, 3);
    for (const m of s.mean) expect(Math.abs(m)).toBeLessThan(0.06);
    for (const v of s.variance) expect(Math.abs(v - 1)).toBeLessThan(0.08);
  });

  it('mixture: 10 components on a circle of radius 1.4, elongated along the radius', () => {
    const t = samplePrior('mixture', N, 2, new Generator(2));
    expect(t.shape).toEqual([N, 2]);
    const s = columnStats(t.data, N, 2);
    for (const m of s.mean) expect(Math.abs(m)).toBeLessThan(0.08); // symmetric overall
    // labelled draws sit on their own component: mean at 1.4·(cos θ_k, sin θ_k)
    for (const k of [0, 3, 7]) {
      const lab = new Int32Array(N).fill(k);
      const tk = samplePrior('mixture', N, 2, new Generator(10 + k), lab);
      const sk = columnStats(tk.data, N, 2);
      const th = (2 * Math.PI * k) / 10;
      expect(sk.mean[0]).toBeCloseTo(MIXTURE.shift * Math.cos(th), 1);
      expect(sk.mean[1]).toBeCloseTo(MIXTURE.shift * Math.sin(th), 1);
      // radial spread 0.5, tangential 0.1: total variance 0.26
      expect(sk.variance[0]! + sk.variance[1]!).toBeCloseTo(0.26, 1);
    }
    const k0 = columnStats(samplePrior('mixture', N, 2, new Generator(3), new Int32Array(N)).data, N, 2);
    expect(k0.variance[0]).toBeCloseTo(0.25, 1); // along the radius (θ = 0: the x axis)
    expect(k0.variance[1]).toBeCloseTo(0.01, 2);
  });

  it('swiss roll: radius 3√u, with class k on the k-th segment', () => {
    const slack = 5 * SWISSROLL.noiseStd; // the roll's thickness
    const t = samplePrior('swissroll', N, 2, new Generator(4));
    for (let i = 0; i < N; i++) expect(Math.hypot(t.data[2 * i]!, t.data[2 * i + 1]!)).toBeLessThanOrEqual(3 + slack);
    for (const k of [0, 4, 9]) {
      const tk = samplePrior('swissroll', 500, 2, new Generator(5), new Int32Array(500).fill(k));
      for (let i = 0; i < 500; i++) {
        const r = Math.hypot(tk.data[2 * i]!, tk.data[2 * i + 1]!);
        expect(r).toBeGreaterThanOrEqual(3 * Math.sqrt(k / 10) - slack);
        expect(r).toBeLessThanOrEqual(3 * Math.sqrt((k + 1) / 10) + slack);
      }
    }
  });

  it('swiss roll has a thickness: draws scatter about the curve with σ ≈ 0.1, not on it', () => {
    // A prior on a 1-D curve has no density in the plane, so the AAE cannot match it. Measure each
    // draw's distance to the noiseless spiral (r, φ) = (3√u, 4π√u), u ∈ [0, 1], sampled finely.
    // With isotropic noise σ the part normal to the curve has RMS σ (the tangential part slides
    // along it); a zero-width roll gives an RMS below 1e-3 (the curve's sampling step).
    const m = 20000;
    const cx = new Float64Array(m + 1);
    const cy = new Float64Array(m + 1);
    for (let j = 0; j <= m; j++) {
      const s = Math.sqrt(j / m);
      cx[j] = 3 * s * Math.cos(4 * Math.PI * s);
      cy[j] = 3 * s * Math.sin(4 * Math.PI * s);
    }
    const n = 1000;
    const t = samplePrior('swissroll', n, 2, new Generator(21));
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = t.data[2 * i]!;
      const y = t.data[2 * i + 1]!;
      let best = Infinity;
      for (let j = 0; j <= m; j++) best = Math.min(best, (x - cx[j]!) ** 2 + (y - cy[j]!) ** 2);
      sq += best;
    }
    const rms = Math.sqrt(sq / n);
    expect(SWISSROLL.noiseStd).toBeGreaterThan(0);
    expect(rms).toBeGreaterThan(0.8 * SWISSROLL.noiseStd);
    expect(rms).toBeLessThan(1.25 * SWISSROLL.noiseStd);
    // thin next to the code range and the gap between windings (1.5), so the windings stay apart
    expect(SWISSROLL.noiseStd).toBeLessThan(SWISSROLL.radius / SWISSROLL.turns / 10);
  });

  it('works per pair of dims, is seeded, and rejects odd dims and bad labels', () => {
    const a = samplePrior('mixture', 10, 4, new Generator(1));
    expect(a.shape).toEqual([10, 4]);
    expect(Array.from(samplePrior('mixture', 10, 4, new Generator(1)).data)).toEqual(Array.from(a.data));
    expect(() => samplePrior('swissroll', 10, 3, new Generator(1))).toThrow(/even/);
    expect(() => samplePrior('mixture', 2, 2, new Generator(1), Int32Array.from([0, 10]))).toThrow(/label 10/);
    // label −1 means unlabelled: a random component
    expect(samplePrior('mixture', 2, 2, new Generator(1), Int32Array.from([-1, 2])).shape).toEqual([2, 2]);
  });
});

describe('AAE', () => {
  it('has encoder, decoder and discriminator with PyTorch names', () => {
    const s = paramShapes(make());
    expect(s['encoder.0.weight']).toEqual([64, 784]);
    expect(s['encoder.2.weight']).toEqual([2, 64]);
    expect(s['decoder.2.weight']).toEqual([784, 64]);
    expect(s['discriminator.0.weight']).toEqual([32, 2]);
    expect(s['discriminator.2.weight']).toEqual([1, 32]);
    // conditional: D also reads the one-hot label plus an 'unlabelled' slot
    const c = make({ conditionalPrior: true });
    expect(paramShapes(c)['discriminator.0.weight']).toEqual([32, 2 + 11]);
    expect(c.needsLabels).toBe(true);
    expect(Array.from(c.labelInput(Int32Array.from([3, -1]), 2)!.data)).toEqual([
      0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    expect(() => make({ conditionalPrior: true, prior: 'normal' })).toThrow(/conditionalPrior/);
    expect(() => make({ prior: 'swissroll', latent: 3 })).toThrow(/even/);
  });

  it('creates three optimizers over the right parameters', () => {
    const m = make();
    const { make: factory, spies } = spyFactory();
    const opts = m.createOptimizers(factory);
    expect(Object.keys(opts).sort()).toEqual(['discriminator', 'generator', 'main']);
    expect(spies.main!.params).toEqual([...m.encoder.parameters(), ...m.decoder.parameters()]);
    expect(spies.discriminator!.params).toEqual(m.discriminator.parameters());
    expect(spies.generator!.params).toEqual(m.encoder.parameters());
  });

  it('steps all three phases, each with its own gradients', () => {
    const m = make({ conditionalPrior: true, prior: 'swissroll' });
    const { make: factory, spies } = spyFactory();
    const opts = m.createOptimizers(factory);
    const { x, y } = digits(16);
    const before = m.discriminator.parameters().map((p) => Array.from(p.data));
    const parts = m.trainStep({ x, y }, opts, ctx(), undefined);
    for (const role of ['main', 'discriminator', 'generator']) {
      expect(spies[role]!.steps).toBe(1);
      expect(spies[role]!.zeroGrads).toBe(1);
      // every parameter of the optimizer had a gradient when it stepped
      expect(spies[role]!.log[0]!.withGrad).toBe(spies[role]!.params.length);
      expect(spies[role]!.log[0]!.norm).toBeGreaterThan(0);
    }
    // the discriminator moved in its own phase; the generator phase (D frozen) added nothing to its gradients
    expect(m.discriminator.parameters().map((p) => Array.from(p.data))).not.toEqual(before);
    let sq = 0;
    for (const p of m.discriminator.parameters()) for (const g of p.grad!.data) sq += g * g;
    expect(Math.sqrt(sq)).toBeCloseTo(spies.discriminator!.log[0]!.norm, 5);
    for (const k of ['loss', 'recon', 'disc', 'gen', 'discAcc']) expect(Number.isFinite(parts[k]!)).toBe(true);
    expect(() => m.trainStep({ x, y }, { main: opts.main! }, ctx())).toThrow(/discriminator/);
  });

  it('trains on real digits: reconstruction falls', () => {
    const m = make();
    const r = train(m, 60, { lr: 2e-3 });
    expect(avgPart(r.history, 'recon', 'last')).toBeLessThan(0.6 * avgPart(r.history, 'recon', 'first'));
    expect(m.sample(5, new Generator(1)).shape).toEqual([5, 784]);
    const ev = noGrad(() => m.evaluate({ x: digits(64, 600).x, y: null }, ctx()).parts);
    for (const k of ['recon', 'disc', 'gen', 'discAcc']) expect(Number.isFinite(ev[k]!)).toBe(true);
  });

  it('pulls the codes onto the prior (small synthetic images, so the adversarial game can settle)', () => {
    // 6×6 binary images: random strokes, so the data has a few degrees of freedom
    const g = new Generator(8);
    const n = 512;
    const data = new Float32Array(n * 36);
    for (let i = 0; i < n; i++) {
      const r = g.int(6);
      const c = g.int(6);
      for (let j = 0; j < 6; j++) {
        data[i * 36 + r * 6 + j] = 1;
        data[i * 36 + j * 6 + c] = g.random() < 0.5 ? 1 : 0;
      }
    }
    const m = new AAE(defaultConfig('aae', [1, 6, 6], { hidden: [32], latent: 2, prior: 'normal', discriminatorHidden: [32, 32] }), {
      generator: new Generator(3),
    });
    const opts = m.createOptimizers(adam(2e-3));
    const c = ctx(4);
    const all = tensor(data, [n, 36]);
    for (let s = 0; s < 400; s++) {
      const off = (s * 32) % (n - 32);
      m.trainStep({ x: all.narrow(0, off, 32), y: null }, opts, c);
    }
    const st = columnStats(noGrad(() => m.encode(all)).data, n, 2);
    // N(0, I): mean ≈ 0, variance ≈ 1 (0.85–1.7 over seeds)
    for (const mu of st.mean) expect(Math.abs(mu)).toBeLessThan(0.4);
    for (const v of st.variance) {
      expect(v).toBeGreaterThan(0.5);
      expect(v).toBeLessThan(2.5);
    }
  });
});
