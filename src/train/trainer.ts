/**
 * Trainer: epochs over a DataLoader with validation each epoch, LR schedules, gradient
 * clipping, early stopping, a JSON-lines metrics log, checkpoints (last and best) each epoch,
 * exact resume, a clean stop on request (Ctrl-C), and a stop on a non-finite loss that keeps the
 * last good checkpoint.
 *
 * Exact resume: a checkpoint holds the weights, the optimizer and scheduler states, the data
 * loader's position and generator, the step generator and the default generator. Resuming
 * rebuilds everything from them, so the remaining steps are the same bit for bit.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../autograd/tape.js';
import { DataLoader, type DataLoaderState } from '../data/loader.js';
import type { ImageDataset } from '../data/dataset.js';
import type { Batch, FamilyModel, OptimizerLike } from '../models/types.js';
import { createOptimizer, type OptimizerName } from '../optim/factory.js';
import type { Optimizer } from '../optim/optimizer.js';
import { CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR } from '../optim/schedulers.js';
import { defaultGenerator, Generator, type GeneratorState } from '../tensor/random.js';
import { tidy, Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, saveCheckpoint, toJson } from './checkpoint.js';

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
  /** Run folder for metrics.jsonl and checkpoints (none: keep everything in memory). */
  runDir?: string;
  reporter?: ProgressReporter;
  /** Extra JSON written to state.json for the caller (e.g. the CLI's data spec). */
  meta?: Record<string, unknown>;
}

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

/** The number the trainer treats as "the loss" in a parts record. */
function lossOf(parts: Record<string, number>): number {
  if ('loss' in parts) return parts.loss!;
  const first = Object.values(parts)[0];
  return first ?? NaN;
}

export class Trainer {
  readonly optimizers: Record<string, OptimizerLike>;
  readonly loader: DataLoader;
  readonly generator: Generator;
  scheduler: Scheduler | null = null;
  history: EpochRecord[] = [];
  epoch = 0;
  step = 0;
  bestValLoss = Infinity;
  bestEpoch = -1;
  badEpochs = 0;
  private stopRequested = false;

  constructor(
    readonly model: FamilyModel,
    readonly train: ImageDataset,
    readonly val: ImageDataset | null,
    readonly config: TrainConfig,
    readonly options: TrainerOptions = {},
  ) {
    validateConfig(config);
    if (model.needsLabels && !train.labels)
      throw new Error(`model '${model.kind}' needs class labels, but dataset '${train.name}' has none`);
    this.generator = new Generator(config.seed + 1);
    this.loader = new DataLoader(train, { batchSize: config.batchSize, shuffle: true, seed: config.seed });
    const make = (params: Tensor[]): OptimizerLike =>
      createOptimizer(config.optimizer, params, { lr: config.lr, weightDecay: config.weightDecay }) as unknown as OptimizerLike;
    this.optimizers = model.createOptimizers(make);
    const main = (this.optimizers.main ?? Object.values(this.optimizers)[0]) as unknown as Optimizer<never, never>;
    switch (config.schedule) {
      case 'step':
        this.scheduler = new StepLR(main as never, { stepSize: Math.max(1, Math.round(config.epochs / 3)), gamma: 0.3 });
        break;
      case 'exponential':
        this.scheduler = new ExponentialLR(main as never, { gamma: 0.9 });
        break;
      case 'cosine':
        this.scheduler = new CosineAnnealingLR(main as never, { tMax: config.epochs, etaMin: 0 });
        break;
      case 'plateau':
        this.scheduler = new ReduceLROnPlateau(main as never, { factor: 0.5, patience: 2 });
        break;
      case 'none':
        break;
    }
  }

  /** Asks the loop to save a checkpoint and stop after the current step (e.g. on Ctrl-C). */
  requestStop(): void {
    this.stopRequested = true;
  }

  get lr(): number {
    return (this.optimizers.main ?? Object.values(this.optimizers)[0])!.lr;
  }

