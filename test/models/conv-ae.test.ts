import { describe, expect, it } from 'vitest';
import { ConvAE, convAESizes, defaultConfig } from '../../src/models/index.js';
import { Generator, rand } from '../../src/index.js';
import { avgPart, digits, paramShapes, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}, shape: [number, number, number] = [1, 28, 28]) =>
  new ConvAE(defaultConfig('conv-ae', shape, { latent: 16, ...over }), { generator: new Generator(3) });

describe('ConvAE', () => {
  it('matches the PyTorch layout for channels [32, 64] on 28×28', () => {
    const m = make({ channels: [32, 64] });
    expect(paramShapes(m)).toEqual({
      'encoder.0.weight': [32, 1, 3, 3],
      'encoder.0.bias': [32],
      'encoder.2.weight': [64, 32, 3, 3],
      'encoder.2.bias': [64],
      'encoder.5.weight': [16, 3136],
      'encoder.5.bias': [16],
      'decoder.0.weight': [3136, 16],
      'decoder.0.bias': [3136],
      'decoder.3.weight': [64, 32, 3, 3],
      'decoder.3.bias': [32],
      'decoder.5.weight': [32, 1, 3, 3],
      'decoder.5.bias': [1],
    });
    expect(m.encoder.layers.map((l) => l.typeName)).toEqual(['Conv2d', 'ReLU', 'Conv2d', 'ReLU', 'Flatten', 'Linear']);
    expect(m.decoder.layers.map((l) => l.typeName)).toEqual([
      'Linear',
      'ReLU',
      'Unflatten',
      'ConvTranspose2d',
      'ReLU',
      'ConvTranspose2d',
      'Sigmoid',
    ]);
    // outputPadding 1 at both transposed convs brings 7 → 14 → 28
    expect(m.featureShape).toEqual([64, 7, 7]);
  });

  it('round-trips even and odd image sizes', () => {
    expect(convAESizes(28, 27, 3)).toEqual([
      [28, 27],
      [14, 14],
      [7, 7],
      [4, 4],
    ]);
    for (const shape of [
      [1, 28, 28],
      [1, 27, 27],
      [3, 7, 5],
      [2, 9, 16],
      [1, 1, 1],
    ] as [number, number, number][]) {
      const m = make({ channels: [4, 8, 8], latent: 3 }, shape);
      const x = rand([2, ...shape], { generator: new Generator(1) });
      const r = m.reconstruct(x);
      expect(r.shape).toEqual([2, ...shape]);
      expect(m.encode(x).shape).toEqual([2, 3]);
      expect(m.reconstructionError(x).length).toBe(2);
      // flat input of the same size is accepted too
      expect(m.reconstruct(x.reshape(2, -1)).shape).toEqual([2, ...shape]);
    }
  });

  it('rejects an image of the wrong size and empty channel lists', () => {
    const m = make({ channels: [4] });
    expect(() => m.encode(rand([2, 1, 20, 20]))).toThrow(/image shape/);
    expect(() => make({ channels: [] })).toThrow(/channels/);
  });

  it('training on real digits lowers the loss clearly', () => {
    const m = make({ channels: [4, 8], latent: 8 });
    expect(m.inputLayout).toBe('image');
    const r = train(m, 80, { batch: 16, lr: 3e-3 });
    expect(avgPart(r.history, 'loss', 'last')).toBeLessThan(0.6 * avgPart(r.history, 'loss', 'first'));
    const { x } = digits(4, 0, 'image');
    expect(m.reconstruct(x).shape).toEqual([4, 1, 28, 28]);
  });
});
