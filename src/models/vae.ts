/**
 * The variational autoencoder (Kingma & Welling, 2014), and the base of the conditional VAE.
 *
 * Generative model  p(z) = N(0, I),  p_θ(x|z) = Bernoulli(σ(ℓ_θ(z)))  or  N(μ_θ(z), σ²I);
 * inference model   q_φ(z|x) = N(μ_φ(x), diag exp(log σ²_φ(x))).
 *
 * Training maximises the evidence lower bound, i.e. minimises the negative ELBO per image:
 *
 *   −ELBO(x) = E_q[−log p(x|z)] + KL(q(z|x) ‖ p(z)) = recon + kl  ≥ −log p(x)
 *   KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)       (closed form)
 *
 * The expectation is estimated with one sample by the reparameterisation trick
 *   z = μ + σ ⊙ ε,  ε ~ N(0, I)  (ε from the step's seeded generator)
 * so the gradient flows through μ and σ. With β ≠ 1 the loss is recon + β·kl (β-VAE); the
 * `neg_elbo` part is always recon + kl, the negative ELBO (named by its sign: positive nats for a
 * Bernoulli decoder, while the log-likelihood estimate below is negative; see parts.ts). All
 * parts are nats per image (summed over pixels).
 *
 * The 'gaussian' decoder N(μ_θ(z), σ²I) has one shared output scale σ,
 *   −log p(x|z) = Σ_d (x_d − μ_d)² / 2σ² + D·(log σ + ½ log 2π).
 * Fixing σ by hand is fragile (too large and the KL term wins: the posterior collapses), and a
 * learned log σ moves only about lr per Adam step, so training uses the optimal σ in closed form
 * (σ-VAE, Rybkin et al. 2021): for a batch, σ*² = (1/BD) Σ (x − μ)², the minimiser of the loss
 * over σ (treated as a constant: at the optimum ∂L/∂σ = 0, so the gradient with respect to μ is
 * the same). A running mean of σ*² is kept in the buffer `log_sigma` (as log σ) and used by
 * evaluation, sampling and the importance-weighted estimate, so those score a fixed model.
 *
 * Layout (PyTorch names): encoder.* (MLP with activations), fc_mu, fc_logvar, decoder.* (ends in Sigmoid).
 */
