/**
 * A run folder: what `aelab train` writes and every other command reads.
 *
 *   config.json        model config, train config, data spec (rebuilds the model exactly)
 *   metrics.jsonl      one JSON line per epoch
 *   checkpoints/last/  weights + optimizer + RNG state, each epoch (resume from here)
 *   checkpoints/best/  the epoch with the lowest validation loss
 *   result.json        test-set evaluation of the best weights
 *   figures/*.png      loss curves, reconstructions, samples, latent scatter, manifold, …
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { buildModel } from '../models/index.js';
import type { FamilyModel, ModelConfig } from '../models/types.js';
import { loadModelWeights, MODEL_FILE } from '../train/checkpoint.js';
import type { TrainConfig } from '../train/trainer.js';
import { UserError } from './errors.js';

export interface RunConfig {
  aelab: string;
  created: string;
  model: ModelConfig;
  train: TrainConfig;
  data: { spec: string; name: string; source?: string; valFraction: number; limit: number | null; classes?: number[] | null };
  /** PCA runs keep their fit in pca.json instead of checkpoints. */
  pca?: boolean;
}

export const VERSION = '0.1.0';

export function readRunConfig(dir: string): RunConfig {
  const p = join(dir, 'config.json');
  if (!existsSync(dir)) throw new UserError(`run folder ${dir} does not exist`);
  if (!existsSync(p)) throw new UserError(`${dir} is not an aelab run folder (no config.json); pass the folder 'aelab train' wrote`);
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(readFileSync(p, 'utf8')) as RunConfig;
  } catch (e) {
    throw new UserError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (!cfg.model || typeof cfg.model !== 'object' || !('kind' in cfg.model)) throw new UserError(`${p}: field 'model' is missing or has no 'kind'`);
  return cfg;
}

export function writeRunConfig(dir: string, cfg: RunConfig): void {
  writeFileAtomicSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
}

/** Rebuilds a run's model and loads its best (or last) weights. */
export function loadRunModel(dir: string, which: 'best' | 'last' = 'best'): { model: FamilyModel; config: RunConfig; weights: string } {
  const config = readRunConfig(dir);
  let model: FamilyModel;
  try {
    model = buildModel(config.model);
  } catch (e) {
    throw new UserError(`${join(dir, 'config.json')}: field 'model': ${(e as Error).message}`);
  }
  const order = which === 'best' ? ['best', 'last'] : ['last', 'best'];
  for (const w of order) {
    for (const d of [join(dir, 'checkpoints', w), join(dir, 'checkpoints', `${w}.old`)]) {
      const p = join(d, MODEL_FILE);
      if (existsSync(p)) {
        loadModelWeights(model, p);
        return { model, config, weights: p };
      }
    }
  }
  throw new UserError(`${dir}: no weights found (checkpoints/best or checkpoints/last); has the run finished an epoch?`);
}

/** A fresh run folder name: runs/<kind>-<data>-<yyyymmdd-hhmmss>. */
export function defaultRunDir(kind: string, dataName: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const safe = dataName.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return resolve('runs', `${kind}-${safe}-${stamp}`);
}

/** Refuses to write into a folder that already holds files (never overwrite a good run). */
export function ensureFreshDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UserError(`${dir} already exists and is not empty; choose another --out, or continue that run with --resume ${dir}`);
}
