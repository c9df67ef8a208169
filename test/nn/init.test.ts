/** Initialisers: fans, gains, and the bounds / standard deviations of xavier and kaiming. */
import { describe, expect, it } from 'vitest';
import { Generator, init, zeros, type Tensor } from '../../src/index.js';

const stats = (t: Tensor) => {
  const v = t.toList();
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length), maxAbs: Math.max(...v.map(Math.abs)) };
};

describe('fans and gains', () => {
  it('calculateFans like PyTorch: Linear (out, in), Conv (out, in, kH, kW), ConvT (in, out, kH, kW)', () => {
    expect(init.calculateFans(zeros([20, 30]))).toEqual({ fanIn: 30, fanOut: 20 });
    expect(init.calculateFans(zeros([16, 8, 3, 5]))).toEqual({ fanIn: 8 * 15, fanOut: 16 * 15 });
    expect(() => init.calculateFans(zeros([5]))).toThrow(/at least 2 dims, got \[5\]/);
  });
  it('calculateGain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
  });
});

describe('random initialisers', () => {
  const W = () => zeros([200, 300]); // fan_in 300, fan_out 200

  it('xavierUniform_: U(±gain·√(6/(fan_in+fan_out)))', () => {
    const a = Math.sqrt(6 / 500);
    const s = stats(init.xavierUniform_(W(), 1, new Generator(1)));
    expect(s.maxAbs).toBeLessThanOrEqual(a);
    expect(s.maxAbs).toBeGreaterThan(0.99 * a);
    expect(s.std).toBeCloseTo(a / Math.sqrt(3), 3);
    expect(stats(init.xavierUniform_(W(), 2, new Generator(1))).maxAbs).toBeGreaterThan(1.99 * a);
  });

  it('xavierNormal_: std gain·√(2/(fan_in+fan_out))', () => {
    const s = stats(init.xavierNormal_(W(), 1, new Generator(2)));
    expect(Math.abs(s.mean)).toBeLessThan(1e-3);
    expect(s.std / Math.sqrt(2 / 500)).toBeCloseTo(1, 1);
  });

  it('kaimingUniform_: U(±gain·√(3/fan)), fan_in by default, fan_out on request', () => {
    const b = Math.SQRT2 * Math.sqrt(3 / 300);
    const s = stats(init.kaimingUniform_(W(), { nonlinearity: 'relu', generator: new Generator(3) }));
    expect(s.maxAbs).toBeLessThanOrEqual(b);
    expect(s.maxAbs).toBeGreaterThan(0.99 * b);
    const bo = Math.SQRT2 * Math.sqrt(3 / 200);
    expect(stats(init.kaimingUniform_(W(), { nonlinearity: 'relu', mode: 'fan_out', generator: new Generator(4) })).maxAbs).toBeGreaterThan(
      0.99 * bo,
    );
  });

  it('kaimingNormal_: std gain/√fan (He: √(2/fan_in) for relu)', () => {
    const s = stats(init.kaimingNormal_(W(), { nonlinearity: 'relu', generator: new Generator(5) }));
    expect(s.std / Math.sqrt(2 / 300)).toBeCloseTo(1, 1);
    expect(Math.abs(s.mean)).toBeLessThan(1e-3);
  });

  it("PyTorch's layer default (kaiming_uniform a=√5) is U(±1/√fan_in)", () => {
    const w = zeros([64, 50]);
    const b = zeros([64]);
    init.defaultLayerInit_(w, b, new Generator(6));
    const bound = 1 / Math.sqrt(50);
    expect(stats(w).maxAbs).toBeLessThanOrEqual(bound);
    expect(stats(w).maxAbs).toBeGreaterThan(0.98 * bound);
    expect(stats(b).maxAbs).toBeLessThanOrEqual(bound);
  });

  it('uniform_, normal_, constants', () => {
    const u = stats(init.uniform_(zeros([10000]), 2, 3, new Generator(7)));
    expect(u.mean).toBeCloseTo(2.5, 1);
    const n = stats(init.normal_(zeros([10000]), -1, 0.1, new Generator(8)));
    expect(n.mean).toBeCloseTo(-1, 2);
    expect(n.std).toBeCloseTo(0.1, 2);
    expect(init.constant_(zeros([3]), 0.7).toList()).toEqual([0.7, 0.7, 0.7].map(Math.fround));
    expect(init.ones_(zeros([2])).toList()).toEqual([1, 1]);
    expect(init.zeros_(init.ones_(zeros([2]))).toList()).toEqual([0, 0]);
  });

  it('the same generator seed gives the same weights', () => {
    expect(init.xavierUniform_(zeros([3, 3]), 1, new Generator(9)).toList()).toEqual(
      init.xavierUniform_(zeros([3, 3]), 1, new Generator(9)).toList(),
    );
  });
});