import { noGrad } from '../autograd/tape.js';
import { Linear, Sigmoid } from '../nn/index.js';
import type { Sequential } from '../nn/container.js';
import { bernoulliNllWithLogits, klNormal } from '../nn/losses.js';
import { add, concat, exp, expand, mean, mul, reparameterize as reparameterizeOp, reshape, sigmoid, sigmoidSquaredError, sub, sum } from '../ops/index.js';
import { full, oneHot, randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import {
  bernoulliTerms,
  checkActivation,
  checkInputShape,
  checkNumber,
  checkOneOf,
  checkPositiveInt,
  checkWidths,
  FamilyBase,
  forwardAllButLast,
  mlp,
  perSampleMse,
  requireLabels,
  toFlat,
  type BuildOptions,
} from './common.js';
import type { AutoencoderModel, Batch, CVAEConfig, LossOutput, StepContext, VAEConfig } from './types.js';

const LOG_2PI = Math.log(2 * Math.PI);

export function checkVAEConfig(where: string, c: VAEConfig | CVAEConfig): void {
  checkInputShape(where, c.inputShape);
  checkWidths(where, 'hidden', c.hidden);
  checkPositiveInt(where, 'latent', c.latent);
  checkActivation(where, c.activation);
  checkOneOf(where, 'decoder', c.decoder, ['bernoulli', 'gaussian'] as const);
  checkNumber(where, 'beta', c.beta, 0, Infinity);
  if (c.kind === 'cvae') checkPositiveInt(where, 'numClasses', c.numClasses);
}

/** Floor of the Gaussian decoder's variance, and the running estimate's update weight. */
const SIGMA2_MIN = 1e-6;
const SIGMA_MOMENTUM = 0.1;

/** Rows processed at once by the importance-weighted estimate (k·B can be large). */
const IW_CHUNK_ROWS = 2048;

export class VAE extends FamilyBase<VAEConfig | CVAEConfig> implements AutoencoderModel {
  readonly kind: 'vae' | 'cvae';
  readonly inputLayout = 'flat' as const;
  readonly needsLabels: boolean;
  readonly latentDim: number;
  readonly inputDim: number;
  /** Classes the model is conditioned on (0 for the unconditional VAE). */
  readonly condClasses: number;
  readonly encoder: Sequential;
  readonly fc_mu: Linear;
  readonly fc_logvar: Linear;
  readonly decoder: Sequential;
  /** log σ of the Gaussian decoder, a buffer (null for the Bernoulli decoder). */
  readonly log_sigma: Tensor | null;
  /** Set while trainStep runs, so the objective uses the batch's optimal σ. */
  private inTrainStep = false;

  constructor(config: VAEConfig | CVAEConfig, opts: BuildOptions = {}) {
    checkVAEConfig(config.kind, config);
    super(config);
    this.kind = config.kind;
    this.condClasses = config.kind === 'cvae' ? config.numClasses : 0;
    this.needsLabels = this.condClasses > 0;
    const [c, h, w] = config.inputShape;
    this.inputDim = c * h * w;
    this.latentDim = config.latent;
    const gen = opts.generator;
    const hidden = config.hidden;
    const last = hidden.length ? hidden[hidden.length - 1]! : this.inputDim + this.condClasses;
    this.encoder = this.registerModule(
      'encoder',
      mlp([this.inputDim + this.condClasses, ...hidden], config.activation, { finalActivation: true, generator: gen }),
    );
    this.fc_mu = this.registerModule('fc_mu', new Linear(last, config.latent, { generator: gen }));
    this.fc_logvar = this.registerModule('fc_logvar', new Linear(last, config.latent, { generator: gen }));
    const dec = mlp([config.latent + this.condClasses, ...[...hidden].reverse(), this.inputDim], config.activation, { generator: gen });
    dec.append(new Sigmoid());
    this.decoder = this.registerModule('decoder', dec);
    this.log_sigma = config.decoder === 'gaussian' ? this.registerBuffer('log_sigma', full([1], 0)) : null;
  }

  /** The one-hot labels a conditional model appends, or null. */
  protected condition(y: Int32Array | null | undefined, n: number): Tensor | null {
    if (this.condClasses === 0) return null;
    return oneHot(requireLabels(this.kind, y, n), this.condClasses);
  }

  /** q(z|x): the posterior's mean and log-variance (B, latent). */
  posterior(x: Tensor, y?: Int32Array | null): { mu: Tensor; logvar: Tensor } {
    let inp = toFlat(`${this.kind}.encode`, x, this.inputDim);
    const c = this.condition(y, inp.shape[0]!);
    if (c) inp = concat([inp, c], 1);
    const hdn = this.encoder.forward(inp);
    return { mu: this.fc_mu.forward(hdn), logvar: this.fc_logvar.forward(hdn) };
  }

  /** The code of x: the posterior mean μ(x). */
  encode(x: Tensor, y?: Int32Array | null): Tensor {
    return this.posterior(x, y).mu;
  }

  /** z = μ + exp(½ log σ²) ⊙ ε with ε ~ N(0, I) drawn from gen. */
  reparameterize(mu: Tensor, logvar: Tensor, gen: Generator): Tensor {
    return reparameterizeOp(mu, logvar, randn(mu.shape, { generator: gen }));
  }

  /** The decoder's output before its final Sigmoid: Bernoulli logits, or the Gaussian mean's pre-activation. */
  decodeLogits(z: Tensor, y?: Int32Array | null): Tensor {
    const c = this.condition(y, z.shape[0]!);
    return forwardAllButLast(this.decoder, c ? concat([z, c], 1) : z);
  }

  /** Decoded images (B, D) in [0, 1]: Bernoulli means, or Gaussian means. */
  decode(z: Tensor, y?: Int32Array | null): Tensor {
    return sigmoid(this.decodeLogits(z, y));
  }

  forward(x: Tensor, y?: Int32Array | null): Tensor {
    return this.reconstruct(x, y);
  }

  /** Decodes the posterior mean (deterministic). */
  reconstruct(x: Tensor, y?: Int32Array | null): Tensor {
    return this.decode(this.encode(x, y), y);
  }

  reconstructionError(x: Tensor, y?: Int32Array | null): Float32Array {
    return noGrad(() => perSampleMse(toFlat(`${this.kind}.reconstructionError`, x, this.inputDim), this.reconstruct(x, y)));
  }

  /** Draws z ~ N(0, I) and decodes: (n, D). A conditional model needs one label per sample. */
  sample(n: number, gen: Generator, labels?: Int32Array | null): Tensor {
    checkPositiveInt(`${this.kind}.sample`, 'n', n);
    return noGrad(() => tidy(() => this.decode(randn([n, this.latentDim], { generator: gen }), labels)));
  }

  /** σ of the Gaussian decoder as evaluation uses it (NaN for the Bernoulli decoder). */
  get sigma(): number {
    return this.log_sigma ? Math.exp(this.log_sigma.data[0]!) : NaN;
  }

  /**
   * −log p(x|z) per sample (B) from the decoder's pre-sigmoid output; the Gaussian decoder uses
   * log σ = `logSigma` (default: the running estimate).
   */
  negLogLikelihood(logits: Tensor, x: Tensor, logSigma?: number): Tensor {
    if (!this.log_sigma) return bernoulliNllWithLogits(logits, x, { reduction: 'none' });
    const ls = logSigma ?? this.log_sigma.data[0]!;
    const d = sub(sigmoid(logits), x);
    const sq = sum(mul(d, d), 1);
    return add(mul(sq, 0.5 * Math.exp(-2 * ls)), this.inputDim * (ls + 0.5 * LOG_2PI));
  }

  override trainStep(...args: Parameters<FamilyBase['trainStep']>): Record<string, number> {
    this.inTrainStep = true;
    try {
      return super.trainStep(...args);
    } finally {
      this.inTrainStep = false;
    }
  }

  protected objective(batch: Batch, ctx: StepContext): LossOutput {
    const x = toFlat(this.kind, batch.x, this.inputDim);
    const y = this.condClasses ? requireLabels(this.kind, batch.y, x.shape[0]!) : null;
    const { mu, logvar } = this.posterior(x, y);
    const z = this.reparameterize(mu, logvar, ctx.generator);
    const logits = this.decodeLogits(z, y);
    // per-pixel squared error of the decoded probabilities: logged, and the Gaussian decoder's σ*²
    let mse: number;
    let nll: Tensor;
    let logSigma: number | undefined;
    if (!this.log_sigma) {
      ({ perSample: nll, mse } = bernoulliTerms(logits, x));
    } else {
      mse = noGrad(() => mean(sigmoidSquaredError(logits, x)).item());
      if (this.inTrainStep) {
        // σ*² = mean squared residual of the batch (floored so log σ stays finite), and its running mean
        const v = Math.max(mse, SIGMA2_MIN);
        logSigma = 0.5 * Math.log(v);
        const ls = this.log_sigma.data;
        ls[0] = 0.5 * Math.log((1 - SIGMA_MOMENTUM) * Math.exp(2 * ls[0]!) + SIGMA_MOMENTUM * v);
      }
      nll = this.negLogLikelihood(logits, x, logSigma);
    }
    const recon = mean(nll);
    const kl = klNormal(mu, logvar, { reduction: 'mean' });
    const beta = this.config.beta;
    const loss = beta === 1 ? add(recon, kl) : add(recon, mul(kl, beta));
    const r = recon.item();
    const k = kl.item();
    const parts: Record<string, number> = { loss: loss.item(), recon: r, kl: k, neg_elbo: r + k, mse };
    if (this.log_sigma) parts.sigma = Math.exp(logSigma ?? this.log_sigma.data[0]!);
    return { loss, parts };
  }

  /**
   * The importance-weighted estimate of log p(x) per image (Burda et al., 2016), in nats:
   *
   *   log p(x) ≈ log (1/k) Σ_{i=1..k} w_i,   w_i = p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x)
   *
   * computed in log space with log-sum-exp (log w_i is around −100, so w_i itself underflows):
   *   log (1/k) Σ exp(a_i) = m + log Σ exp(a_i − m) − log k,   m = max_i a_i.
   * k = 1 gives an unbiased estimate of the ELBO; it increases towards log p(x) as k grows.
   */
  importanceWeightedLogLikelihood(x: Tensor, k: number, gen: Generator, y?: Int32Array | null): Float32Array {
    checkPositiveInt(`${this.kind}.importanceWeightedLogLikelihood`, 'k', k);
    return noGrad(() =>
      tidy(() => {
        const xf = toFlat(`${this.kind}.importanceWeightedLogLikelihood`, x, this.inputDim);
        const B = xf.shape[0]!;
        const L = this.latentDim;
        const labels = this.condClasses ? requireLabels(this.kind, y, B) : null;
        const { mu, logvar } = this.posterior(xf, labels);
        const std = exp(mul(logvar, 0.5));
        const logw = new Float64Array(k * B); // (k, B)
        const perChunk = Math.max(1, Math.floor(IW_CHUNK_ROWS / B));
        let repLabels: Int32Array | null = null;
        for (let s0 = 0; s0 < k; s0 += perChunk) {
          const S = Math.min(perChunk, k - s0);
          tidy(() => {
            const eps = randn([S, B, L], { generator: gen });
            const z = add(mu, mul(std, eps)); // (S, B, L)
            // log q(z|x) = −½ Σ_l (ε_l² + log σ_l² + log 2π)
            const logq = mul(sum(add(add(mul(eps, eps), logvar), LOG_2PI), 2), -0.5);
            // log p(z) = −½ Σ_l (z_l² + log 2π)
            const logpz = mul(sum(add(mul(z, z), LOG_2PI), 2), -0.5);
            if (labels && (!repLabels || repLabels.length !== S * B)) {
              repLabels = new Int32Array(S * B);
              for (let i = 0; i < S * B; i++) repLabels[i] = labels[i % B]!;
            }
            const logits = this.decodeLogits(reshape(z, [S * B, L]), repLabels);
            const xr = reshape(expand(reshape(xf, [1, B, this.inputDim]), [S, B, this.inputDim]), [S * B, this.inputDim]);
            const logpx = reshape(mul(this.negLogLikelihood(logits, xr), -1), [S, B]);
            const lw = add(logpx, sub(logpz, logq)).data;
            for (let i = 0; i < S * B; i++) logw[s0 * B + i] = lw[i]!;
          });
        }
        const out = new Float32Array(B);
        for (let b = 0; b < B; b++) {
          let m = -Infinity;
          for (let i = 0; i < k; i++) m = Math.max(m, logw[i * B + b]!);
          let s = 0;
          for (let i = 0; i < k; i++) s += Math.exp(logw[i * B + b]! - m);
          out[b] = m + Math.log(s) - Math.log(k);
        }
        return out;
      }),
    );
  }
}
