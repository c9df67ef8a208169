/**
 * What every model in the family shares: activation and MLP builders (with PyTorch's
 * Sequential numbering, so `encoder.0.weight` means the same thing here and in a PyTorch model
 * built from the same config), input-layout helpers, config checks, and the base class that
 * implements the training step once for all single-optimizer models.
 */
import { noGrad } from '../autograd/tape.js';
import { ACTIVATION_NAMES, activation, Linear } from '../nn/index.js';
import { Sequential } from '../nn/container.js';
import { Module } from '../nn/module.js';
import { bceWithLogitsPerSample, dropout, mean, mul, reshape, sigmoid, sub, sum } from '../ops/index.js';
import { clipGradNorm } from '../optim/index.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { tidy, Tensor } from '../tensor/tensor.js';
import type {
  Activation,
  Batch,
  FamilyModel,
  LossOutput,
  ModelConfig,
  ModelKind,
  OptimizerFactory,
  OptimizerLike,
  StepContext,
} from './types.js';

/** Options for building a model. */
export interface BuildOptions {
  /** Draws the initial weights (default: the process-wide default generator, as PyTorch). */
  generator?: Generator;
}

/** The activation names a config may use: nn's one list. */
export const ACTIVATIONS: readonly Activation[] = ACTIVATION_NAMES;

export type Layer = Module & { forward(x: Tensor): Tensor };

/** A fresh activation module for a config name. */
export function makeActivation(a: Activation): Layer {
  return activation(a);
}

export interface MlpOptions {
  /** Activation after the last Linear too (default false: the last layer is linear). */
  finalActivation?: boolean;
  /** Dropout probability after each hidden activation (0 = no Dropout layers). */
  dropout?: number;
  /** The Dropout layers' generator holder (see StepDropout). */
  dropoutRng?: RngHolder;
  generator?: Generator;
}

/**
 * Linear(s0, s1), act, Linear(s1, s2), act, …, Linear(s_{n-1}, s_n): layer indices follow
 * PyTorch's nn.Sequential numbering for the same list of modules.
 */
export function mlp(sizes: readonly number[], act: Activation, opts: MlpOptions = {}): Sequential {
  const seq = new Sequential();
  for (let i = 0; i + 1 < sizes.length; i++) {
    seq.append(new Linear(sizes[i]!, sizes[i + 1]!, { generator: opts.generator }));
    const last = i + 2 === sizes.length;
    if (!last || opts.finalActivation) {
      seq.append(makeActivation(act));
      if (!last && opts.dropout && opts.dropout > 0) seq.append(new StepDropout(opts.dropout, opts.dropoutRng ?? new RngHolder()));
    }
  }
  return seq;
}

/** Runs all layers of a Sequential but the last (e.g. logits before a final Sigmoid). */
export function forwardAllButLast(seq: Sequential, x: Tensor): Tensor {
  return seq.forwardRange(x, 0, seq.length - 1);
}

/** Where StepDropout layers draw from; the model points it at the step's generator. */
export class RngHolder {
  generator: Generator = defaultGenerator;
}

/**
 * Inverted dropout whose random draws come from the current training step's generator
 * (nn.Dropout fixes its generator at construction, but a model's steps are driven by the
 * trainer's seeded generator, which is saved in checkpoints). No parameters, so it does not
 * change the state-dict names: it stands where nn.Dropout would stand in PyTorch.
 */
