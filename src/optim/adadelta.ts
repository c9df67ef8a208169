/**
 * Adadelta (Zeiler, 2012) — torch.optim.Adadelta (1.13). Like RMSprop, but the step's scale
 * comes from a running average of past squared updates instead of a hand-picked rate, so the
 * units of the update match the parameter's; `lr` (default 1) only scales the result. Run by the
 * backend's fused `adadeltaStep` kernel, or (a backend without it) by the same formulas in
 * primitive kernels over the buffers.
 *
 *   g = g + wd·p
 *   E[g²] = ρ·E[g²] + (1 − ρ)·g²
 *   Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g
 *   E[Δ²] = ρ·E[Δ²] + (1 − ρ)·Δ²
 *   p = p − lr·Δ
 */
import type { AdadeltaParams, Backend, F32 } from '../kernels/backend.js';
import { FlatOps } from './flat.js';
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
    const sq = state.squareAvg as Float32Array;
    const acc = state.accDelta as Float32Array;
    const hp: AdadeltaParams = { lr, rho, eps, weightDecay };
    const fused = backend.fused?.adadeltaStep;
    if (fused) fused(p, g, sq, acc, hp);
    else adadeltaUpdate(new FlatOps(backend, p.length), p, g, sq, acc, hp);
  }
}

/** The step in primitives: the formulas at the top of this file, one buffer operation at a time. */
function adadeltaUpdate(o: FlatOps, p: F32, g: F32, sq: F32, acc: F32, hp: AdadeltaParams): void {
  const { lr, rho, eps, weightDecay } = hp;
  const gr = o.decayed(g, p, weightDecay);
  o.emaSquare(sq, rho, gr);
  // Δ = √(a + ε) / √(s + ε) · g
  const delta = o.temp();
  const t = o.temp();
  o.shift(acc, eps, delta);
  o.sqrt(delta, delta);
  o.shift(sq, eps, t);
  o.sqrt(t, t);
  o.div(delta, t, delta);
  o.mul(delta, gr, delta);
  o.emaSquare(acc, rho, delta);
  o.axpy(p, -lr, delta, p);
  o.done();
}
