/**
 * The model family behind one door: `defaultConfig(kind, inputShape, overrides)` gives a sensible
 * JSON config for each kind, `buildModel(config)` builds it (and rebuilds it from a checkpoint's
 * saved config), and `isAutoencoder` / `isClassifier` tell the trainer, CLI and lab what a model
 * can do.
 */
import type { Module } from '../nn/module.js';
import { AAE } from './aae.js';
import { CNNClassifier, MLPClassifier } from './classifiers.js';
import type { BuildOptions } from './common.js';
import { ConvAE } from './conv-ae.js';
import { CVAE } from './cvae.js';
import { DenseAE } from './dense-ae.js';
import { DenoisingAE } from './denoising-ae.js';
import { SparseAE } from './sparse-ae.js';
import type { AutoencoderModel, ClassifierModel, FamilyModel, ModelConfig, ModelKind } from './types.js';
import { VAE } from './vae.js';

export * from './types.js';
export { PART_DOCS, PART_LABELS, partDocsFor, partsNote, renameLegacyParts } from './parts.js';
export { ACTIVATIONS, StepDropout, type BuildOptions } from './common.js';
export { DenseAE, DenseAutoencoderBase } from './dense-ae.js';
export { ConvAE, convAESizes } from './conv-ae.js';
export { SparseAE, sparsityKL, l1Activity } from './sparse-ae.js';
export { DenoisingAE, corrupt, NOISE_KINDS, type NoiseKind } from './denoising-ae.js';
export { VAE } from './vae.js';
export { CVAE } from './cvae.js';
export { AAE, samplePrior, PRIOR_KINDS, MIXTURE, SWISSROLL, type PriorKind } from './aae.js';
export { MLPClassifier, CNNClassifier, accuracy, batchAccuracy } from './classifiers.js';
export { PCA, symmetricEigen, covariance, type PCAJSON, type SymmetricEigen } from './pca.js';
export { pretrainLayerwise, type PretrainOptions, type PretrainProgress, type PretrainResult, type PretrainData } from './pretrain.js';

export const MODEL_KINDS: readonly ModelKind[] = ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn'];

/** The config type of one kind. */
export type ConfigOf<K extends ModelKind> = Extract<ModelConfig, { kind: K }>;

type Shape3 = [number, number, number];

/**
 * Defaults per kind (without inputShape). Chosen to train well on MNIST-sized data in little
 * time; the VAE default is the CLI's no-argument model, a 2-D VAE that has to train quickly on the
 * embedded digits on a laptop, hence a single hidden layer of 400 (as PyTorch's VAE example):
 * wider or deeper layers gain a few nats of −ELBO for several times the time, and a layer of 256
 * loses more than that.
 */
const DEFAULTS: { [K in ModelKind]: Omit<ConfigOf<K>, 'inputShape'> } = {
  // Hinton & Salakhutdinov-style deep autoencoder, narrower: 784-512-256-32.
  ae: { kind: 'ae', hidden: [512, 256], latent: 32, activation: 'relu', loss: 'bce' },
  // Seed 002's conv encoder / transposed-conv decoder.
  'conv-ae': { kind: 'conv-ae', channels: [32, 64], latent: 16, activation: 'relu', loss: 'bce' },
  // Seed 004 (the decoder weights drawn as images for β = 0 / moderate / large): one hidden layer
  // of 196 sigmoid units is the code, as in the MNIST exercise of Ng's sparse autoencoder notes
  // (UFLDL: 28×28 inputs, 196 units, ρ = 0.1, β = 3). His β = 3 multiplies a ½ on the squared
  // error, ours is Σ_d (x_d − x̂_d)², so SSE + 6·Ω = 2·(½·SSE + 3·Ω), the same objective up to a
  // scale Adam ignores. With these the units cooperate, each drawing a stroke or a part of a
  // digit; β = 0 gives unstructured blobs and a large β (or ρ = 0.05) whole digits per unit. The β
  // was tuned for the squared error: the summed BCE pulls several times harder on the code
  // (∂BCE/∂logit = x̂ − x against 2(x̂ − x)·x̂(1 − x̂), and most MNIST pixels are near 0), so with
  // 'bce' a comparable sparsity needs a larger β. Without the penalty a sigmoid code saturates
  // near 1 on MNIST. Deeper layers before the code (`hidden`) let the sparsity squeeze the code
  // until the decoder draws the mean digit.
  'sparse-ae': { kind: 'sparse-ae', hidden: [], latent: 196, activation: 'sigmoid', loss: 'mse', sparsity: 'kl', rho: 0.1, beta: 6 },
  // Additive Gaussian noise σ = 0.5, clipped (a visible but recoverable corruption of MNIST).
  dae: { kind: 'dae', hidden: [512, 256], latent: 32, activation: 'relu', loss: 'bce', noise: 'gaussian', noiseLevel: 0.5 },
  // A 2-D latent space, to be drawn; Bernoulli decoder as in Kingma & Welling's MNIST experiments.
  vae: { kind: 'vae', hidden: [400], latent: 2, activation: 'relu', decoder: 'bernoulli', beta: 1 },
  cvae: { kind: 'cvae', hidden: [400], latent: 2, activation: 'relu', decoder: 'bernoulli', beta: 1, numClasses: 10 },
  // Makhzani et al.'s 2-D codes matched to a mixture of 10 Gaussians.
  aae: {
    kind: 'aae',
    hidden: [512, 256],
    latent: 2,
    activation: 'relu',
    loss: 'bce',
    prior: 'mixture',
    conditionalPrior: false,
    numClasses: 10,
    discriminatorHidden: [128, 128],
  },
  // Seed 004's network B (two hidden layers, ~97 %), with dropout.
  mlp: { kind: 'mlp', hidden: [256, 128], activation: 'relu', numClasses: 10, dropout: 0.2 },
  cnn: { kind: 'cnn', channels: [32, 64], hidden: [128], activation: 'relu', numClasses: 10, dropout: 0.25 },
};

function deepCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * The default config of a kind for images of shape [C, H, W], with overrides applied. Unknown
 * override keys are rejected (a mistyped option must not silently do nothing); values are checked
 * when the model is built.
 */
export function defaultConfig<K extends ModelKind>(
  kind: K,
  inputShape: readonly number[],
  overrides: Partial<Omit<ConfigOf<K>, 'kind'>> = {},
): ConfigOf<K> {
  const base = DEFAULTS[kind] as Omit<ConfigOf<K>, 'inputShape'> | undefined;
  if (!base) throw new Error(`defaultConfig: unknown model kind '${String(kind)}' (known: ${MODEL_KINDS.join(', ')})`);
  if (!Array.isArray(inputShape) || inputShape.length !== 3)
    throw new Error(`defaultConfig: inputShape must be [C, H, W], got ${JSON.stringify(inputShape)}`);
  const cfg = { ...deepCopy(base), inputShape: [...inputShape] as Shape3 } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k === 'kind') continue;
    if (!(k in cfg))
      throw new Error(
        `defaultConfig: '${kind}' has no option '${k}' (options: ${Object.keys(cfg)
          .filter((x) => x !== 'kind')
          .join(', ')})`,
      );
    cfg[k] = deepCopy(v);
  }
  return cfg as unknown as ConfigOf<K>;
}

/** Builds the model a config describes (the inverse of `model.config`). */
export function buildModel(config: ModelConfig, opts: BuildOptions = {}): FamilyModel {
  if (!config || typeof config !== 'object') throw new Error(`buildModel: expected a model config object, got ${JSON.stringify(config)}`);
  const c = deepCopy(config);
  switch (c.kind) {
    case 'ae':
      return new DenseAE(c, opts);
    case 'conv-ae':
      return new ConvAE(c, opts);
    case 'sparse-ae':
      return new SparseAE(c, opts);
    case 'dae':
      return new DenoisingAE(c, opts);
    case 'vae':
      return new VAE(c, opts);
    case 'cvae':
      return new CVAE(c, opts);
    case 'aae':
      return new AAE(c, opts);
    case 'mlp':
      return new MLPClassifier(c, opts);
    case 'cnn':
      return new CNNClassifier(c, opts);
    default:
      throw new Error(`buildModel: unknown model kind '${String((c as { kind?: unknown }).kind)}' (known: ${MODEL_KINDS.join(', ')})`);
  }
}

/** Whether a model has encode/decode (every kind but the classifiers). */
export function isAutoencoder(m: FamilyModel | Module | null | undefined): m is AutoencoderModel {
  const a = m as Partial<AutoencoderModel> | null | undefined;
  return !!a && typeof a.encode === 'function' && typeof a.decode === 'function' && typeof a.latentDim === 'number';
}

/** Whether a model is a classifier (has logits). */
export function isClassifier(m: FamilyModel | Module | null | undefined): m is ClassifierModel {
  const a = m as Partial<ClassifierModel> | null | undefined;
  return !!a && typeof a.logits === 'function' && typeof a.numClasses === 'number';
}

/** Whether a model can sample from its prior (VAE, CVAE, AAE). */
export function isGenerative(
  m: FamilyModel | Module | null | undefined,
): m is AutoencoderModel & Required<Pick<AutoencoderModel, 'sample'>> {
  return isAutoencoder(m) && typeof m.sample === 'function';
}
