import { describe, expect, it } from 'vitest';
import { RngHolder, StepDropout, makeActivation, mlp, reconTerm, toFlat, toImage, perSampleMse } from '../../src/models/common.js';
import { Generator, losses, ones, rand, tensor } from '../../src/index.js';

describe('models/common', () => {
  it('mlp numbers its layers as nn.Sequential would', () => {
    const seq = mlp([10, 8, 4], 'tanh', { dropout: 0.5 });
    expect(seq.layers.map((l) => l.typeName)).toEqual(['Linear', 'Tanh', 'Dropout', 'Linear']);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    expect(mlp([10, 8], 'relu', { finalActivation: true }).layers.map((l) => l.typeName)).toEqual(['Linear', 'ReLU']);
    expect(() => makeActivation('swish' as never)).toThrow(/unknown activation/);
  });

  it('StepDropout: inverted dropout from the holder’s generator, identity in eval', () => {
    const rng = new RngHolder();
    const d = new StepDropout(0.25, rng);
    const x = ones([4000]);
    rng.generator = new Generator(1);
    const a = d.forward(x).data;
    rng.generator = new Generator(1);
    expect(Array.from(d.forward(x).data)).toEqual(Array.from(a));
    const kept = a.filter((v) => v !== 0);
    expect(kept.length / a.length).toBeCloseTo(0.75, 1);
    for (const v of kept) expect(v).toBeCloseTo(1 / 0.75, 6);
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  it('toFlat / toImage reshape and check sizes', () => {
    const img = rand([2, 1, 4, 4]);
    expect(toFlat('op', img, 16).shape).toEqual([2, 16]);
    expect(toImage('op', toFlat('op', img, 16), [1, 4, 4]).shape).toEqual([2, 1, 4, 4]);
    expect(() => toFlat('op', img, 15)).toThrow(/op: .*16 values per sample, the model expects 15/);
    expect(() => toImage('op', img, [1, 2, 8])).toThrow(/image shape/);
    expect(() => toFlat('op', tensor([1, 2]), 2)).toThrow(/batch/);
  });

  it('reconTerm: Bernoulli NLL from logits and summed squared error, per image', () => {
    const logits = tensor([
      [0.5, -1, 2],
      [0, 0, 0],
    ]);
    const x = tensor([
      [1, 0, 0.5],
      [0, 1, 1],
    ]);
    const b = reconTerm(logits, x, 'bce');
    const ref = losses.bernoulliNll(logits.sigmoid(), x, { reduction: 'none' }).data;
    expect(b.perSample.data[0]).toBeCloseTo(ref[0]!, 5);
    expect(b.perSample.data[1]).toBeCloseTo(3 * Math.log(2), 5);
    expect(b.mean.item()).toBeCloseTo((ref[0]! + ref[1]!) / 2, 5);
    const m = reconTerm(logits, x, 'mse');
    const p = logits.sigmoid().data;
    const sse0 = [0, 1, 2].reduce((s, j) => s + (p[j]! - x.data[j]!) ** 2, 0);
    expect(m.perSample.data[0]).toBeCloseTo(sse0, 5);
    expect(m.mse).toBeCloseTo((sse0 + [3, 4, 5].reduce((s, j) => s + (p[j]! - x.data[j]!) ** 2, 0)) / 6, 5);
    expect(Array.from(perSampleMse(x, logits.sigmoid()))).toEqual([expect.closeTo(sse0 / 3, 5), expect.any(Number)]);
  });
});
