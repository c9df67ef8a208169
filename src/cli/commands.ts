/** `aelab eval | sample | reconstruct | encode | anomaly | summary` (PCA runs: pca.ts). */
import { writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { noGrad } from '../autograd/tape.js';
import type { ImageDataset } from '../data/dataset.js';
import { loadDataset } from '../data/sources.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { PART_DOCS, partDocsFor, partsNote } from '../models/parts.js';
import type { FamilyModel, ModelKind } from '../models/types.js';
import { summary } from '../nn/summary.js';
import { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import { className, describeModel, inputBatch } from '../train/figures.js';
import { Trainer, defaultTrainConfig } from '../train/trainer-node.js';
import { saveGridFigure } from '../viz/grid-figure-node.js';
import { saveChart } from '../viz/render.js';
import { rocCurve } from '../viz/roc.js';
import { histogramSpec, rocSpec } from '../viz/specs.js';
import { UserError } from './errors.js';
import { evalPca, reconstructPca, summaryPca } from './pca.js';
import { loadRunModel, readRunConfig } from './run-folder.js';
import { datasetFor, loadPca, pngOut, print, requireAE, runClassNames, runModel } from './shared.js';
import { checkOptions, type GivenOptions } from './train-options.js';
import { buildFromFlags, checkClasses, checkKind, checkModelFlags, fmtClassList, modelConfigFromFlags, numClassesOf, runTrain, type ModelFlags, type TrainFlags } from './train.js';

/** The unconditional autoencoders `aelab anomaly` can train. */
export const ANOMALY_KINDS = ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'aae'] as const;

/** Evaluates all of a dataset in batches, averaging the model's parts. */
function evaluateAll(model: FamilyModel, ds: ImageDataset): Record<string, number> {
  const t = new Trainer(model, ds, null, { ...defaultTrainConfig, batchSize: 500 });
  return t.evaluate(ds);
}

/** A metrics table with what each number is (models/parts.ts), e.g. "  neg_elbo  167.6  −ELBO = …". */
function describedTable(rec: Record<string, number>, extra: Record<string, string> = {}): string {
  const w = Math.max(...Object.keys(rec).map((k) => k.length));
  const vals = Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, Number.isInteger(v) ? String(v) : v.toPrecision(6)]));
  const wv = Math.max(...Object.values(vals).map((v) => v.length));
  return Object.keys(rec)
    .map((k) => {
      const doc = [PART_DOCS[k], extra[k]].filter(Boolean).join('; ');
      return `  ${k.padEnd(w)}  ${vals[k]!.padStart(wv)}${doc ? `  ${doc}` : ''}`;
    })
    .join('\n');
}

export async function cmdEval(o: { run: string; data?: string; split: 'train' | 'test'; iw?: number; weights: 'best' | 'last'; json?: boolean; seed: number }): Promise<void> {
  const run = resolve(o.run);
  const cfg = readRunConfig(run);
  if (cfg.pca) return evalPca(run, o);
  const { model } = loadRunModel(run, o.weights);
  const vae = model as unknown as { importanceWeightedLogLikelihood?: (x: never, k: number, g: Generator, y?: Int32Array | null) => Float32Array };
  if (o.iw && typeof vae.importanceWeightedLogLikelihood !== 'function') throw new UserError(`--iw needs a VAE or CVAE run; ${run} holds '${model.kind}'`, 2);
  const ds = await datasetFor(run, o.data, o.split);
  const res = noGrad(() => evaluateAll(model, ds));
  if (o.iw) {
    const gen = new Generator(o.seed);
    let sum = 0;
    model.eval();
    for (let s = 0; s < ds.n; s += 100) {
      sum += tidy(() => {
        const { x, y } = inputBatch(model, ds, s, 100);
        return vae.importanceWeightedLogLikelihood!(x as never, o.iw!, gen, y).reduce((a, b) => a + b, 0);
      });
    }
    res.log_px_iwae = sum / ds.n;
  }
  const note = partsNote(model);
  const extra: Record<string, string> = o.iw ? { log_px_iwae: `k = ${o.iw} importance samples` } : {};
  print(
    o.json,
    { run, split: o.split, n: ds.n, metrics: res, ...(o.iw ? { iwSamples: o.iw } : {}), about: partDocsFor(res), ...(note ? { note } : {}) },
    `${model.kind} on ${ds.name} (${o.split}, ${ds.n} samples):\n${describedTable(res, extra)}${note ? `\nnote: ${note}` : ''}`,
  );
}

