/**
 * Trainer: epochs over a data loader with validation each epoch, LR schedules, gradient
 * clipping, early stopping, a JSON-lines metrics log, checkpoints (last and best) each epoch,
 * callbacks, exact resume, a clean stop on request (Ctrl-C), and a stop on a non-finite loss
 * that keeps the last good checkpoint. Two kinds of model share the loop:
 *
 *   new Trainer(familyModel, imageDataset, valDataset, config, options)   // aelab's AE family
 *   new Trainer(anyModule, { data: new TensorDataset(x, y), loss, optimizer, epochs, … })
 *
 * The second is a fit loop in the manner of Keras' `fit` and Lightning's Trainer: any Module,
 * a loss (or a step function of one's own), an optimizer, metrics, validation data and
 * callbacks (EarlyStopping, ModelCheckpoint, ProgressBar or your own).
 *
 * The loop reads and writes files only through a RunStorage (storage.ts), so it runs in a browser
 * with checkpoints in memory; trainer-node.ts is the same loop on the file system.
 *
 * Exact resume: a checkpoint holds the weights, the optimizer and scheduler states, the data
 * loader's position and generator, the step generator, the default generator and the callbacks'
 * states. Resuming rebuilds everything from them, so the remaining steps are the same bit for bit.
 *
 * Over 600 lines on purpose: the loop's named steps (fit → trainEpoch → trainStep → endEpoch →
 * finish) and the resume state they share read best together; callbacks, progress and the
 * family models' tasks live in their own files.
 */
import type { ImageDataset } from '../data/dataset.js';
import type { DataLoader, DataLoaderState } from '../data/loader.js';
import { TensorDataset, type TensorLoader } from '../data/tensor-dataset.js';
import type { FamilyModel, StepContext } from '../models/types.js';
import type { Module } from '../nn/module.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../optim/factory.js';
import { Optimizer, type OptimizerStateDict } from '../optim/optimizer.js';
import {
  CosineAnnealingLR,
  ExponentialLR,
  ReduceLROnPlateau,
  StepLR,
  type ReduceLROnPlateauStateDict,
  type SchedulerStateDict,
} from '../optim/schedulers.js';
import { defaultGenerator, Generator, type GeneratorState } from '../tensor/random.js';
import { tidy } from '../tensor/tensor.js';
import type { Callback, StepInfo } from './callbacks.js';
import { decodeCheckpoint, encodeCheckpoint, toJson } from './checkpoint.js';
import { MemoryStorage, type RunStorage } from './storage.js';
import { FamilyTask, isFamilyModel, ModuleTask, type LossFn, type Metrics, type StepFn, type TrainingTask } from './tasks.js';

export type ScheduleName = 'none' | 'step' | 'exponential' | 'cosine' | 'plateau';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerName;
  weightDecay: number;
  seed: number;
  schedule: ScheduleName;
  /** Clip the global gradient norm to this value (null: no clipping). */
  clipNorm: number | null;
  /** Stop after this many epochs without a validation improvement (null: never). */
  earlyStopping: number | null;
}

export const defaultTrainConfig: TrainConfig = {
  epochs: 10,
  batchSize: 128,
  lr: 1e-3,
  optimizer: 'adam',
  weightDecay: 0,
  seed: 0,
  schedule: 'none',
  clipNorm: null,
  earlyStopping: null,
};

export interface EpochRecord {
  epoch: number;
  step: number;
  lr: number;
  seconds: number;
  samplesPerSec: number;
  train: Record<string, number>;
  val: Record<string, number>;
}

export interface ProgressReporter {
  epochStart(epoch: number, epochs: number, steps: number): void;
  step(step: number, parts: Record<string, number>, samplesPerSec: number): void;
  epochEnd(rec: EpochRecord, best: boolean): void;
  message(text: string): void;
}

