/**
 * The functional layers: dropout (inverted scaling, seeded masks, gradient = mask) and batch
 * normalisation (train statistics, running-stat updates, eval mode), with finite-difference checks.
 */
import { describe, expect, it } from 'vitest';
import { batchNorm, dropout, Generator, mean, ones, sum, tensor, variance, zeros } from '../../src/index.js';
import { expectClose, expectGrad, normal } from '../helpers/engine.js';

const TIGHT = { eps: 1e-2, atol: 1e-4, rtol: 1e-3 };

describe('dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1/(1−p)', () => {
    const x = ones([100, 100]);
    const y = dropout(x, 0.3, true, new Generator(1));
    const vals = new Set(y.toList().map((v) => Math.fround(v)));
    expect([...vals].sort()).toEqual([0, Math.fround(1 / 0.7)].sort());
    const zeroFrac = y.toList().filter((v) => v === 0).length / 10000;
    expect(Math.abs(zeroFrac - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(mean(y).item() - 1)).toBeLessThan(0.03);
  });

  it('is deterministic for a seeded generator', () => {
    const x = normal([50], 1, false);
    expect(dropout(x, 0.5, true, new Generator(7)).toList()).toEqual(dropout(x, 0.5, true, new Generator(7)).toList());
    expect(dropout(x, 0.5, true, new Generator(7)).toList()).not.toEqual(dropout(x, 0.5, true, new Generator(8)).toList());
  });

  it('identity when not training or p = 0; all zeros when p = 1', () => {
    const x = normal([10], 2, false);
    expect(dropout(x, 0.5, false)).toBe(x);
    expect(dropout(x, 0)).toBe(x);
    expect(
      dropout(x, 1, true, new Generator(1))
        .toList()
        .every((v) => v === 0),
    ).toBe(true);
    expect(() => dropout(x, 1.5)).toThrow(/dropout: p must be in \[0, 1\], got 1.5/);
  });

  it('the gradient equals the mask (finite differences with a fixed generator)', () => {
    const x = normal([4, 5], 3);
    expectGrad((t) => dropout(t, 0.4, true, new Generator(11)), [x], TIGHT);
    x.grad = null;
    const y = dropout(x, 0.4, true, new Generator(11));
    sum(y).backward();
    const mask = dropout(ones([4, 5]), 0.4, true, new Generator(11));
    expect(x.grad!.toList()).toEqual(mask.toList());
  });
});

describe('batchNorm', () => {
  it('train mode normalises each channel of (N, C) to mean 0, biased variance 1', () => {
    const x = normal([16, 3], 4, false);
    const y = batchNorm(x, null, null, null, null, { training: true });
    expectClose(mean(y, 0).data, [0, 0, 0], 1e-6);
    // σ²/(σ² + ε) ≈ 1
    expectClose(variance(y, 0, false, 0).data, [1, 1, 1], 1e-3);
  });

  it('(N, C, H, W) normalises over N, H, W, and applies weight and bias per channel', () => {
    const x = normal([4, 2, 3, 3], 5, false);
    const w = tensor([2, 0.5]);
    const b = tensor([1, -1]);
    const y = batchNorm(x, null, null, w, b, { training: true });
    // per channel mean = bias, std ≈ weight
    const m = mean(y, [0, 2, 3]);
    expectClose(m.data, [1, -1], 1e-5);
    const s = variance(y, [0, 2, 3], false, 0);
    expectClose(s.data, [4, 0.25], 1e-3);
  });

  it('updates running stats with momentum and the unbiased variance, as PyTorch', () => {
    const x = normal([8, 2], 6, false);
    const rm = zeros([2]);
    const rv = ones([2]);
    batchNorm(x, rm, rv, null, null, { training: true, momentum: 0.1 });
    const bm = mean(x, 0);
    const bv = variance(x, 0); // unbiased
    expectClose(
      rm.data,
      bm.toList().map((v) => 0.1 * v),
      1e-6,
    );
    expectClose(
      rv.data,
      bv.toList().map((v) => 0.9 + 0.1 * v),
      1e-6,
    );
  });

  it('eval mode uses the running statistics', () => {
    const x = normal([3, 2], 7, false);
    const rm = tensor([0.5, -1]);
    const rv = tensor([4, 0.25]);
    const y = batchNorm(x, rm, rv, tensor([1, 2]), tensor([0, 1]), { training: false, eps: 0 });
    const ref = x.toList().map((v, i) => (i % 2 === 0 ? (v - 0.5) / 2 : ((v + 1) / 0.5) * 2 + 1));
    expectClose(y.data, ref, 1e-6);
  });

  it('gradient in train mode: (N, C) and (N, C, H, W), with and without affine', () => {
    expectGrad(
      (x, w, b) => batchNorm(x, null, null, w, b, { training: true }),
      [normal([6, 3], 8), normal([3], 9), normal([3], 10)],
      TIGHT,
    );
    expectGrad((x) => batchNorm(x, null, null, null, null, { training: true }), [normal([5, 2], 11)], TIGHT);
    expectGrad(
      (x, w, b) => batchNorm(x, zeros([2]), ones([2]), w, b, { training: true }),
      [normal([3, 2, 2, 3], 12), normal([2], 13), normal([2], 14)],
      TIGHT,
    );
  });

  it('gradient in eval mode', () => {
    const rm = tensor([0.2, -0.3, 0.1]);
    const rv = tensor([0.5, 2, 1]);
    expectGrad((x, w, b) => batchNorm(x, rm, rv, w, b, { training: false }), [normal([4, 3], 15), normal([3], 16), normal([3], 17)], TIGHT);
  });

  it('errors', () => {
    expect(() => batchNorm(tensor([1, 2]), null, null, null, null, { training: true })).toThrow(/batchNorm: expected at least 2-D input/);
    expect(() => batchNorm(normal([1, 3], 1, false), null, null, null, null, { training: true })).toThrow(/more than 1 value per channel/);
    expect(() => batchNorm(normal([4, 3], 1, false), zeros([2]), ones([2]), null, null, { training: true })).toThrow(
      /batchNorm: runningMean has 2 elements, input \[4, 3\] has 3 channels/,
    );
  });
});
