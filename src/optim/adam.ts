/**
 * Adam and AdamW — torch.optim.Adam / AdamW (1.13), run by the backend's fused `adamStep` kernel,
 * or (a backend without it) by the same formulas in primitive kernels over the buffers.
 *
 * With t the parameter's step count (1-based):
 *   Adam:   g = g + wd·p                       (L2 weight decay, coupled to the gradient)
 *   AdamW:  p = p·(1 − lr·wd)                  (decoupled weight decay, Loshchilov & Hutter)
 *   m = β₁·m + (1 − β₁)·g
 *   v = β₂·v + (1 − β₂)·g²
 *   v̂ = max(v̂, v) with amsgrad, else v
 *   p = p − (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
 *
 * Note where ε sits: PyTorch adds it to the bias-corrected √v, not to √v itself, so results
 * match torch only with this exact form.
 */
import type { AdamParams, Backend, F32 } from '../kernels/backend.js';
import { FlatOps } from './flat.js';
import { HyperCheck, Optimizer, type ParamState, type Params, type ResolvedGroup, type StateSpec } from './optimizer.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

export type AdamOptions = Partial<AdamHyper>;

abstract class AdamBase extends Optimizer<AdamHyper, AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected checkHyper(h: AdamHyper, v: HyperCheck): void {
    v.nonNegative('lr', h.lr);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) v.fail('betas', h.betas, 'must be a pair [beta1, beta2]');
    v.inRange('betas[0]', h.betas[0], 0, 1, true);
    v.inRange('betas[1]', h.betas[1], 0, 1, true);
    v.nonNegative('eps', h.eps);
    v.nonNegative('weightDecay', h.weightDecay);
    v.bool('amsgrad', h.amsgrad);
  }

  protected stateSpec(group: ResolvedGroup<AdamHyper>): StateSpec {
    const buffers: StateSpec['buffers'] = { expAvg: 0, expAvgSq: 0 };
    if (group.amsgrad) buffers.maxExpAvgSq = 0;
    return { counters: ['step'], buffers, optional: ['maxExpAvgSq'] };
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<AdamHyper>,
    state: ParamState,
    _fresh: unknown,
    backend: Backend,
  ): void {
    const step = (state.step as number) + 1;
    state.step = step;
    const { lr, betas, eps, weightDecay, amsgrad } = group;
    const vmax = amsgrad ? (state.maxExpAvgSq as Float32Array) : null;
    const hp: AdamParams = { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, decoupled: this.decoupled, amsgrad, step };
    const m = state.expAvg as Float32Array;
    const v = state.expAvgSq as Float32Array;
    const fused = backend.fused?.adamStep;
    if (fused) fused(p, g, m, v, vmax, hp);
    else adamUpdate(new FlatOps(backend, p.length), p, g, m, v, vmax, hp);
  }
}

/** The step in primitives: the formulas at the top of this file, one buffer operation at a time. */
function adamUpdate(o: FlatOps, p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, step } = hp;
  if (decoupled && weightDecay !== 0) o.scale(p, 1 - lr * weightDecay, p);
  const grad = decoupled ? g : o.decayed(g, p, weightDecay);
  o.ema(m, beta1, grad);
  o.emaSquare(v, beta2, grad);
  let vh = v;
  if (amsgrad && vmax) {
    o.max(vmax, v, vmax);
    vh = vmax;
  }
  // m / (√v̂ / √(1 − β₂ᵗ) + ε), then p −= lr / (1 − β₁ᵗ) times that
  const t = o.temp();
  o.sqrt(vh, t);
  o.scale(t, 1 / Math.sqrt(1 - Math.pow(beta2, step)), t);
  o.shift(t, eps, t);
  o.div(m, t, t);
  o.axpy(p, -lr / (1 - Math.pow(beta1, step)), t, p);
  o.done();
}

/** Adam (Kingma & Ba, 2014): momentum plus a per-coordinate adaptive step. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false }, opts);
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-2). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false }, opts);
  }
}