export interface TrainerOptions {
  /** Run folder for metrics.jsonl and checkpoints, in `storage` (none: nothing is written; the history stays in `trainer.history`). */
  runDir?: string;
  /**
   * Where runDir and checkpoints live: the file system by default in Node (the `aelab` entry),
   * a MemoryStorage of this trainer's own in a browser (the `aelab/browser` entry).
   */
  storage?: RunStorage;
  reporter?: ProgressReporter;
  /** Extra JSON written to state.json for the caller (e.g. the CLI's data spec). */
  meta?: Record<string, unknown>;
}

/**
 * The fit loop for any Module: the data, what to minimise and how, and the TrainConfig fields
 * (epochs, batchSize, lr, seed, schedule, clipNorm, earlyStopping; defaults as defaultTrainConfig).
 */
export interface FitOptions extends Partial<Omit<TrainConfig, 'optimizer'>>, TrainerOptions {
  /** The training samples: new TensorDataset(x) trains an autoencoder (x is the target), (x, y) a mapping x → y. */
  data: TensorDataset;
  /** Validation samples, evaluated after every epoch (val_loss and val_<metric> in the logs). */
  validationData?: TensorDataset | null;
  /** The loss of forward(x) against the target, reduced to a scalar (losses.mse, losses.crossEntropy, …). */
  loss?: LossFn;
  /**
   * Instead of `loss`: a step of your own from a batch to the loss (models with several outputs,
   * such as a VAE's reconstruction and KL terms). Used for validation too, in eval mode without gradients.
   */
  step?: StepFn;
  /** An optimizer over the model's parameters, or a name ('adam', 'sgd', …) made with lr and weightDecay (default 'adam'). */
  optimizer?: Optimizer | OptimizerName;
  /** Logged each step and epoch: ['mae', 'accuracy'] or { name: (output, target) => number | Tensor }. */
  metrics?: Metrics;
  callbacks?: Callback[];
  /** Reshuffle the training data every epoch (default true). */
  shuffle?: boolean;
  /** Batch size of the validation passes (default: batchSize). */
  validationBatchSize?: number;
  /** Strings saved in the checkpoints' safetensors header (e.g. your model's config as JSON). */
  metadata?: Record<string, string>;
}

const FIT_OPTION_KEYS = [
  'data', 'validationData', 'loss', 'step', 'optimizer', 'metrics', 'callbacks', 'shuffle', 'validationBatchSize', 'metadata',
  'runDir', 'storage', 'reporter', 'meta', ...Object.keys(defaultTrainConfig),
];

export type StopReason = 'completed' | 'early-stopping' | 'interrupted';

export interface FitResult {
  reason: StopReason;
  epochsCompleted: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValLoss: number;
}

export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

type Scheduler = StepLR | ExponentialLR | CosineAnnealingLR | ReduceLROnPlateau;

/** The optimizer and scheduler states as saved in a checkpoint's optimizer.json. */
interface OptimizerCheckpoint {
  optimizers: Record<string, OptimizerStateDict>;
  scheduler: SchedulerStateDict | ReduceLROnPlateauStateDict | null;
}

/** The trainer's counters and random states as saved in a checkpoint's state.json. */
interface TrainerState {
  epoch: number;
  step: number;
  bestValLoss: number;
  bestEpoch: number;
  badEpochs: number;
  loader: DataLoaderState;
  generator: GeneratorState;
  defaultGenerator?: GeneratorState;
  callbacks?: { type: string; state: unknown }[];
}

/** The number the trainer treats as "the loss" in a parts record. */
function lossOf(parts: Record<string, number>): number {
  if ('loss' in parts) return parts.loss!;
  const first = Object.values(parts)[0];
  return first ?? NaN;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Resolves after pending events had their turn: setImmediate in Node; elsewhere a message to
 * oneself, which (unlike setTimeout(0), clamped to 4 ms once nested) adds no delay.
 */
function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise<void>((r) => setImmediate(r));
  return new Promise<void>((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(null);
  });
}

/** Awaits a hook's result only when it is a promise (a plain hook costs no extra turn). */
async function settle(r: void | Promise<void>): Promise<void> {
  if (r instanceof Promise) await r;
}

