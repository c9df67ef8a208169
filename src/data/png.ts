/**
 * PNG decoding to planar float pixels with fast-png (pure JavaScript, so it also runs in the
 * browser). Folder walking lives in sources.ts.
 */

import { decode as decodePngBytes, convertIndexedToRgb } from 'fast-png';
import { DataError } from './errors.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** 1 for greyscale sources, 3 for colour (alpha is dropped). */
  channels: 1 | 3;
  /** (C, H, W) in [0, 1]. */
  data: Float32Array;
}

/**
 * Decodes PNG bytes. Alpha is dropped (an autoencoder's input is the colour, and composing onto
 * a background would invent one); palette images are expanded to RGB; 1/2/4/16-bit depths are
 * scaled by their own maximum.
 */
export function decodePng(bytes: Uint8Array, file = '<png>'): DecodedImage {
  let png;
  try {
    png = decodePngBytes(bytes);
  } catch (err) {
    throw new DataError(`${file}: not a readable PNG (${(err as Error).message})`, { file }, { cause: err });
  }
  const { width, height } = png;
  const hw = width * height;
  let samples: ArrayLike<number>;
  let srcChannels: number;
  let maxValue: number;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    srcChannels = png.palette[0]?.length ?? 3;
    maxValue = 255;
  } else {
    srcChannels = png.channels;
    maxValue = (1 << png.depth) - 1;
    samples = png.depth < 8 ? unpackBits(png.data as Uint8Array, width, height, srcChannels, png.depth) : png.data;
  }
  if (samples.length < hw * srcChannels) {
    throw new DataError(`${file}: PNG decoded to ${samples.length} samples, expected ${hw * srcChannels}`, { file });
  }
  // Grey (1) and grey+alpha (2) give one channel; RGB (3) and RGBA (4) give three.
  const channels: 1 | 3 = srcChannels >= 3 ? 3 : 1;
  const data = new Float32Array(channels * hw);
  const inv = 1 / maxValue;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < channels; ch++) data[ch * hw + p] = samples[p * srcChannels + ch]! * inv;
  }
  return { width, height, channels, data };
}

/** Expands sub-byte samples (rows padded to whole bytes, most significant bits first). */
function unpackBits(packed: Uint8Array, width: number, height: number, channels: number, depth: number): Uint8Array {
  const perRow = width * channels;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const out = new Uint8Array(perRow * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      out[y * perRow + i] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Greyscale copy of a decoded colour image with ITU-R BT.601 luma weights. */
export function toGreyscale(img: DecodedImage): DecodedImage {
  if (img.channels === 1) return img;
  const hw = img.width * img.height;
  const data = new Float32Array(hw);
  for (let p = 0; p < hw; p++) data[p] = 0.299 * img.data[p]! + 0.587 * img.data[hw + p]! + 0.114 * img.data[2 * hw + p]!;
  return { ...img, channels: 1, data };
}

/** RGB copy of a greyscale image (the grey value in all three channels). */
export function toRgb(img: DecodedImage): DecodedImage {
  if (img.channels === 3) return img;
  const hw = img.width * img.height;
  const data = new Float32Array(3 * hw);
  data.set(img.data, 0);
  data.set(img.data, hw);
  data.set(img.data, 2 * hw);
  return { ...img, channels: 3, data };
}
