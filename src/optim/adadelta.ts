/**
 * Adadelta (Zeiler, 2012) — torch.optim.Adadelta (1.13). Like RMSprop, but the step's scale
 * comes from a running average of past squared updates instead of a hand-picked rate, so the
 * units of the update match the parameter's; `lr` (default 1) only scales the result.
 *
 *   g = g + wd·p
 *   E[g²] = ρ·E[g²] + (1 − ρ)·g²
 *   Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g
 *   E[Δ²] = ρ·E[Δ²] + (1 − ρ)·Δ²
 *   p = p − lr·Δ
 */
import type { Backend } from '../kernels/backend.js';
import { HyperCheck, Optimizer, type ParamState, type Params, type ResolvedGroup, type StateSpec } from './optimizer.js';

export interface AdadeltaHyper {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

export type AdadeltaOptions = Partial<AdadeltaHyper>;

export class Adadelta extends Optimizer<AdadeltaHyper, AdadeltaOptions> {
  constructor(params: Params<AdadeltaOptions>, opts: AdadeltaOptions = {}) {
    super('Adadelta', params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0 }, opts);
  }

  protected checkHyper(h: AdadeltaHyper, v: HyperCheck): void {
    v.nonNegative('lr', h.lr);
    v.inRange('rho', h.rho, 0, 1);
    v.nonNegative('eps', h.eps);
    v.nonNegative('weightDecay', h.weightDecay);
  }

  protected stateSpec(): StateSpec {
    return { counters: ['step'], buffers: { squareAvg: 0, accDelta: 0 } };
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<AdadeltaHyper>,
    state: ParamState,
    _fresh: unknown,
    backend: Backend,
  ): void {
    state.step = (state.step as number) + 1;
    const { lr, rho, eps, weightDecay } = group;
    backend.adadeltaStep(p, g, state.squareAvg as Float32Array, state.accDelta as Float32Array, { lr, rho, eps, weightDecay });
  }
}
