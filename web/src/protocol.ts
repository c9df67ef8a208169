/** Messages between the lab page and its training worker (worker.ts). */
import type { models, TrainConfig } from 'aelab/browser';

/** Every kind `aelab train --model` takes: the network family, and PCA (fitted, not trained). */
export type LabKind = models.ModelKind | 'pca';

/** Where the data comes from: the embedded MNIST digits, or a dataset listed in /data/index.json. */
export type DataChoice = { source: 'embedded' } | { source: 'server'; name: string };

export interface StartRequest {
  type: 'start';
  data: DataChoice;
  kind: LabKind;
  train: Pick<TrainConfig, 'epochs' | 'batchSize' | 'lr' | 'optimizer' | 'seed'>;
}

export type ToWorker =
  | StartRequest
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'reset' }
  /** Decode a point of the 2-D latent plot (CVAE: as class `label`). */
  | { type: 'decode'; z: [number, number]; label: number; id: number };

export type RunState = 'idle' | 'loading' | 'training' | 'paused' | 'stopping' | 'done';

export interface LossPoint {
  step: number;
  split: 'train' | 'validation';
  /** Logged name: 'loss' or a part ('recon', 'kl', 'acc', …). */
  metric: string;
  value: number;
}

export interface Snapshot {
  type: 'snapshot';
  /** Rows added since the last snapshot. */
  loss: LossPoint[];
  /** Fixed test inputs and their reconstructions, each (n, h, w) in [0, 1], channel 0. */
  recon: { inputs: Float32Array; outputs: Float32Array; n: number; h: number; w: number } | null;
  /** Codes of test samples: x, y (PCA of the codes above 2-D), labels. */
  latent: { x: Float32Array; y: Float32Array; labels: Int32Array; dim: number } | null;
}

export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; isolated: boolean; note?: string }
  | { type: 'state'; state: RunState; message?: string }
  | {
      type: 'progress';
      epoch: number;
      epochs: number;
      step: number;
      stepsPerEpoch: number;
      samplesPerSec: number;
      etaSec: number;
    }
  | {
      type: 'run';
      kind: LabKind;
      latentDim: number | null;
      classNames: string[];
      dataSource: string;
      trainSize: number;
      valSize: number;
      testSize: number;
      needsLabels: boolean;
    }
  | Snapshot
  | { type: 'decoded'; id: number; pixels: Float32Array; h: number; w: number }
  | { type: 'error'; message: string };
