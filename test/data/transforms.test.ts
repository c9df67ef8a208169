import { describe, expect, it } from 'vitest';
import { Generator } from '../../src/tensor/random.js';
import {
  binarize,
  binarizeStochastic,
  clip01,
  gaussianNoise,
  noiseTransform,
  parseNoiseSpec,
  randomMask,
  saltAndPepper,
  scale,
} from '../../src/data/transforms.js';

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i / (n - 1));
const inUnit = (a: Float32Array) => a.every((v) => v >= 0 && v <= 1);

describe('transforms', () => {
  it('scale and clip01 clip to [0, 1]', () => {
    expect(Array.from(scale(Float32Array.from([0, 0.5, 1]), 2, -0.5))).toEqual([0, 0.5, 1]);
    expect(Array.from(clip01(Float32Array.from([-1, 0.25, 2, NaN])))).toEqual([0, 0.25, 1, 0]);
    const x = Float32Array.from([0, 255]);
    const out = new Float32Array(2);
    scale(x, 1 / 255, 0, out);
    expect(Array.from(out)).toEqual([0, 1]);
    expect(Array.from(x)).toEqual([0, 255]); // untouched when out is given
  });

  it('binarize by threshold and stochastically', () => {
    expect(Array.from(binarize(Float32Array.from([0.2, 0.5, 0.7])))).toEqual([0, 0, 1]);
    const x = new Float32Array(20000).fill(0.3);
    const y = binarizeStochastic(x, new Generator(5), new Float32Array(x.length));
    expect(y.every((v) => v === 0 || v === 1)).toBe(true);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(mean).toBeGreaterThan(0.28);
    expect(mean).toBeLessThan(0.32);
    expect(Array.from(binarizeStochastic(x, new Generator(5), new Float32Array(x.length)))).toEqual(Array.from(y));
  });

  it('gaussian noise: seeded, clipped, with the requested σ away from the bounds', () => {
    const x = new Float32Array(20000).fill(0.5);
    const a = gaussianNoise(x, 0.1, new Generator(1), new Float32Array(x.length));
    const b = gaussianNoise(x, 0.1, new Generator(1), new Float32Array(x.length));
    expect(Array.from(a)).toEqual(Array.from(b));
    const m = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
    expect(m).toBeCloseTo(0.5, 2);
    expect(sd).toBeCloseTo(0.1, 2);
    const big = gaussianNoise(ramp(1000), 2, new Generator(2));
    expect(inUnit(big)).toBe(true);
    expect(big.some((v) => v === 0) && big.some((v) => v === 1)).toBe(true);
    expect(() => gaussianNoise(x, -1, new Generator(0))).toThrow('sigma must be ≥ 0');
  });

  it('gaussian noise is clip(x + σ·normal()) element by element, across its internal blocks and a pending spare', () => {
    for (const n of [1, 4095, 4096, 4097, 10_001]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 101) / 100);
      const g1 = new Generator(7);
      const g2 = new Generator(7);
      g1.normal(); // leaves a spare normal pending, which the noise must use first
      g2.normal();
      const got = gaussianNoise(x, 0.3, g1, new Float32Array(n));
      const want = Float32Array.from(x, (v) => Math.min(1, Math.max(0, v + 0.3 * g2.normal())));
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(g1.normal()).toBe(g2.normal()); // and the generators end in the same state
    }
  });

  it('salt-and-pepper and masking corrupt about the given fraction', () => {
    const x = new Float32Array(50000).fill(0.5);
    const sp = saltAndPepper(x, 0.2, new Generator(3), new Float32Array(x.length));
    const changed = sp.filter((v) => v !== 0.5).length / x.length;
    expect(changed).toBeGreaterThan(0.19);
    expect(changed).toBeLessThan(0.21);
    const zeros = sp.filter((v) => v === 0).length;
    const ones = sp.filter((v) => v === 1).length;
    expect(Math.abs(zeros - ones) / (zeros + ones)).toBeLessThan(0.05);
    const mk = randomMask(x, 0.3, new Generator(3), new Float32Array(x.length));
    expect(mk.every((v) => v === 0 || v === 0.5)).toBe(true);
    expect(Math.abs(mk.filter((v) => v === 0).length / x.length - 0.3)).toBeLessThan(0.01);
    expect(() => randomMask(x, 1.5, new Generator(0))).toThrow('fraction must be in [0, 1], got 1.5');
  });

  it('exact per-sample counts when sampleSize is given (Vincent et al.)', () => {
    const d = 784;
    const x = new Float32Array(8 * d).fill(0.5);
    randomMask(x, 0.25, new Generator(4), undefined, { sampleSize: d });
    for (let s = 0; s < 8; s++) expect(x.subarray(s * d, (s + 1) * d).filter((v) => v === 0).length).toBe(196);
    const y = new Float32Array(3 * d).fill(0.5);
    saltAndPepper(y, 0.1, new Generator(4), undefined, { sampleSize: d });
    for (let s = 0; s < 3; s++) expect(y.subarray(s * d, (s + 1) * d).filter((v) => v !== 0.5).length).toBe(78);
    expect(() => randomMask(x, 0.1, new Generator(0), undefined, { sampleSize: 100 })).toThrow('sampleSize 100 does not divide');
  });

  it('in place by default, clipped, and deterministic per seed', () => {
    const x = Float32Array.from([1.5, -0.5, 0.5, 0.5]);
    const r = randomMask(x, 0, new Generator(0));
    expect(r).toBe(x);
    expect(Array.from(x)).toEqual([1, 0, 0.5, 0.5]);
    const g1 = new Generator(10);
    const g2 = new Generator(10);
    expect(Array.from(saltAndPepper(ramp(100), 0.5, g1))).toEqual(Array.from(saltAndPepper(ramp(100), 0.5, g2)));
    expect(() => gaussianNoise(x, 0.1, g1, new Float32Array(3))).toThrow('out has 3 values but x has 4');
  });

  it('noise specs parse and build transforms', () => {
    expect(parseNoiseSpec('gaussian:0.3')).toEqual({ type: 'gaussian', sigma: 0.3 });
    expect(parseNoiseSpec('sp:0.1')).toEqual({ type: 'salt-pepper', fraction: 0.1 });
    expect(parseNoiseSpec('mask:0.25')).toEqual({ type: 'mask', fraction: 0.25 });
    expect(parseNoiseSpec('binarize')).toEqual({ type: 'binarize', threshold: 0.5 });
    expect(parseNoiseSpec('binarize:stochastic')).toEqual({ type: 'binarize-stochastic' });
    expect(parseNoiseSpec('none')).toEqual({ type: 'none' });
    expect(() => parseNoiseSpec('gaussian')).toThrow("gaussian needs a sigma, e.g. 'gaussian:0.3'");
    expect(() => parseNoiseSpec('blur:2')).toThrow("unknown noise 'blur:2'");
    expect(() => parseNoiseSpec('mask:2')).toThrow('fraction must be in [0, 1], got 2');
    const t = noiseTransform(parseNoiseSpec('mask:0.5'));
    const x = new Float32Array(1000).fill(1);
    t(x, new Generator(0));
    expect(inUnit(x) && x.some((v) => v === 0)).toBe(true);
  });
});
