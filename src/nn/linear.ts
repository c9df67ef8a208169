/** Dense layers and shape plumbing: Linear, Identity, Flatten, Unflatten. */
import { flatten, linear, unflatten, type LinearActivation } from '../ops/index.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { checkArg, resolveArgs, type PosArgs } from './args.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  /** Draws the initial weights (default: the global generator, as torch.manual_seed's). */
  generator?: Generator;
}

/**
 * y = x·Wᵀ + b, W (out, in), initialised as PyTorch's nn.Linear.
 * Arguments as torch.nn.Linear(in_features, out_features, bias=True): `new Linear(4, 2, false)`
 * or `new Linear(4, 2, { bias: false })`.
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(inFeatures: number, outFeatures: number, ...args: PosArgs<[bias: boolean], LinearOptions>) {
    super();
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${n} must be a positive integer, got ${v}`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const o = resolveArgs('Linear', ['bias'], args, ['generator']) as LinearOptions;
    checkArg('Linear', 'bias', o.bias, 'boolean');
    checkArg('Linear', 'generator', o.generator, 'generator');
    this.weight = this.registerParameter('weight', Tensor.empty([outFeatures, inFeatures]));
    this.bias = o.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outFeatures]));
    defaultLayerInit_(this.weight, this.bias, o.generator);
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
  /** act(x·Wᵀ + b) in one fused kernel: what Sequential runs for a Linear followed by ReLU, Sigmoid or Tanh. */
  forwardWithActivation(x: Tensor, activation: LinearActivation): Tensor {
    return linear(x, this.weight, this.bias, activation);
  }
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input; takes and ignores any arguments, as torch.nn.Identity. */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (default: all but the batch dim), as torch.nn.Flatten(start_dim=1, end_dim=-1). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(...args: PosArgs<[startDim: number, endDim: number], { startDim?: number; endDim?: number }>) {
    super();
    const o = resolveArgs('Flatten', ['startDim', 'endDim'], args) as { startDim?: number; endDim?: number };
    for (const k of ['startDim', 'endDim'] as const)
      if (o[k] !== undefined && !Number.isInteger(o[k])) throw new TypeError(`Flatten: ${k} must be an integer, got ${String(o[k])}`);
    this.startDim = o.startDim ?? 1;
    this.endDim = o.endDim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/** Splits one dim into several, e.g. (B, 3136) → (B, 64, 7, 7), as torch.nn.Unflatten(dim, unflattened_size). */
export class Unflatten extends Module {
  readonly sizes: number[];
  constructor(
    readonly dim: number,
    sizes: readonly number[],
  ) {
    super();
    if (!Number.isInteger(dim)) throw new TypeError(`Unflatten: dim must be an integer, got ${String(dim)}`);
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((d) => Number.isInteger(d) && d >= 1))
      throw new TypeError(`Unflatten: unflattenedSize must be a non-empty list of positive integers, got ${JSON.stringify(sizes)}`);
    this.sizes = sizes.slice();
  }
  forward(x: Tensor): Tensor {
    return unflatten(x, this.dim, this.sizes);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, sizes=[${this.sizes.join(', ')}]`;
  }
}