  /**
   * The samples `indices` of `loader` as a model batch: gathered straight into a new tensor's
   * storage (no intermediate array), shaped as the model wants it. Call inside tidy.
   */
  private batchOf(loader: DataLoader, indices: Int32Array): Batch {
    const d = this.train;
    const size = indices.length;
    const shape = this.model.inputLayout === 'image' ? [size, d.channels, d.height, d.width] : [size, d.channels * d.height * d.width];
    const x = Tensor.uninit(shape);
    const y = loader.gatherToBackend(indices, x.data);
    return { x, y };
  }

  /** Mean of every part over a dataset, evaluated in eval mode without gradients. */
  evaluate(ds: ImageDataset, batchSize = 500): Record<string, number> {
    const loader = new DataLoader(ds, { batchSize, shuffle: false });
    const sums: Record<string, number> = {};
    let n = 0;
    this.model.eval();
    const ctx = { generator: new Generator(this.config.seed + 7), epoch: this.epoch };
    try {
      noGrad(() => {
        for (let idx = loader.nextIndices(); idx !== null; idx = loader.nextIndices()) {
          const indices = idx;
          tidy(() => {
            const out = this.model.evaluate(this.batchOf(loader, indices), ctx);
            const parts = { loss: out.loss.item(), ...out.parts };
            for (const [k, v] of Object.entries(parts)) sums[k] = (sums[k] ?? 0) + v * indices.length;
          });
          n += indices.length;
        }
      });
    } finally {
      this.model.train();
    }
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) out[k] = v / Math.max(n, 1);
    return out;
  }

  private metricsPath(): string | null {
    return this.options.runDir ? join(this.options.runDir, 'metrics.jsonl') : null;
  }

  private checkpointDir(which: 'last' | 'best'): string | null {
    return this.options.runDir ? join(this.options.runDir, 'checkpoints', which) : null;
  }

  private snapshotState(): Record<string, unknown> {
    return {
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
  }

  private optimizerState(): Record<string, unknown> {
    const opt: Record<string, unknown> = {};
    for (const [k, o] of Object.entries(this.optimizers)) opt[k] = (o as unknown as Optimizer<never, never>).stateDict({ typed: true });
    return { optimizers: opt, scheduler: this.scheduler ? this.scheduler.stateDict() : null };
  }

  private save(which: 'last' | 'best'): void {
    const dir = this.checkpointDir(which);
    if (!dir) return;
    saveCheckpoint(dir, {
      model: this.model,
      optimizer: this.optimizerState(),
      state: this.snapshotState(),
      metadata: { kind: this.model.kind, config: JSON.stringify(this.model.config) },
    });
  }

  /** Restores weights, optimizers, scheduler, loader, generators and counters from a run folder's last checkpoint. */
  resume(runDir: string): void {
    const dir = join(runDir, 'checkpoints', 'last');
    const { optimizer, state } = loadCheckpoint(dir, this.model);
    const opt = optimizer as { optimizers?: Record<string, unknown>; scheduler?: unknown } | undefined;
    for (const [k, o] of Object.entries(this.optimizers)) {
      const sd = opt?.optimizers?.[k];
      if (!sd) throw new Error(`${dir}: the checkpoint has no state for optimizer '${k}'`);
      (o as unknown as Optimizer<never, never>).loadStateDict(sd as never);
    }
    if (this.scheduler && opt?.scheduler) this.scheduler.loadStateDict(opt.scheduler as never);
    this.epoch = state.epoch as number;
    this.step = state.step as number;
    this.bestValLoss = (state.bestValLoss as number) ?? Infinity;
    this.bestEpoch = (state.bestEpoch as number) ?? -1;
    this.badEpochs = (state.badEpochs as number) ?? 0;
    this.loader.loadState(state.loader as DataLoaderState);
    this.generator.setState(state.generator as GeneratorState);
    if (state.defaultGenerator) defaultGenerator.setState(state.defaultGenerator as GeneratorState);
    const mp = join(runDir, 'metrics.jsonl');
    if (existsSync(mp)) {
      const lines = readFileSync(mp, 'utf8').split('\n').filter((l) => l.trim());
      this.history = lines.map((l) => JSON.parse(l) as EpochRecord).filter((r) => r.epoch < this.epoch);
      // drop lines written after the checkpoint (a crash between the two writes)
      writeFileSync(mp, this.history.map((r) => JSON.stringify(r) + '\n').join(''));
    }
  }

  /** Trains until the configured epochs are done, early stopping triggers, or a stop is requested. */
  async fit(): Promise<FitResult> {
    const rep = this.options.reporter;
    if (this.options.runDir) mkdirSync(this.options.runDir, { recursive: true });
    const ctxBase = { generator: this.generator };
    let reason: StopReason = 'completed';
    this.model.train();
    while (this.epoch < this.config.epochs) {
      const t0 = performance.now();
      const steps = this.loader.length;
      rep?.epochStart(this.epoch, this.config.epochs, steps);
      const sums: Record<string, number> = {};
      let seen = 0;
      let idx = this.loader.nextIndices();
      while (idx !== null) {
        const indices = idx;
        const size = indices.length;
        const parts = tidy(() =>
          this.model.trainStep(
            this.batchOf(this.loader, indices),
            this.optimizers,
            { ...ctxBase, epoch: this.epoch },
            this.config.clipNorm ?? undefined,
          ),
        );
        for (const [k, v] of Object.entries(parts)) {
          if (!Number.isFinite(v)) {
            const where = this.options.runDir ? ` The last good checkpoint is kept in ${join(this.options.runDir, 'checkpoints', 'last')}.` : '';
            throw new NonFiniteLossError(
              `training diverged: '${k}' became ${v} at epoch ${this.epoch + 1}, step ${this.step + 1}.${where} ` +
                `Try a smaller learning rate (now ${this.lr}), gradient clipping (--clip-norm 1), or another optimizer (--optimizer adam).`,
              this.epoch,
              this.step,
            );
          }
          sums[k] = (sums[k] ?? 0) + v * size;
        }
        seen += size;
        this.step++;
        const sps = seen / ((performance.now() - t0) / 1000);
        rep?.step(this.step, parts, sps);
        // let signals (Ctrl-C) and timers run between steps
        await new Promise<void>((r) => setImmediate(r));
        if (this.stopRequested) {
          this.save('last');
          rep?.message(`stopped at epoch ${this.epoch + 1}, step ${this.step}; checkpoint saved — continue with --resume`);
          return this.result('interrupted');
        }
        idx = this.loader.nextIndices();
      }
      const seconds = (performance.now() - t0) / 1000;
      const train: Record<string, number> = {};
      for (const [k, v] of Object.entries(sums)) train[k] = v / Math.max(seen, 1);
      const val = this.val ? this.evaluate(this.val) : {};
      const valLoss = this.val ? lossOf(val) : lossOf(train);
      const rec: EpochRecord = {
        epoch: this.epoch,
        step: this.step,
        lr: this.lr,
        seconds,
        samplesPerSec: seen / seconds,
        train,
        val,
      };
      this.history.push(rec);
      const mp = this.metricsPath();
      if (mp) appendFileSync(mp, JSON.stringify(rec) + '\n');
      const improved = valLoss < this.bestValLoss - 1e-12;
      if (improved) {
        this.bestValLoss = valLoss;
        this.bestEpoch = this.epoch;
        this.badEpochs = 0;
      } else this.badEpochs++;
      if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.step(valLoss);
      else this.scheduler?.step();
      this.epoch++;
      this.save('last');
      if (improved) this.save('best');
      rep?.epochEnd(rec, improved);
      if (this.config.earlyStopping !== null && this.badEpochs >= this.config.earlyStopping) {
        reason = 'early-stopping';
        rep?.message(`early stopping: no validation improvement for ${this.badEpochs} epochs (best epoch ${this.bestEpoch + 1})`);
        break;
      }
      if (this.stopRequested) return this.result('interrupted');
    }
    return this.result(reason);
  }

  private result(reason: StopReason): FitResult {
    return { reason, epochsCompleted: this.epoch, history: this.history, bestEpoch: this.bestEpoch, bestValLoss: this.bestValLoss };
  }
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

export { toJson };
