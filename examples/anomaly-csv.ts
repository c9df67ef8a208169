/**
 * Anomaly detection on a CSV of your own. An autoencoder with a narrow code learns what normal
 * rows look like; a row it reconstructs badly is an anomaly. The score is the row's mean squared
 * reconstruction error; the threshold is a high percentile of the training rows' scores.
 *
 * The CSV: a header, one row per observation, numeric columns. A label column (0 = normal,
 * 1 = anomaly), if there is one, is left out of training and used only to measure the detector
 * (ROC AUC, precision, recall). The default file, examples/data/sensors.csv, holds 1,000 readings
 * of 8 sensors driven by 2 hidden factors; 5% are faults (a sensor stuck, offset or swapped) that
 * break the sensors' relations while staying within their usual ranges. makeSensorCsv() wrote it.
 *
 *   npm run example -- anomaly-csv [file.csv] [--label label] [--epochs 60]
 *   npx tsx anomaly-csv.ts my.csv --label is_fault      (in your project: npm install aelab tsx)
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { losses, nn, noGrad, rocCurve, tensor, Generator, TensorDataset, Trainer } from 'aelab';

export const DEFAULT_CSV = join(dirname(fileURLToPath(import.meta.url)), 'data', 'sensors.csv');

/** A numeric CSV: column names and rows (a hand-rolled reader: numbers, commas, one header line). */
export function readNumericCsv(path: string): { columns: string[]; rows: number[][] } {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new Error(`${path}: expected a header line and at least one row`);
  const columns = lines[0]!.split(',').map((c) => c.trim());
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) throw new Error(`${path}:${i + 2}: ${cells.length} values, the header has ${columns.length}`);
    return cells.map((c, j) => {
      const v = Number(c);
      if (c.trim() === '' || !Number.isFinite(v))
        throw new Error(`${path}:${i + 2}: column '${columns[j]}' is not a number: ${JSON.stringify(c)}`);
      return v;
    });
  });
  return { columns, rows };
}

export interface AnomalyOptions {
  csv?: string;
  /** The label column's name (default: a column named 'label' if there is one; '' for none). */
  label?: string;
  /** Fraction of rows (from the top) to train on; the rest are scored. */
  trainFraction?: number;
  epochs?: number;
  /** Training scores above this percentile are anomalies. */
  percentile?: number;
  quiet?: boolean;
}

export interface AnomalyResult {
  auc: number | null;
  precision: number | null;
  recall: number | null;
  threshold: number;
  flagged: number[];
}

