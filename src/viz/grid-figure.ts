/**
 * Image grids with words: a tiled grid of images (io/png's imageGrid) embedded in an SVG as one
 * <image>, with a title, a caption, labels for the rows (left) and the columns (top) and titles
 * for those two axes, all as SVG text. resvg renders it to PNG with the bundled DejaVu Sans
 * (render.ts), the same route the charts take, so the words look the same in every figure.
 *
 * The SVG is laid out in CSS pixels with one pixel per image pixel, and rendered at a zoom (2 by
 * default): the text is drawn at the higher resolution, and the images are enlarged by pixel
 * repetition (image-rendering="optimizeSpeed", resvg's nearest-neighbour filter), as the plain
 * grids were.
 *
 * The SVG is built here without Node (a browser shows it as is); grid-figure-node.ts renders and
 * writes the PNG.
 */
import { encodePng, imageGrid, type ImageGridOptions } from '../io/png.js';
import { wrapText } from './specs.js';

export interface GridFigureOptions extends Omit<ImageGridOptions, 'scale'> {
  title?: string;
  /** Lines of smaller text under the title (what the grid shows, how to read it). */
  subtitle?: string | string[];
  /** One label per row, drawn left of the row (e.g. 'input', 'reconstruction', a class name). */
  rowLabels?: readonly string[];
  /** One label per column, drawn above it (e.g. a class, a z value); long ones are turned upright. */
  colLabels?: readonly string[];
  /** What the row labels are (e.g. 'z₂'), written vertically left of them. */
  rowTitle?: string;
  /** What the column labels are (e.g. 'z₁'), written above them. */
  colTitle?: string;
  /** Lines of text under the grid. */
  caption?: string | string[];
  /** Rendering zoom: output pixels per CSS pixel (default 2). */
  zoom?: number;
}

/** Font sizes (CSS px) and the outer margin. */
const FONT = { title: 14, subtitle: 11, label: 11, colLabel: 10, axis: 12 } as const;
const MARGIN = 8;
/** Subtitles and captions wrap at the grid's width, but never narrower than this (CSS px). */
const MIN_TEXT_WIDTH = 360;

/**
 * A conservative width estimate of DejaVu Sans text: its advance widths average about 0.6 em
 * (digits 0.64 em), so this reserves enough room without measuring glyphs.
 */
