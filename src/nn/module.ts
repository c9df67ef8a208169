/**
 * Module: the unit models are built from, with PyTorch's contract — parameters, buffers and
 * child modules registered by name, dotted `state_dict` names that match PyTorch for the same
 * structure (`encoder.0.weight`), train/eval modes, and loading a state dict that says exactly
 * which keys were missing, unexpected or misshapen.
 *
 * Two ways to register, with the same names:
 *
 *   class Net extends nn.Module {
 *     conv1 = new nn.Conv2d(1, 8, 3);          // a field, as `self.conv1 = …` in PyTorch
 *     scale = new nn.Parameter(ones([1]));
 *     constructor() { super(); this.fc = new nn.Linear(8, 2); }   // or assigned after super()
 *   }
 *   this.registerModule('conv1', …)            // or explicitly
 *
 * Fields cannot be registered when they are set: class fields (ES2022 `[[Define]]` semantics,
 * TypeScript's target here) are defined after `super()` returns, so the Module constructor
 * never sees them, and a setter trap would need a Proxy around every module. Instead every
 * method that walks the registry (parameters, namedModules, stateDict, train/eval, apply,
 * loadStateDict, …) first looks at the module's own enumerable fields, in definition order, and
 * registers each Module, Parameter, or non-empty array of Modules (as PyTorch's ModuleList:
 * `blocks.0.weight`) under its field name. A field whose name starts with `_` is private and
 * skipped; a field that holds something already registered in this module's tree (a shortcut to
 * a submodule, a tied weight) is an alias and is not registered a second time. Reassigning a
 * field replaces the registration in place, as PyTorch's `__setattr__` does.
 */
import { getBackend } from '../kernels/registry.js';
import { keep, Tensor } from '../tensor/tensor.js';

/**
 * A learnable tensor (PyTorch's nn.Parameter): a copy of `data` with requiresGrad on, kept out of
 * tidy scopes. A Module field holding one is registered as a parameter under the field's name.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new TypeError(`Parameter: expected a Tensor, got ${describe(data)}`);
    const b = getBackend();
    super(b.alloc(data.size, false), data.shape, requiresGrad);
    b.copy(data.data, this.data);
    this.isParameter = true;
    keep(this);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return typeof v;
}

/** The arrays behind the ModuleList-like children that array fields become. */
const fieldArrays = new WeakMap<Module, readonly unknown[]>();
/** Modules whose field discovery is running (a field pointing back at an ancestor would loop). */
const discovering = new Set<Module>();

