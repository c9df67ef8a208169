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

// torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False)
// torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None)
// torch.nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None)
describe("PyTorch's positional arguments", () => {
  const x = arange(49).reshape(1, 1, 7, 7); // x[r, c] = 7r + c

  it('MaxPool2d(3, 2) pools with stride 2; MaxPool2d(3) strides by the kernel', () => {
    // windows start at rows/cols 0, 2, 4: the max of each is its bottom-right 7(r+2) + (c+2)
    expect(new nn.MaxPool2d(3, 2).forward(x).toList()).toEqual([16, 18, 20, 30, 32, 34, 44, 46, 48]);
    expect(new nn.MaxPool2d(3).forward(x).toList()).toEqual([16, 19, 37, 40]);
    expect(new nn.MaxPool2d(3, null).forward(x).shape).toEqual([1, 1, 2, 2]);
    expect(new nn.MaxPool2d(3, 2, 1).forward(x).shape).toEqual([1, 1, 4, 4]);
    // ceil_mode, the 6th: ceil((7 − 2)/2) + 1 = 4
    expect(new nn.MaxPool2d(2, 2, 0, 1, false, true).forward(x).shape).toEqual([1, 1, 4, 4]);
    expect(new nn.MaxPool2d(2, 2, 0, 1, false, true).forward(x).toList()).toEqual(
      new nn.MaxPool2d(2, { stride: 2, ceilMode: true }).forward(x).toList(),
    );
  });

  it('AvgPool2d(kernel, stride, padding, ceilMode, …)', () => {
    expect(new nn.AvgPool2d(3, 2).forward(x).toList()).toEqual([8, 10, 12, 22, 24, 26, 36, 38, 40]);
    expect(new nn.AvgPool2d(2, 1, 1).forward(x).shape).toEqual([1, 1, 8, 8]);
    expect(new nn.AvgPool2d(2, 2, 0, true).forward(x).shape).toEqual([1, 1, 4, 4]);
    expect(new nn.AvgPool2d(2, 2, 0, false, true, null).forward(x).shape).toEqual([1, 1, 3, 3]);
  });

  it('Upsample(size, scaleFactor, mode, alignCorners)', () => {
    const s = arange(4).reshape(1, 1, 2, 2);
    expect(new nn.Upsample(null, 2).forward(s).toList()).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
    expect(new nn.Upsample(4).forward(s).toList()).toEqual(new nn.Upsample(null, 2).forward(s).toList());
    expect(new nn.Upsample([2, 6]).forward(s).shape).toEqual([1, 1, 2, 6]);
    expect(new nn.Upsample(null, 2, 'nearest').forward(s).shape).toEqual([1, 1, 4, 4]);
  });

  it('unsupported PyTorch options are refused by name', () => {
    expect(() => new nn.MaxPool2d(2, 2, 0, 2)).toThrow(/MaxPool2d: dilation=2 is not supported/);
    expect(() => new nn.MaxPool2d(2, { returnIndices: true })).toThrow(/MaxPool2d: returnIndices=true is not supported/);
    expect(() => new nn.AvgPool2d(2, 2, 0, false, false)).toThrow(/AvgPool2d: countIncludePad=false is not supported/);
    expect(() => new nn.Upsample(null, 2, 'nearest', true)).toThrow(/Upsample: alignCorners only applies/);
    expect(() => new nn.Upsample()).toThrow(/Upsample: give exactly one of size and scaleFactor/);
    expect(() => new nn.Upsample(3).forward(arange(4).reshape(1, 1, 2, 2))).toThrow(/size \[3, 3\] is not an integer multiple of the input's \[2, 2\]/);
  });
});
