/**
 * Reverse-mode automatic differentiation.
 *
 * Ops call `record(out, op, inputs, saved)` after computing their output; when gradients are
 * enabled and an input requires them, `out` gets a GradNode. `backward(root)` walks the nodes
 * in reverse topological order and applies the gradient rule registered for each op name (one
 * table, `rules.ts`, written with ops). Gradients accumulate: into `.grad` on leaves, and in a
 * map for intermediates. After backward the graph's saved tensors are released unless
 * `retainGraph` is set, so a training loop's memory stays flat.
 */
import { getBackend } from '../kernels/registry.js';
import { keep, Tensor, tensorSerial, type GradNode } from '../tensor/tensor.js';

/**
 * A gradient rule: the upstream gradient, the node, the node's output → one gradient per input
 * (null where none). A tensor the rule creates and returns for one input only may become that
 * leaf's .grad without a copy, so a rule must not keep such a tensor anywhere else.
 */
export type GradRule = (g: Tensor, node: GradNode, out: Tensor) => (Tensor | null)[];

const rules = new Map<string, GradRule>();
let gradEnabled = true;

export function defineGradRules(table: Record<string, GradRule>): void {
  for (const [op, rule] of Object.entries(table)) rules.set(op, rule);
}

export function hasGradRule(op: string): boolean {
  return rules.has(op);
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with gradient recording on or off. */
export function setGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches a tape node to `out` when any input requires grad; returns `out`. */
export function record(out: Tensor, op: string, inputs: Tensor[], saved: Record<string, unknown> = {}): Tensor {
  if (!gradEnabled) return out;
  let needs = false;
  for (const t of inputs) if (t.requiresGrad) needs = true;
  if (!needs) return out;
  if (!rules.has(op)) throw new Error(`autograd: no gradient rule for op '${op}'`);
  out.requiresGrad = true;
  out.node = { op, inputs, saved, released: false };
  return out;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/** Computes gradients of `root` with respect to every leaf that requires them. */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad)
    throw new Error('backward(): the tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
  if (grad === undefined) {
    if (root.size !== 1)
      throw new Error(
        `backward(): a gradient must be given for a non-scalar tensor of shape [${root.shape.join(', ')}] (use t.backward(grad) or reduce it first)`,
      );
    grad = Tensor.empty(root.shape);
    grad.data[0] = 1;
  } else if (grad.size !== root.size || grad.shape.join() !== root.shape.join()) {
    throw new Error(`backward(): gradient shape [${grad.shape.join(', ')}] does not match tensor shape [${root.shape.join(', ')}]`);
  }

  // Reverse topological order by an iterative depth-first search.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const node = t.node;
    if (node && i < node.inputs.length) {
      top[1] = i + 1;
      const child = node.inputs[i]!;
      if (child.node && !seen.has(child)) stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }

  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad);
  const prevEnabled = gradEnabled;
  gradEnabled = false;
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const node = t.node;
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      // Only the root can be a leaf here (children are pushed only when they have a node).
      if (node === null) {
        accumulateLeaf(t, g);
        continue;
      }
      if (node.released)
        throw new Error(
          `backward(): trying to backward through the graph a second time (op '${node.op}'); pass { retainGraph: true } to the first backward`,
        );
      if (t.retainsGrad) accumulateLeaf(t, g);
      const rule = rules.get(node.op)!;
      const mark = tensorSerial();
      const gin = rule(g, node, t);
      for (let j = 0; j < node.inputs.length; j++) {
        const x = node.inputs[j]!;
        const gx = gin[j];
        if (!gx || !x.requiresGrad) continue;
        // A disposed intermediate has lost its node: going on would treat it as a leaf and
        // silently drop the gradient of everything before it.
        if (x.isDisposed)
          throw new Error(
            `backward(): input ${j} of '${node.op}' (shape [${x.shape.join(', ')}]) was disposed (by dispose() or a tidy scope) before backward; call backward inside the tidy that made the graph`,
          );
        if (gx.shape.join() !== x.shape.join())
          throw new Error(
            `autograd: rule '${node.op}' returned a gradient of shape [${gx.shape.join(', ')}] for input ${j} of shape [${x.shape.join(', ')}]`,
          );
        if (x.node === null) {
          // A gradient the rule made just now, with storage of its own and handed to this input
          // only, is referenced by nothing else: it becomes .grad as it is, without a copy.
          const fresh = gx.serial >= mark && gx.ownsStorage && gin.indexOf(gx) === j && gin.lastIndexOf(gx) === j;
          accumulateLeaf(x, gx, fresh);
        } else {
          const prev = grads.get(x);
          grads.set(x, prev ? addInto(prev, gx) : gx);
        }
      }
      if (!opts.retainGraph) {
        node.released = true;
        node.saved = {};
      }
    }
  } finally {
    gradEnabled = prevEnabled;
  }
  if (!opts.retainGraph) {
    // Drop references to the graph so intermediates can be reclaimed. The released nodes stay on
    // their tensors, so a later backward that reaches one throws instead of treating the
    // intermediate as a leaf and silently dropping the gradient of everything before it.
    for (const t of order) if (t.node) t.node.inputs = [];
  }
}

/**
 * acc + g in a new tensor. Never in place: acc may be a tensor a rule returned for several
 * inputs at once (add hands g itself to both), so writing into it would change the others.
 */
function addInto(acc: Tensor, g: Tensor): Tensor {
  const out = Tensor.uninit(acc.shape);
  getBackend().binary('add', acc.data, acc.shape, g.data, g.shape, out.data, out.shape);
  return out;
}

function accumulateLeaf(x: Tensor, g: Tensor, fresh = false): void {
  if (x.grad === null) {
    if (fresh) {
      x.grad = keep(g);
      return;
    }
    // Copy: a rule may hand the same tensor to several inputs, and .grad is accumulated in place later.
    const copy = keep(Tensor.uninit(x.shape));
    getBackend().copy(g.data, copy.data);
    x.grad = copy;
  } else {
    const a = x.grad.data;
    getBackend().binary('add', a, x.shape, g.data, g.shape, a, x.shape);
  }
}
