/**
 * The IDX format (LeCun's MNIST files) as pure byte-level encode/decode, with no Node imports so
 * the browser lab can use it too. File reading, gzip and writing live in idx.ts.
 *
 * Layout: bytes 0–1 are zero, byte 2 is the element type, byte 3 the number of dimensions d;
 * then d big-endian uint32 sizes; then the elements, big-endian, in row-major order.
 */

import { DataError, fmtCount } from './errors.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  /** Sizes of the dimensions, outermost first (e.g. [60000, 28, 28]). */
  shape: number[];
  data: IdxData;
}

interface DtypeInfo {
  code: number;
  /** Name used by the IDX spec, for messages. */
  idxName: string;
  bytes: number;
  make: (n: number) => IdxData;
}

export const IDX_DTYPES: Readonly<Record<IdxDtype, DtypeInfo>> = {
  uint8: { code: 0x08, idxName: 'ubyte', bytes: 1, make: (n) => new Uint8Array(n) },
  int8: { code: 0x09, idxName: 'byte', bytes: 1, make: (n) => new Int8Array(n) },
  int16: { code: 0x0b, idxName: 'short', bytes: 2, make: (n) => new Int16Array(n) },
  int32: { code: 0x0c, idxName: 'int', bytes: 4, make: (n) => new Int32Array(n) },
  float32: { code: 0x0d, idxName: 'float', bytes: 4, make: (n) => new Float32Array(n) },
  float64: { code: 0x0e, idxName: 'double', bytes: 8, make: (n) => new Float64Array(n) },
};

const CODE_TO_DTYPE = new Map<number, IdxDtype>(
  (Object.keys(IDX_DTYPES) as IdxDtype[]).map((k) => [IDX_DTYPES[k].code, k]),
);

const KNOWN_CODES = (Object.keys(IDX_DTYPES) as IdxDtype[])
  .map((k) => `0x${hex2(IDX_DTYPES[k].code)} ${IDX_DTYPES[k].idxName}`)
  .join(', ');

/** IDX is big-endian; typed arrays use the host's order, which is little-endian almost everywhere. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The dtype of a typed array, as IDX knows it. */
export function dtypeOf(data: IdxData): IdxDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  throw new TypeError('encodeIdx: data must be a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array');
}

function describeShape(shape: readonly number[], dtype: IdxDtype): string {
  return `${shape.length ? shape.join('×') : 'scalar'} ${IDX_DTYPES[dtype].idxName}`;
}

/** Reverses the byte order of each `size`-byte element in place. */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 2) {
    for (let i = 0; i < bytes.length; i += 2) {
      const a = bytes[i]!;
      bytes[i] = bytes[i + 1]!;
      bytes[i + 1] = a;
    }
  } else if (size === 4) {
    for (let i = 0; i < bytes.length; i += 4) {
      const a = bytes[i]!;
      const b = bytes[i + 1]!;
      bytes[i] = bytes[i + 3]!;
      bytes[i + 1] = bytes[i + 2]!;
      bytes[i + 2] = b;
      bytes[i + 3] = a;
    }
  } else if (size === 8) {
    for (let i = 0; i < bytes.length; i += 8) {
      for (let k = 0; k < 4; k++) {
        const a = bytes[i + k]!;
        bytes[i + k] = bytes[i + 7 - k]!;
        bytes[i + 7 - k] = a;
      }
    }
  }
}

/**
 * Decodes an uncompressed IDX byte buffer. `source` names the file in error messages; every
 * error also carries the byte offset where the problem is.
 */
