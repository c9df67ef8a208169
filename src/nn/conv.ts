/** Convolution layers: Conv2d and ConvTranspose2d, with PyTorch's weight layouts and init. */
import { conv2d, convTranspose2d, type Size2 } from '../ops/index.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { checkArg, onlySupported, resolveArgs, type PosArgs } from './args.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export interface Conv2dLayerOptions {
  stride?: Size2;
  /** Zeros added on each side, or 'valid' (none) / 'same' (output as large as the input; stride 1 only), as PyTorch. */
  padding?: Size2 | 'valid' | 'same';
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  /** Only 'zeros' (PyTorch's default) is supported. */
  paddingMode?: 'zeros';
  /** Draws the initial weights (default: the global generator). */
  generator?: Generator;
}

export interface ConvTranspose2dLayerOptions extends Omit<Conv2dLayerOptions, 'padding'> {
  padding?: Size2;
  outputPadding?: Size2;
}

/** The options as the conv ops take them: padding as numbers. */
interface ResolvedConv {
  stride: Size2;
  padding: Size2;
  dilation: Size2;
  groups: number;
  outputPadding?: Size2;
}

const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function checkChannels(op: string, inC: number, outC: number, groups: number): void {
  for (const [n, v] of [['inChannels', inC], ['outChannels', outC]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${n} must be a positive integer, got ${v}`);
  if (!Number.isInteger(groups) || groups < 1 || inC % groups || outC % groups)
    throw new Error(`${op}: groups=${groups} must divide inChannels ${inC} and outChannels ${outC}`);
}

/**
 * 'same' padding as numbers: dilation·(k − 1)/2 on each side, which PyTorch pads symmetrically
 * only when dilation·(k − 1) is even (otherwise it pads one more on the right: not supported).
 */
function samePadding(op: string, kernel: [number, number], dilation: [number, number], stride: [number, number]): [number, number] {
  if (stride[0] !== 1 || stride[1] !== 1) throw new Error(`${op}: padding='same' needs stride 1 (as in PyTorch), got stride [${stride}]`);
  return [0, 1].map((i) => {
    const total = dilation[i]! * (kernel[i]! - 1);
    if (total % 2) throw new Error(`${op}: padding='same' with kernel ${kernel[i]} and dilation ${dilation[i]} needs uneven padding, which is not supported`);
    return total / 2;
  }) as [number, number];
}

/**
 * What Conv2d and ConvTranspose2d share: the argument checks, the weight and bias with
 * PyTorch's default init, and the printed form. `transposed` picks the weight layout: (out,
 * in/groups, kH, kW) for a convolution, (in, out/groups, kH, kW) for a transposed one, as in
 * PyTorch.
 */
abstract class ConvLayer extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly opts: ResolvedConv;
  constructor(
    op: string,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    o: Conv2dLayerOptions & ConvTranspose2dLayerOptions,
    transposed: boolean,
  ) {
    super();
    checkArg(op, 'kernelSize', kernelSize, 'size2');
    for (const k of ['stride', 'dilation', 'outputPadding'] as const) checkArg(op, k, o[k], 'size2');
    if (typeof o.padding !== 'string') checkArg(op, 'padding', o.padding, 'size2');
    else if (transposed || (o.padding !== 'same' && o.padding !== 'valid'))
      throw new Error(`${op}: padding must be a number or a pair${transposed ? '' : ", 'valid' or 'same'"}, got ${JSON.stringify(o.padding)}`);
    checkArg(op, 'groups', o.groups, 'number');
    checkArg(op, 'bias', o.bias, 'boolean');
    checkArg(op, 'generator', o.generator, 'generator');
    onlySupported(op, 'paddingMode', o.paddingMode, ['zeros']);
    const groups = o.groups ?? 1;
    checkChannels(op, inChannels, outChannels, groups);
    this.kernelSize = pair(kernelSize);
    const stride = o.stride ?? 1;
    const dilation = o.dilation ?? 1;
    const padding =
      o.padding === 'same' ? samePadding(op, this.kernelSize, pair(dilation), pair(stride)) : o.padding === 'valid' ? 0 : (o.padding ?? 0);
    this.opts = { stride, padding, dilation, groups };
    if (transposed) this.opts.outputPadding = o.outputPadding ?? 0;
    const [rows, cols] = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
    this.weight = this.registerParameter('weight', Tensor.empty([rows, cols, ...this.kernelSize]));
    this.bias = o.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outChannels]));
    defaultLayerInit_(this.weight, this.bias, o.generator);
  }
  override extraRepr(): string {
    const o = this.opts;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${JSON.stringify(o.stride)}, padding=${JSON.stringify(o.padding)}`;
  }
}

/**
 * 2-D convolution, weight (out, in/groups, kH, kW). Arguments as torch.nn.Conv2d(in_channels,
 * out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
 * padding_mode='zeros'): `new Conv2d(1, 8, 3, 2, 1)` or `new Conv2d(1, 8, 3, { stride: 2, padding: 1 })`.
 */
export class Conv2d extends ConvLayer {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    ...args: PosArgs<
      [stride: Size2, padding: Size2 | 'valid' | 'same', dilation: Size2, groups: number, bias: boolean, paddingMode: 'zeros'],
      Conv2dLayerOptions
    >
  ) {
    const o = resolveArgs('Conv2d', CONV_ARGS, args, ['generator']);
    super('Conv2d', inChannels, outChannels, kernelSize, o, false);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
}

const CONV_ARGS = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
// PyTorch's order for the transposed convolution differs: output_padding, groups, bias, then dilation
const CONV_T_ARGS = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'];

/**
 * Transposed 2-D convolution, weight (in, out/groups, kH, kW). Arguments as
 * torch.nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
 * output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros').
 */
export class ConvTranspose2d extends ConvLayer {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    ...args: PosArgs<
      [stride: Size2, padding: Size2, outputPadding: Size2, groups: number, bias: boolean, dilation: Size2, paddingMode: 'zeros'],
      ConvTranspose2dLayerOptions
    >
  ) {
    const o = resolveArgs('ConvTranspose2d', CONV_T_ARGS, args, ['generator']);
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, o, true);
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.opts);
  }
  override extraRepr(): string {
    return `${super.extraRepr()}, outputPadding=${JSON.stringify(this.opts.outputPadding ?? 0)}`;
  }
}
