/**
 * summary(): one row per leaf layer with its output shape and parameter count — the seeds' conv
 * autoencoder, and the conv trunk + FC layers of seed 003's two-GPU AlexNet counted by hand.
 */
import { describe, expect, it } from 'vitest';
import { nn, summary, type Tensor } from '../../src/index.js';

class ConvAE extends nn.Module {
  encoder: nn.Sequential;
  decoder: nn.Sequential;
  constructor() {
    super();
    this.encoder = this.registerModule(
      'encoder',
      new nn.Sequential(
        new nn.Conv2d(1, 32, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.Conv2d(32, 64, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.Flatten(),
        new nn.Linear(64 * 7 * 7, 16),
      ),
    );
    this.decoder = this.registerModule(
      'decoder',
      new nn.Sequential(
        new nn.Linear(16, 64 * 7 * 7),
        new nn.ReLU(),
        new nn.Unflatten(1, [64, 7, 7]),
        new nn.ConvTranspose2d(64, 32, 3, { stride: 2, padding: 1, outputPadding: 1 }),
        new nn.ReLU(),
        new nn.ConvTranspose2d(32, 1, 3, { stride: 2, padding: 1, outputPadding: 1 }),
        new nn.Sigmoid(),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return this.decoder.forward(this.encoder.forward(x));
  }
}

describe('summary', () => {
  it('the conv autoencoder: names, output shapes and parameter counts per layer', () => {
    const m = new ConvAE();
    const s = summary(m, [8, 1, 28, 28]);
    expect(s.rows.map((r) => [r.name, r.type, r.outputShape, r.params])).toEqual([
      ['encoder.0', 'Conv2d', [8, 32, 14, 14], 32 * 1 * 9 + 32],
      ['encoder.1', 'ReLU', [8, 32, 14, 14], 0],
      ['encoder.2', 'Conv2d', [8, 64, 7, 7], 64 * 32 * 9 + 64],
      ['encoder.3', 'ReLU', [8, 64, 7, 7], 0],
      ['encoder.4', 'Flatten', [8, 3136], 0],
      ['encoder.5', 'Linear', [8, 16], 3136 * 16 + 16],
      ['decoder.0', 'Linear', [8, 3136], 16 * 3136 + 3136],
      ['decoder.1', 'ReLU', [8, 3136], 0],
      ['decoder.2', 'Unflatten', [8, 64, 7, 7], 0],
      ['decoder.3', 'ConvTranspose2d', [8, 32, 14, 14], 64 * 32 * 9 + 32],
      ['decoder.4', 'ReLU', [8, 32, 14, 14], 0],
      ['decoder.5', 'ConvTranspose2d', [8, 1, 28, 28], 32 * 1 * 9 + 1],
      ['decoder.6', 'Sigmoid', [8, 1, 28, 28], 0],
    ]);
    expect(s.totalParams).toBe(320 + 18_496 + 50_192 + 53_312 + 18_464 + 289);
    expect(s.trainableParams).toBe(s.totalParams);
    expect(s.outputShape).toEqual([8, 1, 28, 28]);
    expect(s.text).toContain('Total params: 141,073');
    expect(s.text).toMatch(/encoder\.0 +Conv2d +\[8, 32, 14, 14\] +320/);
  });

  it('restores the model: forward is no longer hooked, and the training mode is kept', () => {
    const m = new ConvAE();
    m.train();
    summary(m, [1, 1, 28, 28]);
    expect(m.training).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(m.encoder.at(0), 'forward')).toBe(false);
    m.eval();
    summary(m, [1, 1, 28, 28]);
    expect(m.training).toBe(false);
  });

  it("seed 003's AlexNet counts: the two-GPU trunk (grouped convs, weights only) and the FC layers", () => {
    const noBias = { bias: false };
    const alex = new nn.Sequential(
      new nn.Conv2d(3, 96, 11, { stride: 4, ...noBias }), // (11·11·3)·48·2
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Conv2d(96, 256, 5, { padding: 2, groups: 2, ...noBias }), // (5·5·48)·128·2
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Conv2d(256, 384, 3, { padding: 1, ...noBias }), // (3·3·128)·2·192·2: both halves see all 256
      new nn.ReLU(),
      new nn.Conv2d(384, 384, 3, { padding: 1, groups: 2, ...noBias }), // (3·3·192)·192·2
      new nn.ReLU(),
      new nn.Conv2d(384, 256, 3, { padding: 1, groups: 2, ...noBias }), // (3·3·192)·128·2
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Flatten(),
      new nn.Linear(256, 2048 * 2, noBias), // stands in for the 177M first FC layer on a small input
      new nn.ReLU(),
      new nn.Linear(2048 * 2, 2048 * 2, noBias), // 2048·2·2048·2 = 16M
      new nn.ReLU(),
      new nn.Linear(2048 * 2, 1000, noBias), // 2048·2·1000 = 4M
    );
    // 67×67 input: 67 → 15 → 7 → 7 → 3 → 3 → 1, so the flattened trunk has 256 features
    const s = summary(alex, [1, 3, 67, 67]);
    const counts = s.rows.filter((r) => r.params > 0).map((r) => r.params);
    expect(counts).toEqual([
      11 * 11 * 3 * 48 * 2, // 35K
      5 * 5 * 48 * 128 * 2, // 307K
      3 * 3 * 128 * 2 * 192 * 2, // 884K
      3 * 3 * 192 * 192 * 2, // 663K
      3 * 3 * 192 * 128 * 2, // 442K
      256 * 4096,
      2048 * 2 * 2048 * 2, // 16M
      2048 * 2 * 1000, // 4M
    ]);
    expect(counts.slice(0, 5)).toEqual([34_848, 307_200, 884_736, 663_552, 442_368]);
    expect(s.rows.map((r) => r.outputShape![2] ?? null).slice(0, 13)).toEqual([15, 15, 7, 7, 7, 3, 3, 3, 3, 3, 3, 3, 1]);
    expect(s.totalParams).toBe(counts.reduce((a, b) => a + b, 0));
    expect(s.outputShape).toEqual([1, 1000]);
  });

  it('a model with BatchNorm: buffers are not parameters', () => {
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3));
    expect(summary(m, [2, 4]).totalParams).toBe(4 * 3 + 3 + 3 + 3);
  });
});