export class StepDropout extends Module {
  constructor(
    readonly p: number,
    readonly rng: RngHolder,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.rng.generator);
  }
  override get typeName(): string {
    return 'Dropout';
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

// ---- input layout ----------------------------------------------------------------------------

/** (B, C, H, W) or (B, D) → (B, D), checking D. */
export function toFlat(op: string, x: Tensor, d: number): Tensor {
  if (x.ndim < 2) throw new Error(`${op}: expected a batch (B, ${d}) or (B, C, H, W), got shape [${x.shape.join(', ')}]`);
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (per !== d) throw new Error(`${op}: input of shape [${x.shape.join(', ')}] has ${per} values per sample, the model expects ${d}`);
  return x.ndim === 2 ? x : reshape(x, [x.shape[0]!, d]);
}

/** (B, D) or (B, C, H, W) → (B, C, H, W), checking the image shape. */
export function toImage(op: string, x: Tensor, shape: readonly [number, number, number]): Tensor {
  const d = shape[0] * shape[1] * shape[2];
  if (x.ndim === 4) {
    if (x.shape[1] !== shape[0] || x.shape[2] !== shape[1] || x.shape[3] !== shape[2])
      throw new Error(`${op}: input of shape [${x.shape.join(', ')}] does not match the model's image shape [${shape.join(', ')}]`);
    return x;
  }
  return reshape(toFlat(op, x, d), [x.shape[0]!, ...shape]);
}

/** Per-sample mean squared error over all non-batch dims: (1/D) Σ_d (x_d − x̂_d)². */
export function perSampleMse(x: Tensor, xHat: Tensor): Float32Array {
  return tidy(() =>
    noGrad(() => {
      const b = x.shape[0]!;
      const d = sub(reshape(x, [b, -1]), reshape(xHat, [b, -1]));
      return Float32Array.from(mean(mul(d, d), 1).data);
    }),
  );
}

/** Per-sample sum over all non-batch dims: (B, …) → (B). */
export function sumPerSample(t: Tensor): Tensor {
  const axes = t.shape.map((_, i) => i).slice(1);
  return axes.length ? sum(t, axes) : t;
}

// ---- config checks ----------------------------------------------------------------------------

export function checkPositiveInt(where: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new Error(`${where}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
}

export function checkWidths(where: string, name: string, v: unknown, allowEmpty = true): void {
  if (!Array.isArray(v) || (!allowEmpty && v.length === 0))
    throw new Error(
      `${where}: ${name} must be ${allowEmpty ? 'a list' : 'a non-empty list'} of positive integers, got ${JSON.stringify(v)}`,
    );
  v.forEach((w, i) => checkPositiveInt(where, `${name}[${i}]`, w));
}

export function checkInputShape(where: string, s: unknown): asserts s is [number, number, number] {
  if (!Array.isArray(s) || s.length !== 3) throw new Error(`${where}: inputShape must be [C, H, W], got ${JSON.stringify(s)}`);
  s.forEach((v, i) => checkPositiveInt(where, `inputShape[${i}]`, v));
}

export function checkActivation(where: string, a: unknown): void {
  if (!ACTIVATIONS.includes(a as Activation))
    throw new Error(`${where}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(a)}`);
}

export function checkOneOf<T extends string>(where: string, name: string, v: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(v as T))
    throw new Error(`${where}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
}

export function checkNumber(where: string, name: string, v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): void {
  const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  if (!ok)
    throw new Error(
      `${where}: ${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${JSON.stringify(v)}`,
    );
}

/** Labels for a batch, or a clear error naming the model. */
export function requireLabels(kind: string, y: Int32Array | null | undefined, n: number): Int32Array {
  if (!y) throw new Error(`${kind}: this model needs class labels (batch.y), got none`);
  if (y.length !== n) throw new Error(`${kind}: got ${y.length} labels for a batch of ${n}`);
  return y;
}

export function getOptimizer(kind: string, optimizers: Record<string, OptimizerLike>, role: string): OptimizerLike {
  const o = optimizers[role];
  if (!o)
    throw new Error(
      `${kind}.trainStep: no optimizer for role '${role}' (got ${
        Object.keys(optimizers)
          .map((k) => `'${k}'`)
          .join(', ') || 'none'
      }); create them with model.createOptimizers()`,
    );
  return o;
}

/** Clips the joint gradient norm of params to maxNorm when maxNorm is a positive number. */
export function maybeClip(params: Tensor[], maxNorm: number | undefined): void {
  if (maxNorm !== undefined && maxNorm !== null && Number.isFinite(maxNorm) && maxNorm > 0) clipGradNorm(params, maxNorm);
}

// ---- the base class -----------------------------------------------------------------------------

/**
 * The one-optimizer training step, written once: zero the gradients, compute the objective,
 * backpropagate, clip, step. Everything made during the step is freed by `tidy`; parameters and
 * optimizer state live outside it, so memory stays flat over a run.
 */
export abstract class FamilyBase<C extends ModelConfig = ModelConfig> extends Module implements FamilyModel {
  abstract readonly kind: ModelKind;
  abstract readonly inputLayout: 'flat' | 'image';
  abstract readonly needsLabels: boolean;
  /** Dropout layers (classifiers) draw from the step's generator through this. */
  protected readonly rng = new RngHolder();

  constructor(readonly config: C) {
    super();
  }

  /** The objective and its parts, recording gradients when they are enabled. */
  protected abstract objective(batch: Batch, ctx: StepContext): LossOutput;

  createOptimizers(make: OptimizerFactory): Record<string, OptimizerLike> {
    return { main: make(this.parameters(), 'main') };
  }

  trainStep(batch: Batch, optimizers: Record<string, OptimizerLike>, ctx: StepContext, clipNorm?: number): Record<string, number> {
    const opt = getOptimizer(this.kind, optimizers, 'main');
    return tidy(() => {
      this.rng.generator = ctx.generator;
      opt.zeroGrad();
      const { loss, parts } = this.objective(batch, ctx);
      loss.backward();
      maybeClip(this.parameters(), clipNorm);
      opt.step();
      return parts;
    });
  }

  evaluate(batch: Batch, ctx: StepContext): LossOutput {
    return tidy(() =>
      noGrad(() => {
        this.rng.generator = ctx.generator;
        return this.objective(batch, ctx);
      }),
    );
  }
}

// ---- reconstruction likelihoods ---------------------------------------------------------------

export interface ReconTerm {
  /** Per-sample negative log-likelihood (B), with gradients. */
  perSample: Tensor;
  /** Mean over the batch of perSample: the `recon` part. */
  mean: Tensor;
  /** Per-pixel mean squared error of the decoded probabilities (a plain number, for logs). */
  mse: number;
}

/**
 * −log p(x|z) per sample of a Bernoulli decoder from its logits (B, …), and the mean squared
 * error of its probabilities over all elements (for the log), from one pass over the data.
 */
export function bernoulliTerms(logits: Tensor, target: Tensor): { perSample: Tensor; mse: number } {
  const sq = Tensor.uninit([logits.shape[0]!]);
  const perSample = bceWithLogitsPerSample(logits, target, sq);
  let total = 0;
  for (const v of sq.data) total += v;
  sq.dispose();
  return { perSample, mse: total / logits.size };
}

/**
 * The reconstruction term of an image autoencoder, as a negative log-likelihood per image
 * (nats, summed over pixels — seed 000: the loss is the likelihood's choice):
 *
 *   'bce' (Bernoulli decoder):  −log p(x|z) = Σ_d softplus(ℓ_d) − x_d·ℓ_d   on the logits ℓ,
 *                               the stable form of −Σ_d x_d log x̂_d + (1−x_d) log(1−x̂_d), x̂ = σ(ℓ);
 *   'mse' (Gaussian decoder, fixed variance):  Σ_d (x_d − x̂_d)²  with x̂ = σ(ℓ),
 *                               which is −log N(x; x̂, ½I) up to a constant.
 *
 * `logits` are the decoder's output before its final Sigmoid; `target` has the same shape.
 */
export function reconTerm(logits: Tensor, target: Tensor, loss: 'bce' | 'mse'): ReconTerm {
  let perSample: Tensor;
  let mse: number;
  if (loss === 'bce') {
    // the likelihood and the logged squared error of the probabilities in one pass
    const r = bernoulliTerms(logits, target);
    perSample = r.perSample;
    mse = r.mse;
  } else {
    const d = sub(sigmoid(logits), target);
    const sq = mul(d, d);
    perSample = sumPerSample(sq);
    mse = noGrad(() => mean(sq).item());
  }
  return { perSample, mean: mean(perSample), mse };
}
