/**
 * Adagrad (Duchi et al., 2011) — torch.optim.Adagrad (1.13). Each coordinate's step shrinks with
 * the sum of its squared gradients, so often-moved coordinates move less; the sum only grows,
 * which is why learning eventually stalls (the seed notes' caveat). Run by the backend's fused
 * `adagradStep` kernel, or (a backend without it) by the same formulas in primitive kernels.
 *
 * With t the parameter's step count (1-based):
 *   g = g + wd·p
 *   clr = lr / (1 + (t − 1)·lrDecay)
 *   s = s + g²                       (s starts at initialAccumulatorValue)
 *   p = p − clr · g / (√s + ε)
 */
import type { AdagradParams, Backend, F32 } from '../kernels/backend.js';
import { FlatOps } from './flat.js';
import { HyperCheck, Optimizer, type ParamState, type Params, type ResolvedGroup, type StateSpec } from './optimizer.js';

export interface AdagradHyper {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

export type AdagradOptions = Partial<AdagradHyper>;

export class Adagrad extends Optimizer<AdagradHyper, AdagradOptions> {
  constructor(params: Params<AdagradOptions>, opts: AdagradOptions = {}) {
    super('Adagrad', params, { lr: 0.01, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 }, opts);
  }

  protected checkHyper(h: AdagradHyper, v: HyperCheck): void {
    v.nonNegative('lr', h.lr);
    v.nonNegative('lrDecay', h.lrDecay);
    v.nonNegative('weightDecay', h.weightDecay);
    v.nonNegative('initialAccumulatorValue', h.initialAccumulatorValue);
    v.nonNegative('eps', h.eps);
  }

  protected stateSpec(group: ResolvedGroup<AdagradHyper>): StateSpec {
    return { counters: ['step'], buffers: { sum: group.initialAccumulatorValue } };
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<AdagradHyper>,
    state: ParamState,
    _fresh: unknown,
    backend: Backend,
  ): void {
    const step = (state.step as number) + 1;
    state.step = step;
    const { lr, lrDecay, weightDecay, eps } = group;
    const hp: AdagradParams = { clr: lr / (1 + (step - 1) * lrDecay), eps, weightDecay };
    const fused = backend.fused?.adagradStep;
    if (fused) fused(p, g, state.sum as Float32Array, hp);
    else adagradUpdate(new FlatOps(backend, p.length), p, g, state.sum as Float32Array, hp);
  }
}

/** The step in primitives: the formulas at the top of this file, one buffer operation at a time. */
function adagradUpdate(o: FlatOps, p: F32, g: F32, sum: F32, hp: AdagradParams): void {
  const { clr, eps, weightDecay } = hp;
  const gr = o.decayed(g, p, weightDecay);
  const t = o.temp();
  o.square(gr, t);
  o.add(sum, t, sum);
  o.sqrt(sum, t);
  o.shift(t, eps, t);
  o.div(gr, t, t);
  o.axpy(p, -clr, t, p);
  o.done();
}
