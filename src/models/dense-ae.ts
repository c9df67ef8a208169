/**
 * The dense (MLP) autoencoder: x → encoder → z → decoder → x̂, trained to reproduce its input
 * (seed 002: unsupervised, reconstruction, encoding–decoding). Any number of hidden widths:
 *
 *   encoder: Linear(D, h₀), act, Linear(h₀, h₁), act, …, Linear(h_last, latent)
 *   decoder: Linear(latent, h_last), act, …, Linear(h₀, D), Sigmoid
 *
 * The code layer is linear (as in Hinton & Salakhutdinov's deep autoencoder), so with no hidden
 * layers and the 'mse' loss this is the linear autoencoder whose optimum spans PCA's subspace.
 * The decoder ends in a Sigmoid so decoded images are in [0, 1]; the Bernoulli ('bce') loss is
 * computed from the logits before it, which is the numerically stable form.
 *
 * DenseAutoencoderBase is shared with the sparse and denoising autoencoders.
 */
import type { Sequential } from '../nn/container.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkActivation,
  checkInputShape,
  checkOneOf,
  checkPositiveInt,
  checkWidths,
  mlp,
  reconTerm,
  toFlat,
  type BuildOptions,
  type Layer,
} from './common.js';
import { ReconstructingAE } from './autoencoder.js';
import type { Activation, Batch, DenseAEConfig, LossOutput, ModelConfig, StepContext } from './types.js';
import { Sigmoid } from '../nn/index.js';

/** The fields the dense autoencoders have in common. */
export type DenseAELike = Extract<ModelConfig, { hidden: number[]; latent: number; activation: Activation; loss: 'bce' | 'mse' }>;

export function checkDenseAEConfig(where: string, c: DenseAELike): void {
  checkInputShape(where, c.inputShape);
  checkWidths(where, 'hidden', c.hidden);
  checkPositiveInt(where, 'latent', c.latent);
  checkActivation(where, c.activation);
  checkOneOf(where, 'loss', c.loss, ['bce', 'mse'] as const);
}

export abstract class DenseAutoencoderBase<C extends DenseAELike> extends ReconstructingAE<C> {
  readonly inputLayout = 'flat' as const;
  readonly needsLabels: boolean = false;
  readonly latentDim: number;
  /** C·H·W. */
  readonly inputDim: number;
  readonly encoder: Sequential;
  readonly decoder: Sequential;

  constructor(config: C, opts: BuildOptions = {}, codeActivation: Layer | null = null) {
    super(config);
    const [c, h, w] = config.inputShape;
    this.inputDim = c * h * w;
    this.latentDim = config.latent;
    const gen = opts.generator;
    this.encoder = this.registerModule(
      'encoder',
      mlp([this.inputDim, ...config.hidden, config.latent], config.activation, { generator: gen }),
    );
    if (codeActivation) this.encoder.append(codeActivation);
    const dec = mlp([config.latent, ...[...config.hidden].reverse(), this.inputDim], config.activation, { generator: gen });
    dec.append(new Sigmoid());
    this.decoder = this.registerModule('decoder', dec);
  }

  protected toInput(where: string, x: Tensor): Tensor {
    return toFlat(where, x, this.inputDim);
  }

  /** The plain autoencoder objective: −log p(x | x̂) per image, averaged over the batch. */
  protected reconstructionObjective(input: Tensor, target: Tensor): { code: Tensor; loss: Tensor; parts: Record<string, number> } {
    const code = this.encode(input);
    const r = reconTerm(this.decodeLogits(code), target, this.config.loss);
    return { code, loss: r.mean, parts: { recon: r.mean.item(), mse: r.mse } };
  }
}

export class DenseAE extends DenseAutoencoderBase<DenseAEConfig> {
  readonly kind = 'ae' as const;

  constructor(config: DenseAEConfig, opts: BuildOptions = {}) {
    checkDenseAEConfig('ae', config);
    super(config, opts);
  }

  protected objective(batch: Batch, _ctx: StepContext): LossOutput {
    const x = toFlat('ae', batch.x, this.inputDim);
    const { loss, parts } = this.reconstructionObjective(x, x);
    return { loss, parts: { loss: loss.item(), ...parts } };
  }
}
