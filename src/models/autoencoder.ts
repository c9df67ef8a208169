/**
 * What the deterministic autoencoders (dense, sparse, denoising, adversarial and convolutional)
 * share once their encoder and decoder are built: x → encoder → z → decoder → x̂, with the
 * decoder ending in a Sigmoid so decoded images are in [0, 1] and the reconstruction loss taken
 * from the logits before it (the stable form). A subclass builds `encoder` and `decoder` and says
 * how an input batch is laid out for the encoder (`toInput`: flat rows or images).
 */
import { noGrad } from '../autograd/tape.js';
import type { Sequential } from '../nn/container.js';
import type { Tensor } from '../tensor/tensor.js';
import { FamilyBase, forwardAllButLast, perSampleMse } from './common.js';
import type { AutoencoderModel, ModelConfig } from './types.js';

export abstract class ReconstructingAE<C extends ModelConfig> extends FamilyBase<C> implements AutoencoderModel {
  abstract readonly latentDim: number;
  abstract readonly encoder: Sequential;
  abstract readonly decoder: Sequential;

  /** The batch as the encoder takes it; `where` names the caller in a shape error. */
  protected abstract toInput(where: string, x: Tensor): Tensor;

  forward(x: Tensor): Tensor {
    return this.reconstruct(x);
  }

  encode(x: Tensor): Tensor {
    return this.encoder.forward(this.toInput(`${this.kind}.encode`, x));
  }

  /** Decoded images in [0, 1], in the input's layout. */
  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  /** The decoder's output before its final Sigmoid. */
  decodeLogits(z: Tensor): Tensor {
    return forwardAllButLast(this.decoder, z);
  }

  reconstruct(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }

  /** Per-sample mean squared error (1/D)‖x − x̂‖², the anomaly score. */
  reconstructionError(x: Tensor): Float32Array {
    return noGrad(() => perSampleMse(this.toInput(`${this.kind}.reconstructionError`, x), this.reconstruct(x)));
  }
}
