/**
 * safetensors: the weight interchange format shared with PyTorch (`safetensors.torch.save_file`).
 *
 * File layout (all integers little-endian):
 *
 *   [0, 8)          u64 N: byte length of the JSON header
 *   [8, 8+N)        UTF-8 JSON object:
 *                     { "__metadata__": { "key": "value", ... },        (optional, strings only)
 *                       "<name>": { "dtype": "F32", "shape": [d0, d1, ...],
 *                                   "data_offsets": [begin, end] }, ... }
 *                   padded at the end with spaces so that 8+N is a multiple of 8
 *   [8+N, EOF)      the data buffer; `data_offsets` are relative to its start
 *
 * Data is C-ordered (row-major) and little-endian. The reference writer sorts tensors by
 * decreasing dtype alignment, then by name, and lays them out back to back from offset 0, so
 * every tensor starts on a multiple of its own element size; we write the same order, which
 * also makes our output byte-identical to the reference implementation's for the same input.
 * The reference reader requires the tensors to tile the data buffer exactly (no gap, no overlap,
 * no trailing byte); we check the same, so a file we accept is a file PyTorch accepts.
 *
 * Over 600 lines on purpose: the reader's checks (every header field against the file's bytes
 * before any allocation) and the writer are one format's two halves, tested as one.
 */

// The codec works on bytes and runs anywhere (the browser entry exports it); reading and writing
// files is in safetensors-node.ts.

/** Every dtype of the format, in the reference implementation's alignment order (ascending). */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
] as const;

export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/**
 * The typed array that holds each dtype's elements. Half and 8-bit floats have no JS array type:
 * they are kept as their raw bit patterns (see `toFloat32Array` / `float32ToF16Bits`).
 */
export interface DTypeArrayMap {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

export type TensorData = DTypeArrayMap[SafetensorsDType];

/** One tensor: element type, shape (row-major, [] for a scalar) and its elements. */
export type SafeTensor = {
  [D in SafetensorsDType]: { dtype: D; shape: number[]; data: DTypeArrayMap[D] };
}[SafetensorsDType];

export interface DecodedSafetensors {
  /** Tensors by name, in file (data offset) order. */
  tensors: Record<string, SafeTensor>;
  /** The `__metadata__` object; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** One header entry, as parsed and checked, with offsets both relative and absolute. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the start of the data buffer, as in the header. */
  dataOffsets: [number, number];
  /** Absolute byte offset of the first element in the file (8 + header length + begin). */
  fileOffset: number;
}

export interface SafetensorsHeader {
  /** Byte length of the JSON header (N), without the 8-byte length prefix. */
  headerLength: number;
  /** Absolute offset of the data buffer: 8 + N. */
  dataStart: number;
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * An error in a safetensors file or in tensors handed to the encoder. The message says everything;
 * the fields let callers (the CLI, tests) pick out the location.
 */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    message: string,
    readonly source: string,
    readonly tensor?: string,
    readonly field?: string,
    readonly byteOffset?: number,
  ) {
    super(message);
  }
}

const ELEMENT_SIZE: Record<SafetensorsDType, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

type TypedArrayCtor = {
  new (buffer: ArrayBuffer): TensorData;
  new (length: number): TensorData;
  readonly name: string;
};

const ARRAY_TYPE: Record<SafetensorsDType, TypedArrayCtor> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E5M2: Uint8Array,
  F8_E4M3: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
} as unknown as Record<SafetensorsDType, TypedArrayCtor>;

const DTYPE_RANK: Record<string, number> = Object.fromEntries(
  SAFETENSORS_DTYPES.map((d, i) => [d, i]),
);

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length field). */
export const MAX_HEADER_LENGTH = 100_000_000;

const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_RANK, s);
}