export class Trainer {
  readonly model: Module;
  readonly train: ImageDataset | TensorDataset;
  readonly val: ImageDataset | TensorDataset | null;
  readonly config: TrainConfig;
  readonly options: TrainerOptions;
  readonly optimizers: Record<string, Optimizer>;
  readonly loader: DataLoader | TensorLoader;
  readonly generator: Generator;
  readonly callbacks: Callback[];
  /** Where the metrics log and checkpoints are written and read (TrainerOptions.storage). */
  readonly storage: RunStorage;
  scheduler: Scheduler | null = null;
  history: EpochRecord[] = [];
  epoch = 0;
  step = 0;
  bestValLoss = Infinity;
  bestEpoch = -1;
  badEpochs = 0;
  private stopReason: StopReason | null = null;
  private readonly task: TrainingTask;
  private readonly validationBatchSize: number;

  /** Trains one of aelab's autoencoder-family models on an image dataset (what `aelab train` runs). */
  constructor(model: FamilyModel, train: ImageDataset, val: ImageDataset | null, config: TrainConfig, options?: TrainerOptions);
  /** Trains any Module on a TensorDataset: the fit loop (see FitOptions). */
  constructor(model: Module, options: FitOptions);
  constructor(
    model: Module,
    trainOrFit: ImageDataset | FitOptions,
    val: ImageDataset | null = null,
    config?: TrainConfig,
    options: TrainerOptions = {},
  ) {
    this.model = model;
    if (isFitOptions(trainOrFit)) {
      const fit = checkFitOptions(model, trainOrFit, config);
      const { data, validationData, loss, step, optimizer, metrics, callbacks, shuffle, validationBatchSize, metadata, runDir, storage, reporter, meta, ...rest } = fit;
      const optimizerName: OptimizerName = optimizer instanceof Optimizer ? optimizerNameOf(optimizer) : (optimizer ?? defaultTrainConfig.optimizer);
      this.config = { ...defaultTrainConfig, ...rest, optimizer: optimizerName };
      this.options = {
        ...(runDir !== undefined && { runDir }),
        ...(storage !== undefined && { storage }),
        ...(reporter !== undefined && { reporter }),
        ...(meta !== undefined && { meta }),
      };
      this.train = data;
      this.val = validationData ?? null;
      this.callbacks = callbacks ?? [];
      validateConfig(this.config);
      if (validationBatchSize !== undefined && !(Number.isInteger(validationBatchSize) && validationBatchSize > 0))
        throw new Error(`Trainer: validationBatchSize must be a positive integer, got ${validationBatchSize}`);
      this.validationBatchSize = validationBatchSize ?? this.config.batchSize;
      this.generator = new Generator(this.config.seed + 1);
      this.task = new ModuleTask(
        model,
        { data, loss, step, optimizer: optimizer ?? optimizerName, metrics, shuffle: shuffle ?? true, metadata: metadata ?? {} },
        this.config,
      );
    } else {
      if (!isFamilyModel(model)) throw notFamily(model, trainOrFit);
      if (!config) throw new Error('Trainer: give the training config after the validation data: new Trainer(model, train, val, config)');
      this.config = config;
      this.options = options;
      this.train = trainOrFit;
      this.val = val;
      this.callbacks = [];
      this.validationBatchSize = 500;
      validateConfig(config);
      this.generator = new Generator(config.seed + 1);
      this.task = new FamilyTask(model, trainOrFit, config);
    }
    this.storage = this.options.storage ?? this.defaultStorage();
    this.loader = this.task.loader;
    this.optimizers = this.task.optimizers;
    this.scheduler = makeScheduler(this.config, this.mainOptimizer);
  }

  /** The storage used when the options give none: memory here; the file system in Node's Trainer (trainer-node.ts). */
  protected defaultStorage(): RunStorage {
    return new MemoryStorage();
  }

