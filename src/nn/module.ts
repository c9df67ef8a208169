/**
 * Module: the unit models are built from, with PyTorch's contract — parameters, buffers and
 * child modules registered by name, dotted `state_dict` names that match PyTorch for the same
 * structure (`encoder.0.weight`), train/eval modes, and loading a state dict that says exactly
 * which keys were missing, unexpected or misshapen.
 */
import { getBackend } from '../kernels/registry.js';
import { keep, Tensor } from '../tensor/tensor.js';

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _modules = new Map<string, Module>();
  /** Buffers that are not saved in the state dict (PyTorch's persistent=False). */
  private readonly _nonPersistent = new Set<string>();

  abstract forward(...args: never[]): unknown;

  /** The class name shown by summary() and printing. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Registers a learnable tensor (requiresGrad on, kept out of tidy scopes). */
  protected registerParameter(name: string, t: Tensor): Tensor;
  protected registerParameter(name: string, t: null): null;
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) {
      t.requiresGrad = true;
      t.isParameter = true;
      keep(t);
    }
    this._parameters.set(name, t);
    return t;
  }

  protected registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    keep(t);
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new Error(`${this.typeName}.registerModule('${name}'): not a Module`);
    this._modules.set(name, m);
    return m;
  }

  /** Replaces a registered parameter or buffer's tensor (used by loaders). */
  protected setTensor(name: string, t: Tensor): void {
    if (this._parameters.has(name)) this.registerParameter(name, t);
    else if (this._buffers.has(name)) this._buffers.set(name, keep(t));
    else throw new Error(`${this.typeName}: no parameter or buffer named '${name}'`);
    (this as unknown as Record<string, unknown>)[name] = t;
  }

  *children(): IterableIterator<[string, Module]> {
    yield* this._modules.entries();
  }

  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix))
      for (const [n, p] of m._parameters)
        if (p && !seen.has(p)) {
          seen.add(p);
          out.push([mp ? `${mp}.${n}` : n, p]);
        }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix))
      for (const [n, b] of m._buffers) out.push([mp ? `${mp}.${n}` : n, b]);
    return out;
  }

  /** Total number of learnable values. */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.size, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Calls fn on every module (children first), as PyTorch's apply. */
  apply(fn: (m: Module) => void): this {
    for (const [, m] of this._modules) m.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order: each module's own
   * parameters, then its buffers, then its children. The tensors are the live ones (not copies).
   */
  stateDict(prefix = ''): StateDict {
    const sd: StateDict = {};
    const visit = (m: Module, p: string) => {
      for (const [n, t] of m._parameters) if (t) sd[p ? `${p}.${n}` : n] = t;
      for (const [n, t] of m._buffers) if (!m._nonPersistent.has(n)) sd[p ? `${p}.${n}` : n] = t;
      for (const [n, c] of m._modules) visit(c, p ? `${p}.${n}` : n);
    };
    visit(this, prefix);
    return sd;
  }

  /**
   * Copies values from a state dict into this module's tensors. Strict mode rejects missing
   * and unexpected keys; a shape mismatch is always an error. Nothing is copied unless every
   * check passes, so a failed load leaves the module as it was.
   */
  loadStateDict(sd: StateDict | Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    const problems: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = (sd as Record<string, { shape: readonly number[]; data: ArrayLike<number> }>)[k];
      if (!src) continue;
      const shape = src.shape;
      const sameShape = shape.length === t.shape.length && shape.every((d, i) => d === t.shape[i]);
      // PyTorch saves num_batches_tracked as a 0-d tensor; accept [] vs [1] for one-element buffers
      if (!sameShape && !(t.size === 1 && src.data.length === 1))
        problems.push(`'${k}': expected shape [${t.shape.join(', ')}], got [${shape.join(', ')}]`);
      else if (src.data.length !== t.size) problems.push(`'${k}': expected ${t.size} values, got ${src.data.length}`);
    }
    if (strict) {
      if (missingKeys.length) problems.push(`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
      if (unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    }
    if (problems.length)
      throw new Error(`${this.typeName}.loadStateDict: state dict does not fit this model:\n  ${problems.join('\n  ')}`);
    const b = getBackend();
    for (const [k, t] of Object.entries(own)) {
      const src = (sd as Record<string, { data: ArrayLike<number> }>)[k];
      if (!src) continue;
      if (src.data instanceof Float32Array) b.copy(src.data, t.data);
      else t.data.set(src.data);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** A readable tree like PyTorch's repr. */
  toString(): string {
    const own = this.extraRepr();
    const kids = [...this._modules];
    if (kids.length === 0) return `${this.typeName}(${own})`;
    const lines = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${this.typeName}(${own ? own + ',' : ''}\n${lines.join('\n')}\n)`;
  }

  /** The constructor arguments shown by toString(). */
  extraRepr(): string {
    return '';
  }
}