/** Bytes per element of a dtype. */
export function dtypeSize(dtype: SafetensorsDType): number {
  return ELEMENT_SIZE[dtype];
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

// Byte order of names as the reference implementation compares Rust `String`s: by UTF-8 bytes.
// (JS `<` compares UTF-16 code units, which differs for characters beyond U+FFFF.)
const utf8 = new TextEncoder();
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// Copies `len` bytes from `src` at `at` into `dst`, swapping each element to the host's byte
// order. Every engine that runs Node or a browser today is little-endian; the swap keeps the
// format correct on a big-endian host rather than silently wrong.
function copyLittleEndian(src: Uint8Array, at: number, len: number, size: number, dst: Uint8Array) {
  if (LITTLE_ENDIAN || size === 1) {
    dst.set(src.subarray(at, at + len));
    return;
  }
  for (let i = 0; i < len; i += size) {
    for (let j = 0; j < size; j++) dst[i + j] = src[at + i + size - 1 - j]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes that PyTorch's
 * `safetensors.torch.load_file` reads. Names are kept as given (use PyTorch `state_dict` names:
 * `encoder.0.weight`). The header lists `__metadata__` first (only when it has keys), then the
 * tensors in data order.
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const source = 'encodeSafetensors';
  const items: { name: string; t: SafeTensor; nbytes: number }[] = [];
  for (const name of Object.keys(tensors)) {
    const t = tensors[name]!;
    if (name === METADATA_KEY || name.length === 0) {
      throw new SafetensorsError(
        `${source}: tensor name ${JSON.stringify(name)} is reserved or empty`,
        source,
        name,
        'name',
      );
    }
    if (t === null || typeof t !== 'object') {
      throw new SafetensorsError(`${source}: tensor "${name}" is not an object`, source, name);
    }
    if (!isSafetensorsDType(t.dtype)) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" field "dtype": unknown dtype ${JSON.stringify(t.dtype)} ` +
          `(expected one of ${SAFETENSORS_DTYPES.join(', ')})`,
        source,
        name,
        'dtype',
      );
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" field "shape": expected an array of non-negative integers, ` +
          `got ${JSON.stringify(t.shape)}`,
        source,
        name,
        'shape',
      );
    }
    const Ctor = ARRAY_TYPE[t.dtype];
    if (!(t.data instanceof Ctor)) {
      const got = (t.data as { constructor?: { name?: string } } | null)?.constructor?.name;
      throw new SafetensorsError(
        `${source}: tensor "${name}" field "data": dtype ${t.dtype} needs a ${Ctor.name}, ` +
          `got ${got ?? typeof t.data}`,
        source,
        name,
        'data',
      );
    }
    const n = numel(t.shape);
    if (t.data.length !== n) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" field "data": shape ${describeShape(t.shape)} needs ${n} ` +
          `elements, data has ${t.data.length}`,
        source,
        name,
        'data',
      );
    }
    items.push({ name, t, nbytes: n * ELEMENT_SIZE[t.dtype] });
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new SafetensorsError(
          `${source}: metadata "${k}" must be a string, got ${typeof v}`,
          source,
          undefined,
          METADATA_KEY,
        );
      }
    }
  }

  // Decreasing alignment, then name: larger elements first keeps every tensor aligned to its
  // element size inside the (8-aligned) data buffer.
  items.sort(
    (a, b) => DTYPE_RANK[b.t.dtype]! - DTYPE_RANK[a.t.dtype]! || compareUtf8(a.name, b.name),
  );

  const header: Record<string, unknown> = {};
  const define = (k: string, v: unknown) =>
    Object.defineProperty(header, k, { value: v, enumerable: true, writable: true });
  if (metadata !== undefined && Object.keys(metadata).length > 0) define(METADATA_KEY, metadata);
  let offset = 0;
  for (const it of items) {
    define(it.name, {
      dtype: it.t.dtype,
      shape: it.t.shape,
      data_offsets: [offset, offset + it.nbytes],
    });
    offset += it.nbytes;
  }
  const json = utf8.encode(JSON.stringify(header));
  // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const it of items) {
    const size = ELEMENT_SIZE[it.t.dtype];
    const d = it.t.data;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, it.nbytes);
    copyLittleEndian(bytes, 0, it.nbytes, size, out.subarray(at, at + it.nbytes));
    at += it.nbytes;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

function fail(
  source: string,
  what: string,
  opts: { tensor?: string; field?: string; offset?: number } = {},
): never {
  const parts = [source];
  if (opts.tensor !== undefined) parts.push(`tensor "${opts.tensor}"`);
  if (opts.field !== undefined) parts.push(`field "${opts.field}"`);
  const where = opts.offset !== undefined ? ` (at byte ${opts.offset})` : '';
  throw new SafetensorsError(
    `${parts.join(': ')}: ${what}${where}`,
    source,
    opts.tensor,
    opts.field,
    opts.offset,
  );
}

