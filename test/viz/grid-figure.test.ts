/** Labelled image grids: the SVG has the words, the PNG has room for them and draws them. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/io/png.js';
import { gridCols, gridFigureSvg } from '../../src/viz/grid-figure.js';
import { saveGridFigure } from '../../src/viz/grid-figure-node.js';

const S = 10;
/** n white S×S tiles. */
const white = (n: number) => new Float32Array(n * S * S).fill(1);
const tmp = () => mkdtempSync(join(tmpdir(), 'aelab-gridfig-'));

/** The grey values of a decoded grey PNG in a rectangle of output pixels. */
function region(img: { data: Float32Array; width: number }, x0: number, y0: number, x1: number, y1: number): number[] {
  const out: number[] = [];
  for (let y = Math.round(y0); y < Math.round(y1); y++) for (let x = Math.round(x0); x < Math.round(x1); x++) out.push(img.data[y * img.width + x]!);
  return out;
}

describe('gridFigureSvg', () => {
  it('writes the title, subtitle, caption, row and column labels and axis titles as SVG text', () => {
    const { svg } = gridFigureSvg(white(6), 6, S, S, {
      cols: 3,
      title: 'vae: reconstructions',
      subtitle: ['line one', 'line two'],
      caption: 'a caption',
      rowLabels: ['input', 'reconstruction'],
      colLabels: ['7', '2', '1'],
      rowTitle: 'z₂',
      colTitle: 'z₁',
    });
    for (const t of ['vae: reconstructions', 'line one', 'line two', 'a caption', 'input', 'reconstruction', '7', '2', '1', 'z₂', 'z₁'])
      expect(svg, t).toMatch(new RegExp(`<text [^>]*>${t}</text>`));
    expect(svg).toMatch(/<image [^>]*image-rendering="optimizeSpeed"[^>]*href="data:image\/png;base64,/);
  });

  it('makes room for the words: margins where labels go, none without them', () => {
    const bare = gridFigureSvg(white(6), 6, S, S, { cols: 3, pad: 1 }).layout;
    // 3 tiles of 10 and 4 pads of 1; an 8-px margin all round
    expect(bare.grid).toEqual({ x: 8, y: 8, width: 34, height: 23 });
    expect([bare.width, bare.height]).toEqual([50, 39]);
    const labelled = gridFigureSvg(white(6), 6, S, S, { cols: 3, pad: 1, title: 'T', rowLabels: ['input', 'reconstruction'], colLabels: ['a', 'b', 'c'] }).layout;
    expect(labelled.grid.x).toBeGreaterThan(8 + 'reconstruction'.length * 6); // the row labels' column
    expect(labelled.grid.y).toBeGreaterThan(8 + 14 + 10); // the title and the column labels
    expect(labelled.colCentre(1)).toBe(labelled.grid.x + 1 + 11 + 5);
    expect(labelled.rowCentre(1)).toBe(labelled.grid.y + 1 + 11 + 5);
  });

  it('turns column labels too wide for a column upright, and makes room above', () => {
    const flat = gridFigureSvg(white(2), 2, S, S, { cols: 2, colLabels: ['1', '2'] });
    expect(flat.svg).not.toContain('rotate(-90');
    const up = gridFigureSvg(white(2), 2, S, S, { cols: 2, colLabels: ['T-shirt/top', 'Ankle boot'] });
    expect(up.svg.match(/rotate\(-90/g)).toHaveLength(2);
    expect(up.layout.grid.y - 8).toBeGreaterThanOrEqual('T-shirt/top'.length * 6);
  });

  it('wraps long subtitles and captions to the grid (at least 360 px) instead of widening the figure', () => {
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const { svg, layout } = gridFigureSvg(white(4), 4, S, S, { cols: 4, subtitle: long, caption: long });
    expect(layout.width).toBeLessThanOrEqual(360 + 16 + 1);
    const subLines = svg.match(/<text [^>]*fill="#555">[^<]*<\/text>/g)!;
    expect(subLines.length).toBeGreaterThan(2);
    expect(subLines.map((l) => l.replace(/<[^>]+>/g, '')).join(' ')).toBe(`${long} ${long}`);
  });

  it('escapes text and checks the label counts', () => {
    expect(gridFigureSvg(white(1), 1, S, S, { title: 'a < b & c' }).svg).toContain('>a &lt; b &amp; c</text>');
    expect(() => gridFigureSvg(white(4), 4, S, S, { cols: 2, rowLabels: ['only one'] })).toThrow(/1 row labels for 2 rows/);
    expect(() => gridFigureSvg(white(4), 4, S, S, { cols: 2, colLabels: ['a', 'b', 'c'] })).toThrow(/3 column labels for 2 columns/);
  });
});

describe('gridCols', () => {
  it('fills the last row where a divisor near √k allows, else takes ⌈√k⌉', () => {
    expect([196, 512, 32, 100, 64, 150, 7, 1].map(gridCols)).toEqual([14, 32, 8, 10, 8, 15, 3, 1]);
  });
});

describe('saveGridFigure', () => {
  it('renders at the zoom: the tiles by pixel repetition, the words as dark pixels where the layout puts them', async () => {
    const dir = tmp();
    const opts = { cols: 3, pad: 1, background: 0.5, title: 'Title', rowLabels: ['input', 'recon'], colLabels: ['7', '2', '1'] };
    const { layout } = await saveGridFigure(join(dir, 'f.png'), white(6), 6, S, S, opts);
    const img = decodePng(readFileSync(join(dir, 'f.png')), { channels: 1 });
    expect([img.width, img.height]).toEqual([2 * layout.width, 2 * layout.height]);
    const g = layout.grid;
    // tile 0 is white over its whole 20×20 output pixels, the padding around it mid-grey
    expect(new Set(region(img, 2 * (g.x + 1), 2 * (g.y + 1), 2 * (g.x + 11), 2 * (g.y + 11)))).toEqual(new Set([1]));
    expect(new Set(region(img, 2 * g.x, 2 * g.y, 2 * (g.x + 1), 2 * (g.y + 11)).map((v) => Math.round(v * 255)))).toEqual(new Set([128]));
    // text: dark pixels in the title band, left of each row, above each column
    const dark = (xs: number[]) => xs.filter((v) => v < 0.5).length;
    expect(dark(region(img, 16, 16, 2 * g.x + 2 * g.width, 2 * (8 + 16)))).toBeGreaterThan(20);
    for (let r = 0; r < 2; r++) expect(dark(region(img, 16, 2 * (layout.rowCentre(r) - 5), 2 * (g.x - 2), 2 * (layout.rowCentre(r) + 5))), `row ${r}`).toBeGreaterThan(10);
    for (let c = 0; c < 3; c++) expect(dark(region(img, 2 * (layout.colCentre(c) - 5), 2 * (g.y - 16), 2 * (layout.colCentre(c) + 5), 2 * g.y)), `col ${c}`).toBeGreaterThan(5);
    // without words, the same places are blank
    const { layout: bl } = await saveGridFigure(join(dir, 'b.png'), white(6), 6, S, S, { cols: 3, pad: 1, background: 0.5 });
    const bare = decodePng(readFileSync(join(dir, 'b.png')), { channels: 1 });
    expect(dark(region(bare, 0, 0, 2 * bl.width, 2 * bl.grid.y))).toBe(0);
  });
});
