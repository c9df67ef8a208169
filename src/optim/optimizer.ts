/**
 * The Optimizer base: parameter groups, per-parameter state, zeroGrad/step, and a JSON-able
 * state dict. Mirrors torch.optim.Optimizer (1.13) closely enough that a training loop reads the
 * same and a resumed run continues bit for bit:
 *
 * - `params` is a list of tensors or a list of param groups `{ params, ...overrides }`; every
 *   group gets the optimizer's hyperparameters with its own overrides on top. Groups are live
 *   objects: schedulers (and users) change `group.lr` between steps, as in PyTorch.
 * - Per-parameter state (step counts, moment buffers) lives in the optimizer, in a Map keyed by
 *   the parameter tensor, never on the tensor. Buffers are Float32Arrays from the backend's
 *   `alloc`, so the fused kernels (and a wasm backend) can work on them in place.
 * - `stateDict()` indexes state by parameter position (global across groups, in group order),
 *   exactly as PyTorch does, so it does not depend on tensor identity and loads into a fresh
 *   optimizer built over a fresh model.
 * - A parameter whose `.grad` is null is skipped (its state is left untouched).
 */
import type { Backend } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { Tensor } from '../tensor/tensor.js';

/** A parameter group as given to a constructor: its tensors plus any hyperparameter overrides. */
export type ParamGroup<O> = { params: Tensor | Iterable<Tensor> } & O;

/** What an optimizer constructor accepts: tensors, or param groups. */
export type Params<O> = Iterable<Tensor> | Iterable<ParamGroup<O>>;

/**
 * A live parameter group: every hyperparameter resolved. Edit any field (usually `lr`) between
 * steps; it is validated again at the next step. `initialLr` is set by the lr schedulers (PyTorch's
 * `initial_lr`) and travels with the optimizer's state dict.
 */
export type ResolvedGroup<H> = H & { params: Tensor[]; initialLr?: number };

/** One entry of a parameter's state: a counter or a buffer the size of the parameter. */
export type StateValue = number | Float32Array;
export type ParamState = Record<string, StateValue>;

/** A state buffer in a state dict: the parameter's shape and the values (JSON-able as number[]). */
export interface SerializedBuffer {
  shape: number[];
  data: number[] | Float32Array;
}

export type SerializedState = Record<string, number | SerializedBuffer>;

/**
 * The serialised optimizer. `state` is keyed by parameter index (as a string, so it is plain JSON);
 * `paramGroups[i].params` lists the indices of group i's parameters.
 */
export interface OptimizerStateDict {
  /** The algorithm ('SGD', 'Adam', …); loading into another kind is refused. */
  optimizer: string;
  state: Record<string, SerializedState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export interface StateDictOptions {
  /** Give buffers as Float32Array copies instead of number[] (compact, but not JSON). */
  typed?: boolean;
}

/**
 * The state a parameter carries under a group's hyperparameters. Before each update the base
 * adds whatever is missing (counters at 0, buffers from the backend's `alloc`, filled), so the
 * update itself never allocates: with a wasm backend an allocation may grow memory and
 * invalidate the parameter and gradient arrays the update is working on.
 */
export interface StateSpec {
  /** Step counters, starting at 0. */
  counters: string[];
  /** Buffers the size of the parameter, with the value a new one is filled with. */
  buffers: Record<string, number>;
  /** Buffers that may be present although these hyperparameters do not use them (momentum switched off). */
  optional?: string[];
  /** What a loaded state must contain (default: every counter and buffer). */
  required?: string[];
}

/** Group keys that are not hyperparameters but may appear in a group. */
const GROUP_EXTRA_KEYS = new Set(['params', 'initialLr']);

function fmtValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Validation helpers for hyperparameters. Every failure names the optimizer (and group), the
 * field and the value: `Adam: invalid betas[1] = 1 (must be in [0, 1))`.
 */
export class HyperCheck {
  constructor(readonly where: string) {}

  fail(field: string, value: unknown, rule: string): never {
    throw new RangeError(`${this.where}: invalid ${field} = ${fmtValue(value)} (${rule})`);
  }

