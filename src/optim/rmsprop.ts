/**
 * RMSprop (Hinton, lecture 6e) — torch.optim.RMSprop (1.13). Divides the gradient by a running
 * RMS of recent gradients; `centered` subtracts the squared running mean (an estimate of the
 * variance instead of the raw second moment). Run by the backend's fused `rmspropStep` kernel,
 * or (a backend without it) by the same formulas in primitive kernels over the buffers.
 *
 *   g = g + wd·p
 *   E[g²] = α·E[g²] + (1 − α)·g²
 *   centered:  E[g] = α·E[g] + (1 − α)·g;   a = √(E[g²] − E[g]²) + ε
 *   otherwise:                              a = √E[g²] + ε
 *   momentum > 0:  b = μ·b + g / a;  p = p − lr·b
 *   otherwise:     p = p − lr·g / a
 */
import type { Backend, F32, RmspropParams } from '../kernels/backend.js';
import { FlatOps } from './flat.js';
import { HyperCheck, Optimizer, type ParamState, type Params, type ResolvedGroup, type StateSpec } from './optimizer.js';

export interface RMSpropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export type RMSpropOptions = Partial<RMSpropHyper>;

export class RMSprop extends Optimizer<RMSpropHyper, RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, opts: RMSpropOptions = {}) {
    super('RMSprop', params, { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }, opts);
  }

  protected checkHyper(h: RMSpropHyper, v: HyperCheck): void {
    v.nonNegative('lr', h.lr);
    // PyTorch only asks alpha >= 0; above 1 the average takes negative weights and diverges.
    v.inRange('alpha', h.alpha, 0, 1);
    v.nonNegative('eps', h.eps);
    v.nonNegative('weightDecay', h.weightDecay);
    v.nonNegative('momentum', h.momentum);
    v.bool('centered', h.centered);
  }

  protected stateSpec(group: ResolvedGroup<RMSpropHyper>): StateSpec {
    const buffers: StateSpec['buffers'] = { squareAvg: 0 };
    if (group.momentum > 0) buffers.momentumBuffer = 0;
    if (group.centered) buffers.gradAvg = 0;
    return { counters: ['step'], buffers, optional: ['momentumBuffer', 'gradAvg'] };
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<RMSpropHyper>,
    state: ParamState,
    _fresh: unknown,
    backend: Backend,
  ): void {
    state.step = (state.step as number) + 1;
    const { lr, alpha, eps, weightDecay, momentum, centered } = group;
    const sq = state.squareAvg as Float32Array;
    const ga = centered ? (state.gradAvg as Float32Array) : null;
    const buf = momentum > 0 ? (state.momentumBuffer as Float32Array) : null;
    const hp: RmspropParams = { lr, alpha, eps, weightDecay, momentum };
    const fused = backend.fused?.rmspropStep;
    if (fused) fused(p, g, sq, ga, buf, hp);
    else rmspropUpdate(new FlatOps(backend, p.length), p, g, sq, ga, buf, hp);
  }
}

/** The step in primitives: the formulas at the top of this file, one buffer operation at a time. */
function rmspropUpdate(o: FlatOps, p: F32, g: F32, sq: F32, ga: F32 | null, buf: F32 | null, hp: RmspropParams): void {
  const { lr, alpha, eps, weightDecay, momentum } = hp;
  const gr = o.decayed(g, p, weightDecay);
  o.emaSquare(sq, alpha, gr);
  const avg = o.temp();
  if (ga) {
    o.ema(ga, alpha, gr);
    o.mul(ga, ga, avg);
    o.sub(sq, avg, avg);
    o.sqrt(avg, avg);
  } else o.sqrt(sq, avg);
  o.shift(avg, eps, avg);
  const step = o.temp();
  o.div(gr, avg, step);
  if (buf) {
    o.scale(buf, momentum, buf);
    o.add(buf, step, buf);
    o.axpy(p, -lr, buf, p);
  } else o.axpy(p, -lr, step, p);
  o.done();
}
