/** Containers: Sequential (children named '0', '1', … as in PyTorch) and ModuleList. */
import type { LinearActivation } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { ReLU, Sigmoid, Tanh } from './activation.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

type Layer = Module & { forward(x: Tensor): Tensor };

export class Sequential extends Module {
  // behind a getter, so the registry's field discovery does not take the array for a field
  private readonly _layers: Layer[] = [];
  constructor(...layers: Layer[]) {
    super();
    layers.forEach((m) => this.append(m));
  }
  /** The layers in order (the live array: use append() to add one). */
  get layers(): Layer[] {
    return this._layers;
  }
  append(m: Layer): this {
    this.registerModule(String(this._layers.length), m);
    this._layers.push(m);
    return this;
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Layer {
    const m = this.layers[i < 0 ? i + this.layers.length : i];
    if (!m) throw new Error(`Sequential: index ${i} out of range (${this.layers.length} layers)`);
    return m;
  }
  /**
   * Runs the layers in order. A Linear directly followed by a ReLU, Sigmoid or Tanh runs as one
   * fused layer (the activation is the matrix product's epilogue: same values, one kernel and one
   * tape node fewer). Only those exact classes are fused, never subclasses, and never a module
   * whose forward was replaced on the instance (as summary() does to record each layer's output).
   */
  forward(x: Tensor): Tensor {
    return this.forwardRange(x, 0, this.layers.length);
  }

  /** Runs layers start..end−1 (fused as forward does), e.g. all but a final Sigmoid to get logits. */
  forwardRange(x: Tensor, start: number, end: number): Tensor {
    const n = Math.min(end, this.layers.length);
    for (let i = Math.max(0, start); i < n; i++) {
      const m = this.layers[i]!;
      const next = i + 1 < n ? this.layers[i + 1] : undefined;
      const act = m.constructor === Linear && next !== undefined && !wrapped(m) && !wrapped(next) ? FUSABLE.get(next.constructor) : undefined;
      if (act !== undefined) {
        x = (m as Linear).forwardWithActivation(x, act);
        i++;
      } else x = m.forward(x);
    }
    return x;
  }
}

const wrapped = (m: object): boolean => Object.prototype.hasOwnProperty.call(m, 'forward');

const FUSABLE = new Map<unknown, LinearActivation>([
  [ReLU, 'relu'],
  [Sigmoid, 'sigmoid'],
  [Tanh, 'tanh'],
]);

export class ModuleList<M extends Module = Module> extends Module {
  private readonly _items: M[] = [];
  constructor(items: M[] = []) {
    super();
    items.forEach((m) => this.append(m));
  }
  /** The modules in order (the live array: use append() to add one). */
  get items(): M[] {
    return this._items;
  }
  append(m: M): this {
    this.registerModule(String(this._items.length), m);
    this._items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: index ${i} out of range (${this.items.length} modules)`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  forward(): never {
    throw new Error('ModuleList has no forward(); iterate over its modules');
  }
}
