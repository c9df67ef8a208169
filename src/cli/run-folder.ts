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
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { buildModel } from '../models/index.js';
import type { FamilyModel, ModelConfig } from '../models/types.js';
import { MODEL_FILE } from '../train/checkpoint.js';
import { loadModelWeights } from '../train/checkpoint-node.js';
import type { TrainConfig } from '../train/trainer.js';
import { UserError } from './errors.js';

export interface RunConfig {
  aelab: string;
  created: string;
  model: ModelConfig;
  /** The training settings; absent in PCA runs (PCA is fitted in closed form). */
  train?: TrainConfig;
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
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(cfg)) throw new UserError(`${p}: expected a JSON object, got ${Array.isArray(cfg) ? 'an array' : JSON.stringify(cfg)}`);
  if (!isObj(cfg.model) || !('kind' in cfg.model)) throw new UserError(`${p}: field 'model' is missing or has no 'kind'`);
  const shape = (cfg.model as { inputShape?: unknown }).inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isSafeInteger(v) && (v as number) > 0))
    throw new UserError(`${p}: field 'model.inputShape' must be [channels, height, width], got ${JSON.stringify(shape)}`);
  if (!isObj(cfg.data) || typeof cfg.data.spec !== 'string') throw new UserError(`${p}: field 'data.spec' (the dataset the run trained on) is missing`);
  if (!cfg.pca && !isObj(cfg.train)) throw new UserError(`${p}: field 'train' (the training settings) is missing`);
  return cfg;
}

/** "…: VAE.loadStateDict: state dict does not fit this model:\n  'a': …\n  'b': …" → its first problem and a count. */
export function shortStateDictError(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length <= 1) return message;
  const problems = lines.slice(1);
  const more = problems.length - 1;
  return `${lines[0]!.replace(/:$/, '')}: ${problems[0]}${more > 0 ? ` (and ${more} more difference${more === 1 ? '' : 's'})` : ''}`;
}

export function writeRunConfig(dir: string, cfg: RunConfig): void {
  writeFileAtomicSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
}

/** Rebuilds a run's model and loads its best (or last) weights. */
export function loadRunModel(dir: string, which: 'best' | 'last' = 'best'): { model: FamilyModel; config: RunConfig; weights: string } {
  const config = readRunConfig(dir);
  if (config.pca) throw new UserError(`${dir} is a PCA run (pca.json), which has no network weights`, 2);
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
        try {
          loadModelWeights(model, p);
        } catch (e) {
          const other = w === 'best' ? 'last' : 'best';
          throw new UserError(`${shortStateDictError((e as Error).message)} (the model is built from config.json; try --weights ${other})`);
        }
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
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file, not a folder; choose a new folder for the run`, 2);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UserError(`${dir} already exists and is not empty; choose another --out, or continue that run with --resume ${dir}`);
}