  /** The optimizer the schedule and the logged lr follow ('main', else the first). */
  private get mainOptimizer(): Optimizer {
    return (this.optimizers.main ?? Object.values(this.optimizers)[0])!;
  }

  /**
   * Asks the loop to stop: 'interrupted' (e.g. Ctrl-C) saves a checkpoint and stops after the
   * current step; a callback's 'early-stopping' stops at the end of the current epoch.
   */
  requestStop(reason: StopReason = 'interrupted'): void {
    this.stopReason = reason;
  }

  get lr(): number {
    return this.mainOptimizer.lr;
  }

  /** A message for the user (early stopping, interruption): to the reporter and the callbacks' onMessage. */
  log(text: string): void {
    this.options.reporter?.message(text);
    for (const c of this.callbacks) void c.onMessage?.(text, this);
  }

  /** Mean of every logged value over a dataset, evaluated in eval mode without gradients. */
  evaluate(ds: ImageDataset | TensorDataset, batchSize = this.validationBatchSize): Record<string, number> {
    return this.task.evaluate(ds, batchSize, this.config.seed, this.epoch);
  }

  private metricsPath(): string | null {
    return this.options.runDir ? this.storage.join(this.options.runDir, 'metrics.jsonl') : null;
  }

  private checkpointDir(which: 'last' | 'best'): string | null {
    return this.options.runDir ? this.storage.join(this.options.runDir, 'checkpoints', which) : null;
  }

  private snapshotState(): Record<string, unknown> {
    const state: Record<string, unknown> = {
      epoch: this.epoch,
      step: this.step,
      bestValLoss: this.bestValLoss,
      bestEpoch: this.bestEpoch,
      badEpochs: this.badEpochs,
      loader: this.loader.state(),
      generator: this.generator.getState(),
      defaultGenerator: defaultGenerator.getState(),
      config: this.config,
      ...this.options.meta,
    };
    const cbs = this.callbacks.map((c) => ({ type: c.constructor.name, state: c.stateDict ? c.stateDict() : null }));
    if (cbs.some((c) => c.state !== null)) state.callbacks = cbs;
    return state;
  }

  private optimizerState(): OptimizerCheckpoint {
    const optimizers: Record<string, OptimizerStateDict> = {};
    for (const [k, o] of Object.entries(this.optimizers)) optimizers[k] = o.stateDict({ typed: true });
    return { optimizers, scheduler: this.scheduler ? this.scheduler.stateDict() : null };
  }

  /**
   * Writes a full checkpoint folder (weights, optimizers and schedule, loader and generator
   * states, callbacks) into the storage, that resumeFrom continues exactly.
   */
  saveCheckpoint(dir: string): void {
    const files = encodeCheckpoint({
      model: this.model,
      optimizer: this.optimizerState(),
      state: this.snapshotState(),
      metadata: this.task.checkpointMetadata(),
    });
    this.storage.writeCheckpoint(dir, files);
  }

  private save(which: 'last' | 'best'): void {
    const dir = this.checkpointDir(which);
    if (dir) this.saveCheckpoint(dir);
  }

  /** Restores weights, optimizers, scheduler, loader, generators and counters from a run folder's last checkpoint. */
  resume(runDir: string): void {
    this.resumeFrom(this.storage.join(runDir, 'checkpoints', 'last'));
    const mp = this.storage.join(runDir, 'metrics.jsonl');
    const text = this.storage.readText(mp);
    if (text !== null) {
      const lines = text.split('\n').filter((l) => l.trim());
      this.history = lines.map((l) => JSON.parse(l) as EpochRecord).filter((r) => r.epoch < this.epoch);
      // drop lines written after the checkpoint (a crash between the two writes)
      this.storage.writeText(mp, this.history.map((r) => JSON.stringify(r) + '\n').join(''));
    }
  }

