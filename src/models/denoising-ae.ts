/**
 * The denoising autoencoder (Vincent et al., 2008/2010): the encoder sees a corrupted copy x̃ of
 * the input and the decoder must produce the clean x, so the code has to capture the structure
 * of the data rather than copy pixels:
 *
 *   x̃ ~ C(x̃ | x),   loss = −log p(x | decoder(encoder(x̃)))
 *
 * Corruptions (all clipped to [0, 1], all drawn from the step's seeded generator):
 *   'gaussian'     x̃ = clip(x + σ·ε, 0, 1),  ε ~ N(0, I)          (noiseLevel = σ)
 *   'salt-pepper'  a fraction of pixels set to 0 or 1, equally likely (noiseLevel = fraction)
 *   'mask'         a fraction of pixels set to 0                     (noiseLevel = fraction)
 *
 * The corruption kernels are src/data's batch transforms, so the CLI's `--noise` and this model
 * corrupt identically.
 */
import { gaussianNoise, randomMask, saltAndPepper } from '../data/transforms.js';
import { noGrad } from '../autograd/tape.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { checkNumber, checkOneOf, toFlat, type BuildOptions } from './common.js';
import { checkDenseAEConfig, DenseAutoencoderBase } from './dense-ae.js';
import type { Batch, DenoisingAEConfig, LossOutput, StepContext } from './types.js';

export type NoiseKind = DenoisingAEConfig['noise'];
export const NOISE_KINDS: readonly NoiseKind[] = ['gaussian', 'salt-pepper', 'mask'];

/** A corrupted copy of x (same shape, values in [0, 1]); x itself is not changed and no gradient flows. */
export function corrupt(x: Tensor, noise: NoiseKind, level: number, gen: Generator): Tensor {
  checkOneOf('corrupt', 'noise', noise, NOISE_KINDS);
  if (noise === 'gaussian') checkNumber('corrupt', 'noiseLevel (σ)', level, 0, Infinity);
  else checkNumber('corrupt', 'noiseLevel (fraction)', level, 0, 1);
  const t = Tensor.empty(x.shape);
  const out = t.data;
  const src = x.data;
  if (noise === 'gaussian') gaussianNoise(src, level, gen, out);
  else if (noise === 'salt-pepper') saltAndPepper(src, level, gen, out);
  else randomMask(src, level, gen, out);
  return t;
}

export class DenoisingAE extends DenseAutoencoderBase<DenoisingAEConfig> {
  readonly kind = 'dae' as const;

  constructor(config: DenoisingAEConfig, opts: BuildOptions = {}) {
    checkDenseAEConfig('dae', config);
    checkOneOf('dae', 'noise', config.noise, NOISE_KINDS);
    if (config.noise === 'gaussian') checkNumber('dae', 'noiseLevel (σ)', config.noiseLevel, 0, Infinity);
    else checkNumber('dae', 'noiseLevel (fraction)', config.noiseLevel, 0, 1);
    super(config, opts);
  }

  /** x̃: the model's corruption of a batch, drawn from gen. */
  corrupt(x: Tensor, gen: Generator): Tensor {
    return corrupt(x, this.config.noise, this.config.noiseLevel, gen);
  }

  /** Reconstructs a corrupted batch: the denoised images (B, D). */
  denoise(xNoisy: Tensor): Tensor {
    return this.reconstruct(xNoisy);
  }

  /**
   * The denoising objective, also for validation (with the evaluation generator), so validation
   * measures what training optimises.
   */
  protected objective(batch: Batch, ctx: StepContext): LossOutput {
    const x = toFlat('dae', batch.x, this.inputDim);
    const noisy = noGrad(() => this.corrupt(x, ctx.generator));
    const { loss, parts } = this.reconstructionObjective(noisy, x);
    return { loss, parts: { loss: loss.item(), ...parts } };
  }
}
