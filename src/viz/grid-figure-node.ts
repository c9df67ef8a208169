/** Grid figures as PNG files (Node): grid-figure.ts's SVG rendered by resvg (render.ts). */
import { writeFileAtomic } from '../io/atomic.js';
import { gridFigureSvg, type GridFigureLayout, type GridFigureOptions } from './grid-figure.js';
import { svgToPng } from './render.js';

/** Renders a labelled grid (gridFigureSvg) to PNG and writes it, atomically. Returns the SVG and layout. */
export async function saveGridFigure(
  path: string,
  images: Float32Array | ArrayLike<number>,
  n: number,
  height: number,
  width: number,
  opts: GridFigureOptions = {},
): Promise<{ svg: string; layout: GridFigureLayout }> {
  const fig = gridFigureSvg(images, n, height, width, opts);
  await writeFileAtomic(path, svgToPng(fig.svg, { scale: opts.zoom ?? 2 }));
  return fig;
}
