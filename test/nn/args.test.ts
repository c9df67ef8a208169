/** PyTorch-style layer arguments: positional in PyTorch's order, or named in a trailing options object. */
import { describe, expect, it } from 'vitest';
import { isOptions, resolveArgs } from '../../src/nn/args.js';
import { Generator, tensor } from '../../src/index.js';

describe('resolveArgs', () => {
  const names = ['stride', 'padding', 'dilation'];

  it('maps positional arguments by position, merges a trailing options object, skips undefined', () => {
    expect(resolveArgs('L', names, [2, 1])).toEqual({ stride: 2, padding: 1 });
    expect(resolveArgs('L', names, [2, { dilation: 3 }])).toEqual({ stride: 2, dilation: 3 });
    expect(resolveArgs('L', names, [undefined, 1, { stride: undefined }])).toEqual({ padding: 1 });
    expect(resolveArgs('L', names, [{ generator: 5 }], ['generator'])).toEqual({ generator: 5 });
    // a pair [h, w] is a value, not the options
    expect(resolveArgs('L', names, [[2, 1]])).toEqual({ stride: [2, 1] });
  });

  it('rejects too many arguments, an argument given twice and unknown names, as Python does', () => {
    expect(() => resolveArgs('L', names, [1, 2, 3, 4])).toThrow(
      /L: takes at most 3 optional positional arguments \(stride, padding, dilation\), got 4/,
    );
    expect(() => resolveArgs('L', names, [1, 2, { padding: 0 }])).toThrow(/L: got 'padding' twice, as positional argument 2/);
    expect(() => resolveArgs('L', names, [{ pading: 1 }])).toThrow(/L: unknown option 'pading' \(known: stride, padding, dilation\)/);
  });
});

describe('isOptions', () => {
  it('is true only for plain objects', () => {
    expect(isOptions({ a: 1 })).toBe(true);
    expect(isOptions(Object.create(null))).toBe(true);
    for (const v of [null, [1, 2], tensor([1]), new Generator(1), 3, 'x']) expect(isOptions(v)).toBe(false);
  });
});
