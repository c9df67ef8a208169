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

/** Weight (out, in/groups, kH, kW). */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    readonly opts: Conv2dLayerOptions = {},
  ) {
    super();
    const groups = opts.groups ?? 1;
    checkChannels('Conv2d', inChannels, outChannels, groups);
    this.kernelSize = pair(kernelSize);
    this.weight = this.registerParameter('weight', Tensor.empty([outChannels, inChannels / groups, ...this.kernelSize]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outChannels]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
  override extraRepr(): string {
    const o = this.opts;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${JSON.stringify(o.stride ?? 1)}, padding=${JSON.stringify(o.padding ?? 0)}`;
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: Size2;
}

/** Weight (in, out/groups, kH, kW), as PyTorch's ConvTranspose2d. */
export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    readonly opts: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    const groups = opts.groups ?? 1;
    checkChannels('ConvTranspose2d', inChannels, outChannels, groups);
    this.kernelSize = pair(kernelSize);
    this.weight = this.registerParameter('weight', Tensor.empty([inChannels, outChannels / groups, ...this.kernelSize]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outChannels]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.opts);
  }
  override extraRepr(): string {
    const o = this.opts;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${JSON.stringify(o.stride ?? 1)}, padding=${JSON.stringify(o.padding ?? 0)}, outputPadding=${JSON.stringify(o.outputPadding ?? 0)}`;
  }
}
