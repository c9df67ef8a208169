/**
 * PNG in and out, and image grids: the picture side of aelab (reconstructions, samples, decoder
 * weights drawn as images). Pixels are plain typed arrays; no engine types.
 *
 * Layout conventions:
 *   - encodePng / decodePng: interleaved pixels, (height, width, channels), as PNG stores them.
 *   - imageGrid input: planar, (n, channels, height, width), as the engine's NCHW tensors are,
 *     so a batch `x.data` can be passed straight in.
 *
 * Everything here works on bytes and runs anywhere; writing files is in png-node.ts.
 */

import { decode, encode, convertIndexedToRgb } from 'fast-png';

export type PngChannels = 1 | 3 | 4;

export interface DecodedImage {
  /** Interleaved (height, width, channels) samples scaled to [0, 1]. */
  data: Float32Array;
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (palette images come out as 3 or 4). */
  channels: 1 | 2 | 3 | 4;
}

export interface DecodePngOptions {
  /**
   * Convert to this many channels: 1 gives luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601,
   * the weights PIL's `convert('L')` uses); 3 replicates grey; 4 adds an opaque alpha. Alpha is
   * dropped, not composited, when going to 1 or 3 channels.
   */
  channels?: 1 | 3 | 4;
  /** Name used in error messages (a file path). */
  source?: string;
}

function assertDims(fn: string, width: number, height: number) {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new Error(`${fn}: width and height must be positive integers, got ${width}×${height}`);
  }
}

/**
 * Encodes 8-bit interleaved pixels (height, width, channels) to PNG bytes.
 */
