/** Pooling and upsampling layers, with PyTorch's arguments (positional order and defaults). */
import { avgPool2d, maxPool2d, upsampleNearest, type Pool2dOptions, type Size2 } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkArg, onlySupported, resolveArgs, type PosArgs } from './args.js';
import { Module } from './module.js';

export interface MaxPool2dOptions {
  /** Default (or null): the kernel size, as PyTorch. */
  stride?: Size2 | null;
  padding?: Size2;
  /** Only 1 is supported. */
  dilation?: Size2;
  /** Only false is supported (the indices are kept internally for the gradient). */
  returnIndices?: boolean;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  /** Default (or null): the kernel size, as PyTorch. */
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  /** Only true (PyTorch's default: padded zeros count in the divisor) is supported. */
  countIncludePad?: boolean;
  /** Only null is supported. */
  divisorOverride?: number | null;
}

/** Checks the pooling arguments both layers share and returns them as the ops take them. */
function poolOptions(op: string, kernelSize: Size2, o: MaxPool2dOptions & AvgPool2dOptions): Pool2dOptions {
  checkArg(op, 'kernelSize', kernelSize, 'size2');
  if (o.stride !== null) checkArg(op, 'stride', o.stride, 'size2');
  checkArg(op, 'padding', o.padding, 'size2');
  checkArg(op, 'ceilMode', o.ceilMode, 'boolean');
  const out: Pool2dOptions = { stride: o.stride ?? kernelSize };
  if (o.padding !== undefined) out.padding = o.padding;
  if (o.ceilMode !== undefined) out.ceilMode = o.ceilMode;
  return out;
}

/**
 * Max pooling. Arguments as torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
 * return_indices=False, ceil_mode=False): `new MaxPool2d(3, 2)` pools 3×3 windows with stride 2.
 */
export class MaxPool2d extends Module {
  readonly opts: Pool2dOptions;
  constructor(
    readonly kernelSize: Size2,
    ...args: PosArgs<[stride: Size2 | null, padding: Size2, dilation: Size2, returnIndices: boolean, ceilMode: boolean], MaxPool2dOptions>
  ) {
    super();
    const o = resolveArgs('MaxPool2d', ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'], args) as MaxPool2dOptions;
    onlySupported('MaxPool2d', 'dilation', o.dilation, [1]);
    onlySupported('MaxPool2d', 'returnIndices', o.returnIndices, [false]);
    this.opts = poolOptions('MaxPool2d', kernelSize, o);
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride)}, padding=${JSON.stringify(this.opts.padding ?? 0)}`;
  }
}

/**
 * Average pooling. Arguments as torch.nn.AvgPool2d(kernel_size, stride=None, padding=0,
 * ceil_mode=False, count_include_pad=True, divisor_override=None).
 */
export class AvgPool2d extends Module {
  readonly opts: Pool2dOptions;
  constructor(
    readonly kernelSize: Size2,
    ...args: PosArgs<
      [stride: Size2 | null, padding: Size2, ceilMode: boolean, countIncludePad: boolean, divisorOverride: number | null],
      AvgPool2dOptions
    >
  ) {
    super();
    const o = resolveArgs('AvgPool2d', ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'], args) as AvgPool2dOptions;
    onlySupported('AvgPool2d', 'countIncludePad', o.countIncludePad, [true]);
    onlySupported('AvgPool2d', 'divisorOverride', o.divisorOverride, [null]);
    this.opts = poolOptions('AvgPool2d', kernelSize, o);
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride)}, padding=${JSON.stringify(this.opts.padding ?? 0)}`;
  }
}

export interface UpsampleOptions {
  /** Output (H, W); an integer multiple of the input's. Give this or scaleFactor. */
  size?: Size2 | null;
  /** Integer factor(s) for (H, W). */
  scaleFactor?: Size2 | null;
  /** Only 'nearest' (PyTorch's default) is supported. */
  mode?: 'nearest';
  /** Must be null or absent for 'nearest', as in PyTorch. */
  alignCorners?: boolean | null;
}

/**
 * Nearest-neighbour upsampling by an integer factor. Arguments as torch.nn.Upsample(size=None,
 * scale_factor=None, mode='nearest', align_corners=None): `new Upsample(null, 2)` or
 * `new Upsample({ scaleFactor: 2 })`.
 */
export class Upsample extends Module {
  readonly size: Size2 | null;
  readonly scaleFactor: Size2 | null;
  constructor(...args: PosArgs<[size: Size2 | null, scaleFactor: Size2 | null, mode: 'nearest', alignCorners: boolean | null], UpsampleOptions>) {
    super();
    const o = resolveArgs('Upsample', ['size', 'scaleFactor', 'mode', 'alignCorners'], args) as UpsampleOptions;
    if (o.mode !== undefined && o.mode !== 'nearest') throw new Error(`Upsample: only mode 'nearest' is supported, got '${String(o.mode)}'`);
    if (o.alignCorners !== undefined && o.alignCorners !== null)
      throw new Error('Upsample: alignCorners only applies to interpolating modes; leave it out for nearest (PyTorch raises too)');
    const size = o.size ?? null;
    const scale = o.scaleFactor ?? null;
    if ((size === null) === (scale === null)) throw new Error('Upsample: give exactly one of size and scaleFactor');
    if (size !== null) checkArg('Upsample', 'size', size, 'size2');
    if (scale !== null) checkArg('Upsample', 'scaleFactor', scale, 'size2');
    this.size = size;
    this.scaleFactor = scale;
  }
  forward(x: Tensor): Tensor {
    if (this.scaleFactor !== null) return upsampleNearest(x, this.scaleFactor);
    if (x.ndim !== 4) throw new Error(`Upsample: expected (N, C, H, W), got [${x.shape.join(', ')}]`);
    const [h, w] = typeof this.size === 'number' ? [this.size, this.size] : this.size!;
    const [H, W] = [x.shape[2]!, x.shape[3]!];
    if (h % H || w % W)
      throw new Error(`Upsample: size [${h}, ${w}] is not an integer multiple of the input's [${H}, ${W}] (only integer factors are supported)`);
    return upsampleNearest(x, [h / H, w / W]);
  }
  override extraRepr(): string {
    return this.scaleFactor !== null ? `scaleFactor=${JSON.stringify(this.scaleFactor)}, mode=nearest` : `size=${JSON.stringify(this.size)}, mode=nearest`;
  }
}
