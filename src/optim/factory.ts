/**
 * `createOptimizer(name, params, opts)`: the optimizers by the names the CLI and the seed
 * notes' comparison use. Options that a chosen optimizer does not have are rejected by it
 * (e.g. `momentum` for 'adam'), so a mistyped flag never silently does nothing; options set to
 * undefined are ignored.
 */
import type { Tensor } from '../tensor/tensor.js';
import { Adadelta, type AdadeltaOptions } from './adadelta.js';
import { Adagrad, type AdagradOptions } from './adagrad.js';
import { Adam, AdamW, type AdamOptions } from './adam.js';
import type { Params } from './optimizer.js';
import { RMSprop, type RMSpropOptions } from './rmsprop.js';
import { Momentum, Nesterov, SGD, type SGDOptions } from './sgd.js';

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The union of every optimizer's options; each optimizer accepts only its own. */
export type CreateOptimizerOptions = SGDOptions & AdagradOptions & AdadeltaOptions & RMSpropOptions & AdamOptions;

// The option records of different optimizers disagree on nothing but presence, so any
// optimizer's constructor may receive the (filtered) union and validate it.
type AnyOpts = Record<string, unknown>;

/** Any of the optimizers createOptimizer makes. */
export type AnyOptimizer = SGD | Adagrad | Adadelta | RMSprop | Adam | AdamW;

/** Makes an optimizer by name ('sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'adadelta' | 'rmsprop' | 'adam' | 'adamw', case-insensitive). */
export function createOptimizer(
  name: OptimizerName | string,
  params: Params<AnyOpts> | Iterable<Tensor>,
  opts: CreateOptimizerOptions = {},
): AnyOptimizer {
  const o: AnyOpts = {};
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) o[k] = v;
  const ps = params as Params<never>;
  switch (String(name).toLowerCase()) {
    case 'sgd':
      return new SGD(ps, o);
    case 'momentum':
      return new Momentum(ps, o);
    case 'nesterov':
      return new Nesterov(ps, o);
    case 'adagrad':
      return new Adagrad(ps, o);
    case 'adadelta':
      return new Adadelta(ps, o);
    case 'rmsprop':
      return new RMSprop(ps, o);
    case 'adam':
      return new Adam(ps, o);
    case 'adamw':
      return new AdamW(ps, o);
    default:
      throw new Error(`createOptimizer: unknown optimizer '${String(name)}' (known: ${OPTIMIZER_NAMES.join(', ')})`);
  }
}
