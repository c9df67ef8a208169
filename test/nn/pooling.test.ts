/** Pooling and upsampling layers: shapes and values through the module interface. */
import { describe, expect, it } from 'vitest';
import { arange, nn, zeros } from '../../src/index.js';

describe('pooling layers', () => {
  it('MaxPool2d(2) and MaxPool2d(3, stride 2, padding 1)', () => {
    const x = arange(16).reshape(1, 1, 4, 4);
    expect(new nn.MaxPool2d(2).forward(x).toList()).toEqual([5, 7, 13, 15]);
    expect(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(zeros([2, 3, 28, 28])).shape).toEqual([2, 3, 14, 14]);
  });

  it('AvgPool2d(2)', () => {
    const x = arange(16).reshape(1, 1, 4, 4);
    expect(new nn.AvgPool2d(2).forward(x).toList()).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(new nn.AvgPool2d([2, 1]).forward(x).shape).toEqual([1, 1, 2, 4]);
  });

  it('Upsample nearest by 2 and (1, 3); other modes are rejected', () => {
    expect(new nn.Upsample({ scaleFactor: 2 }).forward(zeros([2, 3, 7, 7])).shape).toEqual([2, 3, 14, 14]);
    expect(new nn.Upsample({ scaleFactor: [1, 3] }).forward(arange(2).reshape(1, 1, 1, 2)).toList()).toEqual([0, 0, 0, 1, 1, 1]);
    expect(() => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' as never })).toThrow(
      /Upsample: only mode 'nearest' is supported, got 'bilinear'/,
    );
  });
});
