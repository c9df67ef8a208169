/** PCA runs: `aelab train --model pca`, and eval / reconstruct / summary of a PCA run folder. */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { PCA } from '../models/pca.js';
import type { ImageDataset } from '../data/dataset.js';
import { className, filterImages, MAX_TILES } from '../train/figures.js';
import { gridCols, type GridFigureOptions } from '../viz/grid-figure.js';
import { saveGridFigure } from '../viz/grid-figure-node.js';
import { saveChart } from '../viz/render.js';
import { latentScatterSpec, lineChartSpec } from '../viz/specs.js';
import { UserError } from './errors.js';
import { defaultRunDir, ensureFreshDir, VERSION, writeRunConfig } from './run-folder.js';
import { datasetFor, loadPca, pngOut, print, table } from './shared.js';
import { loadTrainTest, log, type TrainFlags } from './train.js';
import { checkOptions, type GivenOptions } from './train-options.js';

export async function evalPca(run: string, o: { data?: string; split: 'train' | 'test'; json?: boolean; iw?: number }): Promise<void> {
  if (o.iw) throw new UserError(`--iw needs a VAE or CVAE run; ${run} is a PCA run`, 2);
  const pca = loadPca(run);
  const ds = await datasetFor(run, o.data, o.split);
  const err = pca.meanReconstructionError(ds.images, ds.n);
  const res = { mse: err, components: pca.k, explainedVariance: pca.explainedVarianceRatio.reduce((a: number, b: number) => a + b, 0) };
  print(o.json, { run, split: o.split, n: ds.n, metrics: res }, `pca on ${ds.name} (${o.split}, ${ds.n} samples):\n${table(res)}`);
}

/** PCA is a linear autoencoder: project onto the components and back. */
export async function reconstructPca(run: string, o: { n: number; data?: string; split: 'train' | 'test'; out?: string; json?: boolean }): Promise<void> {
  const pca = loadPca(run);
  const p = pngOut(o.out, run, `reconstruct-${o.split}-${o.n}.png`);
  const ds = await datasetFor(run, o.data, o.split);
  const n = Math.min(o.n, ds.n);
  const d = ds.channels * ds.height * ds.width;
  const x = ds.images.subarray(0, n * d);
  const r = pca.inverseTransform(pca.transform(x, n), n);
  const both = new Float32Array(2 * n * d);
  both.set(x);
  both.set(r, n * d);
  await saveGridFigure(p, both, 2 * n, ds.height, ds.width, {
    ...reconstructionLabels(ds, n, `${o.split} images of ${ds.name}`, pca.k),
    channels: ds.channels as 1 | 3,
  });
  const err: number[] = [];
  for (let i = 0; i < n; i++) {
    let e = 0;
    for (let j = 0; j < d; j++) e += (x[i * d + j]! - r[i * d + j]!) ** 2 / d;
    err.push(e);
  }
  const mean = err.reduce((a, b) => a + b, 0) / Math.max(1, n);
  print(o.json, { file: p, n, meanError: mean, errors: err }, `wrote ${n} inputs (top) and PCA reconstructions (bottom) to ${p}\nmean reconstruction error ${mean.toPrecision(5)}`);
}

export function summaryPca(run: string, json: boolean | undefined): void {
  const pca = loadPca(run);
  const d = pca.components.length / pca.k;
  const params = pca.k * d + d;
  print(
    json,
    { kind: 'pca', components: pca.k, inputDim: d, totalParams: params },
    `pca\n${pca.k} components of ${d} inputs: ${params.toLocaleString('en-US')} numbers (components ${pca.k}×${d} and the mean)`,
  );
}

/** The labels of a PCA reconstructions figure: inputs over their projections onto k components. */
function reconstructionLabels(ds: ImageDataset, n: number, what: string, k: number): GridFigureOptions {
  return {
    cols: n,
    pad: 1,
    background: 0.5,
    title: `PCA (${k} components): reconstructions`,
    subtitle: `the first ${n} ${what} (top) projected onto the ${k} components and back (bottom)`,
    rowLabels: ['input', 'reconstruction'],
    ...(ds.labels ? { colLabels: Array.from(ds.labels.subarray(0, n), (l) => className(ds, l)), colTitle: 'label' } : {}),
  };
}

/** The components drawn as images (every one up to MAX_TILES): [images, n]. */
function componentsFigure(pca: PCA, d: number): [Float32Array, number] {
  const shown = Math.min(pca.k, MAX_TILES);
  return [filterImages(pca.components.subarray(0, shown * d), shown, d), shown];
}

