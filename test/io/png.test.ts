import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import {
  convertChannels,
  decodePng,
  encodePng,
  imageGrid,
} from '../../src/io/png.js';
import { saveImageGrid, savePng } from '../../src/io/png-node.js';

describe('encodePng / decodePng', () => {
  it('round-trips grey, RGB and RGBA 8-bit pixels', () => {
    for (const channels of [1, 3, 4] as const) {
      const w = 5;
      const h = 3;
      const px = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 37) % 256);
      const png = encodePng(px, w, h, channels);
      expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      const img = decodePng(png);
      expect(img).toMatchObject({ width: w, height: h, channels });
      expect(Array.from(img.data, (v) => Math.round(v * 255))).toEqual(Array.from(px));
      expect(Math.max(...img.data)).toBeLessThanOrEqual(1);
    }
  });

  it('decodes 16-bit samples to [0, 1] exactly', () => {
    const data = new Uint16Array([0, 1, 32768, 65535]);
    const png = encode({ width: 2, height: 2, data, channels: 1, depth: 16 });
    const img = decodePng(png);
    expect(img.channels).toBe(1);
    expect(Array.from(img.data)).toEqual(Array.from(data, (v) => Math.fround(v / 65535)));
  });

  it('decodes 1-bit grey with row padding', () => {
    // 3×2 image, rows packed MSB first and padded to a byte: 101xxxxx, 010xxxxx.
    const png = encode({
      width: 3,
      height: 2,
      data: new Uint8Array([0b10100000, 0b01000000]),
      channels: 1,
      depth: 1,
    });
    expect(Array.from(decodePng(png).data)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('decodes palette images to RGB', () => {
    const png = encode({
      width: 2,
      height: 1,
      data: new Uint8Array([1, 0]),
      channels: 1,
      depth: 8,
      palette: [
        [255, 0, 0],
        [0, 0, 255],
      ],
    });
    const img = decodePng(png);
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('converts channels on request (BT.601 luma for grey)', () => {
    const rgb = encodePng(new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255]), 3, 1, 3);
    const grey = decodePng(rgb, { channels: 1 });
    expect(grey.channels).toBe(1);
    expect(Array.from(grey.data).map((v) => +v.toFixed(3))).toEqual([0.299, 0.587, 0.114]);
    const g = encodePng(new Uint8Array([0, 255]), 2, 1, 1);
    const asRgba = decodePng(g, { channels: 4 });
    expect(Array.from(asRgba.data)).toEqual([0, 0, 0, 1, 1, 1, 1, 1]);
    const ga = convertChannels(
      { data: new Float32Array([0.5, 0.25]), width: 1, height: 1, channels: 2 },
      4,
    );
    expect(Array.from(ga.data)).toEqual([0.5, 0.5, 0.5, 0.25]);
  });

  it('rejects wrong sizes and non-PNG bytes with clear messages', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(
      'encodePng: 2×2×1 needs 4 bytes, got 5',
    );
    expect(() => encodePng(new Uint8Array(4), 2, 2, 2 as 1)).toThrow(
      'encodePng: channels must be 1, 3 or 4, got 2',
    );
    expect(() => encodePng(new Uint8Array(0), 0, 2, 1)).toThrow(
      'encodePng: width and height must be positive integers, got 0×2',
    );
    expect(() => decodePng(new Uint8Array([1, 2, 3]), { source: 'x.png' })).toThrow(
      /^decodePng: x\.png: not a readable PNG: /,
    );
  });
});

