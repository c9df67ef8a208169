/**
 * aelab — autoencoders in TypeScript on an engine of its own.
 *
 *   import { tensor, nn, optim, losses, noGrad } from 'aelab';
 */
import './ops/index.js';
import { initBackend } from './kernels/registry.js';

/**
 * Importing aelab selects the fastest backend this runtime supports: wasm (SIMD, threads) where
 * WebAssembly SIMD works, else js. AELAB_BACKEND=js|wasm, AELAB_THREADS=n, or setBackend() override.
 * If wasm cannot start, js is used and `backendNote` says why.
 */
export const { backend: initialBackend, note: backendNote } = await initBackend();

export { Tensor, tidy, keep, liveTensorCount, shapeSize, type Shape, type GradNode } from './tensor/tensor.js';
export {
  tensor,
  fromArray,
  wrap,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  linspace,
  eye,
  randn,
  rand,
  randint,
  oneHot,
  type CreateOptions,
  type RandomOptions,
} from './tensor/creation.js';
export { Generator, defaultGenerator, manualSeed, type GeneratorState } from './tensor/random.js';
export { noGrad, setGradEnabled, isGradEnabled, backward, type BackwardOptions } from './autograd/tape.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export * as ops from './ops/index.js';
export * from './ops/index.js';
export * as nn from './nn/index.js';
export { losses, init, summary } from './nn/index.js';
export * as optim from './optim/index.js';
export { getBackend, useBackend, setBackend, initBackend, primitivesOnly, type BackendName, type SetBackendOptions } from './kernels/registry.js';
export type { Backend, Primitives, FusedKernels, FullBackend } from './kernels/backend.js';
export * as models from './models/index.js';
export { buildModel, defaultConfig, PCA } from './models/index.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
export { Parameter } from './nn/module.js';
export { TensorDataset, TensorLoader } from './data/tensor-dataset.js';
export {
  Trainer,
  defaultTrainConfig,
  NonFiniteLossError,
  type TrainConfig,
  type TrainerOptions,
  type FitOptions,
  type EpochRecord,
  type FitResult,
  type StopReason,
  type ProgressReporter,
  type ScheduleName,
} from './train/trainer-node.js';
export { accuracy, type TensorBatch, type StepFn, type StepResult, type LossFn, type MetricFn, type Metrics, type BuiltinMetric } from './train/tasks.js';
export { EarlyStopping, ModelCheckpoint, type Callback, type StepInfo, type EarlyStoppingOptions, type ModelCheckpointOptions, type MonitorMode } from './train/callbacks.js';
export { ProgressBar, type ProgressBarOptions } from './train/progress.js';
export type { StepContext } from './models/types.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadModelWeights,
  saveModelWeights,
  readModelMetadata,
} from './train/checkpoint-node.js';
export { modelToSafetensors } from './train/checkpoint.js';
export { MemoryStorage, type RunStorage, type CheckpointFiles, type StoredCheckpoint } from './train/storage.js';
export { FileStorage } from './train/storage-node.js';
export { writeRunFigures } from './train/figures-node.js';
export { rocCurve, type RocResult, type RocPoint } from './viz/roc.js';
