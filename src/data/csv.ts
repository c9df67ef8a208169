/**
 * CSV of pixel rows (one image per line), e.g. Kaggle's mnist_train.csv / fashion-mnist_train.csv:
 * an optional header, an optional label column (first, or the one named `label`), then the pixels
 * in C·H·W order. Values in 0–255 or 0–1 are detected from the data. Pure: takes the text, so the
 * browser lab can load a CSV the user drops in; sources.ts reads files.
 */

import { DataError } from './errors.js';
import { createDataset, type DatasetInit, type ImageDataset } from './dataset.js';

export interface CsvOptions {
  /** Dataset name; default 'csv'. */
  name?: string;
  /** File name used in error messages and as the dataset's source. */
  source?: string;
  /**
   * Which column holds the label: 'auto' (default: a header column named label/class/target,
   * otherwise the first column when the remaining count is an image size), 'none', a 0-based
   * index, or a header name.
   */
  labelColumn?: 'auto' | 'none' | number | string;
  /** Image shape (C, H, W). Default: inferred from the pixel count (square greyscale or RGB). */
  shape?: [number, number, number];
}

const LABEL_NAMES = new Set(['label', 'labels', 'class', 'target', 'y']);

function unquote(field: string): string {
  const f = field.trim();
  return f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1) : f;
}

function isNumeric(field: string): boolean {
  const f = unquote(field);
  return f !== '' && !Number.isNaN(Number(f));
}

/** (C, H, W) for a pixel count: square greyscale, else square RGB; null if neither. */
export function inferImageShape(pixels: number): [number, number, number] | null {
  if (pixels < 1) return null;
  const s = Math.round(Math.sqrt(pixels));
  if (s * s === pixels) return [1, s, s];
  if (pixels % 3 === 0) {
    const t = Math.round(Math.sqrt(pixels / 3));
    if (t * t * 3 === pixels) return [3, t, t];
  }
  return null;
}

