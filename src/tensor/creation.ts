/** Tensor creation: from data, constants, ranges and seeded random draws. */
import { getBackend } from '../kernels/registry.js';
import { defaultGenerator, type Generator } from './random.js';
import { shapeSize, Tensor, type Shape } from './tensor.js';

export interface CreateOptions {
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type Nested = number | boolean | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0] as Nested;
    if (cur === undefined) break;
  }
  return shape;
}

function flatten(data: Nested, shape: number[], dim: number, out: Float32Array, pos: { i: number }, path: string): void {
  if (dim === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean')
      throw new Error(`tensor(): ragged nested array at ${path}: expected a number, got an array`);
    out[pos.i++] = Number(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim])
    throw new Error(
      `tensor(): ragged nested array at ${path}: expected ${shape[dim]} elements, got ${Array.isArray(data) ? data.length : 'a number'}`,
    );
  for (let i = 0; i < data.length; i++) flatten((data as readonly Nested[])[i]!, shape, dim + 1, out, pos, `${path}[${i}]`);
}

/** Copies values into backend memory. */
function fromValues(values: ArrayLike<number>, shape: Shape, opts?: CreateOptions): Tensor {
  const n = shapeSize(shape);
  if (values.length !== n)
    throw new Error(`tensor(): ${values.length} values do not fill shape [${shape.join(', ')}] (${n} elements)`);
  const t = Tensor.uninit(shape);
  // One bulk set: an element loop into the wasm backend's shared memory is a slow path.
  t.data.set(values);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/**
 * Makes a tensor from a number, a nested array, or a flat array/typed array plus a shape.
 * Values are copied.
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: Shape, opts?: CreateOptions): Tensor {
  if (typeof data === 'number' || typeof data === 'boolean') return fromValues([Number(data)], shape ?? [], opts);
  if (ArrayBuffer.isView(data) || (!Array.isArray(data) && typeof (data as ArrayLike<number>).length === 'number')) {
    const flat = data as ArrayLike<number>;
    return fromValues(flat, shape ?? [flat.length], opts);
  }
  const inferred = inferShape(data as Nested);
  const flat = new Float32Array(shapeSize(inferred));
  flatten(data as Nested, inferred, 0, flat, { i: 0 }, 'data');
  return fromValues(flat, shape ?? inferred, opts);
}

/** Alias of `tensor` for a flat array and a shape. */
export const fromArray = (data: ArrayLike<number>, shape?: Shape, opts?: CreateOptions): Tensor => tensor(data, shape, opts);

/** Wraps an existing Float32Array without copying (it must not be modified elsewhere afterwards). */
export function wrap(data: Float32Array, shape: Shape, opts?: CreateOptions): Tensor {
  const t = new Tensor(data, shape);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  const t = Tensor.empty(shape);
  if (value !== 0) getBackend().fill(t.data, value);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

export const zeros = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts?: CreateOptions): Tensor => full(t.shape, 0, opts);
export const onesLike = (t: Tensor, opts?: CreateOptions): Tensor => full(t.shape, 1, opts);
export const fullLike = (t: Tensor, value: number, opts?: CreateOptions): Tensor => full(t.shape, value, opts);

/** Values start, start+step, … below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const t = Tensor.empty([n]);
  const d = t.data;
  for (let i = 0; i < n; i++) d[i] = start + i * step;
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`linspace: steps must be a positive integer, got ${steps}`);
  const t = Tensor.empty([steps]);
  const d = t.data;
  for (let i = 0; i < steps; i++) d[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m = n, opts?: CreateOptions): Tensor {
  const t = Tensor.empty([n, m]);
  const d = t.data;
  for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1;
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Standard normal draws from the (seeded) generator. */
export function randn(shape: Shape, opts?: RandomOptions): Tensor {
  const t = Tensor.empty(shape);
  (opts?.generator ?? defaultGenerator).fillNormal(t.data);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform draws in [0, 1). */
export function rand(shape: Shape, opts?: RandomOptions): Tensor {
  const t = Tensor.empty(shape);
  (opts?.generator ?? defaultGenerator).fillUniform(t.data);
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Uniform integers in [low, high) as float values. */
export function randint(low: number, high: number, shape: Shape, opts?: RandomOptions): Tensor {
  const t = Tensor.empty(shape);
  const g = opts?.generator ?? defaultGenerator;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = low + g.int(high - low);
  return t;
}

/** One-hot rows for integer class labels: (N) → (N, numClasses). */
export function oneHot(labels: ArrayLike<number> | Tensor, numClasses: number): Tensor {
  const src = labels instanceof Tensor ? labels.data : labels;
  const n = src.length;
  const t = Tensor.empty([n, numClasses]);
  const d = t.data;
  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses)
      throw new Error(`oneHot: label ${c} at position ${i} is not an integer in [0, ${numClasses})`);
    d[i * numClasses + c] = 1;
  }
  return t;
}
