/** Shape ops: views (reshape & co. share storage) and copies (permute, slice, concat, index). */
import { getBackend } from '../kernels/registry.js';
import { record } from '../autograd/tape.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import { broadcastShapes, checkTensor, fmt, normAxis, padShape } from './util.js';

/** Reshape (a view: same storage). One dim may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', x);
  const s = shape.slice();
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`reshape: only one dim may be -1, got ${fmt(shape)}`);
  if (neg === 1) {
    const known = s.reduce((a, d) => (d === -1 ? a : a * d), 1);
    const i = s.indexOf(-1);
    if (known === 0 || x.size % known !== 0)
      throw new Error(`reshape: cannot reshape tensor of shape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
    s[i] = x.size / known;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || shapeSize(s) !== x.size)
    throw new Error(`reshape: cannot reshape tensor of shape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  const out = x.shareWith(s);
  return record(out, 'reshape', [x], { shape: x.shape.slice() });
}

export const view = reshape;

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${fmt(x.shape)}`);
  const mid = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normAxis('unflatten', dim, x.ndim);
  const n = sizes.reduce((a, b) => a * b, 1);
  if (n !== x.shape[d])
    throw new Error(`unflatten: sizes ${fmt(sizes)} (product ${n}) do not match dim ${dim} of size ${x.shape[d]} in ${fmt(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normAxis('squeeze', dim, x.ndim);
  if (x.shape[d] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normAxis('unsqueeze', dim, x.ndim + 1);
  const s = x.shape.slice();
  s.splice(d, 0, 1);
  return reshape(x, s);
}

/** Reorders dims (a copy). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor('permute', x);
  if (perm.length !== x.ndim) throw new Error(`permute: ${perm.length} dims given for a tensor of shape ${fmt(x.shape)}`);
  const p = perm.map((a) => normAxis('permute', a, x.ndim));
  if (new Set(p).size !== p.length) throw new Error(`permute: ${fmt(perm)} is not a permutation`);
  if (p.every((a, i) => a === i)) return x;
  const out = Tensor.uninit(p.map((a) => x.shape[a]!));
  getBackend().permute(x.data, x.shape, p, out.data);
  return record(out, 'permute', [x], { perm: p });
}

/** Swaps two dims (default: the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  if (x.ndim < 2) return x;
  const a = normAxis('transpose', dim0, x.ndim);
  const b = normAxis('transpose', dim1, x.ndim);
  const p = x.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(x, p);
}

/** Broadcasts to a larger shape (a copy). -1 keeps a dim. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', x);
  const padded = padShape(x.shape, shape.length);
  const target = shape.map((d, i) => (d === -1 ? padded[i]! : d));
  const s = broadcastShapes('expand', x.shape, target);
  if (s.some((d, i) => d !== target[i])) throw new Error(`expand: cannot expand ${fmt(x.shape)} to ${fmt(shape)}`);
  if (x.shape.length === s.length && x.shape.every((d, i) => d === s[i])) return x;
  const out = Tensor.uninit(s);
  getBackend().expand(x.data, padded, out.data, s);
  return record(out, 'expand', [x], {});
}

/** Sums a broadcast gradient back down to `shape` (undoing NumPy broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  let r = g;
  if (axes.length > 0) {
    const out = Tensor.empty(g.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    getBackend().reduce('sum', g.data, g.shape, axes, out.data);
    r = record(out, 'sum', [g], { axes, keepShape: out.shape.slice() });
  }
  return reshape(r, shape);
}

export interface SliceSpec {
  start?: number;
  end?: number;
  step?: number;
}

/**
 * Basic slicing: one entry per leading dim — a number selects (and drops the dim), a SliceSpec
 * or [start, end, step] takes a range (negative indices count from the end), null keeps the dim.
 */