function componentsLabels(pca: PCA): GridFigureOptions {
  const shown = Math.min(pca.k, MAX_TILES);
  const cols = gridCols(shown);
  const ratios = Array.from(pca.explainedVarianceRatio as ArrayLike<number>);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const total = ratios.reduce((a, b) => a + b, 0);
  const top = ratios.slice(0, 4).map((v, i) => `PC ${i + 1} ${pct(v)}`);
  return {
    cols,
    pad: 1,
    background: 0,
    title: `PCA: ${shown === pca.k ? `all ${pca.k}` : `the first ${shown} of ${pca.k}`} components`,
    subtitle: [
      `explained variance: ${top.join(', ')}${ratios.length > 4 ? ', …' : ''}; all ${pca.k}: ${pct(total)}`,
      'each tile one component (row by row, largest variance first), centred on its mean (grey), white positive, black negative',
    ],
    rowLabels: Array.from({ length: Math.ceil(shown / cols) }, (_, r) => `PC ${r * cols + 1}`),
  };
}

/** `aelab train --model pca`: fits PCA with --latent components; writes pca.json, result.json and figures. */
export async function runPca(f: TrainFlags): Promise<void> {
  checkOptions('pca', f as GivenOptions);
  const { train, test } = await loadTrainTest(f);
  const d = train.channels * train.height * train.width;
  const k = f.latent ?? 32;
  if (k > d) throw new UserError(`--latent ${k} exceeds the ${d} input dimensions`, 2);
  const runDir = resolve(f.out ?? defaultRunDir('pca', f.data));
  ensureFreshDir(runDir);
  const t0 = performance.now();
  const pca = PCA.fit(train.images, train.n, d, k);
  const seconds = (performance.now() - t0) / 1000;
  writeRunConfig(runDir, {
    aelab: VERSION,
    created: new Date().toISOString(),
    model: { kind: 'pca', inputShape: [train.channels, train.height, train.width] } as never,
    data: { spec: f.data, name: train.name, source: train.source, valFraction: 0, limit: f.limit ?? null, classes: f.classes ?? null },
    pca: true,
  });
  writeFileAtomicSync(join(runDir, 'pca.json'), JSON.stringify(pca.toJSON()) + '\n');
  const evalSet = test ?? train;
  const result = {
    components: k,
    fitSeconds: seconds,
    explainedVariance: pca.explainedVarianceRatio.reduce((a: number, b: number) => a + b, 0),
    trainMse: pca.meanReconstructionError(train.images, train.n),
    testMse: pca.meanReconstructionError(evalSet.images, evalSet.n),
  };
  writeFileSync(join(runDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  if (f.figures) {
    const figs = join(runDir, 'figures');
    const n = Math.min(16, evalSet.n);
    const x = evalSet.images.subarray(0, n * d);
    const r = pca.inverseTransform(pca.transform(x, n), n);
    const both = new Float32Array(2 * n * d);
    both.set(x);
    both.set(r, n * d);
    const C = train.channels as 1 | 3;
    await saveGridFigure(join(figs, 'reconstructions.png'), both, 2 * n, train.height, train.width, {
      ...reconstructionLabels(evalSet, n, `${test ? 'test' : 'training'} images`, k),
      channels: C,
    });
    await saveGridFigure(join(figs, 'components.png'), ...componentsFigure(pca, d), train.height, train.width, { ...componentsLabels(pca), channels: C });
    const m = Math.min(2000, evalSet.n);
    const codes = pca.transform(evalSet.images.subarray(0, m * d), m);
    // PCA codes are already ordered by variance: the first two are the top-2 projection
    if (k >= 2) {
      const pts = Array.from({ length: m }, (_, i) => ({
        x: codes[i * k]!,
        y: codes[i * k + 1]!,
        label: evalSet.labels ? className(evalSet, evalSet.labels[i]!) : 'all',
      }));
      await saveChart(
        join(figs, 'latent.png'),
        latentScatterSpec(pts, {
          title: 'PCA: the first two components',
          subtitle: `the projections of ${m} ${test ? 'test' : 'training'} images, coloured by class`,
          xTitle: 'PC 1',
          yTitle: 'PC 2',
          ...(evalSet.classNames ? { labelOrder: evalSet.classNames } : {}),
        }),
      );
    }
    let acc = 0;
    const ratios = Array.from(pca.explainedVarianceRatio as ArrayLike<number>);
    const rows = [
      ...ratios.map((v, i) => ({ x: i + 1, y: (acc += v), series: 'cumulative' })),
      ...ratios.map((v, i) => ({ x: i + 1, y: v, series: 'per component' })),
    ];
    await saveChart(
      join(figs, 'explained-variance.png'),
      lineChartSpec(rows, { title: `PCA: explained variance (${k} components, ${(acc * 100).toFixed(1)}% in all)`, xTitle: 'component', yTitle: 'fraction of the variance', seriesTitle: 'variance', yDomain: [0, 1] }),
    );
  }
  print(f.json, { runDir, ...result }, `PCA with ${k} components on ${train.name} (${train.n} images, ${seconds.toFixed(2)} s):\n${table(result)}\nrun folder: ${runDir}`);
  log(f, '');
}