  /** Restores everything from one checkpoint folder (e.g. a ModelCheckpoint's `last` or `best`). */
  resumeFrom(dir: string): void {
    const { optimizer, state } = decodeCheckpoint(this.storage.readCheckpoint(dir), this.model, this.storage);
    const opt = readOptimizerCheckpoint(optimizer);
    for (const [k, o] of Object.entries(this.optimizers)) {
      const sd = opt?.optimizers[k];
      if (!sd) throw new Error(`${dir}: the checkpoint has no state for optimizer '${k}'`);
      o.loadStateDict(sd);
    }
    if (this.scheduler && opt?.scheduler) {
      if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.loadStateDict(opt.scheduler as ReduceLROnPlateauStateDict);
      else this.scheduler.loadStateDict(opt.scheduler as SchedulerStateDict);
    }
    const s = readTrainerState(state, dir);
    this.epoch = s.epoch;
    this.step = s.step;
    this.bestValLoss = s.bestValLoss;
    this.bestEpoch = s.bestEpoch;
    this.badEpochs = s.badEpochs;
    this.loader.loadState(s.loader);
    this.generator.setState(s.generator);
    if (s.defaultGenerator) defaultGenerator.setState(s.defaultGenerator);
    this.restoreCallbacks(s.callbacks, dir);
  }

  private restoreCallbacks(saved: TrainerState['callbacks'], dir: string): void {
    if (!saved) return;
    saved.forEach((entry, i) => {
      if (entry.state === null) return;
      const cb = this.callbacks[i];
      if (!cb || cb.constructor.name !== entry.type || !cb.loadStateDict)
        throw new Error(
          `${dir}: the checkpoint has the state of callback ${i} (${entry.type}), but this trainer's callback ${i} is ` +
            `${cb ? cb.constructor.name : 'missing'}; give the same callbacks in the same order to resume`,
        );
      cb.loadStateDict(entry.state);
    });
  }

  // ---- the loop --------------------------------------------------------------------------------

  /** Trains until the configured epochs are done, early stopping triggers, or a stop is requested. */
  async fit(): Promise<FitResult> {
    if (this.options.runDir) this.storage.makeDir(this.options.runDir);
    this.stopReason = null;
    this.model.train();
    for (const c of this.callbacks) await settle(c.onTrainBegin?.(this));
    let reason: StopReason = 'completed';
    while (this.epoch < this.config.epochs) {
      const t0 = performance.now();
      const epochTrain = await this.trainEpoch(t0);
      if (epochTrain === null) return this.finish('interrupted');
      const stop = await this.endEpoch(epochTrain, t0);
      if (stop !== null) {
        reason = stop;
        break;
      }
    }
    return this.finish(reason);
  }

