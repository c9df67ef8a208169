/** Dense layers and shape plumbing: Linear, Identity, Flatten, Unflatten. */
import { flatten, linear, unflatten, type LinearActivation } from '../ops/index.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  generator?: Generator;
}

/** y = x·Wᵀ + b, W (out, in), initialised as PyTorch's nn.Linear. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${n} must be a positive integer, got ${v}`);
    this.weight = this.registerParameter('weight', Tensor.empty([outFeatures, inFeatures]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', Tensor.empty([outFeatures]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
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

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (default: all but the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/** Splits one dim into several, e.g. (B, 3136) → (B, 64, 7, 7). */
export class Unflatten extends Module {
  readonly sizes: number[];
  constructor(
    readonly dim: number,
    sizes: readonly number[],
  ) {
    super();
    this.sizes = sizes.slice();
  }
  forward(x: Tensor): Tensor {
    return unflatten(x, this.dim, this.sizes);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, sizes=[${this.sizes.join(', ')}]`;
  }
}
