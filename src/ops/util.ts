/** Shape checking and broadcasting shared by the ops. Errors name the op and the shapes. */
import { Tensor, type Shape } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';

export type TensorLike = Tensor | number;

export const fmt = (s: Shape): string => `[${s.join(', ')}]`;

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dim ${i - n}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Left-pads a shape with ones to `rank` dims. */
export function padShape(s: Shape, rank: number): number[] {
  return [...new Array<number>(rank - s.length).fill(1), ...s];
}

/** Normalises a possibly negative axis; throws naming the op. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= Math.max(rank, 1))
    throw new Error(`${op}: dim ${axis} is out of range for a tensor with ${rank} dims`);
  return a;
}

/** Sorted unique axes from undefined (all), a number, or a list. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const set = new Set(list.map((a) => normAxis(op, a, rank)));
  if (set.size !== list.length) throw new Error(`${op}: repeated dim in ${JSON.stringify(list)}`);
  return [...set].sort((x, y) => x - y);
}

/** Numbers become 0-d tensors; anything else is passed through for checkTensor to name. */
export function asTensor(x: TensorLike): Tensor {
  return typeof x === 'number' ? tensor(x) : x;
}

export function checkTensor(op: string, x: unknown, name = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.isDisposed) throw new Error(`${op}: ${name} of shape ${fmt(x.shape)} was used after dispose()`);
}

/** A pair from a number or a [h, w] pair, validated. */
export function pair(op: string, name: string, v: number | readonly [number, number], min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of p)
    if (!Number.isInteger(x) || x < min) throw new Error(`${op}: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}
