import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeSafetensors,
  encodeSafetensors,
  float32ToHalfBits,
  parseSafetensorsHeader,
  SafetensorsError,
  toFloat32Array,
  type SafeTensor,
} from '../../src/io/safetensors.js';
import { loadSafetensors, loadSafetensorsSync, saveSafetensors, saveSafetensorsSync } from '../../src/io/safetensors-node.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, '..', 'fixtures', 'torch_small.safetensors');
const EXPECTED = join(here, '..', 'fixtures', 'torch_small.json');

const enc = new TextEncoder();

/** A file from a header (object or raw text) and data bytes, padded as the spec says. */
function craft(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  opts: { pad?: boolean; length?: bigint } = {},
): Uint8Array {
  let h = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  if (opts.pad ?? true) {
    const padded = new Uint8Array(h.length + ((8 - (h.length % 8)) % 8)).fill(0x20);
    padded.set(h);
    h = padded;
  }
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function errorOf(f: () => unknown): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected an error');
}

const f32 = (v: number[]) => new Float32Array(v);

/** The fixture JSON spells non-finite floats as strings (strict JSON has no Infinity). */
const num = (v: number | string): number =>
  typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips every dtype, scalars and empty tensors', () => {
    const tensors: Record<string, SafeTensor> = {
      'encoder.0.weight': { dtype: 'F32', shape: [2, 3], data: f32([1, 2, 3, -4, 5.5, 1e-30]) },
      'encoder.0.bias': { dtype: 'F32', shape: [2], data: f32([0.25, -0]) },
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
      i64: { dtype: 'I64', shape: [], data: new BigInt64Array([-(2n ** 63n)]) },
      u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      i32: { dtype: 'I32', shape: [1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
      i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 3]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) },
      bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'héllo' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'héllo' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name]!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(b.data.constructor).toBe(t.data.constructor);
      expect(Array.from(b.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(t.data as ArrayLike<number | bigint>),
      );
    }
    // -0 survives bit-exactly.
    expect(Object.is(back.tensors['encoder.0.bias']!.data[1], -0)).toBe(true);
  });

  it('writes the layout of the spec: length, compact header, space padding, sorted data', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'F32', shape: [1], data: f32([2]) },
      a: { dtype: 'F32', shape: [1], data: f32([1]) },
      c: { dtype: 'F64', shape: [1], data: new Float64Array([3]) },
      d: { dtype: 'U8', shape: [1], data: new Uint8Array([4]) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    // Larger alignment first (F64, then F32), then by name; offsets back to back from 0.
    const json =
      '{"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"d":{"dtype":"U8","shape":[1],"data_offsets":[16,17]}}';
    expect(text.trimEnd()).toBe(json);
    expect(text.slice(json.length)).toMatch(/^ *$/);
    expect(bytes.length).toBe(8 + n + 17);
    const data = bytes.subarray(8 + n);
    expect(new DataView(data.buffer, data.byteOffset).getFloat64(0, true)).toBe(3);
    expect(new DataView(data.buffer, data.byteOffset).getFloat32(8, true)).toBe(1);
    expect(data[16]).toBe(4);
  });

  it('matches the reference writer byte for byte on the smallest files', () => {
    // No tensors: "{}" padded to 8 bytes with spaces.
    expect(Array.from(encodeSafetensors({}))).toEqual([
      8,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...enc.encode('{}      '),
    ]);
    const withMeta = encodeSafetensors({}, { framework: 'pt' });
    const h = '{"__metadata__":{"framework":"pt"}}';
    expect(Array.from(withMeta)).toEqual([
      40,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...enc.encode(h + ' '.repeat(40 - h.length)),
    ]);
  });

  it('reads a tensor whose data starts at an unaligned offset (from another writer)', () => {
    // Header deliberately not padded: data begins at byte 8 + odd length.
    const data = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const file = craft({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data, {
      pad: false,
    });
    expect((8 + parseSafetensorsHeader(file).headerLength) % 4).not.toBe(0);
    expect(Array.from(decodeSafetensors(file).tensors.w!.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('decodes from a Uint8Array view with a non-zero byteOffset', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: f32([7, 8]) } });
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const back = decodeSafetensors(big.subarray(3));
    expect(Array.from(back.tensors.x!.data as Float32Array)).toEqual([7, 8]);
  });

  it('encodes typed-array views (subarrays) from their own offset', () => {
    const big = new Float32Array([9, 9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({ v: { dtype: 'F32', shape: [3], data: big.subarray(2, 5) } });
    expect(Array.from(decodeSafetensors(bytes).tensors.v!.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('lists the header without reading data, with absolute offsets', () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'F64', shape: [1], data: new Float64Array([1]) },
      b: { dtype: 'I32', shape: [2], data: new Int32Array([1, 2]) },
    });
    const h = parseSafetensorsHeader(bytes, 'x');
    expect(h.dataStart).toBe(8 + h.headerLength);
    expect(h.entries.map((e) => [e.name, e.dtype, e.dataOffsets, e.fileOffset])).toEqual([
      ['a', 'F64', [0, 8], h.dataStart],
      ['b', 'I32', [8, 16], h.dataStart + 8],
    ]);
  });

  it('converts any numeric tensor to float32 and refuses FP8', () => {
    expect(
      Array.from(toFloat32Array({ dtype: 'I64', shape: [2], data: new BigInt64Array([-3n, 5n]) })),
    ).toEqual([-3, 5]);
    expect(
      Array.from(toFloat32Array({ dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) })),
    ).toEqual([0, 255]);
    expect(() => toFloat32Array({ dtype: 'F8_E4M3', shape: [1], data: new Uint8Array(1) })).toThrow(
      'toFloat32Array: dtype F8_E4M3 is not supported',
    );
  });

  it('keeps odd names as plain keys', () => {
    const bytes = encodeSafetensors({
      ['__proto__']: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      'ünï.cödé': { dtype: 'U8', shape: [1], data: new Uint8Array([2]) },
    });
    const back = decodeSafetensors(bytes);
    expect(Object.keys(back.tensors).sort()).toEqual(['__proto__', 'ünï.cödé']);
    expect(back.tensors['ünï.cödé']!.data[0]).toBe(2);
  });
});