/**
 * Parses and checks the header without touching tensor data: names, dtypes, shapes and offsets,
 * all validated against the file size. `source` names the file in error messages.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  source = '<safetensors bytes>',
): SafetensorsHeader {
  if (bytes.length < 8) {
    fail(source, `file is ${bytes.length} bytes, too short for the 8-byte header length`, {
      field: 'header length',
      offset: 0,
    });
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_LENGTH)) {
    fail(
      source,
      `header length ${n64} exceeds the ${MAX_HEADER_LENGTH}-byte limit (not a safetensors file?)`,
      { field: 'header length', offset: 0 },
    );
  }
  const n = Number(n64);
  if (n < 2) {
    fail(source, `header length ${n} is too small to hold a JSON object`, {
      field: 'header length',
      offset: 0,
    });
  }
  if (8 + n > bytes.length) {
    fail(
      source,
      `header of ${n} bytes ends at byte ${8 + n}, beyond the end of the ${bytes.length}-byte file ` +
        `(truncated file?)`,
      { field: 'header length', offset: 0 },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not valid UTF-8', { field: 'header', offset: 8 });
  }
  // The reference reader requires the object to start at the first byte (no leading space).
  if (text[0] !== '{') {
    fail(source, `header must start with "{", found ${JSON.stringify(text.slice(0, 1))}`, {
      field: 'header',
      offset: 8,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // V8 reports "... at position P" (in UTF-16 units; equal to bytes for ASCII headers).
    const m = /position (\d+)/.exec(msg);
    fail(source, `header is not valid JSON: ${msg}`, {
      field: 'header',
      offset: m ? 8 + Number(m[1]) : 8,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    fail(source, 'header JSON is not an object', { field: 'header', offset: 8 });
  }

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        fail(source, 'must be an object of strings', { field: METADATA_KEY, offset: 8 });
      }
      const md: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          fail(source, `value of "${k}" must be a string, got ${JSON.stringify(v)}`, {
            field: METADATA_KEY,
            offset: 8,
          });
        }
        Object.defineProperty(md, k, { value: v, enumerable: true, writable: true });
      }
      metadata = md;
      continue;
    }
    const at = { tensor: name, offset: 8 };
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      fail(source, 'header entry is not an object', at);
    }
    const info = raw as Record<string, unknown>;
    const dtype = info.dtype;
    if (dtype === undefined) fail(source, 'missing', { ...at, field: 'dtype' });
    if (!isSafetensorsDType(dtype)) {
      fail(
        source,
        `unknown dtype ${JSON.stringify(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`,
        { ...at, field: 'dtype' },
      );
    }
    const shape = info.shape;
    if (shape === undefined) fail(source, 'missing', { ...at, field: 'shape' });
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(source, `expected an array of non-negative integers, got ${JSON.stringify(shape)}`, {
        ...at,
        field: 'shape',
      });
    }
    const offs = info.data_offsets;
    if (offs === undefined) fail(source, 'missing', { ...at, field: 'data_offsets' });
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(source, `expected [begin, end] non-negative integers, got ${JSON.stringify(offs)}`, {
        ...at,
        field: 'data_offsets',
      });
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) {
      fail(source, `end ${end} is before begin ${begin}`, {
        tensor: name,
        field: 'data_offsets',
        offset: dataStart + begin,
      });
    }
    const expected = numel(shape as number[]) * ELEMENT_SIZE[dtype];
    if (end - begin !== expected) {
      fail(
        source,
        `[${begin}, ${end}] spans ${end - begin} bytes but shape ` +
          `${describeShape(shape as number[])} of ${dtype} needs ${expected}`,
        { tensor: name, field: 'data_offsets', offset: dataStart + begin },
      );
    }
    if (end > dataLength) {
      fail(
        source,
        `[${begin}, ${end}] runs past the end of the data buffer (${dataLength} bytes; file ` +
          `truncated or offsets out of range): needs the file to reach byte ${dataStart + end}, ` +
          `it has ${bytes.length}`,
        { tensor: name, field: 'data_offsets', offset: dataStart + begin },
      );
    }
    entries.push({
      name,
      dtype,
      shape: (shape as number[]).slice(),
      dataOffsets: [begin, end],
      fileOffset: dataStart + begin,
    });
  }

  // Tensors must tile the buffer: sorted by offset, each begins where the previous one ended.
  entries.sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let cursor = 0;
  let prev: SafetensorsEntry | undefined;
  for (const e of entries) {
    const [begin] = e.dataOffsets;
    if (begin < cursor) {
      fail(
        source,
        `[${e.dataOffsets.join(', ')}] overlaps tensor "${prev!.name}" ` +
          `[${prev!.dataOffsets.join(', ')}]`,
        { tensor: e.name, field: 'data_offsets', offset: e.fileOffset },
      );
    }
    if (begin > cursor) {
      fail(
        source,
        `[${e.dataOffsets.join(', ')}] leaves a gap of ${begin - cursor} unused bytes after ` +
          `${prev ? `tensor "${prev.name}"` : 'the start of the data buffer'} (tensors must be ` +
          `stored back to back)`,
        { tensor: e.name, field: 'data_offsets', offset: dataStart + cursor },
      );
    }
    cursor = e.dataOffsets[1];
    prev = e;
  }
  if (cursor !== dataLength) {
    fail(
      source,
      `${dataLength - cursor} trailing bytes after the last tensor (the data buffer is ` +
        `${dataLength} bytes, the tensors cover ${cursor})`,
      { field: 'data_offsets', offset: dataStart + cursor },
    );
  }
  return { headerLength: n, dataStart, entries, metadata };
}

/**
 * Reads safetensors bytes into tensors (copies: the result does not alias `bytes`).
 * Every check of `parseSafetensorsHeader` applies; errors name `source`, the tensor, the field
 * and the byte offset.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = '<safetensors bytes>',
): DecodedSafetensors {
  const header = parseSafetensorsHeader(bytes, source);
  const pairs: [string, SafeTensor][] = [];
  for (const e of header.entries) {
    const size = ELEMENT_SIZE[e.dtype];
    const len = e.dataOffsets[1] - e.dataOffsets[0];
    // A fresh, aligned buffer: the file offset need not be a multiple of the element size.
    const buf = new ArrayBuffer(len);
    copyLittleEndian(bytes, e.fileOffset, len, size, new Uint8Array(buf));
    const data = new ARRAY_TYPE[e.dtype](buf);
    pairs.push([e.name, { dtype: e.dtype, shape: e.shape, data } as SafeTensor]);
  }
  // fromEntries defines own properties, so even a tensor named "__proto__" stays a plain key.
  return { tensors: Object.fromEntries(pairs), metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------
// Element conversions

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits → number. value = (-1)^s · 2^(e-15) · (1 + m/1024), subnormal when e = 0. */
export function f16BitsToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → IEEE binary16 bits, rounding to nearest, ties to even (as PyTorch's `.half()`). */
export function floatToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN (quiet)
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right by 1 - e, round to even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let v = mant >>> shift;
    if (rest > half || (rest === half && v & 1)) v++;
    return sign | v;
  }
  const rest = mant & 0x1fff;
  let v = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && v & 1)) v++; // may carry into the exponent: correct
  return sign | v;
}