  /**
   * One pass over the training data. Returns the epoch's mean of every logged value and the
   * number of samples seen, or null when a stop was requested mid-epoch (a checkpoint is saved).
   */
  private async trainEpoch(t0: number): Promise<{ train: Record<string, number>; seen: number } | null> {
    const steps = this.loader.length;
    this.options.reporter?.epochStart(this.epoch, this.config.epochs, steps);
    for (const c of this.callbacks) await settle(c.onEpochBegin?.(this.epoch, this));
    const sums: Record<string, number> = {};
    let seen = 0;
    let batch = 0;
    for (let idx = this.loader.nextIndices(); idx !== null; idx = this.loader.nextIndices()) {
      const size = idx.length;
      const parts = this.trainStep(idx);
      for (const [k, v] of Object.entries(parts)) sums[k] = (sums[k] ?? 0) + v * size;
      seen += size;
      this.step++;
      const sps = seen / ((performance.now() - t0) / 1000);
      this.options.reporter?.step(this.step, parts, sps);
      if (this.callbacks.length) {
        const info: StepInfo = { epoch: this.epoch, step: this.step, batch, batches: steps, size, logs: parts, samplesPerSec: sps };
        for (const c of this.callbacks) await settle(c.onStep?.(info, this));
      }
      batch++;
      // let signals (Ctrl-C), timers and messages run between steps
      await nextTurn();
      if (this.stopReason === 'interrupted') {
        this.save('last');
        this.log(`stopped at epoch ${this.epoch + 1}, step ${this.step}; ${this.options.runDir ? 'checkpoint saved' : 'nothing saved (no runDir)'} — continue with ${this.task.remedies.resume}`);
        return null;
      }
    }
    const train: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) train[k] = v / Math.max(seen, 1);
    return { train, seen };
  }

  /** One optimizer step on a batch; a non-finite logged value stops training with advice. */
  private trainStep(indices: Int32Array): Record<string, number> {
    const ctx: StepContext = { generator: this.generator, epoch: this.epoch };
    const parts = tidy(() => this.task.trainStep(indices, ctx, this.config.clipNorm));
    for (const [k, v] of Object.entries(parts)) if (!Number.isFinite(v)) throw this.diverged(k, v);
    return parts;
  }

  private diverged(name: string, value: number): NonFiniteLossError {
    const where = this.options.runDir ? ` The last good checkpoint is kept in ${this.storage.join(this.options.runDir, 'checkpoints', 'last')}.` : '';
    const { clip, optimizer } = this.task.remedies;
    return new NonFiniteLossError(
      `training diverged: '${name}' became ${value} at epoch ${this.epoch + 1}, step ${this.step + 1}.${where} ` +
        `Try a smaller learning rate (now ${this.lr}), gradient clipping (${clip}), or another optimizer (${optimizer}).`,
      this.epoch,
      this.step,
    );
  }

  /**
   * The end of an epoch: validation, the record and metrics log, best-epoch tracking, the
   * schedule, callbacks, checkpoints, the reporter. Returns why training stops now, or null.
   */
  private async endEpoch({ train, seen }: { train: Record<string, number>; seen: number }, t0: number): Promise<StopReason | null> {
    const seconds = (performance.now() - t0) / 1000;
    const val = this.val ? this.evaluate(this.val) : {};
    const valLoss = this.val ? lossOf(val) : lossOf(train);
    const rec: EpochRecord = { epoch: this.epoch, step: this.step, lr: this.lr, seconds, samplesPerSec: seen / seconds, train, val };
    this.history.push(rec);
    const mp = this.metricsPath();
    if (mp) this.storage.appendText(mp, JSON.stringify(rec) + '\n');
    const improved = valLoss < this.bestValLoss - 1e-12;
    if (improved) {
      this.bestValLoss = valLoss;
      this.bestEpoch = this.epoch;
      this.badEpochs = 0;
    } else this.badEpochs++;
    if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.step(valLoss);
    else this.scheduler?.step();
    this.epoch++;
    const logs = epochLogs(rec);
    for (const c of this.callbacks) await settle(c.onEpochEnd?.(rec.epoch, logs, this));
    this.save('last');
    if (improved) this.save('best');
    for (const c of this.callbacks) await settle(c.onCheckpoint?.(rec.epoch, logs, this));
    this.options.reporter?.epochEnd(rec, improved);
    if (this.config.earlyStopping !== null && this.badEpochs >= this.config.earlyStopping) {
      this.log(`early stopping: no validation improvement for ${this.badEpochs} epochs (best epoch ${this.bestEpoch + 1})`);
      return 'early-stopping';
    }
    return this.stopReason;
  }

  private async finish(reason: StopReason): Promise<FitResult> {
    const result: FitResult = { reason, epochsCompleted: this.epoch, history: this.history, bestEpoch: this.bestEpoch, bestValLoss: this.bestValLoss };
    for (const c of this.callbacks) await settle(c.onTrainEnd?.(result, this));
    return result;
  }
}

/** Keras-style epoch logs: the training values by name, validation ones as val_<name>, and lr. */
function epochLogs(rec: EpochRecord): Record<string, number> {
  const logs: Record<string, number> = { ...rec.train };
  for (const [k, v] of Object.entries(rec.val)) logs[`val_${k}`] = v;
  logs.lr = rec.lr;
  return logs;
}

