/**
 * Learning-rate schedulers, as torch.optim.lr_scheduler (1.13).
 *
 * Like PyTorch, the epoch-based schedulers are *recursive*: each `step()` derives the new lr
 * from the group's current lr (so a hand-edited lr is followed, and the float64 values agree
 * with torch's to the last bit for a plain run of `step()` calls). Constructing a scheduler
 * records each group's starting lr as `initialLr` (PyTorch's `initial_lr`) and takes the first
 * step, to epoch 0, which leaves the lr unchanged. Call `scheduler.step()` after
 * `optimizer.step()`, once per epoch.
 *
 * Exact resume: save `optimizer.stateDict()` and `scheduler.stateDict()`; build both afresh,
 * load the optimizer's first (it carries the current lrs and initialLr), then the scheduler's.
 */

/** What a scheduler needs of an optimizer: its live param groups. */
export interface LrOptimizer {
  readonly paramGroups: readonly { lr: number; initialLr?: number }[];
}

export interface SchedulerStateDict {
  /** 'StepLR', 'ExponentialLR', …; loading into another kind is refused. */
  scheduler: string;
  options: Record<string, unknown>;
  lastEpoch: number;
  stepCount: number;
  baseLrs: number[];
  lastLr: number[];
}

function fmt(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v == null) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function fail(where: string, field: string, v: unknown, rule: string): never {
  throw new RangeError(`${where}: invalid ${field} = ${fmt(v)} (${rule})`);
}

function checkNumber(where: string, field: string, v: unknown, rule: 'nonneg' | 'pos' | 'posInt' | 'nonnegInt'): void {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (rule === 'nonneg'
      ? v >= 0
      : rule === 'pos'
        ? v > 0
        : rule === 'posInt'
          ? Number.isInteger(v) && v >= 1
          : Number.isInteger(v) && v >= 0);
  const text = {
    nonneg: 'must be a finite number >= 0',
    pos: 'must be a finite number > 0',
    posInt: 'must be an integer >= 1',
    nonnegInt: 'must be an integer >= 0',
  }[rule];
  if (!ok) fail(where, field, v, text);
}

function checkOptimizer(where: string, opt: LrOptimizer): void {
  if (opt === null || typeof opt !== 'object' || !Array.isArray(opt.paramGroups) || opt.paramGroups.length === 0)
    throw new TypeError(`${where}: expected an optimizer with paramGroups, got ${fmt(opt)}`);
}

/** Fills defaults and rejects unknown keys. */
function resolveOptions<O extends object>(where: string, defaults: { [K in keyof O]: O[K] | undefined }, given: object): O {
  if (given === null || typeof given !== 'object') throw new TypeError(`${where}: options must be an object, got ${fmt(given)}`);
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (!(k in defaults)) throw new TypeError(`${where}: unknown option '${k}' (known: ${Object.keys(defaults).join(', ')})`);
    if (v !== undefined) out[k] = Array.isArray(v) ? v.slice() : v;
  }
  for (const [k, v] of Object.entries(out)) if (v === undefined) throw new TypeError(`${where}: option '${k}' is required`);
  return out as O;
}

/** Base of the epoch-based schedulers (PyTorch's _LRScheduler). */
export abstract class LRScheduler<O extends object = object> {
  readonly name: string;
  readonly optimizer: LrOptimizer;
  /** The resolved options (validated again when a state dict is loaded). */
  options: O;
  /** Each group's lr when scheduling began (its initialLr). */
  baseLrs: number[];
  /** The epoch the current lrs belong to (0 right after construction). */
  lastEpoch = -1;
  /** How many times step() ran, including the constructor's own (PyTorch's _step_count). */
  protected stepCount = 0;
  private lastLr: number[] = [];