describe('imageGrid', () => {
  it('tiles images with padding and background, row-major', () => {
    // Four 2×2 grey images with constant values 0, 0.25, 0.5, 1; 2 columns, 1 px white padding.
    const imgs = new Float32Array([
      0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1,
    ]);
    const g = imageGrid(imgs, 4, 2, 2, { cols: 2, pad: 1 });
    expect(g).toMatchObject({ width: 7, height: 7, channels: 1 });
    const at = (x: number, y: number) => g.pixels[y * g.width + x];
    expect(at(0, 0)).toBe(255); // border
    expect(at(1, 1)).toBe(0); // image 0
    expect(at(4, 2)).toBe(64); // image 1: round(0.25 · 255)
    expect(at(2, 5)).toBe(128); // image 2
    expect(at(5, 5)).toBe(255); // image 3
    expect(at(3, 3)).toBe(255); // gap between cells
  });

  it('upscales by pixel repetition and defaults to a near-square layout', () => {
    const imgs = new Float32Array(5 * 1 * 1).map((_, i) => i / 4);
    const g = imageGrid(imgs, 5, 1, 1, { scale: 3, pad: 0 });
    // ceil(sqrt(5)) = 3 columns, 2 rows; the unused sixth cell stays background.
    expect(g).toMatchObject({ width: 9, height: 6 });
    expect(g.pixels[0]).toBe(0);
    expect(g.pixels[2 * 9 + 2]).toBe(0);
    expect(g.pixels[3]).toBe(64);
    expect(g.pixels[5 * 9 + 8]).toBe(255);
  });

  it("normalizes 'each' image and 'all' images by min–max", () => {
    const imgs = new Float32Array([-2, 2, 0, 4]); // two 1×2 images
    const each = imageGrid(imgs, 2, 1, 2, { normalize: 'each', pad: 0, cols: 2 });
    expect(Array.from(each.pixels)).toEqual([0, 255, 0, 255]);
    const all = imageGrid(imgs, 2, 1, 2, { normalize: 'all', pad: 0, cols: 2 });
    expect(Array.from(all.pixels)).toEqual([0, 170, 85, 255]);
    const flat = imageGrid(new Float32Array([3, 3]), 1, 1, 2, { normalize: 'each', pad: 0 });
    expect(Array.from(flat.pixels)).toEqual([128, 128]);
    const none = imageGrid(new Float32Array([-1, 2, NaN]), 1, 1, 3, { pad: 0 });
    expect(Array.from(none.pixels)).toEqual([0, 255, 0]);
  });

  it('draws planar RGB input as interleaved RGB with a coloured background', () => {
    // One 1×2 image, planes R=[1,0], G=[0,1], B=[0,0].
    const g = imageGrid(new Float32Array([1, 0, 0, 1, 0, 0]), 1, 1, 2, {
      channels: 3,
      pad: 1,
      background: [0, 0, 1],
    });
    expect(g).toMatchObject({ width: 4, height: 3, channels: 3 });
    const px = (x: number, y: number) =>
      Array.from(g.pixels.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([0, 0, 255]);
    expect(px(1, 1)).toEqual([255, 0, 0]);
    expect(px(2, 1)).toEqual([0, 255, 0]);
  });

  it('rejects bad arguments', () => {
    const ok = new Float32Array(4);
    expect(() => imageGrid(new Float32Array(3), 1, 2, 2)).toThrow(
      'imageGrid: 1 images of 1×2×2 need 4 values, got 3',
    );
    expect(() => imageGrid(ok, 1, 2, 2, { scale: 1.5 })).toThrow(
      'imageGrid: scale must be an integer ≥ 1, got 1.5',
    );
    expect(() => imageGrid(ok, 1, 2, 2, { pad: -1 })).toThrow(
      'imageGrid: pad must be an integer ≥ 0, got -1',
    );
    expect(() => imageGrid(ok, 0, 2, 2)).toThrow('imageGrid: n must be an integer ≥ 1, got 0');
    expect(() => imageGrid(ok, 1, 2, 2, { channels: 2 as 1 })).toThrow(
      'imageGrid: channels must be 1 or 3, got 2',
    );
    expect(() => imageGrid(ok, 1, 2, 2, { normalize: 'max' as 'all' })).toThrow(
      "imageGrid: normalize must be 'none', 'each' or 'all', got max",
    );
  });

  it('saves a grid that decodes back to the same pixels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-png-'));
    // 16 synthetic 28×28 "digits": a ring whose radius grows with the index.
    const n = 16;
    const imgs = new Float32Array(n * 28 * 28);
    for (let k = 0; k < n; k++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const r = Math.hypot(x - 13.5, y - 13.5);
          imgs[k * 784 + y * 28 + x] = Math.max(0, 1 - Math.abs(r - (4 + k / 2)) / 1.5);
        }
      }
    }
    const p = join(dir, 'figs', 'grid.png');
    const g = await saveImageGrid(p, imgs, n, 28, 28, {
      cols: 8,
      pad: 2,
      scale: 2,
      background: 0.3,
    });
    const back = decodePng(new Uint8Array(readFileSync(p)));
    expect(back).toMatchObject({ width: g.width, height: g.height, channels: 1 });
    expect(g.width).toBe(8 * 56 + 9 * 2);
    expect(Array.from(back.data, (v) => Math.round(v * 255))).toEqual(Array.from(g.pixels));
    expect(readdirSync(join(dir, 'figs'))).toEqual(['grid.png']);
    await savePng(join(dir, 'one.png'), new Uint8Array([1, 2, 3]), 1, 1, 3);
    expect(decodePng(new Uint8Array(readFileSync(join(dir, 'one.png')))).channels).toBe(3);
  });
});
