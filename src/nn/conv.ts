/** Convolution layers: Conv2d and ConvTranspose2d, with PyTorch's weight layouts and init. */
import { conv2d, convTranspose2d, type Size2 } from '../ops/index.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export interface Conv2dLayerOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  generator?: Generator;
}

const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function checkChannels(op: string, inC: number, outC: number, groups: number): void {
  for (const [n, v] of [['inChannels', inC], ['outChannels', outC]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${n} must be a positive integer, got ${v}`);
  if (!Number.isInteger(groups) || groups < 1 || inC % groups || outC % groups)
    throw new Error(`${op}: groups=${groups} must divide inChannels ${inC} and outChannels ${outC}`);
}

/**
 * What Conv2d and ConvTranspose2d share: the channel checks, the weight and bias with PyTorch's
 * default init, and the printed form. `transposed` picks the weight layout: (out, in/groups,
 * kH, kW) for a convolution, (in, out/groups, kH, kW) for a transposed one, as in PyTorch.
 */
abstract class ConvLayer<O extends Conv2dLayerOptions> extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    op: string,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    readonly opts: O,
    transposed: boolean,
  ) {
    super();
    const groups = opts.groups ?? 1;
    checkChannels(op, inChannels, outChannels, groups);
    this.kernelSize = pair(kernelSize);
    const [rows, cols] = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
    this.weight = this.registerParameter('weight', Tensor.empty([rows, cols, ...this.kernelSize]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outChannels]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
  }
  override extraRepr(): string {
    const o = this.opts;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${JSON.stringify(o.stride ?? 1)}, padding=${JSON.stringify(o.padding ?? 0)}`;
  }
}

/** Weight (out, in/groups, kH, kW). */
export class Conv2d extends ConvLayer<Conv2dLayerOptions> {
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dLayerOptions = {}) {
    super('Conv2d', inChannels, outChannels, kernelSize, opts, false);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: Size2;
}

/** Weight (in, out/groups, kH, kW), as PyTorch's ConvTranspose2d. */
export class ConvTranspose2d extends ConvLayer<ConvTranspose2dLayerOptions> {
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: ConvTranspose2dLayerOptions = {}) {
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, opts, true);
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.opts);
  }
  override extraRepr(): string {
    return `${super.extraRepr()}, outputPadding=${JSON.stringify(this.opts.outputPadding ?? 0)}`;
  }
}
