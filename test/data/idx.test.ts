import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { decodeIdx, encodeIdx, readIdx, writeIdx, type IdxData } from '../../src/data/idx.js';
import { caught, useTempDir } from './helpers.js';

const tmp = useTempDir();

const samples: Array<[string, IdxData, number]> = [
  ['uint8', Uint8Array.from([0, 1, 127, 128, 255, 42]), 0x08],
  ['int8', Int8Array.from([-128, -1, 0, 1, 127, 5]), 0x09],
  ['int16', Int16Array.from([-32768, -1, 0, 1, 32767, 258]), 0x0b],
  ['int32', Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 65536 + 3]), 0x0c],
  ['float32', Float32Array.from([-1.5, 0, 0.1, 1e-30, 3.4e38, Math.PI]), 0x0d],
  ['float64', Float64Array.from([-1.5, 0, 0.1, 1e-300, 1.7e308, Math.PI]), 0x0e],
];

describe('IDX round trip', () => {
  for (const [dtype, data, code] of samples) {
    it(`${dtype} (0x${code.toString(16)}) in memory, raw file and gzip file`, () => {
      const bytes = encodeIdx({ shape: [2, 3], data });
      expect(bytes[2]).toBe(code);
      expect(bytes[3]).toBe(2);
      const back = decodeIdx(bytes);
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual([2, 3]);
      expect(Array.from(back.data)).toEqual(Array.from(data));

      const dir = tmp();
      writeIdx(join(dir, 'a-idx2'), { shape: [2, 3], data });
      writeIdx(join(dir, 'a-idx2.gz'), { shape: [2, 3], data });
      expect(readFileSync(join(dir, 'a-idx2.gz'))[0]).toBe(0x1f);
      for (const f of ['a-idx2', 'a-idx2.gz']) {
        const r = readIdx(join(dir, f));
        expect(r.shape).toEqual([2, 3]);
        expect(r.data.constructor).toBe(data.constructor);
        expect(Array.from(r.data)).toEqual(Array.from(data));
      }
    });
  }

  it('is big-endian on disk', () => {
    const bytes = encodeIdx({ shape: [1], data: Int32Array.from([0x01020304]) });
    expect(Array.from(bytes)).toEqual([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4]);
  });

  it('detects gzip by magic bytes, not by file name', () => {
    const dir = tmp();
    const p = join(dir, 'images-idx3-ubyte'); // no .gz suffix
    writeFileSync(p, gzipSync(encodeIdx({ shape: [1, 2, 2], data: Uint8Array.from([1, 2, 3, 4]) })));
    expect(Array.from(readIdx(p).data)).toEqual([1, 2, 3, 4]);
  });

  it('reads the Fashion-MNIST label file header when present', () => {
    const f = '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz';
    try {
      readFileSync(f);
    } catch {
      return; // covered by sources.test.ts' skip message
    }
    const r = readIdx(f);
    expect(r.dtype).toBe('uint8');
    expect(r.shape).toEqual([10000]);
  });
});

describe('IDX errors name the file and the byte offset', () => {
  const good = () => encodeIdx({ shape: [3, 2, 2], data: new Uint8Array(12).fill(7) });

  it('truncated data', () => {
    const dir = tmp();
    const p = join(dir, 'cut-idx3-ubyte');
    writeFileSync(p, good().subarray(0, 20));
    const e = caught(() => readIdx(p));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain(p);
    expect(e.message).toContain('truncated IDX file: expected 28 bytes');
    expect(e.message).toContain('got 20');
    expect(e.offset).toBe(20);
    expect(e.file).toBe(p);
  });

  it('truncated header', () => {
    const e = caught(() => decodeIdx(good().subarray(0, 10), 'x.idx'));
    expect(e.message).toBe('x.idx: truncated IDX header: expected 16 bytes for 3 dimensions, got 10');
    expect(e.offset).toBe(10);
    const e2 = caught(() => decodeIdx(new Uint8Array(2), 'y.idx'));
    expect(e2.message).toContain('expected at least 4 bytes, got 2');
  });

  it('bad magic', () => {
    const bytes = good();
    bytes[0] = 0x50;
    bytes[1] = 0x4b;
    const e = caught(() => decodeIdx(bytes, 'z.zip'));
    expect(e.message).toMatch(/^z\.zip: not an IDX file: bad magic number 0x504B0803 at byte 0/);
    expect(e.offset).toBe(0);
  });

  it('unknown dtype', () => {
    const bytes = good();
    bytes[2] = 0x07;
    const e = caught(() => decodeIdx(bytes, 'w.idx'));
    expect(e.message).toContain('w.idx: unknown IDX data type 0x07 at byte 2');
    expect(e.message).toContain('0x08 ubyte');
    expect(e.offset).toBe(2);
  });

  it('zero dimensions', () => {
    const e = caught(() => decodeIdx(Uint8Array.from([0, 0, 8, 0]), 'v.idx'));
    expect(e.message).toContain('0 dimensions at byte 3');
  });

  it('size mismatch (extra bytes after the data)', () => {
    const bytes = new Uint8Array(good().length + 5);
    bytes.set(good());
    const e = caught(() => decodeIdx(bytes, 'u.idx'));
    expect(e.message).toContain('u.idx: IDX size mismatch: dimensions 3×2×2 ubyte describe 12 data bytes');
    expect(e.message).toContain('5 extra bytes from byte 28');
    expect(e.offset).toBe(28);
  });

  it('implausible dimensions', () => {
    const bytes = Uint8Array.from([0, 0, 0x0e, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const e = caught(() => decodeIdx(bytes, 't.idx'));
    expect(e.message).toContain('not a plausible file');
  });

  it('truncated multi-byte data reports bytes, not elements', () => {
    const bytes = encodeIdx({ shape: [4], data: new Float64Array(4) }).subarray(0, 8 + 20);
    const e = caught(() => decodeIdx(bytes, 's.idx'));
    expect(e.message).toContain('expected 40 bytes (8-byte header + 4 double), got 28');
  });

  it('corrupt gzip', () => {
    const dir = tmp();
    const gz = gzipSync(encodeIdx({ shape: [100, 10], data: Uint8Array.from({ length: 1000 }, (_, i) => i % 251) }));
    const damaged = Uint8Array.from(gz);
    for (let i = 12; i < damaged.length - 8; i += 3) damaged[i] = damaged[i]! ^ 0x5a;
    const p = join(dir, 'bad-images-idx3-ubyte.gz');
    writeFileSync(p, damaged);
    const e = caught(() => readIdx(p));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt gzip data \\(`));
    expect(e.message).toContain('at byte 0');

    const cut = join(dir, 'cut-images-idx3-ubyte.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const e2 = caught(() => readIdx(cut));
    expect(e2.message).toContain(`${cut}: corrupt gzip data (unexpected end of file)`);
  });

  it('missing file', () => {
    const e = caught(() => readIdx('/nonexistent/x-idx3-ubyte'));
    expect(e.message).toBe('/nonexistent/x-idx3-ubyte: cannot read IDX file (no such file)');
  });

  it('gzip passed to the raw decoder gets a hint', () => {
    const e = caught(() => decodeIdx(gzipSync(good()), 'g'));
    expect(e.message).toContain('this is gzip data');
  });

  it('encoder rejects a shape that does not fit the data', () => {
    expect(() => encodeIdx({ shape: [2, 2], data: new Uint8Array(5) })).toThrow(/holds 4 elements but the data has 5/);
  });
});
