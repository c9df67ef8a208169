/**
 * Activation modules, with PyTorch's arguments (positional order and defaults). PReLU is the one
 * with a learnable parameter (the negative slope).
 *
 * `inplace` (ReLU, LeakyReLU, ELU) is accepted so PyTorch code ports as written, and changes
 * nothing: aelab's ops never overwrite their input (the tape may need it), and the returned tensor
 * holds the same values PyTorch's in-place op leaves in its input.
 */
import { elu, gelu, leakyRelu, logSoftmax, prelu, relu, sigmoid, silu, softmax, softplus, tanh } from '../ops/index.js';
import { full } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkArg, resolveArgs, type PosArgs } from './args.js';
import { Module } from './module.js';

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** torch.nn.ReLU(inplace=False). */
export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(...args: PosArgs<[inplace: boolean], { inplace?: boolean }>) {
    super();
    const o = resolveArgs('ReLU', ['inplace'], args);
    checkArg('ReLU', 'inplace', o.inplace, 'boolean');
    this.inplace = (o.inplace as boolean | undefined) ?? false;
  }
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** torch.nn.LeakyReLU(negative_slope=0.01, inplace=False). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(...args: PosArgs<[negativeSlope: number, inplace: boolean], { negativeSlope?: number; inplace?: boolean }>) {
    super();
    const o = resolveArgs('LeakyReLU', ['negativeSlope', 'inplace'], args) as { negativeSlope?: number; inplace?: boolean };
    checkArg('LeakyReLU', 'negativeSlope', o.negativeSlope, 'number');
    checkArg('LeakyReLU', 'inplace', o.inplace, 'boolean');
    this.negativeSlope = o.negativeSlope ?? 0.01;
    this.inplace = o.inplace ?? false;
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/**
 * max(0, x) + a·min(0, x), with a learned per channel (numParameters = C) or shared (1).
 * torch.nn.PReLU(num_parameters=1, init=0.25).
 */
export class PReLU extends Module {
  weight: Tensor;
  /** PyTorch's num_parameters (named apart from Module.numParameters(), the parameter count). */
  readonly numSlopes: number;
  constructor(...args: PosArgs<[numParameters: number, init: number], { numParameters?: number; init?: number }>) {
    super();
    const o = resolveArgs('PReLU', ['numParameters', 'init'], args) as { numParameters?: number; init?: number };
    const n = o.numParameters ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`PReLU: numParameters must be a positive integer, got ${n}`);
    checkArg('PReLU', 'init', o.init, 'number');
    this.numSlopes = n;
    this.weight = this.registerParameter('weight', full([n], o.init ?? 0.25));
  }
  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
  override extraRepr(): string {
    return `numParameters=${this.numSlopes}`;
  }
}

/** torch.nn.ELU(alpha=1.0, inplace=False). */
export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(...args: PosArgs<[alpha: number, inplace: boolean], { alpha?: number; inplace?: boolean }>) {
    super();
    const o = resolveArgs('ELU', ['alpha', 'inplace'], args) as { alpha?: number; inplace?: boolean };
    checkArg('ELU', 'alpha', o.alpha, 'number');
    checkArg('ELU', 'inplace', o.inplace, 'boolean');
    this.alpha = o.alpha ?? 1;
    this.inplace = o.inplace ?? false;
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** torch.nn.Softplus(beta=1, threshold=20): log(1 + e^{βx})/β, linear above threshold. */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(...args: PosArgs<[beta: number, threshold: number], { beta?: number; threshold?: number }>) {
    super();
    const o = resolveArgs('Softplus', ['beta', 'threshold'], args) as { beta?: number; threshold?: number };
    checkArg('Softplus', 'beta', o.beta, 'number');
    checkArg('Softplus', 'threshold', o.threshold, 'number');
    this.beta = o.beta ?? 1;
    this.threshold = o.threshold ?? 20;
  }
  forward(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/**
 * The dim PyTorch's Softmax and LogSoftmax use when none is given (torch.nn.functional's
 * _get_softmax_dim): 0 for 0-, 1- and 3-D input, else 1. PyTorch warns that this implicit choice
 * is deprecated; pass the dim.
 */
export function implicitSoftmaxDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

function checkDim(layer: string, dim: unknown): number | null {
  if (dim === undefined || dim === null) return null;
  if (!Number.isInteger(dim)) throw new TypeError(`${layer}: dim must be an integer or null, got ${String(dim)}`);
  return dim as number;
}

/** torch.nn.Softmax(dim=None). */
export class Softmax extends Module {
  /** null: PyTorch's implicit choice at each call (implicitSoftmaxDim). */
  readonly dim: number | null;
  constructor(...args: PosArgs<[dim: number | null], { dim?: number | null }>) {
    super();
    this.dim = checkDim('Softmax', resolveArgs('Softmax', ['dim'], args).dim);
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim ?? implicitSoftmaxDim(x.ndim));
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** torch.nn.LogSoftmax(dim=None). */
export class LogSoftmax extends Module {
  /** null: PyTorch's implicit choice at each call (implicitSoftmaxDim). */
  readonly dim: number | null;
  constructor(...args: PosArgs<[dim: number | null], { dim?: number | null }>) {
    super();
    this.dim = checkDim('LogSoftmax', resolveArgs('LogSoftmax', ['dim'], args).dim);
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim ?? implicitSoftmaxDim(x.ndim));
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** torch.nn.GELU(approximate='none'): x·Φ(x), exact (erf) or with the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(...args: PosArgs<[approximate: 'none' | 'tanh'], { approximate?: 'none' | 'tanh' }>) {
    super();
    const o = resolveArgs('GELU', ['approximate'], args);
    const a = (o.approximate as string | undefined) ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw new Error(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(a)}`);
    this.approximate = a;
  }
  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
}

/** torch.nn.SiLU(inplace=False): x·sigmoid(x) (swish). */
export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(...args: PosArgs<[inplace: boolean], { inplace?: boolean }>) {
    super();
    const o = resolveArgs('SiLU', ['inplace'], args);
    checkArg('SiLU', 'inplace', o.inplace, 'boolean');
    this.inplace = (o.inplace as boolean | undefined) ?? false;
  }
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/**
 * The activations a model config, the CLI and its help can name, each with the module it builds:
 * the one list of them (adding an activation here adds it to `--activation` and every model).
 * PReLU gets one shared slope, as nn.PReLU().
 */
export const ACTIVATIONS = {
  relu: () => new ReLU(),
  sigmoid: () => new Sigmoid(),
  tanh: () => new Tanh(),
  leaky_relu: () => new LeakyReLU(0.01),
  elu: () => new ELU(1),
  prelu: () => new PReLU(1, 0.25),
  softplus: () => new Softplus(),
  gelu: () => new GELU(),
  silu: () => new SiLU(),
} as const satisfies Record<string, () => Module & { forward(x: Tensor): Tensor }>;

export type ActivationName = keyof typeof ACTIVATIONS;
export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS) as ActivationName[];

/** A fresh activation module for a name of ACTIVATIONS. */
export function activation(name: ActivationName): Module & { forward(x: Tensor): Tensor } {
  if (!Object.hasOwn(ACTIVATIONS, name))
    throw new Error(`activation: unknown activation '${String(name)}' (known: ${ACTIVATION_NAMES.join(', ')})`);
  return ACTIVATIONS[name]();
}
