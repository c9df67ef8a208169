/**
 * The adversarial autoencoder (Makhzani et al., 2016; seed 000, chapter 4). A deterministic
 * autoencoder whose code distribution q(z) = E_x[δ(z − enc(x))] is matched to a chosen prior p(z)
 * by a GAN on the code: a discriminator D tells prior draws from codes, and the encoder (the
 * generator) learns to fool it. Unlike the VAE's KL term, this only needs samples of p(z), so
 * the prior can be anything — a mixture of 10 Gaussians or a (thickened) swiss roll as well as
 * N(0, I). It must have a density in the code space, though: a prior on a curve cannot be matched.
 *
 * Each training step has three phases, each with its own optimizer:
 *   1. reconstruction  ('main', encoder + decoder):  min −log p(x | dec(enc(x)))
 *   2. regularisation, discriminator ('discriminator', D):
 *        min −log D(z') − log(1 − D(enc(x))),   z' ~ p(z)
 *   3. regularisation, generator ('generator', encoder only):  min −log D(enc(x))
 * (D outputs a logit; the losses are binary cross-entropies on logits, averaged over the batch.)
 *
 * Label-conditioned prior (Makhzani §5, "incorporating label information"): with
 * `conditionalPrior`, a labelled sample's prior draw comes from its own class's mixture component
 * / swiss-roll segment, and D also receives the label as a one-hot vector with an extra slot for
 * "unlabelled" (label < 0, or no labels), so each class is pushed onto its own region of the
 * prior and unlabelled data may still be used.
 *
 * Layout (PyTorch names): encoder.*, decoder.* (ends in Sigmoid), discriminator.* (ends in a
 * Linear to one logit).
 */
import { noGrad } from '../autograd/tape.js';
import type { Sequential } from '../nn/container.js';
import { bceWithLogits } from '../nn/losses.js';
import { add, concat, gt, mean } from '../ops/index.js';
import { full } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { tidy, Tensor } from '../tensor/tensor.js';
import { checkOneOf, checkPositiveInt, checkWidths, getOptimizer, maybeClip, mlp, toFlat, type BuildOptions } from './common.js';
import { checkDenseAEConfig, DenseAutoencoderBase } from './dense-ae.js';
import type { AAEConfig, Batch, LossOutput, OptimizerFactory, OptimizerLike, StepContext } from './types.js';

export type PriorKind = AAEConfig['prior'];
export const PRIOR_KINDS: readonly PriorKind[] = ['normal', 'mixture', 'swissroll'];

/** Mixture of Gaussians (as in the lecture's tensorflow-mnist-AAE): radial σ, tangential σ, distance from the origin. */
export const MIXTURE = { radialStd: 0.5, tangentialStd: 0.1, shift: 1.4 } as const;

/**
 * Swiss roll: an Archimedean spiral of `turns` turns out to `radius`, thickened by isotropic
 * Gaussian noise of σ = `noiseStd` in both coordinates.
 *
 * The bare curve (as in the lecture's tensorflow-mnist-AAE) has zero width: its draws lie on a 1-D
 * line and have no density in the plane. Only codes exactly on the line could fool D; any spread
 * off it, however small, is a difference D can always exploit, so the adversarial game chases a
 * target the encoder's codes can only approach, never match. σ = 0.1 matches the mixture's
 * tangential σ (the roll is as thick as a mixture component is narrow) and is 1/15 of the gap
 * between adjacent windings (radius/turns = 1.5), so the windings stay well apart.
 */
export const SWISSROLL = { radius: 3, turns: 2, noiseStd: 0.1 } as const;

/**
 * Draws n points of a prior in `dim` dimensions, as an (n, dim) tensor.
 *
 *   'normal'     N(0, I).
 *   'mixture'    per pair of dims, a mixture of K Gaussians arranged on a circle: component k is
 *                N((1.4, 0), diag(0.5², 0.1²)) rotated by θ_k = 2πk/K (elongated along the radius).
 *   'swissroll'  per pair of dims, u = (k + U(0,1))/K, r = 3√u, φ = 4π√u, point
 *                (r cos φ, r sin φ) + N(0, 0.1²·I) (SWISSROLL); class k owns the k-th segment of the roll.
 *
 * `labels[i]` ≥ 0 picks sample i's component/segment; otherwise (or without labels) it is uniform
 * over the K classes. Mixture and swiss roll need an even dim (each pair is an independent 2-D draw
 * of the same component).
 */