export async function main(opts: AnomalyOptions = {}): Promise<AnomalyResult> {
  const { csv = DEFAULT_CSV, trainFraction = 0.6, epochs = 60, percentile = 97, quiet = false } = opts;
  const { columns, rows } = readNumericCsv(csv);
  const li = columns.indexOf(opts.label ?? 'label');
  if (opts.label && li < 0) throw new Error(`${csv}: no column '${opts.label}' (columns: ${columns.join(', ')})`);
  const features = columns.map((_, j) => j).filter((j) => j !== li);
  const d = features.length;
  const nTrain = Math.round(rows.length * trainFraction);

  // standardise every column with the training rows' mean and standard deviation
  const mean = features.map((j) => rows.slice(0, nTrain).reduce((s, r) => s + r[j]!, 0) / nTrain);
  const std = features.map((j, k) => Math.sqrt(rows.slice(0, nTrain).reduce((s, r) => s + (r[j]! - mean[k]!) ** 2, 0) / nTrain) || 1);
  const x = tensor(
    rows.flatMap((r) => features.map((j, k) => (r[j]! - mean[k]!) / std[k]!)),
    [rows.length, d],
  );
  const labels = li >= 0 ? rows.map((r) => r[li]!) : null;

  // d → 16 → 2 → 16 → d: the 2-number code can hold the normal rows' structure, not a fault
  const g = new Generator(0);
  // prettier-ignore
  const model = new nn.Sequential(
    new nn.Linear(d, 16, { generator: g }), new nn.Tanh(), new nn.Linear(16, 2, { generator: g }), // encoder
    new nn.Linear(2, 16, { generator: g }), new nn.Tanh(), new nn.Linear(16, d, { generator: g }), // decoder
  );
  const [xTrain] = new TensorDataset(x).gather(Array.from({ length: nTrain }, (_, i) => i));
  const fit = await new Trainer(model, {
    data: new TensorDataset(xTrain!),
    loss: losses.mse,
    lr: 1e-2,
    epochs,
    batchSize: 32,
    seed: 1,
  }).fit();

  // score = mean squared reconstruction error of each row
  model.eval();
  const scores = noGrad(() => Array.from(losses.mse(model.forward(x), x, { reduction: 'none' }).mean(1).data));
  const trainScores = scores.slice(0, nTrain).sort((a, b) => a - b);
  const threshold = trainScores[Math.min(nTrain - 1, Math.floor((percentile / 100) * nTrain))]!;
  const flagged = scores.map((s, i) => (i >= nTrain && s > threshold ? i : -1)).filter((i) => i >= 0);

  const result: AnomalyResult = { auc: null, precision: null, recall: null, threshold, flagged };
  const say = (s: string) => quiet || console.log(s);
  say(
    `${rows.length} rows × ${d} columns; trained on the first ${nTrain} (MSE ${fit.history[0]!.train.loss!.toFixed(3)} → ${fit.history.at(-1)!.train.loss!.toFixed(3)})`,
  );
  say(
    `threshold (${percentile}th percentile of training scores): ${threshold.toFixed(4)}; ${flagged.length} of ${rows.length - nTrain} scored rows flagged`,
  );
  if (labels) {
    const testScores = scores.slice(nTrain);
    const testLabels = labels.slice(nTrain);
    result.auc = rocCurve(testScores, testLabels).auc;
    const tp = flagged.filter((i) => labels[i] === 1).length;
    const positives = testLabels.filter((l) => l === 1).length;
    result.precision = flagged.length ? tp / flagged.length : 0;
    result.recall = positives ? tp / positives : 0;
    say(
      `ROC AUC ${result.auc.toFixed(3)}; at the threshold: precision ${result.precision.toFixed(2)}, recall ${result.recall.toFixed(2)} (${tp} of ${positives} anomalies)`,
    );
  }
  say(
    `most anomalous rows (line in the file): ${[...flagged]
      .sort((a, b) => scores[b]! - scores[a]!)
      .slice(0, 10)
      .map((i) => i + 2)
      .join(', ')}`,
  );
  return result;
}

/**
 * The sensors.csv generator (kept so the file is reproducible): 8 sensors as smooth functions of
 * two hidden factors plus noise; a fault (5% of rows) sticks one sensor at a plausible constant,
 * offsets it by ~2 standard deviations, or swaps two sensors, so that the sensors stop agreeing.
 */
export function makeSensorCsv(n = 1000, seed = 2026): string {
  const g = new Generator(seed);
  const lines = ['s1,s2,s3,s4,s5,s6,s7,s8,label'];
  for (let i = 0; i < n; i++) {
    const a = g.normal();
    const b = g.normal();
    const s = [a, b, 0.7 * a + 0.7 * b, a - 0.5 * b, Math.tanh(1.5 * a), Math.sin(b), 0.5 * a * a - 0.5, a * b * 0.5].map(
      (v) => v + 0.05 * g.normal(),
    );
    const fault = g.random() < 0.05;
    if (fault) {
      const k = Math.floor(g.random() * 8);
      const kind = g.random();
      if (kind < 0.34) s[k] = 0.8 * (g.random() < 0.5 ? -1 : 1);
      else if (kind < 0.67) s[k]! += (g.random() < 0.5 ? -2 : 2) * (k < 4 ? 1 : 0.5);
      else [s[k], s[(k + 3) % 8]] = [s[(k + 3) % 8]!, s[k]!];
    }
    lines.push([...s.map((v) => v.toFixed(4)), fault ? 1 : 0].join(','));
  }
  return lines.join('\n') + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: { label: { type: 'string' }, epochs: { type: 'string' } },
    });
    await main({
      ...(positionals[0] && { csv: positionals[0] }),
      ...(values.label !== undefined && { label: values.label }),
      ...(values.epochs && { epochs: Number(values.epochs) }),
    });
  } catch (e) {
    // a user's mistake (a missing file, an unknown option) as one line, not a stack trace
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
