/** PNG files in Node: png.ts's encoder and image grids, written atomically. */
import { writeFileAtomic } from './atomic.js';
import { encodePng, imageGrid, type ImageGrid, type ImageGridOptions, type PngChannels } from './png.js';

/** Builds an image grid and writes it as a PNG, atomically. Returns the grid. */
export async function saveImageGrid(
  path: string,
  images: Float32Array | ArrayLike<number>,
  n: number,
  height: number,
  width: number,
  opts: ImageGridOptions = {},
): Promise<ImageGrid> {
  const grid = imageGrid(images, n, height, width, opts);
  await writeFileAtomic(path, encodePng(grid.pixels, grid.width, grid.height, grid.channels));
  return grid;
}

/** Writes 8-bit interleaved pixels as a PNG file, atomically. */
export async function savePng(
  path: string,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: PngChannels,
): Promise<void> {
  await writeFileAtomic(path, encodePng(pixels, width, height, channels));
}