export function decodeIdx(bytes: Uint8Array, source = '<buffer>'): IdxArray {
  const where = (offset: number) => ({ file: source, offset });
  if (bytes.length < 4) {
    throw new DataError(
      `${source}: truncated IDX header: expected at least 4 bytes, got ${bytes.length}`,
      where(bytes.length),
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), hex2).join('');
    const hint = isGzip(bytes) ? ' (this is gzip data: decompress it first, or use readIdx which does)' : '';
    throw new DataError(
      `${source}: not an IDX file: bad magic number 0x${magic} at byte 0 ` +
        `(IDX files start with two zero bytes, a type code and the number of dimensions)${hint}`,
      where(0),
    );
  }
  const code = bytes[2]!;
  const dtype = CODE_TO_DTYPE.get(code);
  if (dtype === undefined) {
    throw new DataError(`${source}: unknown IDX data type 0x${hex2(code)} at byte 2 (known: ${KNOWN_CODES})`, where(2));
  }
  const ndim = bytes[3]!;
  if (ndim === 0) {
    throw new DataError(`${source}: IDX header declares 0 dimensions at byte 3; a data file needs at least 1`, where(3));
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${source}: truncated IDX header: expected ${headerBytes} bytes for ${ndim} dimensions, got ${bytes.length}`,
      where(bytes.length),
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  const info = IDX_DTYPES[dtype];
  const dataBytes = count * info.bytes;
  // Typed arrays top out near 2^32 elements and a file this large would not fit in memory anyway;
  // a huge product almost always means a corrupt header, so say so instead of failing on allocation.
  if (!Number.isSafeInteger(dataBytes) || count > 2 ** 32 - 1) {
    throw new DataError(
      `${source}: IDX dimensions ${describeShape(shape, dtype)} at bytes 4–${headerBytes - 1} describe ` +
        `${count.toExponential(3)} elements, which is not a plausible file (corrupt header?)`,
      where(4),
    );
  }
  const expected = headerBytes + dataBytes;
  if (bytes.length < expected) {
    throw new DataError(
      `${source}: truncated IDX file: expected ${fmtCount(expected)} bytes ` +
        `(${headerBytes}-byte header + ${describeShape(shape, dtype)}), got ${fmtCount(bytes.length)}; ` +
        `the data stops at byte ${fmtCount(bytes.length)}`,
      where(bytes.length),
    );
  }
  if (bytes.length > expected) {
    throw new DataError(
      `${source}: IDX size mismatch: dimensions ${describeShape(shape, dtype)} describe ` +
        `${fmtCount(dataBytes)} data bytes after the ${headerBytes}-byte header, but the file has ` +
        `${fmtCount(bytes.length - headerBytes)} (${fmtCount(bytes.length - expected)} extra bytes from byte ${fmtCount(expected)})`,
      where(expected),
    );
  }

  const data = info.make(count);
  // Copy rather than view: the result then owns an aligned buffer and does not pin the (often much
  // larger, decompressed) input alive.
  const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(bytes.subarray(headerBytes, expected));
  if (info.bytes > 1) {
    if (HOST_LITTLE_ENDIAN) swapBytes(out, info.bytes);
  }
  return { dtype, shape, data };
}

/** Encodes an array as IDX bytes (uncompressed). The dtype follows the typed array's type. */
export function encodeIdx(arr: { shape: readonly number[]; data: IdxData; dtype?: IdxDtype }): Uint8Array {
  const dtype = dtypeOf(arr.data);
  if (arr.dtype !== undefined && arr.dtype !== dtype) {
    throw new TypeError(`encodeIdx: dtype '${arr.dtype}' does not match the data's type '${dtype}'`);
  }
  const { shape } = arr;
  if (shape.length < 1 || shape.length > 255) {
    throw new RangeError(`encodeIdx: IDX supports 1 to 255 dimensions, got shape [${shape.join(', ')}]`);
  }
  let count = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) {
      throw new RangeError(`encodeIdx: dimension sizes must be integers in [0, 2^32), got shape [${shape.join(', ')}]`);
    }
    count *= s;
  }
  if (count !== arr.data.length) {
    throw new RangeError(
      `encodeIdx: shape [${shape.join(', ')}] holds ${count} elements but the data has ${arr.data.length}`,
    );
  }
  const info = IDX_DTYPES[dtype];
  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = info.code;
  bytes[3] = shape.length;
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  const body = bytes.subarray(headerBytes);
  body.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength));
  if (info.bytes > 1 && HOST_LITTLE_ENDIAN) swapBytes(body, info.bytes);
  return bytes;
}
