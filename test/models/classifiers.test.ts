import { describe, expect, it } from 'vitest';
import { CNNClassifier, MLPClassifier, accuracy, batchAccuracy, defaultConfig } from '../../src/models/index.js';
import { Generator, noGrad, tensor } from '../../src/index.js';
import { avgPart, ctx, digits, paramShapes, train } from './helpers.js';

const mlp = (over: Record<string, unknown> = {}) =>
  new MLPClassifier(defaultConfig('mlp', [1, 28, 28], { hidden: [64, 32], ...over }), { generator: new Generator(1) });
const cnn = (over: Record<string, unknown> = {}) =>
  new CNNClassifier(defaultConfig('cnn', [1, 28, 28], over), { generator: new Generator(2) });

describe('accuracy', () => {
  it('counts argmax hits', () => {
    expect(
      accuracy(
        tensor([
          [0, 1],
          [2, 0],
          [0, 3],
        ]),
        [1, 0, 0],
      ),
    ).toBeCloseTo(2 / 3, 6);
  });
});

describe('MLPClassifier', () => {
  it('has PyTorch names, with Dropout layers taking their place in the numbering', () => {
    expect(paramShapes(mlp({ dropout: 0.2 }))).toEqual({
      'net.0.weight': [64, 784],
      'net.0.bias': [64],
      'net.3.weight': [32, 64],
      'net.3.bias': [32],
      'net.6.weight': [10, 32],
      'net.6.bias': [10],
    });
    expect(mlp({ dropout: 0.2 }).net.layers.map((l) => l.typeName)).toEqual([
      'Linear',
      'ReLU',
      'Dropout',
      'Linear',
      'ReLU',
      'Dropout',
      'Linear',
    ]);
    expect(Object.keys(paramShapes(mlp({ dropout: 0 })))).toEqual([
      'net.0.weight',
      'net.0.bias',
      'net.2.weight',
      'net.2.bias',
      'net.4.weight',
      'net.4.bias',
    ]);
    expect(
      mlp()
        .hiddenLayers()
        .map((l) => [l.inFeatures, l.outFeatures]),
    ).toEqual([
      [784, 64],
      [64, 32],
    ]);
    expect(() => mlp({ dropout: 1 })).toThrow(/dropout/);
  });

  it('dropout draws from the step generator in training and is the identity in eval', () => {
    const m = mlp({ dropout: 0.5 });
    const { x, y } = digits(8);
    const loss = (seed: number) => m.evaluate({ x, y }, ctx(seed)).parts.loss!;
    m.train();
    expect(loss(1)).toBe(loss(1));
    expect(loss(1)).not.toBe(loss(2));
    m.eval();
    expect(loss(1)).toBe(loss(2));
    expect(m.logits(x).shape).toEqual([8, 10]);
    expect(m.predict(x).length).toBe(8);
  });

  it('needs labels', () => {
    expect(() => mlp().evaluate({ x: digits(4).x, y: null }, ctx())).toThrow(/labels/);
  });

  it('learns digits: cross-entropy falls and accuracy rises', () => {
    const m = mlp({ dropout: 0.1 });
    const r = train(m, 80, { lr: 3e-3, batch: 32, pool: 2048 });
    expect(avgPart(r.history, 'ce', 'last')).toBeLessThan(0.4 * avgPart(r.history, 'ce', 'first'));
    m.eval();
    const { x, y } = digits(500, 3000);
    expect(batchAccuracy(m, x, y)).toBeGreaterThan(0.8);
  });
});

describe('CNNClassifier', () => {
  it('has conv features and a dense head with PyTorch names', () => {
    expect(paramShapes(cnn({ channels: [32, 64], hidden: [128], dropout: 0.25 }))).toEqual({
      'features.0.weight': [32, 1, 3, 3],
      'features.0.bias': [32],
      'features.3.weight': [64, 32, 3, 3],
      'features.3.bias': [64],
      'classifier.1.weight': [128, 64 * 7 * 7],
      'classifier.1.bias': [128],
      'classifier.4.weight': [10, 128],
      'classifier.4.bias': [10],
    });
    expect(cnn().features.layers.map((l) => l.typeName)).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d']);
    expect(() => new CNNClassifier(defaultConfig('cnn', [1, 3, 3], { channels: [4, 4] }))).toThrow(/poolings/);
    // odd sizes floor like PyTorch's MaxPool2d
    const odd = new CNNClassifier(defaultConfig('cnn', [3, 15, 13], { channels: [4, 8], hidden: [16] }));
    expect(paramShapes(odd)['classifier.1.weight']).toEqual([16, 8 * 3 * 3]);
  });

  it('learns digits (small net)', () => {
    const m = cnn({ channels: [4, 8], hidden: [32], dropout: 0.1 });
    expect(m.inputLayout).toBe('image');
    const r = train(m, 60, { lr: 5e-3, batch: 16, pool: 2048 });
    expect(avgPart(r.history, 'ce', 'last')).toBeLessThan(0.6 * avgPart(r.history, 'ce', 'first'));
    m.eval();
    const { x, y } = digits(200, 3000, 'image');
    expect(noGrad(() => batchAccuracy(m, x, y))).toBeGreaterThan(0.5);
  });
});