export function samplePrior(prior: PriorKind, n: number, dim: number, gen: Generator, labels?: Int32Array | null, numClasses = 10): Tensor {
  checkOneOf('samplePrior', 'prior', prior, PRIOR_KINDS);
  checkPositiveInt('samplePrior', 'n', n);
  checkPositiveInt('samplePrior', 'dim', dim);
  checkPositiveInt('samplePrior', 'numClasses', numClasses);
  if (labels && labels.length !== n) throw new Error(`samplePrior: got ${labels.length} labels for ${n} samples`);
  const t = Tensor.empty([n, dim]);
  const d = t.data;
  if (prior === 'normal') {
    gen.fillNormal(d);
    return t;
  }
  if (dim % 2 !== 0) throw new Error(`samplePrior: the '${prior}' prior is 2-D per pair of latent dims, so dim must be even, got ${dim}`);
  const K = numClasses;
  for (let i = 0; i < n; i++) {
    const li = labels ? labels[i]! : -1;
    if (li >= K) throw new Error(`samplePrior: label ${li} at position ${i} is not below numClasses ${K}`);
    for (let p = 0; p < dim; p += 2) {
      const k = li >= 0 ? li : gen.int(K);
      let x: number;
      let y: number;
      if (prior === 'mixture') {
        const a = gen.normal() * MIXTURE.radialStd;
        const b = gen.normal() * MIXTURE.tangentialStd;
        const th = (2 * Math.PI * k) / K;
        const c = Math.cos(th);
        const s = Math.sin(th);
        x = a * c - b * s + MIXTURE.shift * c;
        y = a * s + b * c + MIXTURE.shift * s;
      } else {
        const u = (k + gen.random()) / K;
        const r = SWISSROLL.radius * Math.sqrt(u);
        const phi = 2 * Math.PI * SWISSROLL.turns * Math.sqrt(u);
        x = r * Math.cos(phi) + gen.normal() * SWISSROLL.noiseStd;
        y = r * Math.sin(phi) + gen.normal() * SWISSROLL.noiseStd;
      }
      d[i * dim + p] = x;
      d[i * dim + p + 1] = y;
    }
  }
  return t;
}

export class AAE extends DenseAutoencoderBase<AAEConfig> {
  readonly kind = 'aae' as const;
  override readonly needsLabels: boolean;
  readonly discriminator: Sequential;
  /** Width of the label input of D: numClasses + 1 ("unlabelled") when conditional, else 0. */
  readonly labelSlots: number;

  constructor(config: AAEConfig, opts: BuildOptions = {}) {
    const where = 'aae';
    checkDenseAEConfig(where, config);
    checkOneOf(where, 'prior', config.prior, PRIOR_KINDS);
    checkPositiveInt(where, 'numClasses', config.numClasses);
    checkWidths(where, 'discriminatorHidden', config.discriminatorHidden);
    if (typeof config.conditionalPrior !== 'boolean')
      throw new Error(`${where}: conditionalPrior must be true or false, got ${JSON.stringify(config.conditionalPrior)}`);
    if (config.prior !== 'normal' && config.latent % 2 !== 0)
      throw new Error(`${where}: the '${config.prior}' prior is 2-D per pair of latent dims, so latent must be even, got ${config.latent}`);
    if (config.conditionalPrior && config.prior === 'normal')
      throw new Error(`${where}: conditionalPrior needs a prior with one region per class ('mixture' or 'swissroll'), got 'normal'`);
    super(config, opts);
    this.needsLabels = config.conditionalPrior;
    this.labelSlots = config.conditionalPrior ? config.numClasses + 1 : 0;
    this.discriminator = this.registerModule(
      'discriminator',
      mlp([config.latent + this.labelSlots, ...config.discriminatorHidden, 1], config.activation, { generator: opts.generator }),
    );
  }

  override createOptimizers(make: OptimizerFactory): Record<string, OptimizerLike> {
    return {
      main: make([...this.encoder.parameters(), ...this.decoder.parameters()], 'main'),
      discriminator: make(this.discriminator.parameters(), 'discriminator'),
      generator: make(this.encoder.parameters(), 'generator'),
    };
  }

  /** Draws n codes from the prior (labels pick components when the prior has them). */
  samplePrior(n: number, gen: Generator, labels?: Int32Array | null): Tensor {
    return samplePrior(this.config.prior, n, this.latentDim, gen, labels, this.config.numClasses);
  }

  /** Decoded prior draws (n, D). */
  sample(n: number, gen: Generator, labels?: Int32Array | null): Tensor {
    return noGrad(() => tidy(() => this.decode(this.samplePrior(n, gen, labels))));
  }

