/**
 * Tensor: a float32, contiguous, row-major array with a shape, and the autograd fields.
 *
 * Design choices (see the README's "Memory" section):
 * - Every tensor is contiguous. Views (reshape/view/flatten/squeeze) share storage; ops that
 *   reorder memory (transpose, permute, slicing) copy. Kernels therefore only ever see flat
 *   arrays plus shapes, which keeps the kernel table small and each backend simple.
 * - Storage is reference-counted. `dispose()` (or leaving a `tidy` scope) releases a tensor's
 *   reference; the storage returns to the backend when its last tensor lets go. Tensors that
 *   are never disposed are reclaimed by the garbage collector (a FinalizationRegistry returns
 *   backend memory, which matters for wasm), so disposal is an optimisation, not a duty.
 */
import type { Backend } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';

export type Shape = readonly number[];

export class Storage {
  refs = 0;
  /** What the finalizer frees if this storage is collected without a release (wasm only). */
  handle: StorageHandle | null = null;
  constructor(
    public data: Float32Array,
    public readonly backend: Backend,
  ) {}
}

interface StorageHandle {
  data: Float32Array;
  backend: Backend;
  freed: boolean;
}

/** Returns backend memory of storages the program forgot to dispose. */
const finalizer =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<StorageHandle>((h) => {
        if (!h.freed) h.backend.free(h.data);
      })
    : null;

/**
 * Lets the garbage collector return the storage's backend memory if it is never released.
 * Called when a tensor is made outside every tidy scope or leaves the last one (returned,
 * kept); a storage made and released inside a scope is never registered, which spares a
 * training step's temporaries the registration and the garbage collector's work on it.
 */
function track(s: Storage): void {
  if (!finalizer || s.handle !== null || s.backend.name === 'js' || s.data === EMPTY) return;
  // The handle must not reference the storage (or the registry would keep it alive).
  const h: StorageHandle = { data: s.data, backend: s.backend, freed: false };
  s.handle = h;
  finalizer.register(s, h, s);
}

function releaseStorage(s: Storage): void {
  s.refs--;
  if (s.refs > 0) return;
  const h = s.handle;
  if (h) {
    h.freed = true;
    s.handle = null;
    finalizer?.unregister(s);
  }
  s.backend.free(s.data);
  s.data = EMPTY;
}

const EMPTY = new Float32Array(0);

/** One node of the autograd tape: how `output` was made. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Whatever the gradient rule needs besides inputs and output (attrs, masks, indices). */
  saved: Record<string, unknown>;
  released: boolean;
}

// ---- tidy scopes -------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

/**
 * Runs fn and disposes every tensor created inside it, except those reachable from its
 * result (a Tensor, or an array/object of Tensors) and those kept with `keep()`.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // Nothing is disposed (the caller may hold tensors made before the throw); they are left to
    // the garbage collector, as tensors made outside any scope.
    scopes.pop();
    for (const t of scope) if (!t.isDisposed) t.track();
    throw e;
  }
  scopes.pop();
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t)) {
      if (parent) parent.add(t);
      else t.track();
      continue;
    }
    t.dispose();
  }
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || v == null) return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    for (const x of Object.values(v as object)) collectTensors(x, out, depth + 1);
}

/** Takes a tensor out of every enclosing tidy scope so it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  if (!t.isDisposed) t.track();
  return t;
}

let liveTensors = 0;
let nextSerial = 0;

/** The serial number the next tensor will get (tensors are numbered in creation order). */
export function tensorSerial(): number {
  return nextSerial;
}

export class Tensor {
  /** Reverse-mode bookkeeping: set when this tensor was made by a recorded op. */
  node: GradNode | null = null;
  grad: Tensor | null = null;
  requiresGrad: boolean;
  /** Keep .grad on a non-leaf tensor after backward (like PyTorch's retain_grad()). */
  retainsGrad = false;
  /** Set by nn.Parameter-style registration; purely informational. */
  isParameter = false;
  /** Creation order (see tensorSerial). */
  readonly serial = nextSerial++;
  readonly shape: number[];
  private storage: Storage;
  private disposed = false;
  /** Element count, kept so a disposed tensor still reports it (its storage may be gone). */
  private readonly numel: number;

  constructor(storage: Storage | Float32Array, shape: Shape, requiresGrad = false) {
    const size = shapeSize(shape);
    if (storage instanceof Float32Array) storage = new Storage(storage, getBackend());
    if (storage.data.length !== size)
      throw new Error(`Tensor: shape [${shape.join(', ')}] needs ${size} elements, data has ${storage.data.length}`);
    this.storage = storage;
    this.numel = size;
    storage.refs++;
    this.shape = shape.slice();
    this.requiresGrad = requiresGrad;
    liveTensors++;
    const scope = scopes[scopes.length - 1];
    if (scope) scope.add(this);
    else track(storage);
  }

  /** Hands this tensor's storage to the garbage collector's care (it has left every tidy scope). */
  track(): void {
    track(this.storage);
  }

  /** A fresh zero-filled tensor on the current backend. */
  static empty(shape: Shape): Tensor {
    const b = getBackend();
    return new Tensor(new Storage(b.alloc(shapeSize(shape)), b), shape);
  }

