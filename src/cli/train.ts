/** `aelab train` (and the training half of `aelab anomaly`). */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { filterByLabel } from '../data/dataset.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { loadDataset } from '../data/sources.js';
import { trainValTestSplit } from '../data/split.js';
import { buildModel, defaultConfig, MODEL_KINDS as FAMILY_KINDS } from '../models/index.js';
import { partDocsFor, partsNote, renameLegacyParts } from '../models/parts.js';
import type { FamilyModel, ModelConfig, ModelKind } from '../models/types.js';
import type { OptimizerName } from '../optim/factory.js';
import { manualSeed } from '../tensor/random.js';
import { STATE_FILE } from '../train/checkpoint.js';
import { loadModelWeights } from '../train/checkpoint-node.js';
import { writeRunFigures } from '../train/figures-node.js';
import { NonFiniteLossError, Trainer, type TrainConfig, type FitResult } from '../train/trainer-node.js';
import { UserError } from './errors.js';
import { consoleReporter } from './progress.js';
import { defaultRunDir, ensureFreshDir, readRunConfig, shortStateDictError, VERSION, writeRunConfig, type RunConfig } from './run-folder.js';
import { checkOptions, defaultEpochs, defaultLr, defaultWeightDecay, MODEL_OPTION_KEYS, TRAIN_DEFAULTS, type GivenOptions, type TrainKind } from './train-options.js';

/** What `--model` takes: the family's kinds (models/index.ts) and the closed-form PCA baseline. */
export const MODEL_KINDS: readonly TrainKind[] = [...FAMILY_KINDS, 'pca'];

/** Options shared by commands that build a model. */
export interface ModelFlags {
  model: string;
  latent?: number;
  hidden?: number[];
  channels?: number[];
  activation?: string;
  loss?: string;
  decoder?: string;
  beta?: number;
  rho?: number;
  sparsity?: string;
  noise?: string;
  noiseLevel?: number;
  prior?: string;
  conditionalPrior?: boolean;
  dropout?: number;
}

export interface DataFlags {
  data: string;
  limit?: number;
  valFraction?: number;
  classes?: number[];
  /** The option that set `classes`, for messages (default '--classes'). */
  classesFlag?: string;
  download?: boolean;
}