function makeScheduler(config: TrainConfig, main: Optimizer): Scheduler | null {
  switch (config.schedule) {
    case 'step':
      return new StepLR(main, { stepSize: Math.max(1, Math.round(config.epochs / 3)), gamma: 0.3 });
    case 'exponential':
      return new ExponentialLR(main, { gamma: 0.9 });
    case 'cosine':
      return new CosineAnnealingLR(main, { tMax: config.epochs, etaMin: 0 });
    case 'plateau':
      return new ReduceLROnPlateau(main, { factor: 0.5, patience: 2 });
    case 'none':
      return null;
  }
}

function isFitOptions(v: unknown): v is FitOptions {
  return isRecord(v) && 'data' in v;
}

/** The error for `new Trainer(module, …)` with a module the family signature cannot train. */
function notFamily(model: Module, second: unknown): Error {
  const got = second instanceof TensorDataset ? 'a TensorDataset as its second argument' : `${model.typeName}, which is not one of aelab's family models`;
  return new TypeError(
    `Trainer: got ${got}. To train your own Module pass the fit options: ` +
      'new Trainer(model, { data: new TensorDataset(x, y), loss: losses.mse, optimizer: "adam", epochs: 10 })',
  );
}

function optimizerNameOf(o: Optimizer): OptimizerName {
  const n = o.name.toLowerCase();
  return (OPTIMIZER_NAMES as readonly string[]).includes(n) ? (n as OptimizerName) : defaultTrainConfig.optimizer;
}

/** Checks the fit options a TypeScript compiler cannot (JavaScript callers, typos, contradictions). */
function checkFitOptions(model: Module, o: FitOptions, extra: unknown): FitOptions {
  if (extra !== undefined) throw new TypeError('Trainer: with fit options, give them all in the second argument: new Trainer(model, { data, loss, … })');
  if (typeof (model as { forward?: unknown })?.forward !== 'function' || typeof model.parameters !== 'function')
    throw new TypeError(`Trainer: the model must be an nn.Module, got ${model === null ? 'null' : typeof model}`);
  const unknown = Object.keys(o).filter((k) => !FIT_OPTION_KEYS.includes(k));
  if (unknown.length) throw new TypeError(`Trainer: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${FIT_OPTION_KEYS.join(', ')})`);
  if (!(o.data instanceof TensorDataset))
    throw new TypeError('Trainer: data must be a TensorDataset (new TensorDataset(x) or new TensorDataset(x, y); TensorDataset.fromImages(ds) for an image dataset)');
  if (o.data.length === 0) throw new Error('Trainer: the training data has no samples');
  if (o.validationData != null) {
    if (!(o.validationData instanceof TensorDataset)) throw new TypeError('Trainer: validationData must be a TensorDataset');
    const a = JSON.stringify(o.data.sampleShapes);
    const b = JSON.stringify(o.validationData.sampleShapes);
    if (a !== b) throw new Error(`Trainer: validationData samples have shapes ${b}, the training data's have ${a}`);
  }
  if ((o.loss === undefined) === (o.step === undefined))
    throw new TypeError(
      o.loss === undefined
        ? 'Trainer: give a loss (e.g. loss: losses.mse) or a step function (step: (batch, ctx) => loss)'
        : 'Trainer: give either loss or step, not both (the step function computes the loss itself)',
    );
  if (o.loss !== undefined && typeof o.loss !== 'function') throw new TypeError(`Trainer: loss must be a function (output, target) => Tensor, got ${typeof o.loss}`);
  if (o.step !== undefined && typeof o.step !== 'function') throw new TypeError(`Trainer: step must be a function (batch, ctx) => loss, got ${typeof o.step}`);
  if (o.optimizer instanceof Optimizer) {
    for (const k of ['lr', 'weightDecay'] as const)
      if (o[k] !== undefined) throw new Error(`Trainer: ${k} belongs to the optimizer you passed; set it when you make the optimizer (or pass optimizer: '${optimizerNameOf(o.optimizer)}')`);
  } else if (o.optimizer !== undefined && !(OPTIMIZER_NAMES as readonly unknown[]).includes(o.optimizer))
    throw new Error(`Trainer: optimizer must be an optimizer or one of ${OPTIMIZER_NAMES.join(', ')}, got ${JSON.stringify(o.optimizer)}`);
  if (o.callbacks !== undefined) {
    if (!Array.isArray(o.callbacks)) throw new TypeError('Trainer: callbacks must be an array');
    o.callbacks.forEach((c, i) => {
      if (!isRecord(c)) throw new TypeError(`Trainer: callbacks[${i}] is not an object`);
    });
  }
  return o;
}

