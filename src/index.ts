/**
 * aelab — autoencoders in TypeScript on an engine of its own.
 *
 *   import { tensor, nn, optim, losses, noGrad } from 'aelab';
 *
 * The Node entry: everything of the browser entry (browser.ts), with the Node versions of what
 * differs — `data` and `io` with their file readers and writers, a `Trainer` whose runs and
 * checkpoints are folders on disk — and the Node-only extras (checkpoint files, figures written
 * as PNG, the terminal progress bar). Names exported here take precedence over browser.ts's.
 */
import { initBackend } from './kernels/registry.js';

export * from './browser.js';

/**
 * Importing aelab selects the fastest backend this runtime supports: wasm (SIMD, threads) where
 * WebAssembly SIMD works, else js. AELAB_BACKEND=js|wasm, AELAB_THREADS=n, or setBackend() override.
 * If wasm cannot start, js is used and `backendNote` says why.
 */
export const { backend: initialBackend, note: backendNote } = await initBackend();

export * as data from './data/index.js';
export * as io from './io/index.js';
export { Trainer } from './train/trainer-node.js';
export { ProgressBar, type ProgressBarOptions } from './train/progress.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadModelWeights,
  saveModelWeights,
  readModelMetadata,
} from './train/checkpoint-node.js';
export { FileStorage } from './train/storage-node.js';
export { writeRunFigures } from './train/figures-node.js';
