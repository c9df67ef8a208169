/**
 * What the Trainer's loop asks of the model side, and its two implementations:
 *
 * - FamilyTask: one of aelab's autoencoder-family models on an image dataset. The model does its
 *   own step (trainStep: forward, backward, its optimizers) and validation objective.
 * - ModuleTask: any Module on a TensorDataset with a loss function (or a step function of
 *   one's own), an optimizer and metrics: the step is zeroGrad → forward → loss → backward →
 *   clip → step.
 *
 * The loop (epochs, validation, logging, callbacks, checkpoints, resume) is the Trainer's and is
 * the same for both.
 */
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { TensorDataset, TensorLoader } from '../data/tensor-dataset.js';
import type { Batch, FamilyModel, OptimizerLike, StepContext } from '../models/types.js';
import { Module } from '../nn/module.js';
import { abs, mean, sub } from '../ops/index.js';
import { clipGradNorm } from '../optim/clip.js';
import { createOptimizer, type AnyOptimizer, type OptimizerName } from '../optim/factory.js';
import { Optimizer } from '../optim/optimizer.js';
import { Generator } from '../tensor/random.js';
import { Tensor, tidy } from '../tensor/tensor.js';

/** The trainer's model side. */
export interface TrainingTask {
  /** Serves the training batches' sample indices (seeded, resumable). */
  readonly loader: DataLoader | TensorLoader;
  /** The optimizers by role ('main'; an AAE adds 'discriminator' and 'generator'). */
  readonly optimizers: Record<string, Optimizer>;
  /** One training step on the training samples `indices` (called inside tidy); the values to log. */
  trainStep(indices: Int32Array, ctx: StepContext, clipNorm: number | null): Record<string, number>;
  /** Mean of every logged value over `data` in eval mode, without gradients. */
  evaluate(data: ImageDataset | TensorDataset, batchSize: number, seed: number, epoch: number): Record<string, number>;
  /** safetensors header metadata for checkpoints. */
  checkpointMetadata(): Record<string, string>;
  /** How messages name the remedies and how to resume (CLI flags or fit options). */
  readonly remedies: { clip: string; optimizer: string; resume: string };
}

/** Sums of per-batch means weighted by batch size, divided at the end. */
class Means {
  private readonly sums: Record<string, number> = {};
  private n = 0;
  add(values: Record<string, number>, size: number): void {
    for (const [k, v] of Object.entries(values)) this.sums[k] = (this.sums[k] ?? 0) + v * size;
    this.n += size;
  }
  result(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.sums)) out[k] = v / Math.max(this.n, 1);
    return out;
  }
}

// ---- the autoencoder family ------------------------------------------------------------------

export class FamilyTask implements TrainingTask {
  readonly loader: DataLoader;
  readonly optimizers: Record<string, Optimizer> = {};
  readonly remedies = { clip: '--clip-norm 1', optimizer: '--optimizer adam', resume: '--resume' };

  constructor(
    readonly model: FamilyModel,
    readonly train: ImageDataset,
    config: { batchSize: number; seed: number; optimizer: OptimizerName; lr: number; weightDecay: number },
  ) {
    if (model.needsLabels && !train.labels)
      throw new Error(`model '${model.kind}' needs class labels, but dataset '${train.name}' has none`);
    this.loader = new DataLoader(train, { batchSize: config.batchSize, shuffle: true, seed: config.seed });
    // The model asks for its optimizers through a factory typed with what models need; the
    // trainer keeps the full optimizers it made (state dicts, param groups for schedules).
    const made: AnyOptimizer[] = [];
    const make = (params: Tensor[]): OptimizerLike => {
      const o = createOptimizer(config.optimizer, params, { lr: config.lr, weightDecay: config.weightDecay });
      made.push(o);
      return o;
    };
    for (const [role, o] of Object.entries(model.createOptimizers(make))) {
      const own = made.find((m) => m === o);
      if (!own) throw new Error(`model '${model.kind}': optimizer '${role}' was not made by the trainer's factory`);
      this.optimizers[role] = own;
    }
  }

  /**
   * The samples `indices` of `loader` as a model batch: gathered straight into a new tensor's
   * storage (no intermediate array), shaped as the model wants it. Call inside tidy.
   */
  private batchOf(loader: DataLoader, indices: Int32Array): Batch {
    const d = loader.dataset;
    const size = indices.length;
    const shape = this.model.inputLayout === 'image' ? [size, d.channels, d.height, d.width] : [size, d.channels * d.height * d.width];
    const x = Tensor.uninit(shape);
    const y = loader.gatherToBackend(indices, x.data);
    return { x, y };
  }

  trainStep(indices: Int32Array, ctx: StepContext, clipNorm: number | null): Record<string, number> {
    return this.model.trainStep(this.batchOf(this.loader, indices), this.optimizers, ctx, clipNorm ?? undefined);
  }

