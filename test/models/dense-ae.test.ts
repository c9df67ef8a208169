import { describe, expect, it } from 'vitest';
import { DenseAE, defaultConfig, buildModel, ACTIVATIONS } from '../../src/models/index.js';
import { Generator, liveTensorCount, tensor } from '../../src/index.js';
import { avgPart, ctx, digits, paramShapes, spyFactory, train } from './helpers.js';

const small = (over: Record<string, unknown> = {}) =>
  new DenseAE(defaultConfig('ae', [1, 28, 28], { hidden: [64, 32], latent: 8, ...over }), { generator: new Generator(1) });

describe('DenseAE', () => {
  it('has PyTorch state_dict names and [out, in] Linear weights', () => {
    expect(paramShapes(small())).toEqual({
      'encoder.0.weight': [64, 784],
      'encoder.0.bias': [64],
      'encoder.2.weight': [32, 64],
      'encoder.2.bias': [32],
      'encoder.4.weight': [8, 32],
      'encoder.4.bias': [8],
      'decoder.0.weight': [32, 8],
      'decoder.0.bias': [32],
      'decoder.2.weight': [64, 32],
      'decoder.2.bias': [64],
      'decoder.4.weight': [784, 64],
      'decoder.4.bias': [784],
    });
    // the decoder ends in a Sigmoid (no parameters), as nn.Sequential(..., nn.Sigmoid())
    expect(small().decoder.at(-1).typeName).toBe('Sigmoid');
  });

  it('encodes, decodes into [0, 1] and scores per sample, for flat and image batches', () => {
    const m = small();
    const { x } = digits(5);
    expect(m.encode(x).shape).toEqual([5, 8]);
    const r = m.reconstruct(x);
    expect(r.shape).toEqual([5, 784]);
    for (const v of r.data) expect(v >= 0 && v <= 1).toBe(true);
    const err = m.reconstructionError(x);
    expect(err.length).toBe(5);
    let manual = 0;
    for (let j = 0; j < 784; j++) manual += (x.data[j]! - r.data[j]!) ** 2;
    expect(err[0]).toBeCloseTo(manual / 784, 5);
    const img = digits(5, 0, 'image').x;
    expect(Array.from(m.encode(img).data)).toEqual(Array.from(m.encode(x).data));
    expect(() => m.encode(tensor(new Float32Array(10 * 3), [10, 3]))).toThrow(/784/);
  });

  it('builds with every activation (PReLU slopes named like nn.PReLU)', () => {
    for (const a of ACTIVATIONS) {
      const m = small({ activation: a });
      expect(m.reconstruct(digits(2).x).shape).toEqual([2, 784]);
    }
    expect(paramShapes(small({ activation: 'prelu' }))['encoder.1.weight']).toEqual([1]);
  });

  it('rejects bad configs with the field named', () => {
    expect(() => small({ latent: 0 })).toThrow(/latent/);
    expect(() => small({ hidden: [64, -1] })).toThrow(/hidden\[1\]/);
    expect(() => small({ activation: 'swish' })).toThrow(/activation/);
    expect(() => small({ loss: 'l2' })).toThrow(/loss/);
  });

  it('BCE training on real digits lowers the loss clearly, with flat memory', () => {
    const m = small({ hidden: [32] });
    const r = train(m, 60, { lr: 3e-3 });
    expect(r.first.loss).toBeGreaterThan(450); // ≈ 784·log 2 at the start
    expect(avgPart(r.history, 'loss', 'last')).toBeLessThan(0.55 * avgPart(r.history, 'loss', 'first'));
    expect(r.last.recon).toBe(r.last.loss);
    // memory stays flat: a further run of steps leaves no tensors behind
    const before = liveTensorCount();
    train(m, 5);
    expect(liveTensorCount()).toBe(before);
  });

  it('MSE (Gaussian) training lowers the squared error', () => {
    const m = small({ hidden: [32], loss: 'mse' });
    const r = train(m, 40, { lr: 3e-3 });
    expect(avgPart(r.history, 'mse', 'last')).toBeLessThan(0.7 * avgPart(r.history, 'mse', 'first'));
    // recon is the summed squared error per image
    expect(r.last.recon).toBeCloseTo(r.last.mse! * 784, 1);
  });

  it('clips the joint gradient norm when asked', () => {
    const m = small();
    const { make, spies } = spyFactory(0);
    const opts = m.createOptimizers(make);
    const { x } = digits(16);
    m.trainStep({ x, y: null }, opts, ctx(), undefined);
    const free = spies.main!.log[0]!.norm;
    expect(free).toBeGreaterThan(1);
    m.trainStep({ x, y: null }, opts, ctx(), 0.5);
    expect(spies.main!.log[1]!.norm).toBeLessThanOrEqual(0.5 + 1e-4);
    expect(spies.main!.zeroGrads).toBe(2);
  });

  it('is rebuilt from its config by buildModel', () => {
    const m = small();
    const m2 = buildModel(JSON.parse(JSON.stringify(m.config)));
    expect(paramShapes(m2)).toEqual(paramShapes(m));
    m2.loadStateDict(m.stateDict());
    const { x } = digits(3);
    expect(Array.from((m2 as DenseAE).reconstruct(x).data)).toEqual(Array.from(m.reconstruct(x).data));
  });
});
