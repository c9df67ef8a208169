/**
 * The contract every model in the autoencoder family follows, so the trainer, the CLI, the
 * figures and the lab can drive any of them the same way.
 */
import type { ActivationName } from '../nn/activation.js';
import type { Module } from '../nn/module.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export type ModelKind = 'ae' | 'conv-ae' | 'sparse-ae' | 'dae' | 'vae' | 'cvae' | 'aae' | 'mlp' | 'cnn';

/** One mini-batch as the trainer hands it to a model. */
export interface Batch {
  /** Inputs (B, C·H·W) for dense models or (B, C, H, W) for conv models, values in [0, 1]. */
  x: Tensor;
  /** Integer class labels (B), when the dataset has them. */
  y: Int32Array | null;
}

/** A scalar training objective and its named parts (plain numbers, for logging). */
export interface LossOutput {
  loss: Tensor;
  /** e.g. { recon: 81.2, kl: 24.9 } or { ce: 0.31, acc: 0.91 }; all per sample unless named otherwise. */
  parts: Record<string, number>;
}

export interface StepContext {
  /** The generator for noise, sampling and corruption (seeded, saved in checkpoints). */
  generator: Generator;
  /** Zero-based epoch, for schedules inside a model (e.g. KL warm-up). */
  epoch: number;
}

/** Creates an optimizer over some parameters (the trainer's choice of algorithm, lr, …). */
export type OptimizerFactory = (params: Tensor[], role: string) => OptimizerLike;

/** What models need from an optimizer (src/optim's Optimizer satisfies it). */
export interface OptimizerLike {
  zeroGrad(): void;
  step(): void;
  stateDict(): unknown;
  loadStateDict(sd: never): void;
  lr: number;
}

export interface FamilyModel extends Module {
  readonly kind: ModelKind;
  /** The JSON-able config it was built from (saved in checkpoints; `buildModel(config)` rebuilds it). */
  readonly config: ModelConfig;
  /** Input layout: 'flat' (B, D) or 'image' (B, C, H, W). */
  readonly inputLayout: 'flat' | 'image';
  /** Whether training needs labels (cvae, classifiers, label-conditioned aae). */
  readonly needsLabels: boolean;

  /** The optimizers this model trains with, by role ('main'; the AAE adds 'discriminator', 'generator'). */
  createOptimizers(make: OptimizerFactory): Record<string, OptimizerLike>;
  /** One training step on a batch: forward, backward, optimizer step(s). Returns the parts to log. */
  trainStep(batch: Batch, optimizers: Record<string, OptimizerLike>, ctx: StepContext, clipNorm?: number): Record<string, number>;
  /** The validation objective on a batch (no gradients are recorded by the caller). */
  evaluate(batch: Batch, ctx: StepContext): LossOutput;
}

/** Autoencoders add encode/decode/reconstruct; generative ones add sample. */
export interface AutoencoderModel extends FamilyModel {
  readonly latentDim: number;
  /** Codes (B, latent): the mean for a VAE. */
  encode(x: Tensor, y?: Int32Array | null): Tensor;
  /** Decoded images in [0, 1], shaped like the input layout. */
  decode(z: Tensor, y?: Int32Array | null): Tensor;
  reconstruct(x: Tensor, y?: Int32Array | null): Tensor;
  /** Per-sample reconstruction error (B), the anomaly score. */
  reconstructionError(x: Tensor, y?: Int32Array | null): Float32Array;
  /** Draws from the prior and decodes (VAE, CVAE, AAE). */
  sample?(n: number, gen: Generator, labels?: Int32Array | null): Tensor;
}

export interface ClassifierModel extends FamilyModel {
  /** Logits (B, classes). */
  logits(x: Tensor): Tensor;
  readonly numClasses: number;
}

/** An activation name: nn's list (ACTIVATIONS in nn/activation.ts). */
export type Activation = ActivationName;

interface Common {
  /** Image shape [C, H, W] the model was built for. */
  inputShape: [number, number, number];
}

export interface DenseAEConfig extends Common {
  kind: 'ae';
  hidden: number[];
  latent: number;
  activation: Activation;
  /** 'bce' (Bernoulli likelihood, sigmoid output) or 'mse' (Gaussian likelihood). */
  loss: 'bce' | 'mse';
}

export interface ConvAEConfig extends Common {
  kind: 'conv-ae';
  /** Channels of the stride-2 conv layers, e.g. [32, 64]. */
  channels: number[];
  latent: number;
  activation: Activation;
  loss: 'bce' | 'mse';
}

export interface SparseAEConfig extends Common {
  kind: 'sparse-ae';
  hidden: number[];
  latent: number;
  activation: Activation;
  loss: 'bce' | 'mse';
  /** 'kl': KL(ρ ‖ ρ̂_j) summed over code units (sigmoid code); 'l1': mean |code|. */
  sparsity: 'kl' | 'l1';
  /** Target mean activation ρ. */
  rho: number;
  /** Penalty weight β, relative to the per-image reconstruction term (default 6 with 'mse': Ng's β = 3 for ½·SSE). */
  beta: number;
}

export interface DenoisingAEConfig extends Common {
  kind: 'dae';
  hidden: number[];
  latent: number;
  activation: Activation;
  loss: 'bce' | 'mse';
  noise: 'gaussian' | 'salt-pepper' | 'mask';
  /** σ for gaussian, fraction for salt-pepper and mask. */
  noiseLevel: number;
}

export interface VAEConfig extends Common {
  kind: 'vae';
  hidden: number[];
  latent: number;
  activation: Activation;
  decoder: 'bernoulli' | 'gaussian';
  /** β-VAE weight on the KL term (1 = the ELBO). */
  beta: number;
}

export interface CVAEConfig extends Omit<VAEConfig, 'kind'> {
  kind: 'cvae';
  numClasses: number;
}

export interface AAEConfig extends Common {
  kind: 'aae';
  hidden: number[];
  latent: number;
  activation: Activation;
  loss: 'bce' | 'mse';
  prior: 'normal' | 'mixture' | 'swissroll';
  /** Feed the label (one-hot, plus an extra 'unlabelled' slot) to the discriminator with a label-matched prior. */
  conditionalPrior: boolean;
  numClasses: number;
  discriminatorHidden: number[];
}

export interface MLPConfig extends Common {
  kind: 'mlp';
  hidden: number[];
  activation: Activation;
  numClasses: number;
  dropout: number;
}

export interface CNNConfig extends Common {
  kind: 'cnn';
  channels: number[];
  hidden: number[];
  activation: Activation;
  numClasses: number;
  dropout: number;
}

export type ModelConfig =
  | DenseAEConfig
  | ConvAEConfig
  | SparseAEConfig
  | DenoisingAEConfig
  | VAEConfig
  | CVAEConfig
  | AAEConfig
  | MLPConfig
  | CNNConfig;
