/**
 * The convolutional autoencoder (seed 002): stride-2 convolutions halve the image while adding
 * channels, a Linear layer maps the feature map to the code, and the decoder mirrors it with
 * transposed convolutions (learned up-sampling). For channels [32, 64] on 28×28 MNIST:
 *
 *   encoder: Conv2d(1,32,3,s2,p1) act  Conv2d(32,64,3,s2,p1) act  Flatten  Linear(64·7·7, latent)
 *   decoder: Linear(latent, 64·7·7) act  Unflatten(1,[64,7,7])
 *            ConvTranspose2d(64,32,3,s2,p1,op1) act  ConvTranspose2d(32,1,3,s2,p1,op1) Sigmoid
 *
 * Sizes: a k=3, s=2, p=1 convolution maps h to ⌊(h − 1)/2⌋ + 1 = ⌈h/2⌉; the transposed one maps
 * h' to 2h' − 1 + op, so each decoder layer's output padding op = h − 2h' + 1 ∈ {0, 1} is chosen
 * to land exactly on the encoder's size at that depth — odd sizes (e.g. 27×27, 7×5) round-trip too.
 */
import { Conv2d, ConvTranspose2d, Flatten, Linear, Sigmoid, Unflatten } from '../nn/index.js';
import { Sequential } from '../nn/container.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkActivation,
  checkInputShape,
  checkOneOf,
  checkPositiveInt,
  checkWidths,
  makeActivation,
  reconTerm,
  toImage,
  type BuildOptions,
} from './common.js';
import { ReconstructingAE } from './autoencoder.js';
import type { Batch, ConvAEConfig, LossOutput, StepContext } from './types.js';

/** Spatial sizes at each depth of the stride-2 encoder: [[H, W], [⌈H/2⌉, ⌈W/2⌉], …]. */
export function convAESizes(h: number, w: number, depth: number): [number, number][] {
  const out: [number, number][] = [[h, w]];
  for (let i = 0; i < depth; i++) {
    const [a, b] = out[i]!;
    out.push([Math.floor((a - 1) / 2) + 1, Math.floor((b - 1) / 2) + 1]);
  }
  return out;
}

export class ConvAE extends ReconstructingAE<ConvAEConfig> {
  readonly kind = 'conv-ae' as const;
  readonly inputLayout = 'image' as const;
  readonly needsLabels = false;
  readonly latentDim: number;
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  /** The feature map the code is computed from: [C_last, H_last, W_last]. */
  readonly featureShape: [number, number, number];

  constructor(config: ConvAEConfig, opts: BuildOptions = {}) {
    const where = 'conv-ae';
    checkInputShape(where, config.inputShape);
    checkWidths(where, 'channels', config.channels, false);
    checkPositiveInt(where, 'latent', config.latent);
    checkActivation(where, config.activation);
    checkOneOf(where, 'loss', config.loss, ['bce', 'mse'] as const);
    super(config);
    const gen = opts.generator;
    const [C, H, W] = config.inputShape;
    const ch = config.channels;
    const sizes = convAESizes(H, W, ch.length);
    const [hl, wl] = sizes[ch.length]!;
    const cl = ch[ch.length - 1]!;
    this.featureShape = [cl, hl, wl];
    this.latentDim = config.latent;
    const flat = cl * hl * wl;

    const enc = new Sequential();
    ch.forEach((c, i) => {
      enc.append(new Conv2d(i === 0 ? C : ch[i - 1]!, c, 3, { stride: 2, padding: 1, generator: gen }));
      enc.append(makeActivation(config.activation));
    });
    enc.append(new Flatten());
    enc.append(new Linear(flat, config.latent, { generator: gen }));
    this.encoder = this.registerModule('encoder', enc);

    const dec = new Sequential();
    dec.append(new Linear(config.latent, flat, { generator: gen }));
    dec.append(makeActivation(config.activation));
    dec.append(new Unflatten(1, [cl, hl, wl]));
    for (let i = ch.length - 1; i >= 0; i--) {
      const [h, w] = sizes[i]!;
      const [h2, w2] = sizes[i + 1]!;
      const outputPadding: [number, number] = [h - 2 * h2 + 1, w - 2 * w2 + 1];
      dec.append(new ConvTranspose2d(ch[i]!, i === 0 ? C : ch[i - 1]!, 3, { stride: 2, padding: 1, outputPadding, generator: gen }));
      dec.append(i === 0 ? new Sigmoid() : makeActivation(config.activation));
    }
    this.decoder = this.registerModule('decoder', dec);
  }

  protected toInput(where: string, x: Tensor): Tensor {
    return toImage(where, x, this.config.inputShape);
  }

  protected objective(batch: Batch, _ctx: StepContext): LossOutput {
    const x = toImage('conv-ae', batch.x, this.config.inputShape);
    const r = reconTerm(this.decodeLogits(this.encode(x)), x, this.config.loss);
    return { loss: r.mean, parts: { loss: r.mean.item(), recon: r.mean.item(), mse: r.mse } };
  }
}