export function slice(x: Tensor, ...specs: (number | SliceSpec | readonly [number?, number?, number?] | null)[]): Tensor {
  checkTensor('slice', x);
  if (specs.length > x.ndim) throw new Error(`slice: ${specs.length} indices for a tensor of shape ${fmt(x.shape)}`);
  const starts: number[] = [];
  const steps: number[] = [];
  const outShape: number[] = [];
  const finalShape: number[] = [];
  for (let d = 0; d < x.ndim; d++) {
    const n = x.shape[d]!;
    const s = specs[d];
    if (typeof s === 'number') {
      const i = s < 0 ? s + n : s;
      if (!Number.isInteger(s) || i < 0 || i >= n) throw new Error(`slice: index ${s} is out of range for dim ${d} of size ${n}`);
      starts.push(i);
      steps.push(1);
      outShape.push(1);
      continue;
    }
    const spec: SliceSpec = s == null ? {} : Array.isArray(s) ? { start: s[0], end: s[1], step: s[2] } : (s as SliceSpec);
    const step = spec.step ?? 1;
    if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step} (dim ${d})`);
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = clampIdx(spec.start ?? 0);
    const end = clampIdx(spec.end ?? n);
    const len = Math.max(0, Math.ceil((end - start) / step));
    starts.push(start);
    steps.push(step);
    outShape.push(len);
    finalShape.push(len);
  }
  const out = Tensor.uninit(outShape);
  getBackend().slice(x.data, x.shape, starts, steps, out.data, outShape);
  const r = record(out, 'slice', [x], { starts, steps });
  return finalShape.length === outShape.length ? r : reshape(r, finalShape);
}

/** Elements start..start+length along one dim. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normAxis('narrow', dim, x.ndim);
  if (start < 0 || length < 0 || start + length > x.shape[d]!)
    throw new Error(`narrow: range [${start}, ${start + length}) is out of bounds for dim ${dim} of size ${x.shape[d]}`);
  const specs: (SliceSpec | null)[] = x.shape.map(() => null);
  specs[d] = { start, end: start + length };
  return slice(x, ...specs);
}

/** Index i along dim, dropping the dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normAxis('select', dim, x.ndim);
  const specs: (number | null)[] = x.shape.map(() => null);
  specs[d] = index;
  return slice(x, ...specs);
}

/** Joins tensors along an existing dim. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0]!;
  tensors.forEach((t, i) => checkTensor('concat', t, `tensor ${i}`));
  const d = normAxis('concat', dim, first.ndim);
  let total = 0;
  for (const [i, t] of tensors.entries()) {
    if (t.ndim !== first.ndim || t.shape.some((s, j) => j !== d && s !== first.shape[j]))
      throw new Error(`concat: tensor ${i} has shape ${fmt(t.shape)}, incompatible with ${fmt(first.shape)} along dim ${dim}`);
    total += t.shape[d]!;
  }
  const shape = first.shape.slice();
  shape[d] = total;
  const out = Tensor.empty(shape);
  const b = getBackend();
  let off = 0;
  const offsets: number[] = [];
  const ones = shape.map(() => 1);
  for (const t of tensors) {
    const starts = shape.map((_, j) => (j === d ? off : 0));
    offsets.push(off);
    b.sliceAdd(t.data, t.shape, starts, ones, out.data, shape);
    off += t.shape[d]!;
  }
  return record(out, 'concat', [...tensors], { dim: d, offsets });
}

export const cat = concat;

/** Joins tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  const first = tensors[0]!;
  for (const [i, t] of tensors.entries())
    if (t.shape.join() !== first.shape.join())
      throw new Error(`stack: tensor ${i} has shape ${fmt(t.shape)}, expected ${fmt(first.shape)}`);
  const d = normAxis('stack', dim, first.ndim + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/** Splits along a dim into pieces of the given size (the last may be smaller) or of the listed sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normAxis('split', dim, x.ndim);
  const n = x.shape[d]!;
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0)
      throw new Error(`split: size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let i = 0; i < n; i += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - i));
  } else {
    sizes = sizeOrSections.slice();
    if (sizes.reduce((a, b) => a + b, 0) !== n)
      throw new Error(`split: sizes ${fmt(sizes)} do not add up to ${n}, the size of dim ${dim} of ${fmt(x.shape)}`);
  }
  const out: Tensor[] = [];
  let off = 0;
  for (const s of sizes) {
    out.push(narrow(x, d, off, s));
    off += s;
  }
  return out;
}

/** Splits into `chunks` nearly equal pieces. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normAxis('chunk', dim, x.ndim);
  return split(x, Math.ceil(x.shape[d]! / chunks), d);
}

function toIndex(op: string, idx: Tensor | ArrayLike<number>, size: number): Int32Array {
  const src = idx instanceof Tensor ? idx.data : idx;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    const j = v < 0 ? v + size : v;
    if (!Number.isInteger(v) || j < 0 || j >= size) throw new Error(`${op}: index ${v} at position ${i} is out of range for size ${size}`);
    out[i] = j;
  }
  return out;
}

/** Rows (or slices along dim) picked by an index list. */
export function indexSelect(x: Tensor, dim: number, index: Tensor | ArrayLike<number>): Tensor {
  checkTensor('indexSelect', x);
  const d = normAxis('indexSelect', dim, x.ndim);
  const idx = toIndex('indexSelect', index, x.shape[d]!);
  const shape = x.shape.slice();
  shape[d] = idx.length;
  const out = Tensor.uninit(shape);
  getBackend().indexSelect(x.data, x.shape, d, idx, out.data);
  return record(out, 'indexSelect', [x], { dim: d, idx });
}

/** torch.gather: out[i][j] = x[i][index[i][j]] along dim (index has x's rank). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor('gather', x);
  const d = normAxis('gather', dim, x.ndim);
  if (index.ndim !== x.ndim) throw new Error(`gather: index has shape ${fmt(index.shape)}, expected ${x.ndim} dims like input ${fmt(x.shape)}`);
  for (let i = 0; i < x.ndim; i++)
    if (i !== d && index.shape[i]! > x.shape[i]!)
      throw new Error(`gather: index shape ${fmt(index.shape)} exceeds input shape ${fmt(x.shape)} at dim ${i}`);
  // Flat positions into x, then one indexSelect over the flattened tensor (its rule scatters back).
  const xs = x.strides;
  const is = index.strides;
  const n = index.size;
  const flat = new Int32Array(n);
  const id = index.data;
  const size = x.shape[d]!;
  for (let k = 0; k < n; k++) {
    let rem = k;
    let pos = 0;
    for (let a = 0; a < index.ndim; a++) {
      const c = Math.floor(rem / is[a]!);
      rem -= c * is[a]!;
      if (a === d) {
        const v = id[k]!;
        if (!Number.isInteger(v) || v < 0 || v >= size) throw new Error(`gather: index ${v} at position ${k} is out of range for size ${size}`);
        pos += v * xs[a]!;
      } else pos += c * xs[a]!;
    }
    flat[k] = pos;
  }
  return reshape(indexSelect(reshape(x, [x.size]), 0, flat), index.shape);
}

/** A copy with its own storage (differentiable). */
export function clone(x: Tensor): Tensor {
  checkTensor('clone', x);
  const out = Tensor.uninit(x.shape);
  getBackend().copy(x.data, out.data);
  return record(out, 'clone', [x]);
}

/** Shares storage, cut from the graph. */
export function detach(x: Tensor): Tensor {
  checkTensor('detach', x);
  return x.shareWith(x.shape);
}