  /**
   * A fresh tensor whose contents are unspecified (recycled memory on the wasm backend): only
   * for outputs that a kernel overwrites completely. Saves zeroing memory that is about to be
   * written, which costs a tenth of a training step when every op's output is zeroed first.
   */
  static uninit(shape: Shape): Tensor {
    const b = getBackend();
    return new Tensor(new Storage(b.alloc(shapeSize(shape), false), b), shape);
  }

  /** A tensor sharing this one's storage with another shape (same element count). */
  shareWith(shape: Shape): Tensor {
    return new Tensor(this.liveStorage(), shape);
  }

  /** Whether no other tensor shares this one's storage (it is not a view, and has none). */
  get ownsStorage(): boolean {
    return this.storage.refs === 1;
  }

  get data(): Float32Array {
    return this.liveStorage().data;
  }

  get size(): number {
    return this.numel;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Row-major strides (every tensor is contiguous). */
  get strides(): number[] {
    return stridesOf(this.shape);
  }

  get isLeaf(): boolean {
    return this.node === null;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private liveStorage(): Storage {
    if (this.disposed) throw new Error(`Tensor of shape [${this.shape.join(', ')}] was used after dispose()`);
    return this.storage;
  }

  /** Releases this tensor's storage reference now instead of waiting for the GC. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    liveTensors--;
    releaseStorage(this.storage);
    this.node = null;
    if (this.grad && !this.grad.disposed) this.grad.dispose();
    this.grad = null;
  }

  /** Keep the gradient of this intermediate tensor after backward. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements (shape [${this.shape.join(', ')}]), expected 1`);
    return this.data[0]!;
  }

  /** Nested JavaScript arrays (a number for a 0-d tensor). */
  toArray(): unknown {
    const d = this.data;
    const shape = this.shape;
    if (shape.length === 0) return d[0]!;
    const build = (dim: number, off: number): unknown[] => {
      const n = shape[dim]!;
      const stride = shapeSize(shape.slice(dim + 1));
      const r: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) r[i] = dim === shape.length - 1 ? d[off + i]! : build(dim + 1, off + i * stride);
      return r;
    };
    return build(0, 0);
  }

  /** A flat copy of the values as a plain number array. */
  toList(): number[] {
    return Array.from(this.data);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** How many Tensor objects exist and have not been disposed (a leak detector for tests). */
export function liveTensorCount(): number {
  return liveTensors;
}

// ---- printing ----------------------------------------------------------------------------------

type NumberStyle = 'int' | 'fixed' | 'sci';

function formatNumber(v: number, style: NumberStyle): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  // PyTorch prints integer-valued floats as '3.'
  return style === 'int' ? `${v.toFixed(0)}.` : style === 'fixed' ? v.toFixed(4) : v.toExponential(4);
}

/** Past this many elements only the first and last `edge` entries of each dim are shown (PyTorch's threshold). */
const PRINT_THRESHOLD = 1000;

/**
 * PyTorch's layout: numbers right-aligned to a common width, rows of a matrix on their own lines,
 * a blank line between higher-dim blocks, '...' where a large tensor is summarised.
 */
function formatTensor(t: Tensor): string {
  if (t.isDisposed) return `Tensor(disposed, shape=[${t.shape.join(', ')}])`;
  const d = t.data;
  const shape = t.shape;
  const edge = 3;
  const summarise = d.length > PRINT_THRESHOLD;
  const shown = (n: number): (number | null)[] =>
    summarise && n > 2 * edge ? [...range(edge), null, ...range(edge).map((i) => n - edge + i)] : range(n);
  // Style and width from the elements actually printed.
  const printed: number[] = [];
  const collect = (dim: number, off: number): void => {
    if (dim === shape.length) {
      printed.push(d[off]!);
      return;
    }
    const stride = shapeSize(shape.slice(dim + 1));
    for (const i of shown(shape[dim]!)) if (i !== null) collect(dim + 1, off + i * stride);
  };
  collect(0, 0);
  let maxAbs = 0;
  let minAbs = Infinity;
  let allInt = true;
  for (const v of printed) {
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a > 0 && a < minAbs) minAbs = a;
    if (!Number.isInteger(v)) allInt = false;
  }
  const style: NumberStyle = allInt && maxAbs < 1e8 ? 'int' : maxAbs < 1e5 && (minAbs === Infinity || minAbs >= 1e-4) ? 'fixed' : 'sci';
  const width = printed.reduce((w, v) => (Number.isFinite(v) ? Math.max(w, formatNumber(v, style).length) : w), 0);
  const num = (v: number) => formatNumber(v, style).padStart(width);
  const fmt = (dim: number, off: number, indent: string): string => {
    if (shape.length === 0) return formatNumber(d[0]!, style);
    const stride = shapeSize(shape.slice(dim + 1));
    const idx = shown(shape[dim]!);
    if (dim === shape.length - 1) return '[' + idx.map((i) => (i === null ? '...' : num(d[off + i]!))).join(', ') + ']';
    const inner = idx.map((i) => (i === null ? '...' : fmt(dim + 1, off + i * stride, indent + ' ')));
    return '[' + inner.join(',' + '\n'.repeat(shape.length - dim - 1) + indent + ' ') + ']';
  };
  const grad = t.node ? `, grad_fn=${t.node.op}` : t.requiresGrad ? ', requiresGrad=true' : '';
  return `tensor(${fmt(0, 0, '       ')}, shape=[${shape.join(', ')}]${grad})`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