export async function cmdSample(o: { run: string; n: number; label?: number; seed: number; out?: string; weights: 'best' | 'last'; json?: boolean }): Promise<void> {
  const run = resolve(o.run);
  const { model, config } = runModel(run, o.weights, 'sample', 'which has no prior to sample from (use a vae, cvae or aae run)');
  const ae = requireAE(model, 'sample', run);
  if (!ae.sample) throw new UserError(`sample: the '${model.kind}' model in ${run} has no prior to sample from (use a vae, cvae or aae run)`, 2);
  const numClasses = Math.max(1, (config.model as { numClasses?: number }).numClasses ?? 10);
  if (o.label !== undefined) {
    // labels choose what to generate only where the model was trained with them
    if (!model.needsLabels) throw new UserError(`--label needs a conditional model (cvae, or aae with --conditional-prior); ${run} holds an unconditional model ('${model.kind}')`, 2);
    if (o.label >= numClasses) throw new UserError(`--label ${o.label} is not a class of this run (its classes: 0–${numClasses - 1})`, 2);
  }
  const p = pngOut(o.out, run, `sample-seed${o.seed}${o.label !== undefined ? `-label${o.label}` : ''}.png`);
  const [C, H, W] = config.model.inputShape;
  const labels = model.needsLabels ? Int32Array.from({ length: o.n }, (_, i) => o.label ?? i % numClasses) : null;
  model.eval();
  const imgs = noGrad(() => tidy(() => ae.sample!(o.n, new Generator(o.seed), labels).data.slice()));
  const names = runClassNames(config, numClasses);
  // a conditional model without --label cycles through the classes: one column per class
  const byClass = model.needsLabels && o.label === undefined && o.n >= numClasses;
  const prior = model.kind === 'aae' ? `the ${String((config.model as { prior?: string }).prior)} prior` : 'z ~ N(0, I)';
  await saveGridFigure(p, imgs, o.n, H, W, {
    channels: C as 1 | 3,
    pad: 1,
    background: 0.5,
    ...(byClass ? { cols: numClasses, colLabels: names, colTitle: 'class' } : {}),
    title: `${describeModel(model)}: ${o.n} samples${o.label !== undefined ? ` of class ${names[o.label]}` : ''}`,
    subtitle: `decoded draws from ${prior}, seed ${o.seed}`,
  });
  print(o.json, { file: p, n: o.n }, `wrote ${o.n} samples to ${p}`);
}

export async function cmdReconstruct(o: { run: string; n: number; data?: string; split: 'train' | 'test'; out?: string; weights: 'best' | 'last'; json?: boolean }): Promise<void> {
  const run = resolve(o.run);
  if (readRunConfig(run).pca) return reconstructPca(run, o);
  const { model, config } = loadRunModel(run, o.weights);
  const ae = requireAE(model, 'reconstruct', run);
  const p = pngOut(o.out, run, `reconstruct-${o.split}-${o.n}.png`);
  const ds = await datasetFor(run, o.data, o.split);
  const n = Math.min(o.n, ds.n);
  const [C, H, W] = config.model.inputShape;
  model.eval();
  const { imgs, err } = noGrad(() =>
    tidy(() => {
      const { x, y } = inputBatch(model, ds, 0, n);
      const r = ae.reconstruct(x, y);
      const d = C * H * W;
      const out = new Float32Array(2 * n * d);
      out.set(x.data.subarray(0, n * d));
      out.set(r.data.subarray(0, n * d), n * d);
      const e = ae.reconstructionError(x, y);
      return { imgs: out, err: Array.from(e) };
    }),
  );
  await saveGridFigure(p, imgs, 2 * n, H, W, {
    cols: n,
    channels: C as 1 | 3,
    pad: 1,
    background: 0.5,
    title: `${describeModel(model)}: reconstructions`,
    subtitle: `the first ${n} ${o.split} images of ${ds.name} (top) and their reconstructions (bottom)`,
    rowLabels: ['input', 'reconstruction'],
    ...(ds.labels ? { colLabels: Array.from(ds.labels.subarray(0, n), (l) => className(ds, l)), colTitle: 'label' } : {}),
  });
  const mean = err.reduce((a, b) => a + b, 0) / err.length;
  print(o.json, { file: p, n, meanError: mean, errors: err }, `wrote ${n} inputs (top) and reconstructions (bottom) to ${p}\nmean reconstruction error ${mean.toPrecision(5)}`);
}

