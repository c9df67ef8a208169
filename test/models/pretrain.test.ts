import { describe, expect, it } from 'vitest';
import {
  CNNClassifier,
  MLPClassifier,
  defaultConfig,
  pretrainLayerwise,
  type OptimizerFactory,
  type PretrainProgress,
} from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { Generator } from '../../src/index.js';
import { digits, mnist, train } from './helpers.js';
import type { OptimizerLike } from '../../src/models/index.js';

const N = 512;

/** Adam, plus a snapshot of the first parameter (the encoder weight) after every step. */
function recordingAdam(): { make: OptimizerFactory; last: Record<string, Float32Array>; roles: string[] } {
  const last: Record<string, Float32Array> = {};
  const roles: string[] = [];
  const make: OptimizerFactory = (params, role) => {
    roles.push(role);
    const inner = new Adam(params, { lr: 1e-3 });
    const o = {
      get lr() {
        return inner.lr;
      },
      set lr(v: number) {
        inner.lr = v;
      },
      zeroGrad: () => inner.zeroGrad(),
      step: () => {
        inner.step();
        last[role] = Float32Array.from(params[0]!.data);
      },
      stateDict: () => inner.stateDict(),
      loadStateDict: () => {},
    };
    return o as OptimizerLike;
  };
  return { make, last, roles };
}

describe('pretrainLayerwise', () => {
  it('trains one autoencoder per hidden layer and copies each encoder into the classifier', () => {
    const m = new MLPClassifier(defaultConfig('mlp', [1, 28, 28], { hidden: [64, 32, 16], dropout: 0 }), { generator: new Generator(1) });
    const [l0, l1, l2] = m.hiddenLayers();
    const outLayer = m.net.at(-1) as unknown as { weight: { data: Float32Array } };
    const before = [l0!, l1!, l2!].map((l) => Float32Array.from(l.weight.data));
    const outBefore = Float32Array.from(outLayer.weight.data);
    const progress: PretrainProgress[] = [];
    const rec = recordingAdam();
    const res = pretrainLayerwise(m, mnist().images.subarray(0, N * 784), {
      epochs: 3,
      batch: 64,
      lr: 2e-3,
      makeOptimizer: rec.make,
      generator: new Generator(2),
      onLayer: (p) => progress.push(p),
    });
    expect(res.layers.map((l) => [l.inFeatures, l.outFeatures])).toEqual([
      [784, 64],
      [64, 32],
      [32, 16],
    ]);
    // pixels are in [0, 1]: Bernoulli; ReLU codes are not: squared error
    expect(res.layers.map((l) => l.loss)).toEqual(['bce', 'mse', 'mse']);
    expect(rec.roles).toEqual(['pretrain.0', 'pretrain.1', 'pretrain.2']);
    expect(progress.length).toBe(9);
    for (const layer of [0, 1, 2]) {
      const ps = progress.filter((p) => p.layer === layer);
      expect(ps.map((p) => p.epoch)).toEqual([0, 1, 2]);
      expect(ps[2]!.loss).toBeLessThan(ps[0]!.loss);
    }
    // each hidden layer now holds its trained encoder's weights; the output layer is untouched
    [l0!, l1!, l2!].forEach((l, i) => {
      expect(Array.from(l.weight.data)).toEqual(Array.from(rec.last[`pretrain.${i}`]!));
      expect(Array.from(l.weight.data)).not.toEqual(Array.from(before[i]!));
    });
    expect(Array.from(outLayer.weight.data)).toEqual(Array.from(outBefore));
  });

  it('uses Bernoulli codes for sigmoid layers, accepts a tensor, and the classifier then fine-tunes', () => {
    const m = new MLPClassifier(defaultConfig('mlp', [1, 28, 28], { hidden: [48, 24], activation: 'sigmoid', dropout: 0 }), {
      generator: new Generator(3),
    });
    const res = pretrainLayerwise(m, digits(N).x, {
      epochs: 2,
      batch: 64,
      makeOptimizer: (p) => new Adam(p, { lr: 3e-3 }) as unknown as OptimizerLike,
      generator: new Generator(4),
    });
    expect(res.layers.map((l) => l.loss)).toEqual(['bce', 'bce']);
    const r = train(m, 40, { lr: 3e-3, pool: 1024 });
    expect(r.last.ce).toBeLessThan(r.first.ce!);
  });

  it('rejects classifiers without dense hidden layers and bad options', () => {
    const cnn = new CNNClassifier(defaultConfig('cnn', [1, 28, 28], { channels: [4] }));
    const makeOptimizer: OptimizerFactory = (p) => new Adam(p) as unknown as OptimizerLike;
    const opts = { epochs: 1, batch: 8, makeOptimizer, generator: new Generator(1) };
    expect(() => pretrainLayerwise(cnn, digits(8).x, opts)).toThrow(/'mlp'/);
    const m = new MLPClassifier(defaultConfig('mlp', [1, 28, 28], { hidden: [8] }));
    expect(() => pretrainLayerwise(m, new Float32Array(100), opts)).toThrow(/784/);
    expect(() => pretrainLayerwise(m, digits(8).x, { ...opts, epochs: 0 })).toThrow(/epochs/);
    // no hidden layers: nothing to do
    const flat = new MLPClassifier(defaultConfig('mlp', [1, 28, 28], { hidden: [] }));
    expect(pretrainLayerwise(flat, digits(8).x, opts).layers).toEqual([]);
  });
});