/** bfloat16 bits → number: the top 16 bits of a float32. */
export function bf16BitsToFloat(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** number → bfloat16 bits, rounding to nearest, ties to even. */
export function floatToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/**
 * Any numeric tensor's elements as float32 (what the engine computes in). F16 and BF16 are
 * decoded from their bits; 64-bit integers go through Number (exact up to 2^53, then rounded).
 * FP8 has no agreed decoding here and is refused.
 */
export function toFloat32Array(t: SafeTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(t.data);
    case 'F16':
      return Float32Array.from(t.data, f16BitsToFloat);
    case 'BF16':
      return Float32Array.from(t.data, bf16BitsToFloat);
    case 'I64':
    case 'U64':
      return Float32Array.from(t.data as ArrayLike<bigint>, (v) => Number(v));
    case 'F8_E5M2':
    case 'F8_E4M3':
      throw new SafetensorsError(
        `toFloat32Array: dtype ${t.dtype} is not supported`,
        'toFloat32Array',
        undefined,
        'dtype',
      );
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}

/** Converts float32 values to the bits of F16 or BF16, for writing half-precision tensors. */
export function float32ToHalfBits(values: ArrayLike<number>, dtype: 'F16' | 'BF16'): Uint16Array {
  const conv = dtype === 'F16' ? floatToF16Bits : floatToBf16Bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i]!);
  return out;
}