const isParameterTensor = (v: unknown): v is Tensor => v instanceof Tensor && v.isParameter;
const isModuleArray = (v: unknown): v is Module[] => Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module);

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
  /** Names registered from fields (not by a register call), which follow their field's value. */
  private readonly _fieldNames = new Set<string>();

  abstract forward(...args: never[]): unknown;

  /** The class name shown by summary() and printing. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Registers a learnable tensor (requiresGrad on, kept out of tidy scopes). */
  protected registerParameter(name: string, t: Tensor): Tensor;
  protected registerParameter(name: string, t: null): null;
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    this._discoverFields();
    this._fieldNames.delete(name);
    if (t) {
      t.requiresGrad = true;
      t.isParameter = true;
      keep(t);
    }
    this._parameters.set(name, t);
    return t;
  }

  protected registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    this._discoverFields();
    keep(t);
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new Error(`${this.typeName}.registerModule('${name}'): not a Module`);
    this._discoverFields();
    this._fieldNames.delete(name);
    this._modules.set(name, m);
    return m;
  }

  /** Replaces a registered parameter or buffer's tensor (used by loaders). */
  protected setTensor(name: string, t: Tensor): void {
    this._discoverFields();
    if (this._parameters.has(name)) this.registerParameter(name, t);
    else if (this._buffers.has(name)) this._buffers.set(name, keep(t));
    else throw new Error(`${this.typeName}: no parameter or buffer named '${name}'`);
    (this as unknown as Record<string, unknown>)[name] = t;
  }

  *children(): IterableIterator<[string, Module]> {
    this._discoverFields();
    yield* this._modules.entries();
  }

  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    this._walk(prefix, out, []);
    return out;
  }

  private _walk(prefix: string, out: [string, Module][], path: Module[]): void {
    if (path.includes(this)) {
      throw new Error(
        `${path[0]!.typeName}: module cycle: '${prefix}' is the ${this.typeName} that encloses it; ` +
          `name the field with a leading '_' (e.g. _${prefix.split('.').pop()}) to keep it out of the registry`,
      );
    }
    this._discoverFields();
    out.push([prefix, this]);
    path.push(this);
    for (const [n, m] of this._modules) m._walk(prefix ? `${prefix}.${n}` : n, out, path);
    path.pop();
  }

  /**
   * Registers this module's Module, Parameter and module-array fields (see the file comment).
   * Names already registered keep their place; a reassigned field replaces its registration
   * there; a field emptied (null, deleted) drops the registration it made.
   */
  private _discoverFields(): void {
    const array = fieldArrays.get(this);
    if (array) {
      // A module array field: its children are the array's modules, by index.
      this._modules.clear();
      array.forEach((m, i) => {
        if (m instanceof Module) this._modules.set(String(i), m);
      });
      return;
    }
    if (discovering.has(this)) return;
    discovering.add(this);
    try {
      const own = this as unknown as Record<string, unknown>;
      const present = new Set<string>();
      let known: Set<unknown> | null = null;
      for (const key of Object.keys(this)) {
        if (key.startsWith('_') || key === 'training') continue;
        const v = own[key];
        const kind = v instanceof Module ? 'module' : isParameterTensor(v) ? 'param' : isModuleArray(v) ? 'array' : null;
        if (kind === null) continue;
        if (this._fieldNames.has(key)) present.add(key);
        if (kind === 'param') {
          if (this._parameters.has(key)) {
            if (this._parameters.get(key) !== v) this._parameters.set(key, v as Tensor);
            continue;
          }
        } else if (this._modules.has(key)) {
          const cur = this._modules.get(key)!;
          if (kind === 'module' && cur !== v) this._modules.set(key, v as Module);
          if (kind === 'array' && fieldArrays.get(cur) !== v) this._modules.set(key, new ModuleArrayField(v as Module[]));
          continue;
        }
        known ??= this._registered();
        if (kind === 'array' ? (v as Module[]).some((m) => known!.has(m)) : known.has(v)) continue; // an alias
        this._modules.delete(key);
        this._parameters.delete(key);
        if (kind === 'param') {
          this._parameters.set(key, v as Tensor);
          known.add(v);
        } else {
          const m = kind === 'module' ? (v as Module) : new ModuleArrayField(v as Module[]);
          this._modules.set(key, m);
          for (const [, sub] of m.namedModules()) {
            known.add(sub);
            for (const [, p] of sub._parameters) if (p) known.add(p);
          }
        }
        this._fieldNames.add(key);
        present.add(key);
      }
      for (const name of this._fieldNames) {
        if (present.has(name)) continue;
        this._fieldNames.delete(name);
        this._modules.delete(name);
        this._parameters.delete(name);
      }
    } finally {
      discovering.delete(this);
    }
  }

  /** Every module and parameter registered in this module's tree so far (this one included). */
  private _registered(): Set<unknown> {
    const known = new Set<unknown>([this]);
    for (const [, p] of this._parameters) if (p) known.add(p);
    for (const [, child] of this._modules)
      for (const [, m] of child.namedModules()) {
        known.add(m);
        for (const [, p] of m._parameters) if (p) known.add(p);
      }
    return known;
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
    this._discoverFields();
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
    // namedModules is depth first in registration order, so this is PyTorch's recursive order
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [n, t] of m._parameters) if (t) sd[p ? `${p}.${n}` : n] = t;
      for (const [n, t] of m._buffers) if (!m._nonPersistent.has(n)) sd[p ? `${p}.${n}` : n] = t;
    }
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
    this._discoverFields();
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

/**
 * What a field holding an array of modules is registered as: a child named after the field whose
 * children are the array's modules, '0', '1', … (PyTorch's ModuleList names), following the
 * array as it grows or shrinks.
 */
class ModuleArrayField extends Module {
  constructor(items: Module[]) {
    super();
    fieldArrays.set(this, items);
  }
  override get typeName(): string {
    return 'ModuleList';
  }
  forward(): never {
    throw new Error('a module array has no forward(); call its modules');
  }
}
