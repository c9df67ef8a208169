/** The figures of a run written as PNG files (Node): figures.ts computes them, viz/ renders them. */
import { join } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import type { FamilyModel } from '../models/types.js';
import { saveGridFigure } from '../viz/grid-figure-node.js';
import { saveChart } from '../viz/render.js';
import { lineChartSpec } from '../viz/specs.js';
import { describeModel, gridFigures, isAutoencoder, latentFigure, lossFigureSpec, type FigureOptions } from './figures.js';
import type { EpochRecord } from './trainer.js';

/** Writes every figure that applies to this model. Returns the paths written. */
export async function writeRunFigures(
  dir: string,
  model: FamilyModel,
  history: readonly EpochRecord[],
  data: ImageDataset,
  opts: FigureOptions = {},
): Promise<string[]> {
  const written: string[] = [];
  const name = describeModel(model);
  if (history.length > 0) {
    const p = join(dir, 'loss.png');
    await saveChart(p, lossFigureSpec(model, history, opts));
    written.push(p);
    const accRows = history.flatMap((r) => [
      ...(r.train.acc !== undefined ? [{ x: r.epoch + 1, y: r.train.acc, series: 'train' }] : []),
      ...(r.val.acc !== undefined ? [{ x: r.epoch + 1, y: r.val.acc, series: 'validation' }] : []),
    ]);
    if (accRows.length) {
      const pa = join(dir, 'accuracy.png');
      await saveChart(
        pa,
        lineChartSpec(accRows, {
          title: `${name}: accuracy per epoch`,
          ...(opts.trainNote ? { subtitle: opts.trainNote } : {}),
          xTitle: 'epoch',
          yTitle: 'accuracy',
          seriesTitle: 'split',
          seriesOrder: ['train', 'validation'],
        }),
      );
      written.push(pa);
    }
  }
  if (!isAutoencoder(model) || data.n === 0) return written;

  const grids = gridFigures(model, data, opts);
  const latent = latentFigure(model, data, opts);
  const C = data.channels as 1 | 3;
  for (const g of grids) {
    const p = join(dir, g.file);
    await saveGridFigure(p, g.images, g.n, data.height, data.width, { channels: C, ...g.options });
    written.push(p);
  }
  if (latent) {
    const p = join(dir, 'latent.png');
    await saveChart(p, latent);
    written.push(p);
  }
  return written;
}
