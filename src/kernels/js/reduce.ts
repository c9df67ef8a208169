/** Reductions of the reference backend: sum / max / min over any axes, and argmax. */
import type { F32, ReduceOp, Shape } from '../backend.js';
import { contiguousStrides } from './shape.js';

export function reduce(op: ReduceOp, x: F32, shape: Shape, axes: readonly number[], out: F32): void {
  const rank = shape.length;
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  out.fill(init);
  if (x.length === 0) return;
  // Output strides in the keepdim shape, zeroed on reduced axes, so each input element maps to
  // its output slot by the same odometer walk as binary broadcasting.
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  const keep = shape.map((d, i) => (reduced[i] ? 1 : d));
  const os = contiguousStrides(keep).map((s, i) => (reduced[i] ? 0 : s));
  const last = rank === 0 ? 1 : shape[rank - 1]!;
  const lo = rank === 0 ? 0 : os[rank - 1]!;
  const outer = x.length / last;
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let i = 0;
  for (let r = 0; r < outer; r++) {
    if (lo === 0) {
      // reducing the last axis: accumulate a run in a register
      let acc = out[base]!;
      if (op === 'sum') for (let j = 0; j < last; j++) acc += x[i++]!;
      else if (op === 'max')
        for (let j = 0; j < last; j++) {
          const v = x[i++]!;
          if (v > acc || Number.isNaN(v)) acc = v;
        }
      else
        for (let j = 0; j < last; j++) {
          const v = x[i++]!;
          if (v < acc || Number.isNaN(v)) acc = v;
        }
      out[base] = acc;
    } else {
      let o = base;
      if (op === 'sum') for (let j = 0; j < last; j++, o += lo) out[o] = out[o]! + x[i++]!;
      else if (op === 'max')
        for (let j = 0; j < last; j++, o += lo) {
          const v = x[i++]!;
          if (v > out[o]! || Number.isNaN(v)) out[o] = v;
        }
      else
        for (let j = 0; j < last; j++, o += lo) {
          const v = x[i++]!;
          if (v < out[o]! || Number.isNaN(v)) out[o] = v;
        }
    }
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += os[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= os[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export function argmax(x: F32, shape: Shape, axis: number, out: F32): void {
  const size = shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  const outer = x.length / (size * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * size * inner + k;
      let best = -Infinity;
      let bi = 0;
      for (let j = 0; j < size; j++) {
        const v = x[base + j * inner]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bi = j;
        }
      }
      out[o * inner + k] = bi;
    }
  }
}
