/**
 * Classifiers (seed 003: an MLP and a CNN on MNIST with cross-entropy and Adam; seed 004: the
 * deep MLP that autoencoder pre-training rescues). Both output logits and are trained with the
 * categorical negative log-likelihood
 *
 *   CE = −(1/B) Σ_b log softmax(f(x_b))_{y_b},
 *
 * with dropout after each hidden activation (inverted dropout; the identity in eval mode).
 *
 * Layouts (PyTorch names):
 *   mlp: net = Linear(D, h₀), act, [Dropout], …, Linear(h_last, classes)          → net.0.weight, …
 *   cnn: features = [Conv2d(c_in, c, 3, p1), act, MaxPool2d(2)] per channel width  → features.0.weight, …
 *        classifier = Flatten, Linear(c_last·h·w, h₀), act, [Dropout], …, Linear(h_last, classes)
 */
import { noGrad } from '../autograd/tape.js';
import { Conv2d, Flatten, MaxPool2d } from '../nn/index.js';
import { Sequential } from '../nn/container.js';
import { Linear as LinearLayer, type Linear } from '../nn/linear.js';
import { crossEntropy } from '../nn/losses.js';
import { argmax } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkActivation,
  checkInputShape,
  checkNumber,
  checkPositiveInt,
  checkWidths,
  FamilyBase,
  makeActivation,
  mlp,
  requireLabels,
  toFlat,
  toImage,
  type BuildOptions,
  type Layer,
} from './common.js';
import type { Batch, ClassifierModel, CNNConfig, LossOutput, MLPConfig, StepContext } from './types.js';

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Tensor, y: ArrayLike<number>): number {
  const pred = argmax(logits, 1).data;
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) hit++;
  return pred.length ? hit / pred.length : 0;
}

abstract class ClassifierBase<C extends MLPConfig | CNNConfig> extends FamilyBase<C> implements ClassifierModel {
  readonly needsLabels = true;
  readonly numClasses: number;

  constructor(config: C) {
    super(config);
    this.numClasses = config.numClasses;
  }

  abstract logits(x: Tensor): Tensor;

  forward(x: Tensor): Tensor {
    return this.logits(x);
  }

  /** The most likely class of each sample. */
  predict(x: Tensor): Int32Array {
    return noGrad(() => Int32Array.from(argmax(this.logits(x), 1).data));
  }

  protected objective(batch: Batch, _ctx: StepContext): LossOutput {
    const n = batch.x.shape[0]!;
    const y = requireLabels(this.kind, batch.y, n);
    const logits = this.logits(batch.x);
    const ce = crossEntropy(logits, y);
    const acc = noGrad(() => accuracy(logits, y));
    const v = ce.item();
    return { loss: ce, parts: { loss: v, ce: v, acc } };
  }
}

function checkClassifier(where: string, c: MLPConfig | CNNConfig): void {
  checkInputShape(where, c.inputShape);
  checkWidths(where, 'hidden', c.hidden);
  checkActivation(where, c.activation);
  checkPositiveInt(where, 'numClasses', c.numClasses);
  checkNumber(where, 'dropout', c.dropout, 0, 1, false, true);
}

export class MLPClassifier extends ClassifierBase<MLPConfig> {
  readonly kind = 'mlp' as const;
  readonly inputLayout = 'flat' as const;
  readonly inputDim: number;
  readonly net: Sequential;

  constructor(config: MLPConfig, opts: BuildOptions = {}) {
    checkClassifier('mlp', config);
    super(config);
    const [c, h, w] = config.inputShape;
    this.inputDim = c * h * w;
    this.net = this.registerModule(
      'net',
      mlp([this.inputDim, ...config.hidden, config.numClasses], config.activation, {
        dropout: config.dropout,
        dropoutRng: this.rng,
        generator: opts.generator,
      }),
    );
  }

  logits(x: Tensor): Tensor {
    return this.net.forward(toFlat('mlp', x, this.inputDim));
  }

  /** The Linear layers of the hidden part (all but the output layer), in order: what pre-training initialises. */
  hiddenLayers(): Linear[] {
    return this.hiddenBlocks().map((b) => b.linear);
  }

  /** Each hidden Linear with the activation module that follows it. */
  hiddenBlocks(): { linear: Linear; activation: Layer }[] {
    const out: { linear: Linear; activation: Layer }[] = [];
    const layers = this.net.layers;
    for (let i = 0; i < layers.length - 1; i++) {
      const m = layers[i]!;
      if (m instanceof LinearLayer) out.push({ linear: m, activation: layers[i + 1]! });
    }
    return out;
  }
}

export class CNNClassifier extends ClassifierBase<CNNConfig> {
  readonly kind = 'cnn' as const;
  readonly inputLayout = 'image' as const;
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(config: CNNConfig, opts: BuildOptions = {}) {
    checkClassifier('cnn', config);
    checkWidths('cnn', 'channels', config.channels, false);
    super(config);
    const gen = opts.generator;
    const [C, H, W] = config.inputShape;
    let h = H;
    let w = W;
    const feats = new Sequential();
    config.channels.forEach((c, i) => {
      feats.append(new Conv2d(i === 0 ? C : config.channels[i - 1]!, c, 3, { padding: 1, generator: gen }));
      feats.append(makeActivation(config.activation));
      feats.append(new MaxPool2d(2));
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      if (h < 1 || w < 1)
        throw new Error(`cnn: ${i + 1} stride-2 poolings shrink the ${H}×${W} input to nothing; use fewer channel layers`);
    });
    this.features = this.registerModule('features', feats);
    const flat = config.channels[config.channels.length - 1]! * h * w;
    const head = mlp([flat, ...config.hidden, config.numClasses], config.activation, {
      dropout: config.dropout,
      dropoutRng: this.rng,
      generator: gen,
    });
    const cls = new Sequential(new Flatten(), ...head.layers);
    this.classifier = this.registerModule('classifier', cls);
  }

  logits(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(toImage('cnn', x, this.config.inputShape)));
  }
}

/** Mean accuracy of a classifier over a batch (eval mode is the caller's choice). */
export function batchAccuracy(model: ClassifierModel, x: Tensor, y: ArrayLike<number>): number {
  return noGrad(() => accuracy(model.logits(x), y));
}