function validateConfig(c: TrainConfig): void {
  const pos = (name: string, v: number, int = false) => {
    if (!Number.isFinite(v) || v <= 0 || (int && !Number.isInteger(v)))
      throw new Error(`train: ${name} must be a positive ${int ? 'integer' : 'number'}, got ${v}`);
  };
  pos('epochs', c.epochs, true);
  pos('batchSize', c.batchSize, true);
  pos('lr', c.lr);
  if (!(c.weightDecay >= 0)) throw new Error(`train: weightDecay must be ≥ 0, got ${c.weightDecay}`);
  const schedules: readonly ScheduleName[] = ['none', 'step', 'exponential', 'cosine', 'plateau'];
  if (!schedules.includes(c.schedule))
    throw new Error(`train: schedule must be one of ${schedules.join(', ')}, got ${JSON.stringify(c.schedule)}`);
  if (c.clipNorm !== null) pos('clipNorm', c.clipNorm);
  if (c.earlyStopping !== null) pos('earlyStopping (patience)', c.earlyStopping, true);
}

function readOptimizerCheckpoint(v: unknown): OptimizerCheckpoint | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || !isRecord(v.optimizers)) throw new Error('optimizer.json: expected { optimizers: { … }, scheduler }');
  return { optimizers: v.optimizers as Record<string, OptimizerStateDict>, scheduler: (v.scheduler ?? null) as OptimizerCheckpoint['scheduler'] };
}

function isGeneratorState(v: unknown): v is GeneratorState {
  return isRecord(v) && Array.isArray(v.s) && v.s.length === 4 && v.s.every((x) => typeof x === 'number') && (v.spare === null || typeof v.spare === 'number');
}

function isLoaderState(v: unknown): v is DataLoaderState {
  return (
    isRecord(v) &&
    ['epoch', 'position', 'n', 'batchSize'].every((k) => typeof v[k] === 'number') &&
    typeof v.shuffle === 'boolean' &&
    typeof v.dropLast === 'boolean' &&
    isGeneratorState(v.generator)
  );
}

/** state.json's trainer fields, checked (the loader checks that its state fits the data). */
function readTrainerState(s: Record<string, unknown>, dir: string): TrainerState {
  const num = (k: string, fallback?: number): number => {
    const v = s[k];
    if (typeof v === 'number') return v;
    if (v === undefined && fallback !== undefined) return fallback;
    throw new Error(`${dir}: state.json field '${k}' must be a number, got ${JSON.stringify(v)}`);
  };
  if (!isLoaderState(s.loader)) throw new Error(`${dir}: state.json has no valid loader state`);
  if (!isGeneratorState(s.generator)) throw new Error(`${dir}: state.json has no valid generator state`);
  const out: TrainerState = {
    epoch: num('epoch'),
    step: num('step'),
    bestValLoss: num('bestValLoss', Infinity),
    bestEpoch: num('bestEpoch', -1),
    badEpochs: num('badEpochs', 0),
    loader: s.loader,
    generator: s.generator,
  };
  if (isGeneratorState(s.defaultGenerator)) out.defaultGenerator = s.defaultGenerator;
  if (Array.isArray(s.callbacks)) out.callbacks = s.callbacks as TrainerState['callbacks'];
  return out;
}

export { toJson };
