/**
 * The sparse autoencoder (seed 004): a dense autoencoder whose code units are pushed to be
 * mostly inactive, so each unit learns a distinct part (with weight β = 0 the units represent
 * the input however they like; with a moderate β they cooperate, each covering a stroke; with a
 * large β single units try to represent whole digits).
 *
 *   'kl' (the classic form, sigmoid code h ∈ (0, 1)):
 *       ρ̂_j = (1/B) Σ_b h_bj                       the mean activation of unit j over the batch
 *       Ω   = Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ/ρ̂_j) + (1−ρ) log((1−ρ)/(1−ρ̂_j))
 *   'l1' (activity regularisation, code through the config's activation):
 *       Ω   = (1/B) Σ_b Σ_j |h_bj|
 *
 *   loss = −log p(x | x̂) + β·Ω        (per image, averaged over the batch)
 *
 * β is relative to the reconstruction term, so it depends on the loss: Ng's notes (UFLDL) use
 * ½·Σ_d (x_d − x̂_d)² with β = 3, which is β = 6 against our Σ_d (x_d − x̂_d)² ('mse', the default;
 * see DEFAULTS in index.ts). The summed BCE pulls much harder on the code, so with 'bce' a
 * comparable sparsity needs a β several times larger.
 */
import { noGrad } from '../autograd/tape.js';
import { Sigmoid } from '../nn/index.js';
import { abs, add, clamp, log, mean, mul, sub, sum } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNumber, checkOneOf, makeActivation, toFlat, type BuildOptions } from './common.js';
import { checkDenseAEConfig, DenseAutoencoderBase } from './dense-ae.js';
import type { Batch, LossOutput, SparseAEConfig, StepContext } from './types.js';

/** ρ̂ is kept inside [ε, 1 − ε] so the logs stay finite when a unit saturates. */
const RHO_HAT_EPS = 1e-6;

/**
 * Σ_j KL(ρ ‖ ρ̂_j) between Bernoulli(ρ) and Bernoulli(ρ̂_j), for mean activations ρ̂ (any shape);
 * zero exactly when every ρ̂_j = ρ.
 */
export function sparsityKL(rhoHat: Tensor, rho: number): Tensor {
  checkNumber('sparsityKL', 'rho', rho, 0, 1, true, true);
  const r = clamp(rhoHat, RHO_HAT_EPS, 1 - RHO_HAT_EPS);
  // ρ log ρ − ρ log ρ̂ + (1−ρ) log(1−ρ) − (1−ρ) log(1−ρ̂)
  const constant = rho * Math.log(rho) + (1 - rho) * Math.log(1 - rho);
  const terms = add(mul(log(r), -rho), mul(log(sub(1, r)), -(1 - rho)));
  return add(sum(terms), constant * r.size);
}

/** (1/B) Σ_b Σ_j |h_bj| for a code batch h (B, K). */
export function l1Activity(h: Tensor): Tensor {
  return mean(sum(abs(h), 1));
}

export class SparseAE extends DenseAutoencoderBase<SparseAEConfig> {
  readonly kind = 'sparse-ae' as const;

  constructor(config: SparseAEConfig, opts: BuildOptions = {}) {
    checkDenseAEConfig('sparse-ae', config);
    checkOneOf('sparse-ae', 'sparsity', config.sparsity, ['kl', 'l1'] as const);
    checkNumber('sparse-ae', 'rho', config.rho, 0, 1, true, true);
    checkNumber('sparse-ae', 'beta', config.beta, 0, Infinity);
    // The KL penalty needs activations in (0, 1): a sigmoid code. L1 works with any activation.
    super(config, opts, config.sparsity === 'kl' ? new Sigmoid() : makeActivation(config.activation));
  }

  /** The sparsity penalty Ω of a code batch (B, K), before the weight β. */
  penalty(code: Tensor): Tensor {
    return this.config.sparsity === 'kl' ? sparsityKL(mean(code, 0), this.config.rho) : l1Activity(code);
  }

  /** Each code unit's mean activation over a batch, ρ̂_j (K). */
  meanActivation(x: Tensor): Float32Array {
    return noGrad(() => Float32Array.from(mean(this.encode(x), 0).data));
  }

  protected objective(batch: Batch, _ctx: StepContext): LossOutput {
    const x = toFlat('sparse-ae', batch.x, this.inputDim);
    const r = this.reconstructionObjective(x, x);
    const omega = this.penalty(r.code);
    const loss = this.config.beta === 0 ? r.loss : add(r.loss, mul(omega, this.config.beta));
    const meanAct = noGrad(() => mean(r.code).item());
    return { loss, parts: { loss: loss.item(), ...r.parts, sparsity: omega.item(), meanActivation: meanAct } };
  }
}
