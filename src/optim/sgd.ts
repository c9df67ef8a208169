/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
 * decay — torch.optim.SGD (1.13), run by the backend's fused `sgdStep` kernel, or (a backend
 * without it) by the same formulas in primitive kernels over the buffers.
 *
 *   d = g + wd·p                                  (weight decay as an L2 term in the gradient)
 *   if momentum ≠ 0:
 *     b = d                        on the first step (no dampening, as PyTorch clones the gradient)
 *     b = μ·b + (1 − dampening)·d  afterwards
 *     d = d + μ·b  (Nesterov)   or   d = b
 *   p = p − lr·d
 *
 * `Momentum` and `Nesterov` are the seed notes' names for the two momentum variants: the same
 * algorithm with momentum 0.9 (and nesterov on) by default. Their state dicts are SGD's.
 */
import type { Backend, F32, SgdParams } from '../kernels/backend.js';
import { FlatOps } from './flat.js';
import { HyperCheck, Optimizer, type ParamState, type Params, type ResolvedGroup, type StateSpec } from './optimizer.js';

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export type SGDOptions = Partial<SGDHyper>;

export class SGD extends Optimizer<SGDHyper, SGDOptions> {
  /**
   * `lr` has no default (as in PyTorch): give it here or in every param group. `name` and
   * `presets` are for the Momentum/Nesterov presets.
   */
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}, name = 'SGD', presets: Partial<SGDHyper> = {}) {
    super(name, params, { lr: undefined, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...presets }, opts);
  }

  protected override get kind(): string {
    return 'SGD';
  }

  protected checkHyper(h: SGDHyper, v: HyperCheck): void {
    v.nonNegative('lr', h.lr);
    v.nonNegative('momentum', h.momentum);
    v.inRange('dampening', h.dampening, 0, 1);
    v.nonNegative('weightDecay', h.weightDecay);
    v.bool('nesterov', h.nesterov);
    // Nesterov's look-ahead is defined for an undamped momentum buffer only.
    if (h.nesterov && h.momentum <= 0) v.fail('nesterov', h.nesterov, 'Nesterov momentum needs momentum > 0');
    if (h.nesterov && h.dampening !== 0) v.fail('dampening', h.dampening, 'Nesterov momentum needs dampening 0');
  }

  protected stateSpec(group: ResolvedGroup<SGDHyper>): StateSpec {
    // The momentum buffer exists once a parameter has stepped with momentum; with momentum 0
    // there is none (PyTorch keeps `momentum_buffer: None`), and a state without one is valid.
    return { counters: [], buffers: group.momentum !== 0 ? { momentumBuffer: 0 } : {}, optional: ['momentumBuffer'], required: [] };
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<SGDHyper>,
    state: ParamState,
    fresh: ReadonlySet<string>,
    backend: Backend,
  ): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = group;
    const b = momentum !== 0 ? (state.momentumBuffer as Float32Array) : null;
    // A new buffer is set to the gradient rather than blended (PyTorch clones d on the first step).
    const first = fresh.has('momentumBuffer');
    const hp: SgdParams = { lr, momentum, dampening, weightDecay, nesterov, first };
    const fused = backend.fused?.sgdStep;
    if (fused) fused(p, g, b, hp);
    else sgdUpdate(new FlatOps(backend, p.length), p, g, b, hp);
  }
}

/** The step in primitives: the formulas at the top of this file, one buffer operation at a time. */
function sgdUpdate(o: FlatOps, p: F32, g: F32, buf: F32 | null, hp: SgdParams): void {
  const { lr, momentum, dampening, weightDecay, nesterov, first } = hp;
  let d = o.decayed(g, p, weightDecay);
  if (momentum !== 0 && buf) {
    if (first) o.copy(d, buf);
    else {
      o.scale(buf, momentum, buf);
      o.axpy(buf, 1 - dampening, d, buf);
    }
    if (nesterov) {
      const look = o.temp();
      o.axpy(d, momentum, buf, look);
      d = look;
    } else d = buf;
  }
  o.axpy(p, -lr, d, p);
  o.done();
}

/** SGD with momentum (default 0.9): the seed's "Momentum". */
export class Momentum extends SGD {
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}) {
    super(params, opts, 'Momentum', { momentum: 0.9 });
  }
}

/** SGD with Nesterov momentum (default momentum 0.9): the seed's "Nesterov accelerated gradient". */
export class Nesterov extends SGD {
  constructor(params: Params<SGDOptions>, opts: SGDOptions = {}) {
    super(params, opts, 'Nesterov', { momentum: 0.9, nesterov: true });
  }
}