  evaluate(data: ImageDataset | TensorDataset, batchSize: number, seed: number, epoch: number): Record<string, number> {
    if (data instanceof TensorDataset)
      throw new Error(`Trainer.evaluate: model '${this.model.kind}' is evaluated on an image dataset, not a TensorDataset`);
    const loader = new DataLoader(data, { batchSize, shuffle: false });
    const means = new Means();
    this.model.eval();
    const ctx = { generator: new Generator(seed + 7), epoch };
    try {
      noGrad(() => {
        for (let idx = loader.nextIndices(); idx !== null; idx = loader.nextIndices()) {
          const indices = idx;
          tidy(() => {
            const out = this.model.evaluate(this.batchOf(loader, indices), ctx);
            means.add({ loss: out.loss.item(), ...out.parts }, indices.length);
          });
        }
      });
    } finally {
      this.model.train();
    }
    return means.result();
  }

  checkpointMetadata(): Record<string, string> {
    return { kind: this.model.kind, config: JSON.stringify(this.model.config) };
  }
}

// ---- any Module ------------------------------------------------------------------------------

/** One batch of a TensorDataset as the step function gets it. */
export interface TensorBatch {
  /** The dataset's first tensor's rows (the input). */
  x: Tensor;
  /** The second tensor's rows (the target), or null for a one-tensor dataset. */
  y: Tensor | null;
  /** Every tensor's rows, in dataset order. */
  tensors: Tensor[];
}

/** What a step function returns: the loss alone, or the loss with values to log and the output for metrics. */
export type StepResult = Tensor | { loss: Tensor; logs?: Record<string, number>; output?: Tensor; target?: Tensor };

/** A training/validation step of your own (Lightning's training_step): the scalar loss of a batch. */
export type StepFn = (batch: TensorBatch, ctx: StepContext) => StepResult;

/** A loss of the model's output and the target, reduced to a scalar (losses.mse, losses.crossEntropy, …). */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** A metric of a batch's output and target: a number or a one-element tensor, averaged over samples. */
export type MetricFn = (output: Tensor, target: Tensor) => number | Tensor;

export type BuiltinMetric = 'mse' | 'mae' | 'accuracy';

/** Metrics by name: built-ins by their names, or your own functions. */
export type Metrics = BuiltinMetric[] | Record<string, MetricFn | BuiltinMetric>;

/**
 * Accuracy of class scores (N, C) against class indices (N) or one-hot / probability rows (N, C):
 * the fraction of rows whose largest score is the target class.
 */
export function accuracy(output: Tensor, target: Tensor): number {
  if (output.ndim !== 2) throw new Error(`accuracy: expected class scores (N, C), got [${output.shape.join(', ')}]`);
  const [n, c] = output.shape as [number, number];
  const o = output.data;
  const t = target.data;
  const argmax = (a: Float32Array, row: number): number => {
    let best = 0;
    for (let j = 1; j < c; j++) if (a[row * c + j]! > a[row * c + best]!) best = j;
    return best;
  };
  const oneHot = target.ndim === 2 && target.shape[1] === c;
  if (!oneHot && target.size !== n)
    throw new Error(`accuracy: target [${target.shape.join(', ')}] is neither (N) class indices nor (N, ${c}) rows`);
  let right = 0;
  for (let i = 0; i < n; i++) if (argmax(o, i) === (oneHot ? argmax(t, i) : t[i])) right++;
  return right / Math.max(n, 1);
}

const BUILTIN_METRICS: Record<BuiltinMetric, MetricFn> = {
  mse: (o, t) => mean(sub(o, t).square()),
  mae: (o, t) => mean(abs(sub(o, t))),
  accuracy,
};

function resolveMetrics(metrics: Metrics | undefined): [string, MetricFn][] {
  if (metrics === undefined) return [];
  const entries: [string, MetricFn | BuiltinMetric][] = Array.isArray(metrics) ? metrics.map((m) => [m, m]) : Object.entries(metrics);
  return entries.map(([name, m]) => {
    if (name === 'loss') throw new Error("Trainer: a metric cannot be named 'loss'");
    if (typeof m === 'function') return [name, m];
    const fn = BUILTIN_METRICS[m];
    if (!fn)
      throw new Error(
        `Trainer: unknown metric ${JSON.stringify(m)} (built in: ${Object.keys(BUILTIN_METRICS).join(', ')}; or pass a function)`,
      );
    return [name, fn];
  });
}

export interface ModuleTaskOptions {
  data: TensorDataset;
  loss: LossFn | undefined;
  step: StepFn | undefined;
  optimizer: Optimizer | OptimizerName;
  metrics: Metrics | undefined;
  shuffle: boolean;
  metadata: Record<string, string>;
}

export class ModuleTask implements TrainingTask {
  readonly loader: TensorLoader;
  readonly optimizers: Record<string, Optimizer>;
  readonly remedies = { clip: 'clipNorm: 1', optimizer: "optimizer: 'adam'", resume: 'trainer.resume(runDir)' };
  private readonly metrics: [string, MetricFn][];
  private readonly forward: (x: Tensor) => unknown;

