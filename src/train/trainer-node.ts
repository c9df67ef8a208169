/**
 * The Trainer of the Node entry (`aelab`): trainer.ts's loop with the file system as its default
 * storage, so `runDir`, `saveCheckpoint(dir)` and `resume(runDir)` name folders on disk. The
 * browser entry exports the loop itself, which keeps checkpoints in memory.
 */
import { FileStorage } from './storage-node.js';
import type { RunStorage } from './storage.js';
import { Trainer as TrainerLoop } from './trainer.js';

/**
 * Trains a family model on an image dataset, or any Module with fit options (trainer.ts). Its
 * storage is the file system unless `storage` is given: `runDir` is a folder on disk, and each
 * checkpoint a folder of model.safetensors, optimizer.json and state.json.
 */
export class Trainer extends TrainerLoop {
  protected override defaultStorage(): RunStorage {
    return new FileStorage();
  }
}

export {
  defaultTrainConfig,
  NonFiniteLossError,
  toJson,
  type TrainConfig,
  type TrainerOptions,
  type FitOptions,
  type EpochRecord,
  type FitResult,
  type StopReason,
  type ProgressReporter,
  type ScheduleName,
} from './trainer.js';
