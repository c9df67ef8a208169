/**
 * Callbacks: code the Trainer's fit loop calls at fixed points, as Keras' callbacks and
 * Lightning's hooks. In order, for a run of E epochs of S steps:
 *
 *   onTrainBegin
 *   for each epoch e:  onEpochBegin(e)  onStep(…)×S  onEpochEnd(e, logs)  onCheckpoint(e, logs)
 *   onTrainEnd(result)
 *
 * onEpochEnd gets Keras-style logs: `loss` and each metric over the training epoch, `val_loss`
 * and `val_<metric>` over the validation data, and `lr`. onCheckpoint runs after every callback's
 * onEpochEnd, when the epoch's state (callbacks' own included) is final: the place to save.
 * A callback stops training with `trainer.requestStop(reason)`; one with state implements
 * stateDict/loadStateDict, and the trainer keeps that state in its checkpoints so a resumed run
 * continues exactly. Any hook may be async.
 */
import type { Tensor } from '../tensor/tensor.js';
import { joinPath } from './storage.js';
import type { FitResult, Trainer } from './trainer.js';

/** What onStep is told after each optimizer step. */
export interface StepInfo {
  /** Zero-based epoch. */
  epoch: number;
  /** Steps taken since the run started (1 after the first). */
  step: number;
  /** Zero-based index of this batch in the epoch. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** Samples in this batch. */
  size: number;
  /** The step's loss and logged values. */
  logs: Record<string, number>;
  /** Training throughput so far this epoch. */
  samplesPerSec: number;
}

export interface Callback {
  onTrainBegin?(trainer: Trainer): void | Promise<void>;
  onEpochBegin?(epoch: number, trainer: Trainer): void | Promise<void>;
  onStep?(info: StepInfo, trainer: Trainer): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Record<string, number>, trainer: Trainer): void | Promise<void>;
  onCheckpoint?(epoch: number, logs: Record<string, number>, trainer: Trainer): void | Promise<void>;
  onTrainEnd?(result: FitResult, trainer: Trainer): void | Promise<void>;
  /** A message for the user (early stopping, an interruption), e.g. for a progress display. */
  onMessage?(text: string, trainer: Trainer): void;
  /** State the trainer saves in checkpoints (JSON-able; Float32Arrays are kept exactly). */
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

export type MonitorMode = 'min' | 'max' | 'auto';

/** 'auto' means 'max' for accuracy-like names and 'min' otherwise, as Keras. */
function resolveMode(mode: MonitorMode, monitor: string): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  return /acc|auc|precision|recall|f1/i.test(monitor) ? 'max' : 'min';
}

function checkMode(where: string, mode: unknown): MonitorMode {
  if (mode !== 'min' && mode !== 'max' && mode !== 'auto')
    throw new Error(`${where}: mode must be 'min', 'max' or 'auto', got ${JSON.stringify(mode)}`);
  return mode;
}

/** The monitored value, or an error naming the logs there are. */
function monitored(where: string, monitor: string, logs: Record<string, number>): number {
  const v = logs[monitor];
  if (v === undefined) {
    const hint = monitor.startsWith('val_') ? ' (give the trainer validationData, or monitor a training value such as "loss")' : '';
    throw new Error(`${where}: monitor '${monitor}' is not among this epoch's logs (${Object.keys(logs).join(', ')})${hint}`);
  }
  return v;
}

/** Tracks the best value of a monitored log and whether the latest epoch improved on it. */
class Best {
  value: number;
  constructor(
    readonly mode: 'min' | 'max',
    readonly minDelta: number,
  ) {
    this.value = mode === 'min' ? Infinity : -Infinity;
  }
  improves(v: number): boolean {
    return this.mode === 'min' ? v < this.value - this.minDelta : v > this.value + this.minDelta;
  }
}

export interface EarlyStoppingOptions {
  /** The log to watch (default 'val_loss'). */
  monitor?: string;
  /** Stop after this many epochs in a row without improvement (default 0, like 1: at the first). */
  patience?: number;
  /** The smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  mode?: MonitorMode;
  /** At the stop, put back the weights of the best epoch (default false). */
  restoreBestWeights?: boolean;
}