export interface TrainFlags extends ModelFlags, DataFlags {
  epochs?: number;
  batch?: number;
  lr?: number;
  optimizer?: string;
  weightDecay?: number;
  schedule?: string;
  clipNorm?: number;
  earlyStopping?: number;
  seed?: number;
  out?: string;
  resume?: string;
  figures: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function checkKind(model: string): ModelKind | 'pca' {
  if (!(MODEL_KINDS as readonly string[]).includes(model))
    throw new UserError(`--model must be one of ${MODEL_KINDS.join(', ')}; got '${model}'`, 2);
  return model as ModelKind | 'pca';
}

/** Rejects model options that do not apply to the kind (see train-options.ts); runs before any data is loaded. */
export function checkModelFlags(kind: ModelKind | 'pca', f: ModelFlags): void {
  checkOptions(kind, f as GivenOptions, MODEL_OPTION_KEYS);
}

/** The training settings from the options given and the defaults of the model and optimizer. */
export function trainConfigFromFlags(kind: ModelKind, f: TrainFlags): TrainConfig {
  const optimizer = (f.optimizer ?? TRAIN_DEFAULTS.optimizer) as OptimizerName;
  return {
    epochs: f.epochs ?? defaultEpochs(kind),
    batchSize: f.batch ?? TRAIN_DEFAULTS.batch,
    lr: f.lr ?? defaultLr(optimizer, kind),
    optimizer,
    weightDecay: f.weightDecay ?? defaultWeightDecay(optimizer),
    seed: f.seed ?? TRAIN_DEFAULTS.seed,
    schedule: (f.schedule ?? TRAIN_DEFAULTS.schedule) as TrainConfig['schedule'],
    clipNorm: f.clipNorm ?? null,
    earlyStopping: f.earlyStopping ?? null,
  };
}

/** The model config from defaults plus the flags the user gave. */
export function modelConfigFromFlags(kind: ModelKind, inputShape: [number, number, number], f: ModelFlags, numClasses: number): ModelConfig {
  const o: Record<string, unknown> = {};
  for (const k of MODEL_OPTION_KEYS) if (f[k] !== undefined) o[k] = f[k];
  if (['cvae', 'aae', 'mlp', 'cnn'].includes(kind)) o.numClasses = Math.max(numClasses, 2);
  checkModelFlags(kind, f);
  try {
    return defaultConfig(kind, inputShape, o as never);
  } catch (e) {
    throw new UserError(`model options: ${(e as Error).message}`, 2);
  }
}

/** Builds a model from options the user gave: a config the model rejects is a usage error. */
export function buildFromFlags(mc: ModelConfig): FamilyModel {
  try {
    return buildModel(mc);
  } catch (e) {
    throw new UserError(`model options: ${(e as Error).message}`, 2);
  }
}

export function log(flags: { quiet?: boolean; json?: boolean }, msg: string): void {
  if (!flags.quiet) process.stderr.write(msg + '\n');
}

/** Loads the train split (optionally filtered/limited) and the test split of a dataset spec. */
export async function loadTrainTest(f: DataFlags & { quiet?: boolean; json?: boolean }): Promise<{ train: ImageDataset; test: ImageDataset | null }> {
  const opts = { download: f.download ?? false, log: (m: string) => log(f, `data: ${m}`) };
  let train = await loadDataset(f.data, { ...opts, split: 'train' });
  let test: ImageDataset | null = null;
  try {
    test = await loadDataset(f.data, { split: 'test', download: opts.download });
    // a CSV or a plain folder has no test split: both "splits" are the same images, and scoring
    // the model on its own training data as "test" would mislead
    if (sameImages(test, train)) {
      test = null;
      log(f, `data: ${train.name} has no separate test split; no test metrics (figures use validation images)`);
    }
  } catch {
    test = null;
  }
  if (f.classes) {
    const flag = f.classesFlag ?? '--classes';
    if (!train.labels) throw new UserError(`${flag} needs a labelled dataset; '${train.name}' has no labels`, 2);
    checkClasses(flag, f.classes, train);
    train = filterByLabel(train, f.classes);
    if (test) test = filterByLabel(test, f.classes);
  }
  if (f.limit !== undefined && f.limit < train.n) train = { ...sliceDs(train, f.limit) };
  return { train, test };
}

/** Whether two loads of a dataset hold the same images (a source without a test split). */
export function sameImages(a: ImageDataset, b: ImageDataset): boolean {
  if (a.images === b.images) return true;
  if (a.n !== b.n || a.images.length !== b.images.length) return false;
  for (let i = 0; i < a.images.length; i++) if (a.images[i] !== b.images[i]) return false;
  return true;
}

/** The labels present in a dataset, ascending. */
function labelSet(ds: ImageDataset): number[] {
  const seen = new Set<number>();
  for (const l of ds.labels ?? []) seen.add(l);
  return [...seen].sort((x, y) => x - y);
}

/** [0, 1, 2, 3] → "0–3"; [0, 2, 5] → "0, 2, 5". */
export function fmtClassList(cs: readonly number[]): string {
  const contiguous = cs.length > 2 && cs.every((c, i) => i === 0 || c === cs[i - 1]! + 1);
  return contiguous ? `${cs[0]}–${cs[cs.length - 1]}` : cs.join(', ');
}

/** Every requested class must occur in the training split. */
export function checkClasses(flag: string, classes: readonly number[], ds: ImageDataset): void {
  const have = labelSet(ds);
  const missing = classes.filter((c) => !have.includes(c));
  if (missing.length)
    throw new UserError(
      `${flag}: ${missing.length === 1 ? 'class' : 'classes'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not occur in ${ds.name} (its classes: ${fmtClassList(have)})`,
      2,
    );
}

function sliceDs(ds: ImageDataset, n: number): ImageDataset {
  const d = ds.channels * ds.height * ds.width;
  return { ...ds, images: ds.images.slice(0, n * d), labels: ds.labels ? ds.labels.slice(0, n) : null, n };
}

export function numClassesOf(ds: ImageDataset): number {
  if (ds.classNames?.length) return ds.classNames.length;
  let m = -1;
  if (ds.labels) for (const l of ds.labels) m = Math.max(m, l);
  return m + 1;
}

export interface TrainOutcome {
  runDir: string;
  model: FamilyModel;
  fit: FitResult;
  test: Record<string, number> | null;
  figures: string[];
  train: ImageDataset;
  testSet: ImageDataset | null;
}

/** Trains (or resumes) a family model and writes the run folder. */
export async function runTrain(f: TrainFlags): Promise<TrainOutcome> {
  const plan = f.resume ? planResume(f.resume, f.epochs) : planFresh(f);
  manualSeed(plan.trainCfg.seed);
  const data = await loadSplits(plan.data, f);
  const { model, cfg } = plan.resumed ?? buildFreshModel(plan, data.full, f);
  let fresh: { dir: string; removeDir: boolean } | null = null;
  try {
    if (!plan.resumed) fresh = createRunFolder(plan.runDir, cfg);
    describeRun(model, data, f);
    const trainer = makeTrainer(model, data, plan, cfg, f);
    log(f, `run folder: ${plan.runDir}`);
    const fit = await fitUntilDone(trainer, plan.runDir, f);
    return await finishRun(model, trainer, fit, data, plan.runDir, f);
  } catch (e) {
    // a fresh run that failed before its first checkpoint leaves no half-made run folder behind
    if (fresh) removeUnfinishedRun(fresh.dir, fresh.removeDir);
    throw e;
  }
}

/** What a run is, decided before any data is loaded. */
interface RunPlan {
  kind: ModelKind;
  runDir: string;
  trainCfg: TrainConfig;
  /** The data options in effect (a resumed run's come from its config.json). */
  data: DataFlags & { valFraction: number; seed: number };
  /** The model and config of a resumed run; null for a fresh one. */
  resumed: { model: FamilyModel; cfg: RunConfig } | null;
}

/** A fresh run: its options checked against the model, its training settings with their defaults. */
function planFresh(f: TrainFlags): RunPlan {
  const kind = checkKind(f.model);
  if (kind === 'pca') throw new Error('internal: pca is fitted by runPca');
  checkOptions(kind, f as GivenOptions);
  const trainCfg = trainConfigFromFlags(kind, f);
  return {
    kind,
    runDir: resolve(f.out ?? defaultRunDir(kind, f.data)),
    trainCfg,
    data: { ...f, valFraction: f.valFraction ?? TRAIN_DEFAULTS.valFraction, seed: trainCfg.seed },
    resumed: null,
  };
}

/** A resumed run: everything from its config.json, only the epochs may grow. */
function planResume(dir: string, epochs: number | undefined): RunPlan {
  const runDir = resolve(dir);
  const cfg = readRunConfig(runDir);
  if (cfg.pca || !cfg.train) throw new UserError(`${runDir} is a PCA run; PCA has nothing to resume`, 2);
  const trainCfg = { ...cfg.train, epochs: epochs ?? cfg.train.epochs };
  const done = checkpointEpoch(runDir);
  if (done !== null && done >= trainCfg.epochs)
    throw new UserError(
      `${runDir} has already trained ${done} epoch${done === 1 ? '' : 's'}${epochs === undefined ? ' (all it was configured for)' : ''}; pass --epochs N with N > ${done} to train further`,
      2,
    );
  let model: FamilyModel;
  try {
    model = buildModel(cfg.model);
  } catch (e) {
    throw new UserError(`${join(runDir, 'config.json')}: field 'model': ${(e as Error).message}`);
  }
  const d = cfg.data;
  return {
    kind: cfg.model.kind,
    runDir,
    trainCfg,
    data: { data: d.spec, limit: d.limit ?? undefined, valFraction: d.valFraction, classes: d.classes ?? undefined, seed: trainCfg.seed },
    resumed: { model, cfg },
  };
}

/** The training, validation and test images of a run. */
interface RunData {
  /** The training split before the validation images are held out. */
  full: ImageDataset;
  train: ImageDataset;
  val: ImageDataset;
  test: ImageDataset | null;
}

async function loadSplits(d: RunPlan['data'], f: TrainFlags): Promise<RunData> {
  const { train: full, test } = await loadTrainTest({ ...d, quiet: f.quiet, json: f.json });
  const { train, val } = trainValTestSplit(full, { val: d.valFraction, seed: d.seed });
  return { full, train, val, test };
}

/** A fresh run's model, built for the data's image shape, and the config.json that rebuilds it. */
function buildFreshModel(plan: RunPlan, full: ImageDataset, f: TrainFlags): { model: FamilyModel; cfg: RunConfig } {
  const mc = modelConfigFromFlags(plan.kind, [full.channels, full.height, full.width], f, numClassesOf(full));
  const model = buildFromFlags(mc);
  if (model.needsLabels && !full.labels) throw new UserError(`--model ${plan.kind} needs class labels; dataset '${full.name}' has none`, 2);
  const d = plan.data;
  const cfg: RunConfig = {
    aelab: VERSION,
    created: new Date().toISOString(),
    model: mc,
    train: plan.trainCfg,
    data: { spec: d.data, name: full.name, source: full.source, valFraction: d.valFraction, limit: d.limit ?? null, classes: d.classes ?? null },
  };
  return { model, cfg };
}

/** Creates the run folder with its config.json; says whether the folder itself is new. */
function createRunFolder(runDir: string, cfg: RunConfig): { dir: string; removeDir: boolean } {
  const existed = existsSync(runDir);
  ensureFreshDir(runDir);
  writeRunConfig(runDir, cfg);
  return { dir: runDir, removeDir: !existed };
}

function describeRun(model: FamilyModel, data: RunData, f: TrainFlags): void {
  const { full, train, val, test } = data;
  const inputShape = model.inputLayout === 'image' ? [full.channels, full.height, full.width] : [full.channels * full.height * full.width];
  log(f, `model: ${model.kind}, ${model.numParameters().toLocaleString('en-US')} parameters; input ${JSON.stringify(inputShape)}`);
  log(f, `data: ${train.n} train, ${val.n} validation${test ? `, ${test.n} test` : ''}`);
  const note = partsNote(model);
  if (note) log(f, `note: ${note}`);
}

/** The trainer of a run; a resumed run continues from its last checkpoint. */
function makeTrainer(model: FamilyModel, data: RunData, plan: RunPlan, cfg: RunConfig, f: TrainFlags): Trainer {
  const { runDir, trainCfg } = plan;
  let trainer: Trainer;
  try {
    trainer = new Trainer(model, data.train, data.val.n > 0 ? data.val : null, trainCfg, { runDir, reporter: consoleReporter({ quiet: !!f.quiet }) });
  } catch (e) {
    throw new UserError((e as Error).message, 2);
  }
  if (!plan.resumed) return trainer;
  try {
    trainer.resume(runDir);
  } catch (e) {
    throw new UserError(`cannot resume ${runDir}: ${shortStateDictError((e as Error).message)}`);
  }
  if (trainer.epoch >= trainCfg.epochs)
    throw new UserError(`${runDir} has already trained ${trainer.epoch} epochs; pass --epochs N with N > ${trainer.epoch} to train further`, 2);
  renameLegacyHistory(trainer, model.kind, runDir);
  log(f, `resuming at epoch ${trainer.epoch + 1}, step ${trainer.step}`);
  cfg.train = trainCfg;
  writeRunConfig(runDir, cfg);
  return trainer;
}

/**
 * Renames the parts of earlier versions in a resumed run's history and metrics.jsonl (a VAE's
 * `elbo` is now `neg_elbo`), so the file and the figures use one name throughout.
 */
function renameLegacyHistory(trainer: Trainer, kind: string, runDir: string): void {
  let changed = false;
  trainer.history = trainer.history.map((r) => {
    const train = renameLegacyParts(kind, r.train);
    const val = renameLegacyParts(kind, r.val);
    if (train === r.train && val === r.val) return r;
    changed = true;
    return { ...r, train, val };
  });
  if (changed) writeFileAtomicSync(join(runDir, 'metrics.jsonl'), trainer.history.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** Runs the trainer; Ctrl-C stops it cleanly at the next step, a second Ctrl-C aborts. */
async function fitUntilDone(trainer: Trainer, runDir: string, f: TrainFlags): Promise<FitResult> {
  const onSigint = () => {
    log(f, '\ninterrupt: finishing the current step and saving a checkpoint (press Ctrl-C again to abort)');
    trainer.requestStop();
    process.once('SIGINT', abort);
  };
  const abort = () => process.exit(130);
  process.once('SIGINT', onSigint);
  try {
    return await trainer.fit();
  } catch (e) {
    if (e instanceof NonFiniteLossError) {
      // diverging before the first checkpoint leaves nothing to keep (and the folder is removed)
      const kept = existsSync(join(runDir, 'checkpoints', 'last')) || existsSync(join(runDir, 'checkpoints', 'last.old'));
      throw new UserError(kept ? e.message : e.message.replace(/ The last good checkpoint is kept in \S+?\.(?= |$)/, ' No epoch had finished, so there is no checkpoint to keep.'), 3);
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGINT', abort);
  }
}

/** How a run trains, in a few words for its figures: 'sgd, lr 0.01, batch 128'. */
export function trainNote(c: TrainConfig): string {
  const bits = [c.optimizer, `lr ${c.lr}`, `batch ${c.batchSize}`];
  if (c.weightDecay) bits.push(`weight decay ${c.weightDecay}`);
  if (c.schedule !== 'none') bits.push(`${c.schedule} schedule`);
  if (c.clipNorm !== null) bits.push(`gradient norm clipped to ${c.clipNorm}`);
  return bits.join(', ');
}

/** Evaluates the best weights on the test split (result.json) and draws the figures. */
async function finishRun(model: FamilyModel, trainer: Trainer, fit: FitResult, data: RunData, runDir: string, f: TrainFlags): Promise<TrainOutcome> {
  const best = join(runDir, 'checkpoints', 'best', 'model.safetensors');
  if (existsSync(best)) loadModelWeights(model, best);
  const { test, val, train } = data;
  let testMetrics: Record<string, number> | null = null;
  if (test && fit.reason !== 'interrupted') {
    testMetrics = noGrad(() => trainer.evaluate(test));
    writeFileSync(
      join(runDir, 'result.json'),
      JSON.stringify({ bestEpoch: fit.bestEpoch + 1, epochs: fit.epochsCompleted, stop: fit.reason, test: testMetrics, about: partDocsFor(testMetrics) }, null, 2) + '\n',
    );
  }
  let figures: string[] = [];
  if (f.figures && fit.reason !== 'interrupted') {
    const [shown, split] = test ? [test, 'test'] : val.n > 0 ? [val, 'validation'] : [train, 'training'];
    figures = await writeRunFigures(join(runDir, 'figures'), model, fit.history, shown, { seed: trainer.config.seed, split, trainNote: trainNote(trainer.config) });
  }
  return { runDir, model, fit, test: testMetrics, figures, train, testSet: test };
}

/** The epoch count of a run's last checkpoint, or null when it has none. */
function checkpointEpoch(runDir: string): number | null {
  for (const d of ['last', 'last.old']) {
    const p = join(runDir, 'checkpoints', d, STATE_FILE);
    if (!existsSync(p)) continue;
    try {
      const e = (JSON.parse(readFileSync(p, 'utf8')) as { epoch?: unknown }).epoch;
      return typeof e === 'number' ? e : null;
    } catch {
      return null; // the trainer's resume reports a broken checkpoint with its path
    }
  }
  return null;
}

/** Removes what a fresh run wrote, if it never saved a checkpoint (then nothing in it is worth keeping). */
function removeUnfinishedRun(dir: string, removeDir: boolean): void {
  if (existsSync(join(dir, 'checkpoints'))) return;
  for (const f of ['config.json', 'metrics.jsonl']) rmSync(join(dir, f), { force: true });
  try {
    if (removeDir && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    /* leave it */
  }
}

