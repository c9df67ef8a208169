/**
 * aelab's browser entry point (`aelab/browser`): everything that runs without Node — tensors, ops,
 * autograd, nn, optim, the js and wasm backends, data from bytes, the model family and PCA, the
 * Trainer's loop with checkpoints in memory, safetensors and PNG codecs, the chart specs, and the
 * run figures as data (image grids as SVG, charts as Vega-Lite specs for vega-embed).
 * No module reachable from here imports `node:` (test/browser/import-graph.test.ts checks).
 *
 *   import { initBackend, models, Trainer, TensorDataset } from 'aelab/browser';
 *   await initBackend();            // wasm (threads in a cross-origin-isolated page), else js
 *
 * Unlike the Node entry, importing this module does not start a backend: the js backend is
 * active until `initBackend()` or `setBackend('wasm', { threads })` is awaited, so a page that
 * only needs the chart specs or the codecs starts no wasm module and no workers, and the module
 * has no top-level await. The wasm backend runs one thread without cross-origin isolation; with
 * it (COOP/COEP headers), Web Workers over shared memory, `navigator.hardwareConcurrency` of them.
 */
import './ops/index.js';

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
// Types only: the wasm backend (its module bytes and workers) loads on setBackend('wasm').
export type { WasmBackend, WasmBackendOptions } from './kernels/wasm/index.js';
export * as models from './models/index.js';
export { buildModel, defaultConfig, PCA } from './models/index.js';
export * as data from './data/browser.js';
export * as io from './io/browser.js';
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
} from './train/trainer.js';
export { accuracy, type TensorBatch, type StepFn, type StepResult, type LossFn, type MetricFn, type Metrics, type BuiltinMetric } from './train/tasks.js';
export { EarlyStopping, ModelCheckpoint, type Callback, type StepInfo, type EarlyStoppingOptions, type ModelCheckpointOptions, type MonitorMode } from './train/callbacks.js';
export type { StepContext } from './models/types.js';
export {
  modelToSafetensors,
  loadWeightsFromBytes,
  encodeCheckpoint,
  decodeCheckpoint,
  MODEL_FILE,
  OPTIMIZER_FILE,
  STATE_FILE,
  type CheckpointData,
  type LoadedCheckpoint,
} from './train/checkpoint.js';
export { MemoryStorage, joinPath, type RunStorage, type CheckpointFiles, type StoredCheckpoint } from './train/storage.js';
export * as viz from './viz/specs.js';
export { gridFigureSvg, gridCols, type GridFigureOptions, type GridFigureLayout } from './viz/grid-figure.js';
export {
  gridFigures,
  latentFigure,
  lossFigureSpec,
  describeModel,
  pca2,
  isAutoencoder,
  inputBatch,
  MAX_TILES,
  type GridFigure,
  type FigureOptions,
} from './train/figures.js';
export { rocCurve, type RocResult, type RocPoint } from './viz/roc.js';