export function textWidth(text: string, fontSize: number): number {
  return [...text].length * 0.64 * fontSize;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function lines(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(bin);
}

/**
 * Columns for a grid of k tiles: a divisor of k a little above √k when there is one (512 → 32×16,
 * 32 → 8×4), so the last row is full; else ⌈√k⌉.
 */
export function gridCols(k: number): number {
  const r = Math.ceil(Math.sqrt(k));
  for (let c = r; c <= Math.floor(1.5 * Math.sqrt(k)); c++) if (k % c === 0) return c;
  return r;
}

/** Where things are in a grid figure, in CSS pixels (exposed for tests and callers that add marks). */
export interface GridFigureLayout {
  width: number;
  height: number;
  /** The grid image's top-left corner and size. */
  grid: { x: number; y: number; width: number; height: number };
  rows: number;
  cols: number;
  /** Centre of column c and of row r. */
  colCentre: (c: number) => number;
  rowCentre: (r: number) => number;
}

/**
 * The SVG of a labelled grid of n images of (channels, height, width), planar as imageGrid takes
 * them, and its layout.
 */
export function gridFigureSvg(
  images: Float32Array | ArrayLike<number>,
  n: number,
  height: number,
  width: number,
  opts: GridFigureOptions = {},
): { svg: string; layout: GridFigureLayout } {
  const grid = imageGrid(images, n, height, width, { ...opts, scale: 1 });
  const pad = opts.pad ?? 1;
  const cols = Math.min(opts.cols ?? Math.ceil(Math.sqrt(n)), n);
  const rows = Math.ceil(n / cols);
  const rowLabels = opts.rowLabels ?? [];
  const colLabels = opts.colLabels ?? [];
  if (rowLabels.length && rowLabels.length !== rows)
    throw new Error(`gridFigureSvg: ${rowLabels.length} row labels for ${rows} rows`);
  if (colLabels.length && colLabels.length !== cols)
    throw new Error(`gridFigureSvg: ${colLabels.length} column labels for ${cols} columns`);
  const title = opts.title ? [opts.title] : [];
  const rowTitleW = opts.rowTitle ? FONT.axis + 8 : 0;
  const rowLabelsW = rowLabels.length ? Math.max(...rowLabels.map((l) => textWidth(l, FONT.label))) + 8 : 0;
  // small text wraps to the width of the labels and the grid (at least MIN_TEXT_WIDTH), so it
  // does not widen the figure
  const wrapAt = Math.floor(Math.max(rowTitleW + rowLabelsW + grid.width, MIN_TEXT_WIDTH) / (0.64 * FONT.subtitle));
  const subtitle = lines(opts.subtitle).flatMap((l) => wrapText(l, wrapAt));
  const caption = lines(opts.caption).flatMap((l) => wrapText(l, wrapAt));

  // vertical bands, top to bottom: title, subtitle, column title, column labels, grid, caption
  const colLabelW = Math.max(0, ...colLabels.map((l) => textWidth(l, FONT.colLabel)));
  const upright = colLabelW > width + pad - 2; // too wide for a column: written bottom to top
  const titleH = title.length ? FONT.title + 8 : 0;
  const subtitleH = subtitle.length * (FONT.subtitle + 4) + (subtitle.length ? 4 : 0);
  const colTitleH = opts.colTitle ? FONT.axis + 6 : 0;
  const colLabelsH = colLabels.length ? (upright ? colLabelW + 6 : FONT.colLabel + 6) : 0;
  // whole pixels, so the grid's pixels map onto whole output pixels (no resampling blur)
  const gx = Math.ceil(MARGIN + rowTitleW + rowLabelsW);
  const gy = Math.ceil(MARGIN + titleH + subtitleH + colTitleH + colLabelsH);
  const captionH = caption.length ? caption.length * (FONT.subtitle + 4) + 6 : 0;
  const textW = Math.max(
    0,
    ...title.map((t) => textWidth(t, FONT.title)),
    ...[...subtitle, ...caption].map((t) => textWidth(t, FONT.subtitle)),
  );
  const W = Math.ceil(Math.max(gx + grid.width + MARGIN, MARGIN * 2 + textW));
  const H = Math.ceil(gy + grid.height + captionH + MARGIN);
  const colCentre = (c: number) => gx + pad + c * (width + pad) + width / 2;
  const rowCentre = (r: number) => gy + pad + r * (height + pad) + height / 2;

  const out: string[] = [];
  const text = (x: number, y: number, s: string, size: number, extra = '') =>
    out.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}"${extra}>${esc(s)}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" fill="#222">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`,
  );
  let y = MARGIN;
  for (const t of title) {
    y += FONT.title;
    text(MARGIN, y, t, FONT.title, ' font-weight="bold"');
    y += 8;
  }
  for (const t of subtitle) {
    y += FONT.subtitle;
    text(MARGIN, y, t, FONT.subtitle, ' fill="#555"');
    y += 4;
  }
  if (opts.colTitle) text(gx + grid.width / 2, gy - colLabelsH - 6, opts.colTitle, FONT.axis, ' text-anchor="middle" font-style="italic"');
  colLabels.forEach((l, c) => {
    const x = colCentre(c);
    if (upright) text(x + FONT.colLabel / 2 - 1, gy - 4, l, FONT.colLabel, ` transform="rotate(-90 ${(x + FONT.colLabel / 2 - 1).toFixed(1)} ${(gy - 4).toFixed(1)})"`);
    else text(x, gy - 5, l, FONT.colLabel, ' text-anchor="middle"');
  });
  if (opts.rowTitle) {
    const x = MARGIN + FONT.axis;
    const yc = gy + grid.height / 2;
    text(x, yc, opts.rowTitle, FONT.axis, ` text-anchor="middle" font-style="italic" transform="rotate(-90 ${x.toFixed(1)} ${yc.toFixed(1)})"`);
  }
  rowLabels.forEach((l, r) => text(gx - 6, rowCentre(r) + FONT.label / 3, l, FONT.label, ' text-anchor="end"'));
  const png = encodePng(grid.pixels, grid.width, grid.height, grid.channels);
  out.push(
    `<image x="${gx}" y="${gy}" width="${grid.width}" height="${grid.height}" image-rendering="optimizeSpeed" preserveAspectRatio="none" xlink:href="data:image/png;base64,${base64(png)}"/>`,
  );
  y = gy + grid.height + 6;
  for (const t of caption) {
    y += FONT.subtitle;
    text(MARGIN, y, t, FONT.subtitle, ' fill="#555"');
    y += 4;
  }
  out.push('</svg>');
  return {
    svg: out.join('\n'),
    layout: { width: W, height: H, grid: { x: gx, y: gy, width: grid.width, height: grid.height }, rows, cols, colCentre, rowCentre },
  };
}