export function parseCsvDataset(text: string, options: CsvOptions = {}): ImageDataset {
  const source = options.source ?? '<csv>';
  const name = options.name ?? 'csv';
  const fail = (msg: string, line?: number, column?: number): never => {
    const at = line === undefined ? '' : column === undefined ? `line ${line}: ` : `line ${line}, column ${column}: `;
    throw new DataError(`${source}: ${at}${msg}`, {
      file: source,
      ...(line !== undefined ? { line } : {}),
      ...(column !== undefined ? { column } : {}),
    });
  };

  // Walk lines by index rather than text.split('\n') so a 100 MB file is not copied into an array
  // of strings all at once, and so line numbers stay exact while blank lines are skipped.
  let pos = 0;
  let lineNo = 0;
  const nextLine = (): string | null => {
    while (pos <= text.length) {
      if (pos === text.length) { pos++; return null; }
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      let line = text.slice(pos, end);
      pos = end + 1;
      lineNo++;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // byte-order mark
      if (line.trim() !== '') return line;
    }
    return null;
  };

  const firstLine = nextLine();
  if (firstLine === null) fail('the file is empty');
  const firstFields = firstLine!.split(',');
  const nFields = firstFields.length;
  // A header has mostly non-numeric fields; a data row with a textual label ("cat,0,12,…") has one.
  const nonNumeric = firstFields.filter((f) => !isNumeric(f));
  const hasHeader =
    nonNumeric.length >= 2 ||
    (nonNumeric.length === 1 && (nFields === 1 || LABEL_NAMES.has(unquote(nonNumeric[0]!).toLowerCase())));
  const header = hasHeader ? firstFields.map((f) => unquote(f)) : null;
  const headerLine = hasHeader ? lineNo : 0;

  // Which column is the label.
  let labelCol = -1;
  const want = options.labelColumn ?? 'auto';
  const shapeFits = (pixels: number) =>
    options.shape ? options.shape[0] * options.shape[1] * options.shape[2] === pixels : inferImageShape(pixels) !== null;
  if (typeof want === 'number') {
    if (!Number.isInteger(want) || want < 0 || want >= nFields) fail(`labelColumn ${want} is outside the ${nFields} columns`);
    labelCol = want;
  } else if (want === 'none') {
    labelCol = -1;
  } else if (want !== 'auto') {
    if (!header) fail(`labelColumn '${want}' was given by name but the file has no header line`);
    labelCol = header!.findIndex((h) => h === want);
    if (labelCol < 0) fail(`no column named '${want}' in the header (line ${headerLine})`);
  } else {
    const named = header ? header.findIndex((h) => LABEL_NAMES.has(h.toLowerCase())) : -1;
    if (named >= 0) labelCol = named;
    else if (shapeFits(nFields - 1)) labelCol = 0;
    else if (shapeFits(nFields)) labelCol = -1;
    else {
      fail(
        `cannot tell the image shape from ${nFields} columns (neither ${nFields} nor ${nFields - 1} pixels is a square ` +
          `greyscale or RGB image); pass shape [C, H, W] and labelColumn`,
      );
    }
  }
  const pixels = nFields - (labelCol >= 0 ? 1 : 0);
  const shape = options.shape ?? inferImageShape(pixels);
  if (!shape || shape[0] * shape[1] * shape[2] !== pixels) {
    fail(
      `${pixels} pixel columns do not make ${shape ? `a ${shape.join('×')} image` : 'a square greyscale or RGB image'}; ` +
        `pass shape [C, H, W]`,
    );
  }
  const [c, h, w] = shape!;
  const colName = (col: number) => (header ? ` ('${header[col]}')` : '');

  // Capacity estimate from the newline count, trimmed at the end.
  let capacity = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) capacity++;
  let values = new Float32Array(capacity * pixels);
  const labelText: string[] = [];
  let n = 0;
  let max = 0;
  const rowLine: number[] = [];

  const parseRow = (fields: string[], line: number) => {
    if (fields.length !== nFields) {
      fail(
        `has ${fields.length} fields, expected ${nFields} (as on ${hasHeader ? 'the header' : 'the first line'}, line ${headerLine || 1})`,
        line,
      );
    }
    if (n * pixels >= values.length) {
      const grown = new Float32Array(values.length * 2 + pixels);
      grown.set(values);
      values = grown;
    }
    let k = n * pixels;
    for (let col = 0; col < nFields; col++) {
      const field = fields[col]!;
      if (col === labelCol) {
        labelText.push(unquote(field));
        continue;
      }
      const f = unquote(field);
      const v = f === '' ? NaN : Number(f);
      if (!Number.isFinite(v)) fail(`pixel value '${f}' is not a number`, line, col + 1);
      if (v < 0) fail(`pixel value ${v}${colName(col)} is negative; expected 0–255 or 0–1`, line, col + 1);
      if (v > 255) fail(`pixel value ${v}${colName(col)} is above 255; expected 0–255 or 0–1`, line, col + 1);
      if (v > max) max = v;
      values[k++] = v;
    }
    rowLine.push(line);
    n++;
  };

  if (!hasHeader) parseRow(firstFields, lineNo);
  for (let line = nextLine(); line !== null; line = nextLine()) parseRow(line.split(','), lineNo);
  if (n === 0) fail('the file has a header but no data rows');

  const images = values.length === n * pixels ? values : values.slice(0, n * pixels);
  // 0–255 when any value exceeds 1; 0–1 data is left as is. A 0–255 file whose pixels happen to
  // all be 0 or 1 would be misread, but real images always have mid-range values.
  if (max > 1) {
    for (let i = 0; i < images.length; i++) images[i] = images[i]! / 255;
  }

  let labels: Int32Array | null = null;
  let classNames: string[] | undefined;
  if (labelCol >= 0) {
    labels = new Int32Array(n);
    const allInts = labelText.every((t) => /^\d+$/.test(t));
    if (allInts) {
      labelText.forEach((t, i) => (labels![i] = Number(t)));
    } else {
      // Textual class names ("cat", "dog"): numbered in sorted order so the numbering does not
      // depend on row order. A label that looks numeric but is not a non-negative integer is an error.
      labelText.forEach((t, i) => {
        if (isNumeric(t)) fail(`label '${t}' is not a non-negative integer`, rowLine[i], labelCol + 1);
        if (t === '') fail('label is empty', rowLine[i], labelCol + 1);
      });
      classNames = [...new Set(labelText)].sort();
      const index = new Map(classNames.map((s, i) => [s, i]));
      labelText.forEach((t, i) => (labels![i] = index.get(t)!));
    }
  }
  const init: DatasetInit = { name, images, labels, channels: c, height: h, width: w, source: `csv: ${source}` };
  if (classNames) init.classNames = classNames;
  return createDataset(init);
}