  protected constructor(name: string, optimizer: LrOptimizer, defaults: { [K in keyof O]: O[K] | undefined }, given: object) {
    this.name = name;
    checkOptimizer(name, optimizer);
    this.optimizer = optimizer;
    this.options = resolveOptions<O>(name, defaults, given);
    this.validate(this.options, name);
    // PyTorch's group.setdefault('initial_lr', group['lr']): a group that already has one (from a
    // loaded optimizer state, or an earlier scheduler) keeps it.
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) (g as { initialLr?: number }).initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.step();
  }

  /** Throws on an invalid option. */
  protected abstract validate(o: O, where: string): void;
  /** The lr of every group at `lastEpoch`, from the groups' current lrs (recursive form). */
  protected abstract computeLr(): number[];

  /** Advances one epoch and writes the new lr into every param group. */
  step(): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length)
      throw new Error(`${this.name}: the optimizer has ${groups.length} param groups, the scheduler was set up for ${this.baseLrs.length}`);
    this.stepCount++;
    this.lastEpoch++;
    const lrs = this.computeLr();
    groups.forEach((g, i) => {
      (g as { lr: number }).lr = lrs[i]!;
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The lr of every group as set by the last step(). */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return {
      scheduler: this.name,
      options: { ...(this.options as Record<string, unknown>) },
      lastEpoch: this.lastEpoch,
      stepCount: this.stepCount,
      baseLrs: this.baseLrs.slice(),
      lastLr: this.lastLr.slice(),
    };
  }

  /** Restores position and options; the lrs themselves come from the optimizer's state dict. */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new TypeError(`${where}: expected a scheduler state dict, got ${fmt(sd)}`);
    if (sd.scheduler !== this.name)
      throw new Error(`${where}: the state dict is from ${fmt(sd.scheduler)}, this scheduler is ${this.name}`);
    const n = this.optimizer.paramGroups.length;
    for (const key of ['baseLrs', 'lastLr'] as const) {
      const a = sd[key];
      if (!Array.isArray(a) || a.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
        throw new TypeError(`${where}: ${key} must be a list of finite numbers, got ${fmt(a)}`);
      if (a.length !== n) throw new Error(`${where}: ${key} has ${a.length} entries, the optimizer has ${n} param groups`);
    }
    if (!Number.isInteger(sd.lastEpoch) || sd.lastEpoch < 0) fail(where, 'lastEpoch', sd.lastEpoch, 'must be an integer >= 0');
    if (!Number.isInteger(sd.stepCount) || sd.stepCount < 1) fail(where, 'stepCount', sd.stepCount, 'must be an integer >= 1');
    const options = resolveOptions<O>(where, this.options as { [K in keyof O]: O[K] }, sd.options ?? {});
    this.validate(options, where);
    this.options = options;
    this.lastEpoch = sd.lastEpoch;
    this.stepCount = sd.stepCount;
    this.baseLrs = sd.baseLrs.slice();
    this.lastLr = sd.lastLr.slice();
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

// ---- StepLR --------------------------------------------------------------------------------------

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/** Multiplies the lr by gamma every stepSize epochs: lr_e = lr₀ · γ^⌊e / stepSize⌋. */
export class StepLR extends LRScheduler<Required<StepLROptions>> {
  constructor(optimizer: LrOptimizer, opts: StepLROptions) {
    super('StepLR', optimizer, { stepSize: undefined, gamma: 0.1 }, opts);
  }

  protected validate(o: Required<StepLROptions>, where: string): void {
    checkNumber(where, 'stepSize', o.stepSize, 'posInt');
    checkNumber(where, 'gamma', o.gamma, 'nonneg');
  }

  protected computeLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.options.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.options.gamma);
  }
}

// ---- ExponentialLR -------------------------------------------------------------------------------

export interface ExponentialLROptions {
  gamma: number;
}

/** Multiplies the lr by gamma every epoch: lr_e = lr₀ · γ^e. */
export class ExponentialLR extends LRScheduler<ExponentialLROptions> {
  constructor(optimizer: LrOptimizer, opts: ExponentialLROptions) {
    super('ExponentialLR', optimizer, { gamma: undefined }, opts);
  }

  protected validate(o: ExponentialLROptions, where: string): void {
    checkNumber(where, 'gamma', o.gamma, 'nonneg');
  }

