/** Dropout: active in train(), the identity in eval(). */
import { dropout } from '../ops/index.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkArg, resolveArgs, type PosArgs } from './args.js';
import { Module } from './module.js';

export interface DropoutOptions {
  p?: number;
  /** Accepted for PyTorch code; changes nothing (ops never overwrite their input). */
  inplace?: boolean;
  /** Where the masks are drawn from (default: the global generator). */
  generator?: Generator;
}

/**
 * Inverted dropout. Arguments as torch.nn.Dropout(p=0.5, inplace=False): `new Dropout(0.2)`,
 * `new Dropout({ p: 0.2, generator })`; `new Dropout(p, generator)` also works.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  readonly generator: Generator;
  constructor(...args: PosArgs<[p: number, inplace: boolean], DropoutOptions> | [p: number, generator: Generator]) {
    super();
    // (p, generator): the form before PyTorch's positional order was followed
    const legacy = args[1] instanceof Generator;
    const o = (legacy ? { p: args[0], generator: args[1] } : resolveArgs('Dropout', ['p', 'inplace'], args, ['generator'])) as DropoutOptions;
    checkArg('Dropout', 'p', o.p, 'number');
    checkArg('Dropout', 'inplace', o.inplace, 'boolean');
    checkArg('Dropout', 'generator', o.generator, 'generator');
    const p = o.p ?? 0.5;
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.inplace = o.inplace ?? false;
    this.generator = o.generator ?? defaultGenerator;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
