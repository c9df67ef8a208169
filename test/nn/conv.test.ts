/** Conv2d and ConvTranspose2d layers: weight layouts, PyTorch's default init, shapes, errors. */
import { describe, expect, it } from 'vitest';
import { Generator, nn, zeros } from '../../src/index.js';
import { normal } from '../helpers/engine.js';

function maxAbs(xs: number[]): number {
  return xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

describe('Conv2d', () => {
  it('weight (out, in/groups, kH, kW) and output shapes', () => {
    const c = new nn.Conv2d(1, 32, 3, { stride: 2, padding: 1 });
    expect(c.weight.shape).toEqual([32, 1, 3, 3]);
    expect(c.bias!.shape).toEqual([32]);
    expect(c.forward(zeros([5, 1, 28, 28])).shape).toEqual([5, 32, 14, 14]);
    const g = new nn.Conv2d(4, 6, [3, 2], { groups: 2, bias: false });
    expect(g.weight.shape).toEqual([6, 2, 3, 2]);
    expect(g.bias).toBeNull();
    expect(g.forward(zeros([1, 4, 5, 5])).shape).toEqual([1, 6, 3, 4]);
  });

  it('default init: weights and bias within ±1/√fan_in with fan_in = in/groups·kH·kW', () => {
    const c = new nn.Conv2d(8, 16, 3, { groups: 2, generator: new Generator(3) });
    const bound = 1 / Math.sqrt((8 / 2) * 9);
    expect(maxAbs(c.weight.toList())).toBeLessThanOrEqual(bound);
    expect(maxAbs(c.weight.toList())).toBeGreaterThan(0.9 * bound);
    expect(maxAbs(c.bias!.toList())).toBeLessThanOrEqual(bound);
  });

  it('channel mismatch names conv2d and the shapes; bad constructor arguments are rejected', () => {
    const c = new nn.Conv2d(3, 8, 3);
    expect(() => c.forward(zeros([1, 1, 8, 8]))).toThrow(/conv2d: input \[1, 1, 8, 8\] has 1 channels but weight \[8, 3, 3, 3\] expects 3/);
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/Conv2d: groups=2 must divide inChannels 3 and outChannels 4/);
    expect(() => new nn.Conv2d(0, 4, 3)).toThrow(/Conv2d: inChannels must be a positive integer/);
  });
});

describe('ConvTranspose2d', () => {
  it('weight (in, out/groups, kH, kW) and the 7 → 14 → 28 decoder shapes', () => {
    const d1 = new nn.ConvTranspose2d(64, 32, 3, { stride: 2, padding: 1, outputPadding: 1 });
    expect(d1.weight.shape).toEqual([64, 32, 3, 3]);
    const d2 = new nn.ConvTranspose2d(32, 1, 3, { stride: 2, padding: 1, outputPadding: 1 });
    expect(d2.forward(d1.forward(zeros([2, 64, 7, 7]))).shape).toEqual([2, 1, 28, 28]);
    const g = new nn.ConvTranspose2d(4, 6, 2, { groups: 2 });
    expect(g.weight.shape).toEqual([4, 3, 2, 2]);
    expect(g.forward(zeros([1, 4, 3, 3])).shape).toEqual([1, 6, 4, 4]);
  });

  it("default init uses PyTorch's fan_in of the (in, out/g, k, k) weight: out/g·kH·kW", () => {
    const d = new nn.ConvTranspose2d(64, 4, 3, { generator: new Generator(5) });
    const bound = 1 / Math.sqrt(4 * 9);
    expect(maxAbs(d.weight.toList())).toBeLessThanOrEqual(bound);
    expect(maxAbs(d.weight.toList())).toBeGreaterThan(0.9 * bound);
    expect(maxAbs(d.bias!.toList())).toBeLessThanOrEqual(bound);
  });

  it('channel mismatch is named', () => {
    expect(() => new nn.ConvTranspose2d(4, 2, 3).forward(zeros([1, 3, 4, 4]))).toThrow(
      /convTranspose2d: input \[1, 3, 4, 4\] has 3 channels but weight \[4, 2, 3, 3\] expects 4/,
    );
  });
});