describe('PyTorch fixture (tools/gen_safetensors_fixture.py)', () => {
  const bytes = new Uint8Array(readFileSync(FIXTURE));
  const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<
      string,
      { dtype: string; shape: number[]; values: (number | string)[]; bits?: number[] }
    >;
  };

  it('decodes every tensor exactly', () => {
    const { tensors, metadata } = decodeSafetensors(bytes, FIXTURE);
    expect(metadata).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = tensors[name]!;
      expect(t.dtype, name).toBe(e.dtype);
      expect(t.shape, name).toEqual(e.shape);
      if (e.bits) {
        expect(Array.from(t.data as Uint16Array), name).toEqual(e.bits);
        expect(Array.from(toFloat32Array(t)), name).toEqual(e.values.map(num));
      } else if (t.dtype === 'I64' || t.dtype === 'U64') {
        expect(Array.from(t.data, String), name).toEqual(e.values);
      } else {
        expect(Array.from(t.data as ArrayLike<number>), name).toEqual(e.values.map(num));
      }
    }
    // PyTorch state_dict names and layouts: Linear weight is [out, in].
    expect(tensors['0.weight']!.shape).toEqual([3, 4]);
    expect(tensors['1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
  });

  it('re-encodes to the identical bytes (same order, header and padding)', () => {
    const { tensors, metadata } = decodeSafetensors(bytes, FIXTURE);
    expect(Buffer.from(encodeSafetensors(tensors, metadata)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('converts float32 to F16/BF16 bits as PyTorch does (round to nearest even)', () => {
    for (const name of ['extra.f16', 'extra.bf16']) {
      const e = expected.tensors[name]!;
      const dtype = name.endsWith('bf16') ? 'BF16' : 'F16';
      // The fixture's inputs were doubles rounded by PyTorch; round-tripping the decoded values
      // must reproduce the stored bits.
      expect(Array.from(float32ToHalfBits(e.values.map(num), dtype))).toEqual(e.bits);
    }
    // Source doubles of the fixture, converted directly (ties and subnormals included).
    expect(Array.from(float32ToHalfBits([1, -2, 65504, 6e-8, 0.1, Infinity], 'F16'))).toEqual(
      expected.tensors['extra.f16']!.bits,
    );
    expect(Array.from(float32ToHalfBits([1, -3.140625, 1e38, 0.1], 'BF16'))).toEqual(
      expected.tensors['extra.bf16']!.bits,
    );
    // Overflow, underflow, ties to even and NaN; expected bits printed by PyTorch 1.13
    // (`torch.tensor(v).half()` / `.bfloat16()`).
    const v = [65520, 2 ** -25, 3 * 2 ** -26, 1.5 * 2 ** -24, 2.5 * 2 ** -24, 65519, 1 + 2 ** -11];
    expect(Array.from(float32ToHalfBits([...v, 1 + 3 * 2 ** -11, NaN], 'F16'))).toEqual([
      0x7c00, 0x0000, 0x0001, 0x0002, 0x0002, 0x7bff, 0x3c00, 0x3c02, 0x7e00,
    ]);
    expect(Array.from(float32ToHalfBits(v, 'BF16'))).toEqual([
      0x4780, 0x3300, 0x3340, 0x33c0, 0x3420, 0x4780, 0x3f80,
    ]);
    expect(Array.from(float32ToHalfBits([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3e38, -0], 'BF16'))).toEqual(
      [0x3f80, 0x3f82, 0x7f62, 0x8000],
    );
  });
});

describe('decode errors name the source, tensor, field and byte offset', () => {
  const src = 'model.safetensors';
  const w = (offs: unknown, extra: object = {}) => ({
    w: { dtype: 'F32', shape: [2], data_offsets: offs, ...extra },
  });
  const eight = new Uint8Array(8);

  const cases: [string, Uint8Array, RegExp, Partial<SafetensorsError>][] = [
    [
      'file shorter than the length field',
      new Uint8Array(5),
      /^model\.safetensors: field "header length": file is 5 bytes, too short .* \(at byte 0\)$/,
      { field: 'header length', byteOffset: 0 },
    ],
    [
      'absurd header length',
      craft({}, undefined, { length: 2n ** 62n }),
      /field "header length": header length 4611686018427387904 exceeds the 100000000-byte limit/,
      { field: 'header length', byteOffset: 0 },
    ],
    [
      'header beyond the file',
      craft({}, undefined, { length: 64n }),
      /field "header length": header of 64 bytes ends at byte 72, beyond the end of the 16-byte file \(truncated file\?\) \(at byte 0\)/,
      { field: 'header length' },
    ],
    [
      'header length too small',
      craft('{', undefined, { pad: false }),
      /header length 1 is too small/,
      { field: 'header length' },
    ],
    [
      'invalid UTF-8',
      (() => {
        const f = craft('{"a":1}');
        f[10] = 0xff;
        return f;
      })(),
      /field "header": header is not valid UTF-8 \(at byte 8\)/,
      { field: 'header', byteOffset: 8 },
    ],
    [
      'header not starting with {',
      craft(' {}'),
      /field "header": header must start with "\{", found " " \(at byte 8\)/,
      { field: 'header', byteOffset: 8 },
    ],
    [
      'invalid JSON',
      craft('{"w": {"dtype": "F32",}}'),
      /field "header": header is not valid JSON: .* \(at byte 30\)/,
      { field: 'header', byteOffset: 30 },
    ],
    [
      'metadata value not a string',
      craft({ __metadata__: { epoch: 3 } }),
      /field "__metadata__": value of "epoch" must be a string, got 3/,
      { field: '__metadata__' },
    ],
    [
      'entry not an object',
      craft({ w: [1, 2] }),
      /tensor "w": header entry is not an object/,
      { tensor: 'w' },
    ],
    [
      'missing dtype',
      craft({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor "w": field "dtype": missing/,
      { tensor: 'w', field: 'dtype' },
    ],
    [
      'unknown dtype',
      craft({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)),
      /^model\.safetensors: tensor "w": field "dtype": unknown dtype "F128" \(known: BOOL, U8, .*\) \(at byte 8\)$/,
      { tensor: 'w', field: 'dtype', byteOffset: 8 },
    ],
    [
      'bad shape',
      craft({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, eight),
      /tensor "w": field "shape": expected an array of non-negative integers, got \[2,-1\]/,
      { tensor: 'w', field: 'shape' },
    ],
    [
      'data_offsets not a pair',
      craft(w([0]), eight),
      /tensor "w": field "data_offsets": expected \[begin, end\] non-negative integers, got \[0\]/,
      { tensor: 'w', field: 'data_offsets' },
    ],
    [
      'end before begin',
      craft(w([8, 0]), eight),
      /tensor "w": field "data_offsets": end 0 is before begin 8/,
      { tensor: 'w', field: 'data_offsets' },
    ],
    [
      'offsets not matching shape × dtype size',
      craft(w([0, 12]), new Uint8Array(12)),
      /^model\.safetensors: tensor "w": field "data_offsets": \[0, 12\] spans 12 bytes but shape \[2\] of F32 needs 8 \(at byte 64\)$/,
      { tensor: 'w', field: 'data_offsets', byteOffset: 64 },
    ],
    [
      'offsets beyond the data (truncated file)',
      craft(w([0, 8]), new Uint8Array(5)),
      /tensor "w": field "data_offsets": \[0, 8\] runs past the end of the data buffer \(5 bytes; file truncated or offsets out of range\): needs the file to reach byte 72, it has 69 \(at byte 64\)/,
      { tensor: 'w', field: 'data_offsets', byteOffset: 64 },
    ],
    [
      'overlapping tensors',
      craft(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      /tensor "b": field "data_offsets": \[4, 12\] overlaps tensor "a" \[0, 8\] \(at byte \d+\)/,
      { tensor: 'b', field: 'data_offsets' },
    ],
    [
      'gap between tensors',
      craft(
        {
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        },
        new Uint8Array(12),
      ),
      /tensor "b": field "data_offsets": \[8, 12\] leaves a gap of 4 unused bytes after tensor "a"/,
      { tensor: 'b', field: 'data_offsets' },
    ],
    [
      'trailing bytes',
      craft(w([0, 8]), new Uint8Array(10)),
      /field "data_offsets": 2 trailing bytes after the last tensor \(the data buffer is 10 bytes, the tensors cover 8\) \(at byte 72\)/,
      { field: 'data_offsets', byteOffset: 72 },
    ],
  ];

  for (const [what, bytes, message, fields] of cases) {
    it(what, () => {
      const e = errorOf(() => decodeSafetensors(bytes, src));
      expect(e.message).toMatch(message);
      expect(e.message.startsWith(`${src}: `)).toBe(true);
      expect(e.source).toBe(src);
      expect(e).toMatchObject(fields);
    });
  }

  it('uses a default source name for bare bytes', () => {
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow(/^<safetensors bytes>: /);
  });
});

describe('encode errors', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'typed array not matching the dtype',
      { w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } },
      /tensor "w" field "data": dtype F32 needs a Float32Array, got Float64Array/,
    ],
    [
      'element count not matching the shape',
      { w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } },
      /tensor "w" field "data": shape \[2, 3\] needs 6 elements, data has 5/,
    ],
    [
      'unknown dtype',
      { w: { dtype: 'float32', shape: [1], data: new Float32Array(1) } },
      /tensor "w" field "dtype": unknown dtype "float32"/,
    ],
    [
      'bad shape',
      { w: { dtype: 'F32', shape: [1.5], data: new Float32Array(1) } },
      /tensor "w" field "shape": expected an array of non-negative integers, got \[1.5\]/,
    ],
    [
      'reserved name',
      { __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } },
      /tensor name "__metadata__" is reserved or empty/,
    ],
  ];
  for (const [what, tensors, message] of cases) {
    it(what, () => {
      const e = errorOf(() => encodeSafetensors(tensors as Record<string, SafeTensor>));
      expect(e.message).toMatch(/^encodeSafetensors: /);
      expect(e.message).toMatch(message);
    });
  }
  it('non-string metadata', () => {
    const e = errorOf(() =>
      encodeSafetensors({}, { epoch: 3 } as unknown as Record<string, string>),
    );
    expect(e.message).toMatch(/metadata "epoch" must be a string, got number/);
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aelab-st-'));
  const tensors: Record<string, SafeTensor> = {
    'decoder.weight': { dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) },
  };

  it('saves and loads, async and sync, creating folders', async () => {
    const p = join(dir, 'nested', 'deeper', 'w.safetensors');
    await saveSafetensors(p, tensors, { epoch: '3' });
    const back = await loadSafetensors(p);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(Array.from(back.tensors['decoder.weight']!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const q = join(dir, 'sync.safetensors');
    saveSafetensorsSync(q, tensors);
    expect(loadSafetensorsSync(q).tensors['decoder.weight']!.shape).toEqual([2, 2]);
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['w.safetensors']);
  });

  it('names the file in decode errors and when it cannot be read', async () => {
    const p = join(dir, 'broken.safetensors');
    const good = encodeSafetensors(tensors);
    writeFileSync(p, good.subarray(0, good.length - 3));
    await expect(loadSafetensors(p)).rejects.toThrow(
      new RegExp(
        `^${p.replace(/[.\\/]/g, '\\$&')}: tensor "decoder.weight": field "data_offsets": .*runs past the end`,
      ),
    );
    expect(() => loadSafetensorsSync(p)).toThrow(/broken\.safetensors: tensor "decoder\.weight"/);
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(
      /missing\.safetensors: cannot read: ENOENT/,
    );
  });
});

describe('writeFileAtomic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aelab-atomic-'));

  it('creates and replaces a file, leaving no temp file behind', async () => {
    const p = join(dir, 'a.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(p, 'text');
    expect(readFileSync(p, 'utf8')).toBe('text');
    writeFileAtomicSync(p, new Uint8Array([9]));
    expect(Array.from(readFileSync(p))).toEqual([9]);
    expect(readdirSync(dir)).toEqual(['a.bin']);
  });

  it('keeps the previous good file and cleans up when the write fails', async () => {
    const sub = join(dir, 'fail');
    mkdirSync(join(sub, 'target'), { recursive: true });
    writeFileSync(join(sub, 'target', 'keep'), 'x');
    // Renaming a file over a non-empty folder fails after the temp file was fully written.
    await expect(writeFileAtomic(join(sub, 'target'), 'new')).rejects.toThrow(
      /writeFileAtomic: cannot write .*target: .*(EISDIR|ENOTEMPTY|EEXIST)/,
    );
    expect(() => writeFileAtomicSync(join(sub, 'target'), 'new')).toThrow(/cannot write/);
    expect(readdirSync(sub)).toEqual(['target']);
    expect(readFileSync(join(sub, 'target', 'keep'), 'utf8')).toBe('x');
  });

  it('replaces concurrently without ever exposing a partial file', async () => {
    const p = join(dir, 'big.bin');
    const a = new Uint8Array(1 << 20).fill(0xaa);
    const b = new Uint8Array(1 << 20).fill(0xbb);
    await writeFileAtomic(p, a);
    const writes = [writeFileAtomic(p, b), writeFileAtomic(p, a), writeFileAtomic(p, b)];
    for (let i = 0; i < 20; i++) {
      const r = readFileSync(p);
      expect(r.length).toBe(1 << 20);
      expect(r[0] === r[r.length - 1]).toBe(true);
      await new Promise((res) => setImmediate(res));
    }
    await Promise.all(writes);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