  protected computeLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0) return lrs;
    return lrs.map((lr) => lr * this.options.gamma);
  }
}

// ---- CosineAnnealingLR ---------------------------------------------------------------------------

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

/**
 * Cosine annealing from the base lr down to etaMin over tMax epochs (SGDR without restarts),
 * continuing as a cosine (back up) after tMax, as PyTorch does. Closed form:
 *
 *   lr_e = η_min + (lr₀ − η_min) · (1 + cos(π·e / T_max)) / 2
 *
 * computed, like torch, by the recursion
 *
 *   lr_e = η_min + (lr_{e−1} − η_min) · (1 + cos(π·e/T)) / (1 + cos(π·(e−1)/T))
 *
 * with the special step lr_e = lr_{e−1} + (lr₀ − η_min)(1 − cos(π/T))/2 where the cosine
 * passes its minimum ((e − 1 − T) mod 2T = 0), where the ratio above would be 0/0.
 */
export class CosineAnnealingLR extends LRScheduler<Required<CosineAnnealingLROptions>> {
  constructor(optimizer: LrOptimizer, opts: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer, { tMax: undefined, etaMin: 0 }, opts);
  }

  protected validate(o: Required<CosineAnnealingLROptions>, where: string): void {
    checkNumber(where, 'tMax', o.tMax, 'pos');
    checkNumber(where, 'etaMin', o.etaMin, 'nonneg');
  }

  protected computeLr(): number[] {
    const { tMax: T, etaMin } = this.options;
    const e = this.lastEpoch;
    const lrs = this.groupLrs();
    if (e === 0) return lrs;
    if (this.stepCount === 1 && e > 0)
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if ((e - 1 - T) % (2 * T) === 0) return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin);
  }
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------------------

export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). */
  mode?: 'min' | 'max';
  /** lr ← max(lr · factor, minLr) on a plateau; must be < 1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. */
  patience?: number;
  /** How much better than the best a metric must be to count as an improvement. */
  threshold?: number;
  /** 'rel': better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again. */
  cooldown?: number;
  /** A floor for every group's lr, or one per group. */
  minLr?: number | number[];
  /** A reduction smaller than eps is skipped. */
  eps?: number;
}

type ResolvedPlateau = Required<Omit<ReduceLROnPlateauOptions, 'minLr'>> & { minLr: number | number[] };

export interface ReduceLROnPlateauStateDict {
  scheduler: 'ReduceLROnPlateau';
  options: Record<string, unknown>;
  /** The best metric so far; ±Infinity is stored as the strings 'Infinity' / '-Infinity' to stay JSON. */
  best: number | string;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
  lastLr: number[];
}

const encodeNum = (x: number): number | string => (Number.isFinite(x) ? x : String(x));

/**
 * Reduces the lr when a metric stops improving (torch's ReduceLROnPlateau): call
 * `step(metric)` once per epoch with the validation loss (mode 'min') or score (mode 'max').
 * After more than `patience` epochs without an improvement beyond `threshold`, every group's
 * lr becomes max(lr · factor, minLr), then `cooldown` epochs pass before bad epochs count again.
 */