  /** A finite number >= 0. */
  nonNegative(field: string, v: unknown): void {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, v, 'must be a finite number >= 0');
  }

  /** A number in [lo, hi] or [lo, hi) when hiOpen. */
  inRange(field: string, v: unknown, lo: number, hi: number, hiOpen = false): void {
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);
    if (!ok) this.fail(field, v, `must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}`);
  }

  bool(field: string, v: unknown): void {
    if (typeof v !== 'boolean') this.fail(field, v, 'must be true or false');
  }
}

/** Copies a parameter list argument into an array of tensors, rejecting anything else. */
function toTensorList(name: string, where: string, ps: Tensor | Iterable<Tensor>): Tensor[] {
  if (ps instanceof Tensor) return [ps];
  if (ps == null || typeof (ps as Iterable<Tensor>)[Symbol.iterator] !== 'function')
    throw new TypeError(`${name}: ${where} params must be a Tensor or a list of Tensors, got ${fmtValue(ps)}`);
  const out = Array.from(ps);
  out.forEach((p, i) => {
    if (!(p instanceof Tensor))
      throw new TypeError(`${name}: ${where} params[${i}] is not a Tensor (got ${typeof p === 'object' ? fmtValue(p) : typeof p})`);
    if (!p.isLeaf)
      throw new Error(`${name}: ${where} params[${i}] (shape [${p.shape.join(', ')}]) is not a leaf tensor; optimize leaves only`);
  });
  return out;
}

interface StateSlot {
  /** The backend whose alloc made the buffers (they are freed with it). */
  backend: Backend;
  values: ParamState;
}

/**
 * Base class. A subclass supplies its defaults, validation, the state a parameter needs and the
 * update for one parameter; the base does groups, bookkeeping and (de)serialisation.
 *
 * H is the fully resolved hyperparameter record (`{ lr, momentum, … }`), O the options a user
 * may pass (usually `Partial<H>`).
 */
export abstract class Optimizer<H extends { lr: number } = { lr: number }, O extends object = Partial<H>> {
  /** Display name used in messages ('Adam', 'Momentum', …). */
  readonly name: string;
  /** The hyperparameters a group gets unless it overrides them. */
  readonly defaults: Readonly<H>;
  readonly paramGroups: ResolvedGroup<H>[] = [];
  private readonly state = new Map<Tensor, StateSlot>();
  /** Default values as declared by the subclass; `undefined` marks a required field (SGD's lr). */
  private readonly declared: { [K in keyof H]: H[K] | undefined };