export function encodePng(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: PngChannels,
): Uint8Array {
  assertDims('encodePng', width, height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`encodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  }
  const expected = width * height * channels;
  if (pixels.length !== expected) {
    throw new Error(
      `encodePng: ${width}×${height}×${channels} needs ${expected} bytes, got ${pixels.length}`,
    );
  }
  return encode({ width, height, data: pixels, channels, depth: 8 });
}

// Unpacks 1/2/4-bit samples: rows are padded to whole bytes, most significant bits first.
function unpackBits(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/**
 * Decodes PNG bytes (grey, grey+alpha, RGB, RGBA or palette; 1 to 16 bits) to float samples in
 * [0, 1]. A 16-bit sample s maps to s / 65535, an 8-bit one to s / 255.
 */
export function decodePng(bytes: Uint8Array, opts: DecodePngOptions = {}): DecodedImage {
  const source = opts.source ?? '<png bytes>';
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new Error(`decodePng: ${source}: not a readable PNG: ${(e as Error).message}`);
  }
  const { width, height } = png;
  let samples: ArrayLike<number>;
  let channels = png.channels;
  let max = 2 ** png.depth - 1;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
    max = 255;
  } else if (png.depth < 8) {
    samples = unpackBits(png.data as Uint8Array, width, height, png.depth);
  } else {
    samples = png.data;
  }
  if (channels < 1 || channels > 4 || samples.length !== width * height * channels) {
    throw new Error(
      `decodePng: ${source}: unexpected layout ${width}×${height}×${channels} ` +
        `(${samples.length} samples)`,
    );
  }
  const data = new Float32Array(samples.length);
  const inv = 1 / max;
  for (let i = 0; i < samples.length; i++) data[i] = samples[i]! * inv;
  const img: DecodedImage = { data, width, height, channels: channels as 1 | 2 | 3 | 4 };
  return opts.channels === undefined ? img : convertChannels(img, opts.channels);
}

/** Converts interleaved float pixels between 1/2/3/4 channels (see DecodePngOptions.channels). */
export function convertChannels(img: DecodedImage, to: 1 | 3 | 4): DecodedImage {
  const from = img.channels;
  if (from === to) return img;
  const n = img.width * img.height;
  const src = img.data;
  const out = new Float32Array(n * to);
  const hasColour = from >= 3;
  const alphaAt = from === 2 ? 1 : from === 4 ? 3 : -1;
  for (let p = 0; p < n; p++) {
    const s = p * from;
    let r: number, g: number, b: number;
    if (hasColour) {
      r = src[s]!;
      g = src[s + 1]!;
      b = src[s + 2]!;
    } else {
      r = g = b = src[s]!;
    }
    const a = alphaAt >= 0 ? src[s + alphaAt]! : 1;
    const d = p * to;
    if (to === 1) {
      out[d] = hasColour ? 0.299 * r + 0.587 * g + 0.114 * b : r;
    } else {
      out[d] = r;
      out[d + 1] = g;
      out[d + 2] = b;
      if (to === 4) out[d + 3] = a;
    }
  }
  return { data: out, width: img.width, height: img.height, channels: to };
}

// ---------------------------------------------------------------------------------------------
// Grids

export interface ImageGridOptions {
  /** Images per row (default: ceil(sqrt(n))). */
  cols?: number;
  /** Background pixels between cells and around the border, in output pixels (default 1). */
  pad?: number;
  /** Integer upscaling of every image by pixel repetition (default 1). */
  scale?: number;
  /**
   * How values map to grey levels:
   *   'none' (default): v ∈ [0, 1] as is, clamped;
   *   'each': (v - min_i) / (max_i - min_i) per image, for weights drawn as images;
   *   'all':  (v - min) / (max - min) over every image, so images stay comparable.
   * A constant image maps to 0.5. Non-finite values draw as 0.
   */
  normalize?: 'none' | 'each' | 'all';
  /** Channels per input image: 1 (grey) or 3 (RGB, planar). Default 1. */
  channels?: 1 | 3;
  /** Background grey level in [0, 1], or an [r, g, b] triple (default 1, white). */
  background?: number | [number, number, number];
}

export interface ImageGrid {
  /** Interleaved 8-bit pixels (height, width, channels). */
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

function positiveInt(fn: string, name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new Error(`${fn}: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  return v;
}

const to8 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

/**
 * Tiles n images of (channels, height, width) into one picture, `cols` per row, with `pad`
 * background pixels between them. `images` is (n, channels, height, width) row-major and must
 * hold exactly n·channels·height·width values.
 */
export function imageGrid(
  images: Float32Array | ArrayLike<number>,
  n: number,
  height: number,
  width: number,
  opts: ImageGridOptions = {},
): ImageGrid {
  const fn = 'imageGrid';
  positiveInt(fn, 'n', n, 1);
  positiveInt(fn, 'height', height, 1);
  positiveInt(fn, 'width', width, 1);
  const channels = opts.channels ?? 1;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`${fn}: channels must be 1 or 3, got ${String(channels)}`);
  }
  const cols = positiveInt(fn, 'cols', opts.cols ?? Math.ceil(Math.sqrt(n)), 1);
  const pad = positiveInt(fn, 'pad', opts.pad ?? 1, 0);
  const scale = positiveInt(fn, 'scale', opts.scale ?? 1, 1);
  const normalize = opts.normalize ?? 'none';
  if (normalize !== 'none' && normalize !== 'each' && normalize !== 'all') {
    throw new Error(`${fn}: normalize must be 'none', 'each' or 'all', got ${String(normalize)}`);
  }
  const per = channels * height * width;
  if (images.length !== n * per) {
    throw new Error(
      `${fn}: ${n} images of ${channels}×${height}×${width} need ${n * per} values, ` +
        `got ${images.length}`,
    );
  }
  const bg = opts.background ?? 1;
  const bgRGB: [number, number, number] = typeof bg === 'number' ? [bg, bg, bg] : bg;
  if (bgRGB.length !== 3 || !bgRGB.every((v) => Number.isFinite(v))) {
    throw new Error(`${fn}: background must be a number or [r, g, b], got ${JSON.stringify(bg)}`);
  }

  const rows = Math.ceil(n / Math.min(cols, n));
  const usedCols = Math.min(cols, n);
  const cellW = width * scale;
  const cellH = height * scale;
  const outW = usedCols * cellW + (usedCols + 1) * pad;
  const outH = rows * cellH + (rows + 1) * pad;
  const pixels = new Uint8Array(outW * outH * channels);
  const bg8 = bgRGB.map(to8);
  if (channels === 1) pixels.fill(bg8[0]!);
  else for (let i = 0; i < outW * outH; i++) pixels.set(bg8, i * 3);

  // Min and max over finite values of one range of `images`.
  const range = (from: number, to: number): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = from; i < to; i++) {
      const v = images[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  };
  let global: [number, number] | undefined;
  if (normalize === 'all') global = range(0, n * per);

  for (let k = 0; k < n; k++) {
    const base = k * per;
    let lo = 0;
    let span = 1;
    let flat = false;
    if (normalize !== 'none') {
      const [a, b] = global ?? range(base, base + per);
      lo = a;
      span = b - a;
      flat = !(span > 0) || !Number.isFinite(span);
    }
    const x0 = pad + (k % usedCols) * (cellW + pad);
    const y0 = pad + Math.floor(k / usedCols) * (cellH + pad);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const v = images[base + (c * height + y) * width + x]!;
          const u = !Number.isFinite(v) ? 0 : flat ? 0.5 : (v - lo) / span;
          const g = to8(u);
          for (let dy = 0; dy < scale; dy++) {
            let o = ((y0 + y * scale + dy) * outW + x0 + x * scale) * channels + c;
            for (let dx = 0; dx < scale; dx++, o += channels) pixels[o] = g;
          }
        }
      }
    }
  }
  return { pixels, width: outW, height: outH, channels };
}