  /** D's label input: one-hot of the label, or the extra 'unlabelled' slot (label < 0 or none). */
  labelInput(y: Int32Array | null | undefined, n: number): Tensor | null {
    if (!this.labelSlots) return null;
    const K = this.config.numClasses;
    const t = Tensor.empty([n, K + 1]);
    const d = t.data;
    for (let i = 0; i < n; i++) {
      const l = y ? y[i]! : -1;
      if (l >= K || !Number.isInteger(l))
        throw new Error(`aae: label ${l} at position ${i} is not a class index below ${K} (use −1 for unlabelled)`);
      d[i * (K + 1) + (l >= 0 ? l : K)] = 1;
    }
    return t;
  }

  /** D's logit (B, 1) for codes z (B, latent), with the label input when conditional. */
  discriminate(z: Tensor, lab: Tensor | null): Tensor {
    return this.discriminator.forward(lab ? concat([z, lab], 1) : z);
  }

  private batchLabels(batch: Batch, n: number): Int32Array | null {
    if (!this.labelSlots || !batch.y) return null;
    if (batch.y.length !== n) throw new Error(`aae: got ${batch.y.length} labels for a batch of ${n}`);
    return batch.y;
  }

  /** The discriminator's loss −log D(z') − log(1 − D(z)) and its accuracy on both halves. */
  private discriminatorLoss(zFake: Tensor, y: Int32Array | null, lab: Tensor | null, gen: Generator): { loss: Tensor; acc: number } {
    const n = zFake.shape[0]!;
    const zReal = this.samplePrior(n, gen, y);
    const dReal = this.discriminate(zReal, lab);
    const dFake = this.discriminate(zFake, lab);
    const loss = add(bceWithLogits(dReal, full(dReal.shape, 1)), bceWithLogits(dFake, full(dFake.shape, 0)));
    const acc = noGrad(() => (mean(gt(dReal, 0)).item() + 1 - mean(gt(dFake, 0)).item()) / 2);
    return { loss, acc };
  }

  /** The generator's loss −log D(enc(x)): the encoder is rewarded for codes D takes for prior draws. */
  private generatorLoss(z: Tensor, lab: Tensor | null): Tensor {
    const d = this.discriminate(z, lab);
    return bceWithLogits(d, full(d.shape, 1));
  }

  override trainStep(batch: Batch, optimizers: Record<string, OptimizerLike>, ctx: StepContext, clipNorm?: number): Record<string, number> {
    const main = getOptimizer('aae', optimizers, 'main');
    const disc = getOptimizer('aae', optimizers, 'discriminator');
    const genOpt = getOptimizer('aae', optimizers, 'generator');
    return tidy(() => {
      const x = toFlat('aae', batch.x, this.inputDim);
      const n = x.shape[0]!;
      const y = this.batchLabels(batch, n);
      const lab = this.labelInput(y, n);
      const aeParams = [...this.encoder.parameters(), ...this.decoder.parameters()];

      // 1. reconstruction
      main.zeroGrad();
      const r = this.reconstructionObjective(x, x);
      r.loss.backward();
      maybeClip(aeParams, clipNorm);
      main.step();

      // 2. discriminator, on codes of the updated encoder (no gradient into the encoder)
      disc.zeroGrad();
      const zFake = noGrad(() => this.encode(x));
      const d = this.discriminatorLoss(zFake, y, lab, ctx.generator);
      d.loss.backward();
      maybeClip(this.discriminator.parameters(), clipNorm);
      disc.step();

      // 3. generator: the encoder learns to fool D; D's weights are frozen for this backward.
      genOpt.zeroGrad();
      const dParams = this.discriminator.parameters();
      for (const p of dParams) p.requiresGrad = false;
      let g: Tensor;
      try {
        g = this.generatorLoss(this.encode(x), lab);
        g.backward();
      } finally {
        for (const p of dParams) p.requiresGrad = true;
      }
      maybeClip(this.encoder.parameters(), clipNorm);
      genOpt.step();

      const recon = r.loss.item();
      return { loss: recon, ...r.parts, disc: d.loss.item(), gen: g.item(), discAcc: d.acc };
    });
  }

  protected objective(batch: Batch, ctx: StepContext): LossOutput {
    const x = toFlat('aae', batch.x, this.inputDim);
    const n = x.shape[0]!;
    const y = this.batchLabels(batch, n);
    const lab = this.labelInput(y, n);
    const r = this.reconstructionObjective(x, x);
    const extra = noGrad(() => {
      const d = this.discriminatorLoss(r.code, y, lab, ctx.generator);
      return { disc: d.loss.item(), gen: this.generatorLoss(r.code, lab).item(), discAcc: d.acc };
    });
    return { loss: r.loss, parts: { loss: r.loss.item(), ...r.parts, ...extra } };
  }
}