/** A float32 or int32 array as NumPy .npy bytes (format 1.0, little-endian). */
export function npyBytes(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Where `encode --out codes.npy` puts the labels: codes.labels.npy beside it. */
export function labelsPathFor(npy: string): string {
  return npy.replace(/\.npy$/i, '') + '.labels.npy';
}

export async function cmdEncode(o: { run: string; out: string; data?: string; split: 'train' | 'test'; limit?: number; weights: 'best' | 'last'; json?: boolean }): Promise<void> {
  const run = resolve(o.run);
  const ext = extname(o.out).toLowerCase();
  if (ext !== '.csv' && ext !== '.npy') throw new UserError(`--out must end in .csv or .npy, got '${o.out}'`, 2);
  const cfg = readRunConfig(run);
  const ds = await datasetFor(run, o.data, o.split);
  const n = Math.min(o.limit ?? ds.n, ds.n);
  let codes: Float32Array;
  let k: number;
  if (cfg.pca) {
    const pca = loadPca(run);
    k = pca.k;
    codes = pca.transform(ds.images.subarray(0, n * ds.channels * ds.height * ds.width), n);
  } else {
    const { model } = loadRunModel(run, o.weights);
    const ae = requireAE(model, 'encode', run);
    model.eval();
    const parts: Float32Array[] = [];
    k = 0;
    for (let s = 0; s < n; s += 500)
      parts.push(
        noGrad(() =>
          tidy(() => {
            const { x, y } = inputBatch(model, ds, s, Math.min(500, n - s));
            const z = ae.encode(x, y);
            k = z.shape[1]!;
            return z.data.slice();
          }),
        ),
      );
    codes = new Float32Array(n * k);
    let off = 0;
    for (const p of parts) {
      codes.set(p, off);
      off += p.length;
    }
  }
  const out = resolve(o.out);
  const labels = ds.labels ? ds.labels.subarray(0, n) : null;
  let labelsFile: string | null = null;
  if (ext === '.npy') {
    // .npy holds one array: the labels (the CSV's first column) go into a second file beside it
    writeFileAtomicSync(out, npyBytes(codes, [n, k]));
    if (labels) writeFileAtomicSync((labelsFile = labelsPathFor(out)), npyBytes(Int32Array.from(labels), [n]));
  } else {
    const head = ['label', ...Array.from({ length: k }, (_, j) => `z${j + 1}`)].join(',');
    const lines = [head];
    for (let i = 0; i < n; i++) lines.push([labels ? labels[i] : '', ...Array.from(codes.subarray(i * k, (i + 1) * k))].join(','));
    writeFileAtomicSync(out, lines.join('\n') + '\n');
  }
  const what =
    ext === '.npy'
      ? labelsFile
        ? `wrote ${n} codes of ${k} dims to ${out} (float32, ${n}×${k}) and their labels to ${labelsFile} (int32, ${n})`
        : `wrote ${n} codes of ${k} dims to ${out} (float32, ${n}×${k}); ${ds.name} has no labels`
      : `wrote ${n} codes of ${k} dims to ${out} (columns: label, z1..z${k})`;
  print(o.json, { file: out, labelsFile, n, dims: k }, what);
}

export interface AnomalyFlags extends TrainFlags {
  normal: number[];
}

/**
 * Trains an autoencoder on the "normal" classes only, then scores the test set by
 * reconstruction error: anomalies (the other classes) should reconstruct worse (seed 002).
 */
export async function cmdAnomaly(f: AnomalyFlags): Promise<void> {
  const kind = checkKind(f.model);
  if (!(ANOMALY_KINDS as readonly string[]).includes(kind))
    throw new UserError(`anomaly: --model must be an unconditional autoencoder (${ANOMALY_KINDS.join(', ')}), got '${kind}'`, 2);
  checkOptions(kind, f as GivenOptions);
  // everything that can be wrong with the data is checked before training
  const full = await loadDataset(f.data, { split: 'test' });
  if (!full.labels) throw new UserError(`anomaly: dataset '${f.data}' has no labels, so nothing tells normal from anomalous images`, 2);
  const train = await loadDataset(f.data, { split: 'train' });
  if (!train.labels) throw new UserError(`anomaly: dataset '${f.data}' has no labels to pick the --normal classes by`, 2);
  checkClasses('--normal', f.normal, train);
  const normal = new Set(f.normal);
  if (Array.from(full.labels).every((l) => normal.has(l)))
    throw new UserError(`--normal ${fmtClassList(f.normal)} covers every class of the test images, so none is anomalous; leave some classes out`, 2);
  if (Array.from(full.labels).every((l) => !normal.has(l)))
    throw new UserError(`--normal ${fmtClassList(f.normal)}: the test images have none of these classes, so the ROC has no normal images`, 2);
  const outcome = await runTrain({ ...f, classes: f.normal, classesFlag: '--normal', figures: f.figures });
  const model = requireAE(outcome.model, 'anomaly', outcome.runDir);
  const scores: number[] = [];
  const labels: (0 | 1)[] = [];
  model.eval();
  for (let s = 0; s < full.n; s += 500) {
    const e = noGrad(() =>
      tidy(() => {
        const { x, y } = inputBatch(model, full, s, Math.min(500, full.n - s));
        return model.reconstructionError(x, y);
      }),
    );
    for (let i = 0; i < e.length; i++) {
      scores.push(e[i]!);
      labels.push(normal.has(full.labels[s + i]!) ? 0 : 1);
    }
  }
  const { points, auc } = rocCurve(scores, labels);
  const perClass: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (let i = 0; i < full.n; i++) {
    const c = full.classNames?.[full.labels[i]!] ?? String(full.labels[i]);
    perClass[c] = (perClass[c] ?? 0) + scores[i]!;
    counts[c] = (counts[c] ?? 0) + 1;
  }
  for (const c of Object.keys(perClass)) perClass[c]! /= counts[c]!;
  // in label order (class names would otherwise come in the order the test images happen to have)
  const present = [...new Set(Array.from(full.labels))].sort((a, b) => a - b);
  const nameOf = (l: number) => full.classNames?.[l] ?? String(l);
  const byClass = Object.fromEntries(present.map((l) => [nameOf(l), perClass[nameOf(l)]!]));
  // (a table of its own: an object would list integer-like keys before '0 (normal)')
  const rowsText = present.map((l) => [`${nameOf(l)}${normal.has(l) ? ' (normal)' : ''}`, perClass[nameOf(l)]!] as const);
  const wText = Math.max(...rowsText.map(([k]) => k.length));
  const byClassText = rowsText.map(([k, v]) => `  ${k.padEnd(wText)}  ${v.toPrecision(6)}`).join('\n');
  const figs = join(outcome.runDir, 'figures');
  const groups = {
    normal: Float32Array.from(scores.filter((_, i) => labels[i] === 0)),
    anomalous: Float32Array.from(scores.filter((_, i) => labels[i] === 1)),
  };
  const what = `${f.normal.length === 1 ? 'class' : 'classes'} ${fmtClassList(f.normal)}`;
  const figures = f.figures ? [join(figs, 'anomaly-histogram.png'), join(figs, 'anomaly-roc.png')] : [];
  if (f.figures) {
    await saveChart(
      figures[0]!,
      histogramSpec(
        { [`normal: ${what} (${groups.normal.length})`]: groups.normal, [`anomalous: the rest (${groups.anomalous.length})`]: groups.anomalous },
        { title: `${describeModel(model)} trained on ${what}: reconstruction error`, xTitle: 'reconstruction error (mean squared, per image)', normalize: 'fraction' },
      ),
    );
    await saveChart(figures[1]!, rocSpec(points, auc, { name: `ROC, normal = ${what}` }));
  }
  const result = { runDir: outcome.runDir, normalClasses: f.normal, auc, nNormal: groups.normal.length, nAnomalous: groups.anomalous.length, meanScoreByClass: byClass };
  writeFileSync(join(outcome.runDir, 'anomaly.json'), JSON.stringify(result, null, 2) + '\n');
  print(
    f.json,
    result,
    `anomaly detection, trained on ${what} (${outcome.train.n} images):\n  ROC AUC ${auc.toFixed(4)} on ${full.n} test images ` +
      `(${groups.normal.length} normal, ${groups.anomalous.length} anomalous)\n  mean error by class:\n${byClassText}` + (figures.length ? `\n  figures: ${figures.join(', ')}` : ''),
  );
}

export async function cmdSummary(o: ModelFlags & { run?: string; data: string; json?: boolean }): Promise<void> {
  let model: FamilyModel;
  let shape: [number, number, number];
  if (o.run) {
    const run = resolve(o.run);
    if (readRunConfig(run).pca) return summaryPca(run, o.json);
    const r = loadRunModel(run);
    model = r.model;
    shape = r.config.model.inputShape;
  } else {
    const kind = checkKind(o.model);
    if (kind === 'pca') throw new UserError('summary: PCA has no layers; try aelab train --model pca', 2);
    checkModelFlags(kind, o);
    const ds = await loadDataset(o.data, { split: 'test' }).catch(() => loadDataset(o.data, { split: 'train' }));
    shape = [ds.channels, ds.height, ds.width];
    model = buildFromFlags(modelConfigFromFlags(kind as ModelKind, shape, o, numClassesOf(ds)));
  }
  const input = model.inputLayout === 'image' ? [1, ...shape] : [1, shape[0] * shape[1] * shape[2]];
  // conditional models take labels too: trace them with class 0
  const m = model as unknown as { forward: (x: Tensor, y?: Int32Array | null) => Tensor };
  if (model.needsLabels) {
    const orig = m.forward;
    m.forward = (x: Tensor) => orig.call(model, x, new Int32Array(x.shape[0]!));
  }
  let s: ReturnType<typeof summary>;
  try {
    s = summary(model, input);
  } finally {
    if (model.needsLabels) delete (m as { forward?: unknown }).forward;
  }
  print(o.json, { kind: model.kind, config: model.config, rows: s.rows, totalParams: s.totalParams, trainableParams: s.trainableParams }, `${model.kind}\n${s.text}`);
}
