/**
 * Data movement of the reference backend: permute, strided slices and their adjoint, index
 * select / add along an axis, and the gather of 8-bit pixel rows into a float batch.
 */
import type { F32, Shape } from '../backend.js';

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function permute(x: F32, shape: Shape, perm: readonly number[], out: F32): void {
  const rank = shape.length;
  const inStr = contiguousStrides(shape);
  const outShape = perm.map((p) => shape[p]!);
  const src = perm.map((p) => inStr[p]!); // input stride for each output dim
  if (rank === 2 && perm[0] === 1) {
    // plain 2-D transpose, blocked for the cache
    const R = shape[0]!;
    const C = shape[1]!;
    const B = 32;
    for (let i0 = 0; i0 < R; i0 += B)
      for (let j0 = 0; j0 < C; j0 += B) {
        const i1 = Math.min(i0 + B, R);
        const j1 = Math.min(j0 + B, C);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * R + i] = x[i * C + j]!;
      }
    return;
  }
  const last = outShape[rank - 1] ?? 1;
  const ls = src[rank - 1] ?? 0;
  const outer = out.length / Math.max(last, 1);
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let o = 0;
  for (let r = 0; r < outer; r++) {
    let p = base;
    for (let j = 0; j < last; j++, p += ls) out[o++] = x[p]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += src[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= src[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/** Walks the sliced positions of x in output order, calling `visit(inputIndex, outputIndex)` per run. */
/** Walks a strided slice run by run (exported for the wasm backend's row-copy fast path). */
export function sliceWalk(
  shape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  outShape: Shape,
  run: (inBase: number, inStep: number, outBase: number, len: number) => void,
): void {
  const rank = shape.length;
  const n = outShape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (rank === 0) {
    run(0, 1, 0, 1);
    return;
  }
  const st = contiguousStrides(shape);
  let base = 0;
  for (let d = 0; d < rank; d++) base += starts[d]! * st[d]!;
  const step = st.map((s, d) => s * steps[d]!);
  const last = outShape[rank - 1]!;
  const outer = n / last;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  for (let r = 0; r < outer; r++) {
    run(base, step[rank - 1]!, o, last);
    o += last;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += step[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= step[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

export function slice(x: F32, shape: Shape, starts: readonly number[], steps: readonly number[], out: F32, outShape: Shape): void {
  sliceWalk(shape, starts, steps, outShape, (ib, is, ob, len) => {
    for (let j = 0, p = ib; j < len; j++, p += is) out[ob + j] = x[p]!;
  });
}

export function sliceAdd(g: F32, gShape: Shape, starts: readonly number[], steps: readonly number[], out: F32, shape: Shape): void {
  sliceWalk(shape, starts, steps, gShape, (ib, is, ob, len) => {
    for (let j = 0, p = ib; j < len; j++, p += is) out[p] = out[p]! + g[ob + j]!;
  });
}

/** [outer, size, inner] of an axis: the index of element (o, i, j) is (o·size + i)·inner + j. */
export function axisSizes(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return [outer, shape[axis]!, inner];
}

export function indexSelect(x: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  const [outer, size, inner] = axisSizes(shape, axis);
  const m = idx.length;
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++) {
      const src = (o * size + idx[k]!) * inner;
      const dst = (o * m + k) * inner;
      for (let j = 0; j < inner; j++) out[dst + j] = x[src + j]!;
    }
}

export function indexAdd(g: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void {
  const [outer, size, inner] = axisSizes(shape, axis);
  const m = idx.length;
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < m; k++) {
      const dst = (o * size + idx[k]!) * inner;
      const src = (o * m + k) * inner;
      for (let j = 0; j < inner; j++) out[dst + j] = out[dst + j]! + g[src + j]!;
    }
}

/** k / 255 rounded to float32, for k = 0..255 (the datasets' scaling of 8-bit pixels). */
const UNIT8 = Float32Array.from({ length: 256 }, (_, k) => k / 255);

export function gatherRows8(src: Uint8Array, d: number, idx: Int32Array, out: F32): void {
  const m = idx.length;
  const rows = d === 0 ? 0 : Math.floor(src.length / d);
  if (out.length < m * d) throw new Error(`gatherRows8: out has ${out.length} elements, ${m} rows of ${d} need ${m * d}`);
  for (let j = 0; j < m; j++) {
    const r = idx[j]!;
    if (!(r >= 0 && r < rows)) throw new Error(`gatherRows8: index ${r} at position ${j} is not a row of the ${rows} in src`);
    const s = r * d;
    const o = j * d;
    for (let k = 0; k < d; k++) out[o + k] = UNIT8[src[s + k]!]!;
  }
}