// torch.nn.Conv2d(in, out, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')
// torch.nn.ConvTranspose2d(in, out, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')
describe("PyTorch's positional arguments", () => {
  const x = (c: number, h: number) => zeros([1, c, h, h]);

  it('Conv2d(in, out, k, stride, padding, dilation, groups, bias, paddingMode)', () => {
    const c = new nn.Conv2d(2, 4, 3, 2, 1, 1, 2, false, 'zeros');
    expect(c.weight.shape).toEqual([4, 1, 3, 3]);
    expect(c.bias).toBeNull();
    expect(c.forward(x(2, 7)).shape).toEqual([1, 4, 4, 4]); // ⌊(7 + 2 − 3)/2⌋ + 1
    expect(new nn.Conv2d(1, 1, 3, 1, 0, 2).forward(x(1, 7)).shape).toEqual([1, 1, 3, 3]); // dilation 2: 7 − 4
    expect(new nn.Conv2d(1, 1, 3, 1, 'same').forward(x(1, 7)).shape).toEqual([1, 1, 7, 7]);
    expect(new nn.Conv2d(1, 1, 3, 1, 'valid').forward(x(1, 7)).shape).toEqual([1, 1, 5, 5]);
    // positional and named give the same layer (same generator draws)
    const a = new nn.Conv2d(2, 3, 3, 2, 1, { generator: new Generator(3) });
    const b = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1, generator: new Generator(3) });
    const inp = normal([1, 2, 5, 5], 4, false);
    expect(a.forward(inp).toList()).toEqual(b.forward(inp).toList());
  });

  it('ConvTranspose2d(in, out, k, stride, padding, outputPadding, groups, bias, dilation): PyTorch puts dilation after bias', () => {
    const t = new nn.ConvTranspose2d(4, 2, 3, 2, 1, 1, 2, false, 1);
    expect(t.weight.shape).toEqual([4, 1, 3, 3]);
    expect(t.bias).toBeNull();
    expect(t.forward(x(4, 4)).shape).toEqual([1, 2, 8, 8]); // (4 − 1)·2 − 2 + (3 − 1) + 1 + 1
    expect(new nn.ConvTranspose2d(1, 1, 3, 1, 0, 0, 1, true, 2).forward(x(1, 3)).shape).toEqual([1, 1, 7, 7]); // 2 + 2·2 + 1
  });

  it('mistakes are named: too many arguments, one given twice, an unknown option, a wrong type, padding modes', () => {
    expect(() => new nn.Conv2d(1, 1, 3, 1, 0, 1, 1, true, 'zeros', 5 as never)).toThrow(/Conv2d: takes at most 6 optional positional arguments \(stride, padding/);
    expect(() => new nn.Conv2d(1, 1, 3, 2, { stride: 2 })).toThrow(/Conv2d: got 'stride' twice, as positional argument 1 and in the options/);
    expect(() => new nn.Conv2d(1, 1, 3, { strides: 2 } as never)).toThrow(/Conv2d: unknown option 'strides' \(known: stride, padding/);
    expect(() => new nn.Conv2d(1, 1, 3, '2' as never)).toThrow(/Conv2d: stride must be a number or a pair \[h, w\], got "2"/);
    expect(() => new nn.Conv2d(1, 1, 3, 1, 0, 1, 1, true, 'reflect' as never)).toThrow(/Conv2d: paddingMode="reflect" is not supported/);
    expect(() => new nn.Conv2d(1, 1, 3, 2, 'same')).toThrow(/padding='same' needs stride 1/);
    expect(() => new nn.Conv2d(1, 1, 2, 1, 'same')).toThrow(/needs uneven padding/);
  });
});
