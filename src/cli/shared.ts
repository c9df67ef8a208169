/** What the commands that read a run folder share: its data, its model, output paths and printing. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { FASHION_MNIST_CLASSES, isNamedDataset, loadDataset } from '../data/sources.js';
import { PCA } from '../models/pca.js';
import type { AutoencoderModel, FamilyModel } from '../models/types.js';
import { isAutoencoder } from '../train/figures.js';
import { UserError } from './errors.js';
import { loadRunModel, readRunConfig, type RunConfig } from './run-folder.js';
import { sameImages } from './train.js';

export function requireAE(m: FamilyModel, cmd: string, run: string): AutoencoderModel {
  if (!isAutoencoder(m)) throw new UserError(`${cmd} needs an autoencoder, but ${run} holds a classifier ('${m.kind}')`, 2);
  return m;
}

/** The dataset a command reads: the run's unless --data names another; images must fit the model. */
export async function datasetFor(run: string, spec: string | undefined, split: 'train' | 'test'): Promise<ImageDataset> {
  const cfg = readRunConfig(run);
  const src = spec ?? cfg.data.spec;
  const ds = await loadDataset(src, { split });
  const want = cfg.model.inputShape;
  if (Array.isArray(want) && (ds.channels !== want[0] || ds.height !== want[1] || ds.width !== want[2]))
    throw new UserError(
      `${spec !== undefined ? `--data ${spec}` : `the run's dataset '${src}'`} has ${ds.channels}×${ds.height}×${ds.width} images, but this run's model takes ${want.join('×')}`,
      2,
    );
  // named datasets always have a test split; a CSV or plain folder may not
  if (split === 'test' && ds.n > 0 && !isNamedDataset(src)) {
    const other = await loadDataset(src, { split: 'train' }).catch(() => null);
    if (other && sameImages(ds, other)) process.stderr.write(`aelab: note: ${ds.name} has no separate test split; using all ${ds.n} of its images\n`);
  }
  return ds;
}

/** A PNG output path: the given one (must end in .png), or a file in the run's figures folder. */
export function pngOut(out: string | undefined, run: string, name: string): string {
  if (out !== undefined && extname(out).toLowerCase() !== '.png') throw new UserError(`--out must name a .png file, got '${out}'`, 2);
  return outPath(out, run, name);
}

export function outPath(out: string | undefined, run: string, name: string): string {
  const p = resolve(out ?? join(run, 'figures', name));
  mkdirSync(dirname(p), { recursive: true });
  return p;
}

/** A run's model for commands that need one, with a clear message for PCA runs. */
export function runModel(run: string, weights: 'best' | 'last', cmd: string, pcaHint: string): ReturnType<typeof loadRunModel> {
  const cfg = readRunConfig(run);
  if (cfg.pca) throw new UserError(`${cmd}: ${run} is a PCA run, ${pcaHint}`, 2);
  return loadRunModel(run, weights);
}

export function loadPca(run: string): PCA {
  const p = join(run, 'pca.json');
  if (!existsSync(p)) throw new UserError(`${run}: no pca.json`);
  try {
    return PCA.fromJSON(JSON.parse(readFileSync(p, 'utf8')) as never);
  } catch (e) {
    throw new UserError(`${p}: ${(e as Error).message}`);
  }
}

export function print(json: boolean | undefined, obj: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n');
}

export function table(rec: Record<string, number>): string {
  const w = Math.max(...Object.keys(rec).map((k) => k.length));
  return Object.entries(rec)
    .map(([k, v]) => `  ${k.padEnd(w)}  ${Number.isInteger(v) ? v : v.toPrecision(6)}`)
    .join('\n');
}

/**
 * The class names of a run's dataset without loading it (for commands that only decode): the
 * named datasets' names, else the label numbers.
 */
export function runClassNames(cfg: RunConfig, numClasses: number): string[] {
  if (cfg.data.name === 'fashion-mnist' && numClasses === FASHION_MNIST_CLASSES.length) return [...FASHION_MNIST_CLASSES];
  return Array.from({ length: numClasses }, (_, i) => String(i));
}
