import { describe, expect, it } from 'vitest';
import { DenoisingAE, corrupt, defaultConfig } from '../../src/models/index.js';
import { Generator, losses, noGrad } from '../../src/index.js';
import { avgPart, digits, paramShapes, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}) =>
  new DenoisingAE(defaultConfig('dae', [1, 28, 28], { hidden: [32], latent: 8, ...over }), { generator: new Generator(2) });

describe('corrupt', () => {
  const { x } = digits(32);

  it('is seeded: the same generator state gives the same corruption', () => {
    for (const noise of ['gaussian', 'salt-pepper', 'mask'] as const) {
      const a = corrupt(x, noise, 0.3, new Generator(11)).data;
      const b = corrupt(x, noise, 0.3, new Generator(11)).data;
      const c = corrupt(x, noise, 0.3, new Generator(12)).data;
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(a)).not.toEqual(Array.from(c));
    }
  });

  it('clips to [0, 1], leaves the input alone, and corrupts at the given level', () => {
    const before = Array.from(x.data);
    const g = corrupt(x, 'gaussian', 0.5, new Generator(1)).data;
    const sp = corrupt(x, 'salt-pepper', 0.2, new Generator(2)).data;
    const mk = corrupt(x, 'mask', 0.25, new Generator(3)).data;
    expect(Array.from(x.data)).toEqual(before);
    let changedSp = 0;
    let zeroedMask = 0;
    let nonzero = 0;
    let sq = 0;
    for (let i = 0; i < x.size; i++) {
      for (const arr of [g, sp, mk]) expect(arr[i]! >= 0 && arr[i]! <= 1).toBe(true);
      if (sp[i] !== x.data[i]) {
        changedSp++;
        expect(sp[i] === 0 || sp[i] === 1).toBe(true);
      }
      if (x.data[i]! > 0) {
        nonzero++;
        if (mk[i] === 0) zeroedMask++;
        else expect(mk[i]).toBe(x.data[i]);
      }
      sq += (g[i]! - x.data[i]!) ** 2;
    }
    // salt-and-pepper: 20 % chosen, of which the ones set to the value they had do not count
    expect(changedSp / x.size).toBeGreaterThan(0.08);
    expect(changedSp / x.size).toBeLessThan(0.2);
    expect(zeroedMask / nonzero).toBeCloseTo(0.25, 1);
    // clipping shrinks the noise, but it is clearly there
    expect(Math.sqrt(sq / x.size)).toBeGreaterThan(0.25);
    expect(() => corrupt(x, 'mask', 1.5, new Generator(1))).toThrow(/fraction/);
  });
});

describe('DenoisingAE', () => {
  it('has the dense autoencoder layout', () => {
    expect(Object.keys(paramShapes(make()))).toEqual([
      'encoder.0.weight',
      'encoder.0.bias',
      'encoder.2.weight',
      'encoder.2.bias',
      'decoder.0.weight',
      'decoder.0.bias',
      'decoder.2.weight',
      'decoder.2.bias',
    ]);
    expect(() => make({ noise: 'speckle' })).toThrow(/noise/);
  });

  it('encodes the corrupted input and targets the clean one, with the step generator', () => {
    const m = make({ noise: 'mask', noiseLevel: 0.5 });
    const { x } = digits(16);
    const gen = new Generator(21);
    const state = gen.getState();
    const out = m.evaluate({ x, y: null }, { generator: gen, epoch: 0 });
    // recompute by hand from the same generator state
    const noisy = corrupt(x, 'mask', 0.5, new Generator(0).setState(state));
    const manual = noGrad(() => losses.bernoulliNllWithLogits(m.decodeLogits(m.encode(noisy)), x).item());
    expect(out.loss.item()).toBeCloseTo(manual, 3);
    // …which differs from the loss against the noisy input, and from the clean input's loss
    const vsNoisy = noGrad(() => losses.bernoulliNllWithLogits(m.decodeLogits(m.encode(noisy)), noisy).item());
    const clean = noGrad(() => losses.bernoulliNllWithLogits(m.decodeLogits(m.encode(x)), x).item());
    expect(Math.abs(vsNoisy - manual)).toBeGreaterThan(0.05);
    expect(Math.abs(clean - manual)).toBeGreaterThan(1e-3);
  });

  it('learns to denoise real digits', () => {
    const m = make({ noise: 'gaussian', noiseLevel: 0.4 });
    const r = train(m, 60, { lr: 3e-3 });
    expect(avgPart(r.history, 'loss', 'last')).toBeLessThan(0.6 * avgPart(r.history, 'loss', 'first'));
    const { x } = digits(64, 600);
    const noisy = m.corrupt(x, new Generator(4));
    const den = noGrad(() => m.denoise(noisy));
    const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
    expect(mse(den.data, x.data)).toBeLessThan(mse(noisy.data, x.data));
  });
});