  constructor(
    readonly model: Module,
    private readonly opts: ModuleTaskOptions,
    config: { batchSize: number; seed: number; lr: number; weightDecay: number },
  ) {
    const { data } = opts;
    if (opts.step === undefined && data.tensors.length > 2)
      throw new Error(
        `Trainer: the data has ${data.tensors.length} tensors per sample; with more than (input, target) give a step function that uses them`,
      );
    this.forward = model.forward.bind(model) as (x: Tensor) => unknown;
    this.metrics = resolveMetrics(opts.metrics);
    this.loader = new TensorLoader(data, { batchSize: config.batchSize, shuffle: opts.shuffle, seed: config.seed });
    const params = model.parameters();
    if (params.length === 0)
      throw new Error(
        `Trainer: ${model.typeName} has no parameters to train. Layers must be fields of the module (conv1 = new nn.Conv2d(…)), ` +
          'registered with registerModule, or inside an nn.Sequential / nn.ModuleList',
      );
    let optimizer: Optimizer;
    if (opts.optimizer instanceof Optimizer) {
      optimizer = opts.optimizer;
      const own = new Set(params);
      if (!optimizer.parameters().some((p) => own.has(p)))
        throw new Error(
          `Trainer: the optimizer (${optimizer.name}) updates none of ${model.typeName}'s parameters; was it built over another model's?`,
        );
    } else optimizer = createOptimizer(opts.optimizer, params, { lr: config.lr, weightDecay: config.weightDecay });
    this.optimizers = { main: optimizer };
  }

  private batch(tensors: Tensor[]): TensorBatch {
    return { x: tensors[0]!, y: tensors[1] ?? null, tensors };
  }

  /** The loss and values to log for a batch: the step function's, or loss(forward(x), target ?? x) plus metrics. */
  private objective(batch: TensorBatch, ctx: StepContext): { loss: Tensor; logs: Record<string, number> } {
    let loss: Tensor;
    let logs: Record<string, number> = {};
    let output: Tensor | undefined;
    let target: Tensor | undefined;
    if (this.opts.step) {
      const r = this.opts.step(batch, ctx);
      if (r instanceof Tensor) loss = r;
      else if (r && r.loss instanceof Tensor) ({ loss, logs = {}, output, target } = r);
      else throw new Error('Trainer: the step function must return the loss tensor, or { loss, logs?, output?, target? }');
    } else {
      const out = this.forward(batch.x);
      if (!(out instanceof Tensor))
        throw new Error(
          `Trainer: ${this.model.typeName}.forward returned ${out === null ? 'null' : typeof out === 'object' ? 'an object' : typeof out}, not a Tensor; ` +
            'for a model with several outputs give a step function ({ step: (batch, ctx) => loss })',
        );
      output = out;
      // a one-tensor dataset trains an autoencoder: the input is the target
      target = batch.y ?? batch.x;
      loss = this.opts.loss!(out, target);
    }
    if (!(loss instanceof Tensor) || loss.size !== 1)
      throw new Error(
        `Trainer: the loss must be a one-element tensor, got ${loss instanceof Tensor ? `shape [${loss.shape.join(', ')}]` : typeof loss} ` +
          "(reduce it, e.g. with reduction 'mean')",
      );
    const values: Record<string, number> = { loss: loss.item(), ...logs };
    if (this.metrics.length) {
      if (!output || !target)
        throw new Error('Trainer: metrics need the output and target: return { loss, output, target } from the step function');
      const o = output;
      const t = target;
      noGrad(() => {
        for (const [name, fn] of this.metrics) {
          const m = fn(o, t);
          values[name] = m instanceof Tensor ? m.item() : m;
        }
      });
    }
    return { loss, logs: values };
  }

  trainStep(indices: Int32Array, ctx: StepContext, clipNorm: number | null): Record<string, number> {
    const batch = this.batch(this.opts.data.gather(indices));
    const opts = Object.values(this.optimizers);
    for (const o of opts) o.zeroGrad();
    const { loss, logs } = this.objective(batch, ctx);
    loss.backward();
    if (clipNorm !== null) clipGradNorm(this.model.parameters(), clipNorm);
    for (const o of opts) o.step();
    return logs;
  }

  evaluate(data: ImageDataset | TensorDataset, batchSize: number, seed: number, epoch: number): Record<string, number> {
    if (!(data instanceof TensorDataset)) throw new Error(`Trainer.evaluate: ${this.model.typeName} is evaluated on a TensorDataset`);
    const loader = new TensorLoader(data, { batchSize, shuffle: false });
    const means = new Means();
    const ctx = { generator: new Generator(seed + 7), epoch };
    this.model.eval();
    try {
      noGrad(() => {
        for (let idx = loader.nextIndices(); idx !== null; idx = loader.nextIndices()) {
          const indices = idx;
          tidy(() => means.add(this.objective(this.batch(data.gather(indices)), ctx).logs, indices.length));
        }
      });
    } finally {
      this.model.train();
    }
    return means.result();
  }

  checkpointMetadata(): Record<string, string> {
    return { kind: 'module', module: this.model.typeName, ...this.opts.metadata };
  }
}

/** Whether a module is one of the autoencoder family's models (it trains itself step by step). */
export function isFamilyModel(m: Module): m is FamilyModel {
  return m instanceof Module && ['trainStep', 'createOptimizers', 'evaluate'].every((k) => typeof Reflect.get(m, k) === 'function');
}
