/**
 * Seed 003's optimizer comparison, as a check that each optimizer really optimizes: starting
 * from fixed points, every optimizer must bring down the Rosenbrock function
 *
 *   f(x, y) = (1 − x)² + 100·(y − x²)²      (minimum 0 at (1, 1); start (−1.5, 2), f = 12.5)
 *
 * by a large factor, through aelab's autograd; and on the ill-conditioned quadratic
 * f = x²/2 + 25·y², momentum must beat plain SGD at the same lr (the seed: "Momentum was
 * better than SGD, as it keeps using what it learned before"), and Adam must beat SGD too.
 */
import { describe, expect, it } from 'vitest';
import { optim, tensor, type Tensor } from '../../src/index.js';

type Loss = (x: Tensor, y: Tensor) => Tensor;
const rosenbrock: Loss = (x, y) =>
  x
    .neg()
    .add(1)
    .square()
    .add(y.sub(x.mul(x)).square().mul(100));
const quadratic: Loss = (x, y) => x.square().mul(0.5).add(y.square().mul(25));

function minimize(name: string, opts: optim.CreateOptimizerOptions, f: Loss, start: [number, number], steps: number) {
  const x = tensor([start[0]], [1], { requiresGrad: true });
  const y = tensor([start[1]], [1], { requiresGrad: true });
  const opt = optim.createOptimizer(name, [x, y], opts);
  const initial = f(x, y).item();
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    f(x, y).backward();
    opt.step();
  }
  return { initial, final: f(x, y).item(), x: x.item(), y: y.item() };
}

describe('every optimizer descends the Rosenbrock valley (2000 steps from (-1.5, 2))', () => {
  // lr per optimizer, and the factor by which the loss must fall at least. The adaptive
  // methods without momentum (Adagrad, Adadelta) crawl along the valley floor, as the seed
  // notes say of Adagrad, so they get looser bounds; the others must reach the minimum.
  const cases: [string, optim.CreateOptimizerOptions, number, boolean][] = [
    ['sgd', { lr: 2e-3 }, 1e-3, true],
    ['momentum', { lr: 1e-3 }, 1e-6, true],
    ['nesterov', { lr: 1e-3 }, 1e-6, true],
    ['adagrad', { lr: 1 }, 1e-2, false],
    ['adadelta', { lr: 1 }, 0.05, false],
    ['rmsprop', { lr: 3e-3 }, 1e-2, false],
    ['adam', { lr: 0.05 }, 1e-8, true],
    ['adamw', { lr: 0.05, weightDecay: 0 }, 1e-8, true],
  ];
  for (const [name, opts, factor, reachesMin] of cases) {
    it(`${name} (lr ${opts.lr})`, () => {
      const r = minimize(name, opts, rosenbrock, [-1.5, 2], 2000);
      expect(r.initial).toBeCloseTo(12.5, 5);
      expect(Number.isFinite(r.final)).toBe(true);
      expect(r.final).toBeLessThan(r.initial * factor);
      if (reachesMin) {
        expect(Math.abs(r.x - 1)).toBeLessThan(0.02);
        expect(Math.abs(r.y - 1)).toBeLessThan(0.04);
      }
    });
  }
});

describe("the seed's comparison on an ill-conditioned quadratic (100 steps from (5, 1))", () => {
  const run = (name: string, lr: number) => minimize(name, { lr }, quadratic, [5, 1], 100).final;

  it('momentum and Nesterov beat plain SGD at the same lr', () => {
    const sgd = run('sgd', 0.03);
    expect(sgd).toBeLessThan(37.5); // SGD does descend...
    expect(run('momentum', 0.03)).toBeLessThan(sgd / 10); // ...but momentum is far ahead,
    expect(run('nesterov', 0.01)).toBeLessThan(sgd / 10); // and so is Nesterov (which needs a smaller lr here).
  });

  it('Adam beats plain SGD', () => {
    expect(run('adam', 0.1)).toBeLessThan(run('sgd', 0.03) / 10);
  });
});