  protected constructor(name: string, params: Params<O>, declared: { [K in keyof H]: H[K] | undefined }, opts: O | undefined) {
    this.name = name;
    this.declared = declared;
    const resolved = this.resolve(opts ?? ({} as O), declared, `${name}`, false) as { [K in keyof H]: H[K] | undefined };
    this.defaults = resolved as H;
    // Validate the defaults now (unless a required field is missing: then every group must give it).
    if (Object.values(resolved).every((v) => v !== undefined)) this.checkHyper(resolved as H, new HyperCheck(name));

    if (params == null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function')
      throw new TypeError(`${name}: params must be a list of Tensors or of param groups, got ${fmtValue(params)}`);
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) throw new Error(`${name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as ParamGroup<O>);
    else for (const g of list) this.addParamGroup(g as ParamGroup<O>);
  }

  // ---- subclass hooks ---------------------------------------------------------------------------

  /** Throws (through `v`) on an invalid hyperparameter. */
  protected abstract checkHyper(h: H, v: HyperCheck): void;
  /** The state a parameter updated under `group` carries. */
  protected abstract stateSpec(group: ResolvedGroup<H>): StateSpec;
  /**
   * Updates one parameter in place. `p` and `g` are the parameter's and gradient's data; `state`
   * already holds every counter and buffer of `stateSpec(group)`, and `fresh` names the buffers
   * created for this step (SGD's first momentum step differs).
   */
  protected abstract update(
    p: Float32Array,
    g: Float32Array,
    group: ResolvedGroup<H>,
    state: ParamState,
    fresh: ReadonlySet<string>,
    backend: Backend,
  ): void;
  /** The kind recorded in and required of state dicts (SGD presets share 'SGD'). */
  protected get kind(): string {
    return this.name;
  }

  // ---- groups -----------------------------------------------------------------------------------

  /** Merges overrides over the base, rejecting unknown keys, and deep-copies array values. */
  private resolve(over: object, base: object, where: string, allowExtra: boolean): Record<string, unknown> {
    if (over === null || typeof over !== 'object') throw new TypeError(`${where}: options must be an object, got ${fmtValue(over)}`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(base)) out[k] = Array.isArray(v) ? v.slice() : v;
    for (const [k, v] of Object.entries(over)) {
      if (allowExtra && GROUP_EXTRA_KEYS.has(k)) continue;
      if (!(k in this.declared)) throw new TypeError(`${where}: unknown option '${k}' (known: ${Object.keys(this.declared).join(', ')})`);
      if (v === undefined) continue;
      out[k] = Array.isArray(v) ? v.slice() : v;
    }
    return out;
  }

  private checkGroup(g: Record<string, unknown>, where: string): void {
    for (const [k, v] of Object.entries(g)) {
      if (v === undefined && !GROUP_EXTRA_KEYS.has(k))
        throw new TypeError(`${where}: ${k} is required (give it in the options or in every param group)`);
    }
    this.checkHyper(g as unknown as H, new HyperCheck(where));
    if (g.initialLr !== undefined) new HyperCheck(where).nonNegative('initialLr', g.initialLr);
  }

  /** Adds a group (PyTorch's add_param_group); missing hyperparameters come from the defaults. */
  addParamGroup(group: ParamGroup<O>): void {
    const idx = this.paramGroups.length;
    const where = `${this.name} param group ${idx}`;
    if (group === null || typeof group !== 'object' || group instanceof Tensor || !('params' in group))
      throw new TypeError(`${this.name}: a param group must be an object with 'params', got ${fmtValue(group)}`);
    const params = toTensorList(this.name, `param group ${idx}`, group.params);
    const merged = this.resolve(group, this.defaults, where, true);
    const initialLr = (group as { initialLr?: unknown }).initialLr;
    if (initialLr !== undefined) merged.initialLr = initialLr;
    this.checkGroup(merged, where);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`${where}: params[${i}] (shape [${p.shape.join(', ')}]) already appears in a param group`);
      seen.add(p);
    });
    this.paramGroups.push({ ...(merged as H), params } as ResolvedGroup<H>);
  }

  /** The learning rate of group 0 (what a single-group training loop and the schedulers' tests read). */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }

  set lr(value: number) {
    new HyperCheck(this.name).nonNegative('lr', value);
    this.paramGroups[0]!.lr = value;
  }

  /** Every parameter in group order (the order state dict indices refer to). */
  parameters(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  // ---- stepping ---------------------------------------------------------------------------------

  /** Sets every parameter's grad to null and frees it (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        const gr = p.grad;
        if (gr) {
          p.grad = null;
          gr.dispose();
        }
      }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    const backend = getBackend();
    this.paramGroups.forEach((group, gi) => {
      // Groups are live: re-check what a scheduler or user may have changed since the last step.
      this.checkGroup(group as unknown as Record<string, unknown>, `${this.name} param group ${gi}`);
      const spec = this.stateSpec(group);
      group.params.forEach((p, pi) => {
        const grad = p.grad;
        if (grad === null) return;
        if (grad.size !== p.size)
          throw new Error(
            `${this.name}: param group ${gi} params[${pi}] has shape [${p.shape.join(', ')}] but its grad has shape [${grad.shape.join(', ')}]`,
          );
        const values = this.slotFor(p, backend).values;
        const fresh = new Set<string>();
        for (const c of spec.counters) if (typeof values[c] !== 'number') values[c] = 0;
        for (const [k, fill] of Object.entries(spec.buffers)) {
          if (values[k] instanceof Float32Array) continue;
          const a = backend.alloc(p.size);
          if (fill !== 0) backend.fill(a, fill);
          values[k] = a;
          fresh.add(k);
        }
        // Only now take the data arrays: nothing allocates from here on.
        this.update(p.data, grad.data, group, values, fresh, backend);
      });
    });
  }

  private slotFor(p: Tensor, backend: Backend): StateSlot {
    let slot = this.state.get(p);
    if (slot === undefined) {
      slot = { backend, values: {} };
      this.state.set(p, slot);
    } else if (slot.backend !== backend) {
      // The kernel table changed (js -> wasm): move the buffers into the new backend's memory.
      for (const [k, v] of Object.entries(slot.values)) {
        if (!(v instanceof Float32Array)) continue;
        const a = backend.alloc(v.length);
        a.set(v);
        slot.backend.free(v);
        slot.values[k] = a;
      }
      slot.backend = backend;
    }
    return slot;
  }

  /** The state of one parameter (read-only view for inspection and tests), or undefined before its first step. */
  getState(p: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(p)?.values;
  }

  /** Frees every state buffer; the optimizer starts from scratch at its next step. */
  resetState(): void {
    for (const slot of this.state.values()) freeSlot(slot);
    this.state.clear();
  }

  /** Frees the state (same as resetState; the optimizer stays usable). */
  dispose(): void {
    this.resetState();
  }

  // ---- state dict -------------------------------------------------------------------------------

  stateDict(opts: StateDictOptions = {}): OptimizerStateDict {
    const state: Record<string, SerializedState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const slot = this.state.get(p);
        if (slot) {
          const s: SerializedState = {};
          for (const [k, v] of Object.entries(slot.values)) {
            s[k] = v instanceof Float32Array ? { shape: p.shape.slice(), data: opts.typed ? v.slice() : Array.from(v) } : v;
          }
          state[String(index)] = s;
        }
        ids.push(index++);
      }
      const hyper: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k === 'params' || v === undefined) continue;
        hyper[k] = Array.isArray(v) ? v.slice() : v;
      }
      paramGroups.push({ ...hyper, params: ids });
    }
    return { optimizer: this.kind, state, paramGroups };
  }

  /**
   * Restores hyperparameters (per group) and state from a state dict made by `stateDict()`, for
   * an optimizer over parameters of the same count and shapes. Parameters are matched by
   * position. Everything is validated before anything changes, and every mismatch is named.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || sd.state === null || typeof sd.state !== 'object')
      throw new TypeError(`${where}: expected { optimizer, state, paramGroups }, got ${fmtValue(sd)}`);
    if (sd.optimizer !== undefined && sd.optimizer !== this.kind)
      throw new Error(`${where}: the state dict is from ${fmtValue(sd.optimizer)}, this optimizer is ${this.kind}`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new Error(`${where}: the state dict has ${sd.paramGroups.length} param groups, this optimizer has ${this.paramGroups.length}`);

    // Map saved parameter ids to this optimizer's tensors, position by position.
    const byId = new Map<string, { p: Tensor; group: number }>();
    const newGroups: Record<string, unknown>[] = [];
    sd.paramGroups.forEach((sg, gi) => {
      const g = this.paramGroups[gi]!;
      if (sg === null || typeof sg !== 'object' || !Array.isArray(sg.params))
        throw new TypeError(`${where}: paramGroups[${gi}] must be an object with a params array`);
      if (sg.params.length !== g.params.length)
        throw new Error(
          `${where}: param group ${gi} has ${sg.params.length} parameters in the state dict, ${g.params.length} in this optimizer`,
        );
      sg.params.forEach((id, j) => {
        const key = String(id);
        if (byId.has(key)) throw new Error(`${where}: parameter id ${key} appears twice in paramGroups`);
        byId.set(key, { p: g.params[j]!, group: gi });
      });
      const current: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') current[k] = v;
      const merged = this.resolve(sg, current, `${where}: param group ${gi}`, true);
      const initialLr = (sg as { initialLr?: unknown }).initialLr;
      if (initialLr !== undefined) merged.initialLr = initialLr;
      this.checkGroup(merged, `${where}: param group ${gi}`);
      newGroups.push(merged);
    });

    const newState = new Map<Tensor, ParamState>();
    for (const [id, entry] of Object.entries(sd.state)) {
      const target = byId.get(id);
      if (!target) throw new Error(`${where}: state for parameter id ${id}, which no param group lists`);
      const { p, group } = target;
      const here = `${where}: state of parameter ${id} (shape [${p.shape.join(', ')}])`;
      if (entry === null || typeof entry !== 'object') throw new TypeError(`${here} must be an object, got ${fmtValue(entry)}`);
      const spec = this.stateSpec({ ...(newGroups[group] as H), params: [] } as ResolvedGroup<H>);
      const known = new Map<string, 'number' | 'buffer'>();
      for (const k of spec.counters) known.set(k, 'number');
      for (const k of [...Object.keys(spec.buffers), ...(spec.optional ?? [])]) known.set(k, 'buffer');
      const required = spec.required ?? [...spec.counters, ...Object.keys(spec.buffers)];
      for (const k of required) if (!(k in entry)) throw new Error(`${here} lacks '${k}' (needs ${required.join(', ')})`);
      const values: ParamState = {};
      for (const [k, v] of Object.entries(entry)) {
        const kind = known.get(k);
        if (kind === undefined) throw new Error(`${here} has an unknown entry '${k}' (known: ${[...known.keys()].join(', ') || 'none'})`);
        if (kind === 'number') {
          if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
            throw new TypeError(`${here}: '${k}' must be a finite number >= 0, got ${fmtValue(v)}`);
          values[k] = v;
        } else {
          values[k] = decodeBuffer(v, p, `${here}: buffer '${k}'`);
        }
      }
      newState.set(p, values);
    }

    // All checks passed: commit.
    this.resetState();
    const backend = getBackend();
    for (const [p, values] of newState) {
      for (const [k, v] of Object.entries(values)) {
        if (!(v instanceof Float32Array)) continue;
        const a = backend.alloc(v.length);
        a.set(v);
        values[k] = a;
      }
      this.state.set(p, { backend, values });
    }
    newGroups.forEach((ng, gi) => {
      const g = this.paramGroups[gi]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(ng)) g[k] = v;
    });
  }
}

function freeSlot(slot: StateSlot): void {
  for (const v of Object.values(slot.values)) if (v instanceof Float32Array) slot.backend.free(v);
}

/** Checks a serialised buffer against its parameter and returns its values as a Float32Array (a temporary copy). */
function decodeBuffer(v: unknown, p: Tensor, where: string): Float32Array {
  let data: ArrayLike<number>;
  let shape: readonly number[] | undefined;
  if (v instanceof Float32Array) data = v;
  else if (v !== null && typeof v === 'object' && 'data' in v) {
    const b = v as { shape?: unknown; data: unknown };
    if (!(b.data instanceof Float32Array) && !Array.isArray(b.data))
      throw new TypeError(`${where}: data must be a number[] or Float32Array`);
    data = b.data as ArrayLike<number>;
    if (b.shape !== undefined) {
      if (!Array.isArray(b.shape) || !b.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw new TypeError(`${where}: shape must be a list of non-negative integers, got ${fmtValue(b.shape)}`);
      shape = b.shape as number[];
    }
  } else throw new TypeError(`${where} must be { shape, data } or a Float32Array, got ${fmtValue(v)}`);
  if (shape && (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])))
    throw new Error(`${where} has shape [${shape.join(', ')}], the parameter has shape [${p.shape.join(', ')}]`);
  if (data.length !== p.size) throw new Error(`${where} has ${data.length} values, the parameter has ${p.size}`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (typeof x !== 'number') throw new TypeError(`${where}: data[${i}] is not a number (${fmtValue(x)})`);
    out[i] = x;
  }
  return out;
}
