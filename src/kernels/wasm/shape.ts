/**
 * Data movement of the wasm backend: slices and index select / add move unit-stride runs with the
 * wasm bulk copy / add (assembly/common.ts); permutes and short or strided runs run in the js
 * reference on the same arrays; gatherRows8 is a kernel (assembly/shape.ts).
 */
import type { F32, Shape } from '../backend.js';
import {
  axisSizes,
  gatherRows8 as jsGatherRows8,
  indexAdd as jsIndexAdd,
  indexSelect as jsIndexSelect,
  permute as jsPermute,
  slice as jsSlice,
  sliceAdd as jsSliceAdd,
  sliceWalk,
} from '../js/shape.js';
import { K } from './abi.js';
import { writeGatherRows8Args } from './abi.generated.js';
import { checkIndices, checkLen, PAR_ELEMS, product, type WasmContext } from './context.js';

/** Slices: unit-stride runs at least this long use the wasm copy / add (shorter ones do not repay the call). */
const SLICE_RUN = 8;

/** In the js reference, on the same arrays (memory-bound index shuffles). */
export function permute(_c: WasmContext, x: F32, shape: Shape, perm: readonly number[], out: F32): void {
  jsPermute(x, shape, perm, out);
}

// Slices (and concat, which adds each part into place): runs of unit stride go through the
// wasm copy / add rather than a JS element loop over shared memory; strided runs stay in JS.
export function slice(
  c: WasmContext,
  x: F32,
  shape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  out: F32,
  outShape: Shape,
): void {
  if (!sliceRuns(c, 'slice', x, out, shape, starts, steps, outShape)) jsSlice(x, shape, starts, steps, out, outShape);
}

export function sliceAdd(
  c: WasmContext,
  g: F32,
  gShape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  out: F32,
  shape: Shape,
): void {
  if (!sliceRuns(c, 'sliceAdd', g, out, shape, starts, steps, gShape)) jsSliceAdd(g, gShape, starts, steps, out, shape);
}

/**
 * slice (copy the part of `src`, shape `full`, into `out`, shape `part`) or sliceAdd (add
 * `src`, shape `part`, into that part of `out`, shape `full`); false (nothing done) when an
 * array is not in wasm memory.
 */
function sliceRuns(
  c: WasmContext,
  op: 'slice' | 'sliceAdd',
  src: F32,
  out: F32,
  full: Shape,
  starts: readonly number[],
  steps: readonly number[],
  part: Shape,
): boolean {
  if (!c.heap.owns(src) || !c.heap.owns(out)) return false;
  const add = op === 'sliceAdd';
  checkLen(op, add ? 'g' : 'x', src, product(add ? part : full));
  checkLen(op, 'out', out, product(add ? full : part));
  const sb = src.byteOffset,
    ob = out.byteOffset;
  // (ib, is): the run's start and stride in the full array; o: its start in the part
  sliceWalk(full, starts, steps, part, (ib, is, o, len) => {
    if (is === 1 && len >= SLICE_RUN) {
      if (add) c.mem.add(ob + 4 * ib, sb + 4 * o, len);
      else c.mem.copy(ob + 4 * o, sb + 4 * ib, len);
    } else if (add) for (let j = 0, p = ib; j < len; j++, p += is) out[p] = out[p]! + src[o + j]!;
    else for (let j = 0, p = ib; j < len; j++, p += is) out[o + j] = src[p]!;
  });
  return true;
}

// Index select / add along an axis: each picked slice is a run of `inner` floats, moved with
// the wasm copy / add when it is long enough (rows of a matrix), as the slices above.
export function indexSelect(c: WasmContext, x: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  if (!indexRuns(c, 'indexSelect', x, out, shape, axis, idx)) jsIndexSelect(x, shape, axis, idx, out);
}

export function indexAdd(c: WasmContext, g: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  if (!indexRuns(c, 'indexAdd', g, out, shape, axis, idx)) jsIndexAdd(g, shape, axis, idx, out);
}

/**
 * indexSelect (copy the picked slices of `src`, shape `shape`, into `out`) or indexAdd (add
 * the slices of `src` into the picked slices of `out`, shape `shape`) with the wasm copy / add;
 * false (nothing done) when the runs are short or an array is not in wasm memory.
 */
function indexRuns(
  c: WasmContext,
  op: 'indexSelect' | 'indexAdd',
  src: F32,
  out: F32,
  shape: Shape,
  axis: number,
  idx: Int32Array,
): boolean {
  const [outer, size, inner] = axisSizes(shape, axis);
  const m = idx.length;
  if (inner < SLICE_RUN || !c.heap.owns(src) || !c.heap.owns(out)) return false;
  const add = op === 'indexAdd';
  const full = outer * size * inner;
  const picked = outer * m * inner;
  checkLen(op, add ? 'g' : 'x', src, add ? picked : full);
  checkLen(op, 'out', out, add ? full : picked);
  checkIndices(op, idx, size);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++) {
      const pickedAt = 4 * (o * m + k) * inner;
      const fullAt = 4 * (o * size + idx[k]!) * inner;
      if (add) c.mem.add(out.byteOffset + fullAt, src.byteOffset + pickedAt, inner);
      else c.mem.copy(out.byteOffset + pickedAt, src.byteOffset + fullAt, inner);
    }
  return true;
}

export function gatherRows8(c: WasmContext, src: Uint8Array, d: number, idx: Int32Array, out: F32): void {
  const m = idx.length;
  if (m === 0 || d === 0) return;
  // Bytes outside wasm memory would be copied in whole for every call: the reference instead.
  if (!c.heap.owns(src)) return jsGatherRows8(src, d, idx, out);
  checkLen('gatherRows8', 'out', out, m * d);
  const rows = Math.floor(src.length / d);
  for (let j = 0; j < m; j++) {
    const r = idx[j]!;
    if (!(r >= 0 && r < rows)) throw new Error(`gatherRows8: index ${r} at position ${j} is not a row of the ${rows} in src`);
  }
  const io = c.heap.alloc(4 * m, false);
  new Int32Array(c.heap.buffer, io, m).set(idx);
  c.temps.push(io);
  const po = c.outp(out, false);
  writeGatherRows8Args(c.args, { src: src.byteOffset, d, idx: io, m, out: po });
  c.run(K.gatherRows8, m >= c.threads ? c.par(m * d, PAR_ELEMS) : 1);
}