export class ReduceLROnPlateau {
  readonly name = 'ReduceLROnPlateau';
  readonly optimizer: LrOptimizer;
  options: ResolvedPlateau;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: LrOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    checkOptimizer(this.name, optimizer);
    this.optimizer = optimizer;
    this.options = resolveOptions<ResolvedPlateau>(
      this.name,
      { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
      opts,
    );
    this.validate(this.options, this.name);
    this.best = this.modeWorse();
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private validate(o: ResolvedPlateau, where: string): void {
    if (o.mode !== 'min' && o.mode !== 'max') fail(where, 'mode', o.mode, "must be 'min' or 'max'");
    if (o.thresholdMode !== 'rel' && o.thresholdMode !== 'abs') fail(where, 'thresholdMode', o.thresholdMode, "must be 'rel' or 'abs'");
    if (typeof o.factor !== 'number' || !(o.factor >= 0 && o.factor < 1)) fail(where, 'factor', o.factor, 'must be in [0, 1)');
    checkNumber(where, 'patience', o.patience, 'nonnegInt');
    checkNumber(where, 'cooldown', o.cooldown, 'nonnegInt');
    checkNumber(where, 'threshold', o.threshold, 'nonneg');
    checkNumber(where, 'eps', o.eps, 'nonneg');
    const n = this.optimizer.paramGroups.length;
    if (Array.isArray(o.minLr)) {
      if (o.minLr.length !== n) fail(where, 'minLr', o.minLr, `needs one value per param group (${n})`);
      o.minLr.forEach((m, i) => checkNumber(where, `minLr[${i}]`, m, 'nonneg'));
    } else checkNumber(where, 'minLr', o.minLr, 'nonneg');
  }

  private modeWorse(): number {
    return this.options.mode === 'min' ? Infinity : -Infinity;
  }

  private minLrOf(i: number): number {
    const m = this.options.minLr;
    return Array.isArray(m) ? m[i]! : m;
  }

  private isBetter(a: number, best: number): boolean {
    const { mode, thresholdMode, threshold } = this.options;
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Records one epoch's metric and reduces the lrs if it has plateaued. A NaN metric counts as no improvement. */
  step(metric: number): void {
    if (typeof metric !== 'number') throw new TypeError(`ReduceLROnPlateau.step: metric must be a number, got ${fmt(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.inCooldown) {
      this.cooldownCounter--;
      this.numBadEpochs = 0; // bad epochs during cooldown do not count
    }
    if (this.numBadEpochs > this.options.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const old = g.lr;
        const next = Math.max(old * this.options.factor, this.minLrOf(i));
        // Skip reductions too small to matter (already at the floor).
        if (old - next > this.options.eps) (g as { lr: number }).lr = next;
      });
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): ReduceLROnPlateauStateDict {
    const minLr = this.options.minLr;
    return {
      scheduler: 'ReduceLROnPlateau',
      options: { ...this.options, minLr: Array.isArray(minLr) ? minLr.slice() : minLr },
      best: encodeNum(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastEpoch: this.lastEpoch,
      lastLr: this.lastLr.slice(),
    };
  }

  loadStateDict(sd: ReduceLROnPlateauStateDict): void {
    const where = 'ReduceLROnPlateau.loadStateDict';
    if (sd === null || typeof sd !== 'object') throw new TypeError(`${where}: expected a scheduler state dict, got ${fmt(sd)}`);
    if (sd.scheduler !== 'ReduceLROnPlateau')
      throw new Error(`${where}: the state dict is from ${fmt(sd.scheduler)}, this scheduler is ReduceLROnPlateau`);
    const options = resolveOptions<ResolvedPlateau>(where, this.options, sd.options ?? {});
    this.validate(options, where);
    const best = typeof sd.best === 'string' ? Number(sd.best) : sd.best;
    if (typeof best !== 'number' || Number.isNaN(best)) fail(where, 'best', sd.best, "must be a number, 'Infinity' or '-Infinity'");
    checkNumber(where, 'numBadEpochs', sd.numBadEpochs, 'nonnegInt');
    checkNumber(where, 'cooldownCounter', sd.cooldownCounter, 'nonnegInt');
    checkNumber(where, 'lastEpoch', sd.lastEpoch, 'nonnegInt');
    const n = this.optimizer.paramGroups.length;
    if (!Array.isArray(sd.lastLr) || sd.lastLr.length !== n || sd.lastLr.some((x) => typeof x !== 'number'))
      throw new Error(`${where}: lastLr must list ${n} numbers (one per param group), got ${fmt(sd.lastLr)}`);
    this.options = options;
    this.best = best;
    this.numBadEpochs = sd.numBadEpochs;
    this.cooldownCounter = sd.cooldownCounter;
    this.lastEpoch = sd.lastEpoch;
    this.lastLr = sd.lastLr.slice();
  }
}
