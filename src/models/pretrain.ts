/**
 * Greedy layer-wise autoencoder pre-training (Bengio et al., 2007; seed 004, network D): a deep
 * MLP whose gradients vanish from a random start (15 hidden layers, network C) learns well when
 * each hidden layer first learns to encode its own input.
 *
 *   a⁽⁰⁾ = x
 *   for layer l = 1 … L:
 *     train a one-hidden-layer autoencoder  a⁽ˡ⁻¹⁾ → h = act(W a⁽ˡ⁻¹⁾ + b) → â = W' h + b'
 *     copy (W, b) into the classifier's hidden layer l
 *     a⁽ˡ⁾ = act(W a⁽ˡ⁻¹⁾ + b)                 (the codes become the next layer's data)
 *
 * Reconstruction loss per sample: Bernoulli (BCE on logits, summed) when the layer's input lies
 * in [0, 1] (pixels, sigmoid codes), else squared error (summed). Afterwards the trainer
 * fine-tunes the whole classifier with its usual objective.
 */
import { noGrad } from '../autograd/tape.js';
import { Linear } from '../nn/index.js';
import { bceWithLogits } from '../nn/losses.js';
import { mean, mul, sub, sum } from '../ops/index.js';
import { tensor } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { MLPClassifier } from './classifiers.js';
import { getOptimizer } from './common.js';
import type { ClassifierModel, OptimizerFactory } from './types.js';

export interface PretrainProgress {
  /** Zero-based hidden layer index, and how many there are. */
  layer: number;
  layers: number;
  /** Zero-based epoch of this layer's autoencoder, and how many there are. */
  epoch: number;
  epochs: number;
  /** Mean reconstruction loss per sample over the epoch. */
  loss: number;
  inFeatures: number;
  outFeatures: number;
}

export interface PretrainOptions {
  /** Epochs per layer. */
  epochs: number;
  /** Mini-batch size. */
  batch: number;
  /** Learning rate set on each layer's optimizer (default: the factory's). */
  lr?: number;
  /** Makes each layer's optimizer; called with role `pretrain.<layer>`. */
  makeOptimizer: OptimizerFactory;
  /** Shuffles the mini-batches. */
  generator: Generator;
  /** Called after every epoch of every layer. */
  onLayer?: (p: PretrainProgress) => void;
}

export interface PretrainResult {
  /** Per hidden layer: its shape, the loss it used and its last epoch's mean loss. */
  layers: { inFeatures: number; outFeatures: number; loss: 'bce' | 'mse'; finalLoss: number }[];
}

export type PretrainData = Tensor | Float32Array | { images: Float32Array };

function inRange01(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v <= 1)) return false;
  }
  return true;
}

/** Rows of `src` (n × d) picked by idx[from, to) into a fresh (rows × d) tensor. */
function gatherRows(src: Float32Array, d: number, idx: Int32Array, from: number, to: number): Tensor {
  const t = Tensor.empty([to - from, d]);
  const out = t.data;
  for (let i = from; i < to; i++) out.set(src.subarray(idx[i]! * d, idx[i]! * d + d), (i - from) * d);
  return t;
}

/**
 * Pre-trains the hidden layers of an MLP classifier in place (weights, biases, and a PReLU's
 * slope), one autoencoder per layer. `data` is the training inputs, (N, D) as a tensor, a flat
 * Float32Array, or a dataset's `images`.
 */
export function pretrainLayerwise(model: ClassifierModel, data: PretrainData, opts: PretrainOptions): PretrainResult {
  if (!(model instanceof MLPClassifier))
    throw new Error(`pretrainLayerwise: only the 'mlp' classifier has dense hidden layers to pre-train, got '${model.kind}'`);
  for (const [name, v] of [
    ['epochs', opts.epochs],
    ['batch', opts.batch],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`pretrainLayerwise: ${name} must be a positive integer, got ${v}`);
  if (opts.lr !== undefined && !(opts.lr > 0)) throw new Error(`pretrainLayerwise: lr must be positive, got ${opts.lr}`);
  const raw = data instanceof Tensor ? data.data : data instanceof Float32Array ? data : data.images;
  const D = model.inputDim;
  if (raw.length === 0 || raw.length % D !== 0)
    throw new Error(`pretrainLayerwise: ${raw.length} input values are not a whole number of samples of ${D} values`);
  const N = raw.length / D;
  const blocks = model.hiddenBlocks();
  const result: PretrainResult = { layers: [] };
  let current = raw;
  let dIn = D;

  blocks.forEach(({ linear, activation }, l) => {
    const dOut = linear.outFeatures;
    const lossKind: 'bce' | 'mse' = inRange01(current) ? 'bce' : 'mse';
    // The encoder starts from the classifier's own initialisation; the decoder is fresh.
    const enc = new Linear(dIn, dOut);
    enc.weight.data.set(linear.weight.data);
    if (enc.bias && linear.bias) enc.bias.data.set(linear.bias.data);
    const dec = new Linear(dOut, dIn);
    const params = [...enc.parameters(), ...activation.parameters(), ...dec.parameters()];
    const opt = getOptimizer('pretrainLayerwise', { [`pretrain.${l}`]: opts.makeOptimizer(params, `pretrain.${l}`) }, `pretrain.${l}`);
    if (opts.lr !== undefined) opt.lr = opts.lr;
    const wasTraining = activation.training;
    activation.train(true);

    let finalLoss = NaN;
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const perm = opts.generator.permutation(N);
      let sumLoss = 0;
      for (let b0 = 0; b0 < N; b0 += opts.batch) {
        const b1 = Math.min(N, b0 + opts.batch);
        sumLoss += tidy(() => {
          const x = gatherRows(current, dIn, perm, b0, b1);
          opt.zeroGrad();
          const out = dec.forward(activation.forward(enc.forward(x)));
          let loss: Tensor;
          if (lossKind === 'bce') loss = mean(sum(bceWithLogits(out, x, { reduction: 'none' }), 1));
          else {
            const diff = sub(out, x);
            loss = mean(sum(mul(diff, diff), 1));
          }
          loss.backward();
          opt.step();
          return loss.item() * (b1 - b0);
        });
      }
      finalLoss = sumLoss / N;
      opts.onLayer?.({ layer: l, layers: blocks.length, epoch, epochs: opts.epochs, loss: finalLoss, inFeatures: dIn, outFeatures: dOut });
    }
    activation.train(wasTraining);
    opt.zeroGrad();

    // Copy the trained encoder into the classifier (the activation, e.g. a PReLU slope, was trained in place).
    linear.weight.data.set(enc.weight.data);
    if (linear.bias && enc.bias) linear.bias.data.set(enc.bias.data);

    // The codes of this layer are the next layer's data.
    if (l + 1 < blocks.length) {
      const next = new Float32Array(N * dOut);
      noGrad(() => {
        const chunk = 2048;
        for (let r0 = 0; r0 < N; r0 += chunk) {
          const r1 = Math.min(N, r0 + chunk);
          tidy(() => {
            const x = tensor(current.subarray(r0 * dIn, r1 * dIn), [r1 - r0, dIn]);
            next.set(activation.forward(enc.forward(x)).data, r0 * dOut);
          });
        }
      });
      current = next;
    }
    for (const p of [...enc.parameters(), ...dec.parameters()]) p.dispose();
    result.layers.push({ inFeatures: dIn, outFeatures: dOut, loss: lossKind, finalLoss });
    dIn = dOut;
  });
  return result;
}