/**
 * Stops training when a monitored log has not improved for `patience` epochs (Keras'
 * EarlyStopping). The fit result's reason is then 'early-stopping'.
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly best: Best;
  /** Epochs since the last improvement. */
  wait = 0;
  /** The epoch with the best value (−1 before the first). */
  bestEpoch = -1;
  /** The epoch at whose end training was stopped (−1: not stopped). */
  stoppedEpoch = -1;
  private bestWeights: Record<string, Float32Array> | null = null;

  constructor(opts: EarlyStoppingOptions = {}) {
    this.monitor = opts.monitor ?? 'val_loss';
    this.patience = opts.patience ?? 0;
    const minDelta = opts.minDelta ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0)
      throw new Error(`EarlyStopping: patience must be an integer ≥ 0, got ${this.patience}`);
    if (!(minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be ≥ 0, got ${minDelta}`);
    this.best = new Best(resolveMode(checkMode('EarlyStopping', opts.mode ?? 'auto'), this.monitor), minDelta);
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
  }

  /** The best monitored value so far. */
  get bestValue(): number {
    return this.best.value;
  }

  onEpochEnd(epoch: number, logs: Record<string, number>, trainer: Trainer): void {
    const v = monitored('EarlyStopping', this.monitor, logs);
    if (this.best.improves(v)) {
      this.best.value = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights)
        this.bestWeights = Object.fromEntries(Object.entries(trainer.model.stateDict()).map(([k, t]) => [k, t.data.slice()]));
      return;
    }
    this.wait++;
    // as Keras: with patience p, the p-th epoch in a row without improvement stops (0 acts as 1)
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      if (this.restoreBestWeights && this.bestWeights) {
        const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
        for (const [k, t] of Object.entries(trainer.model.stateDict() as Record<string, Tensor>))
          sd[k] = { shape: t.shape, data: this.bestWeights[k]! };
        trainer.model.loadStateDict(sd);
      }
      trainer.requestStop('early-stopping');
      trainer.log(
        `early stopping: '${this.monitor}' has not improved for ${this.wait} epoch${this.wait === 1 ? '' : 's'} (best ${this.best.value} at epoch ${this.bestEpoch + 1})` +
          (this.restoreBestWeights && this.bestWeights ? '; weights restored from that epoch' : ''),
      );
    }
  }

  stateDict(): unknown {
    return {
      best: this.best.value,
      wait: this.wait,
      bestEpoch: this.bestEpoch,
      stoppedEpoch: this.stoppedEpoch,
      bestWeights: this.bestWeights,
    };
  }

  loadStateDict(state: unknown): void {
    const s = state as {
      best: number;
      wait: number;
      bestEpoch: number;
      stoppedEpoch: number;
      bestWeights: Record<string, Float32Array> | null;
    };
    for (const k of ['best', 'wait', 'bestEpoch', 'stoppedEpoch'] as const)
      if (typeof s?.[k] !== 'number') throw new Error(`EarlyStopping.loadStateDict: '${k}' must be a number`);
    this.best.value = s.best;
    this.wait = s.wait;
    this.bestEpoch = s.bestEpoch;
    this.stoppedEpoch = s.stoppedEpoch;
    this.bestWeights = s.bestWeights ?? null;
  }
}

export interface ModelCheckpointOptions {
  /** The log that decides the best checkpoint (default 'val_loss'). */
  monitor?: string;
  mode?: MonitorMode;
  /** Write only `<dir>/best`, not `<dir>/last` every epoch (default false). */
  saveBestOnly?: boolean;
}

/**
 * Saves full checkpoints (weights as safetensors, optimizer and scheduler, loader position and
 * generators, callback states) into `<dir>/last` after every epoch and `<dir>/best` when the
 * monitored log improves (Keras' ModelCheckpoint, with Lightning's `last`). Each is a folder
 * `trainer.resumeFrom(folder)` continues exactly and `loadCheckpoint(folder, model)` reads. The
 * folders are in the trainer's storage: on disk in Node, in memory in a browser.
 */
export class ModelCheckpoint implements Callback {
  readonly dir: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  private readonly best: Best;

  constructor(dir: string, opts: ModelCheckpointOptions = {}) {
    if (typeof dir !== 'string' || dir === '') throw new Error('ModelCheckpoint: give the folder to write checkpoints into');
    this.dir = dir;
    this.monitor = opts.monitor ?? 'val_loss';
    this.saveBestOnly = opts.saveBestOnly ?? false;
    this.best = new Best(resolveMode(checkMode('ModelCheckpoint', opts.mode ?? 'auto'), this.monitor), 0);
  }

  get lastDir(): string {
    return joinPath(this.dir, 'last');
  }

  get bestDir(): string {
    return joinPath(this.dir, 'best');
  }

  onCheckpoint(_epoch: number, logs: Record<string, number>, trainer: Trainer): void {
    const v = monitored('ModelCheckpoint', this.monitor, logs);
    const improved = this.best.improves(v);
    // the best value is part of the state saved below, so update it first
    if (improved) this.best.value = v;
    if (!this.saveBestOnly) trainer.saveCheckpoint(this.lastDir);
    if (improved) trainer.saveCheckpoint(this.bestDir);
  }

  stateDict(): unknown {
    return { best: this.best.value };
  }

  loadStateDict(state: unknown): void {
    const b = (state as { best?: unknown })?.best;
    if (typeof b !== 'number') throw new Error("ModelCheckpoint.loadStateDict: 'best' must be a number");
    this.best.value = b;
  }
}
