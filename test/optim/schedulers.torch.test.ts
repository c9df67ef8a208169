/**
 * Learning-rate schedulers against PyTorch 1.13 (fixtures from tools/gen_torch_fixtures.py):
 * SGD(lr 0.1) and, for each of 8 epochs, opt.step() then sched.step(metric?); the lr after
 * each epoch must match torch's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optim, tensor, type Tensor } from '../../src/index.js';
import { expectArrayClose } from '../helpers/close.js';

interface SchedCase {
  name: string;
  scheduler: string;
  optimizer: { type: string; opts: Record<string, unknown> };
  opts: Record<string, unknown>;
  initialLr: number;
  lrs: number[];
  metrics?: number[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/torch/optimizers.json', import.meta.url), 'utf8'),
) as { schedulers: SchedCase[] };

interface Optimizer {
  step(): void;
  zeroGrad(): void;
  lr: number;
}
interface Scheduler {
  step(metric?: number): void;
}
type OptCtor = new (params: Tensor[], opts: Record<string, unknown>) => Optimizer;
type SchedCtor = new (opt: Optimizer, opts: Record<string, unknown>) => Scheduler;

describe('lr schedulers vs PyTorch', () => {
  it('fixture covers every scheduler', () => {
    const names = new Set(fixture.schedulers.map((c) => c.scheduler));
    for (const n of ['StepLR', 'ExponentialLR', 'CosineAnnealingLR', 'ReduceLROnPlateau']) expect(names.has(n), n).toBe(true);
  });

  for (const c of fixture.schedulers) {
    it(c.name, () => {
      const O = optim as unknown as Record<string, unknown>;
      const OptC = O[c.optimizer.type] as OptCtor | undefined;
      const SchedC = O[c.scheduler] as SchedCtor | undefined;
      if (!OptC) throw new Error(`optim.${c.optimizer.type} is not exported`);
      if (!SchedC) throw new Error(`optim.${c.scheduler} is not exported`);
      const p = tensor([0, 0], [2], { requiresGrad: true });
      const opt = new OptC([p], c.optimizer.opts);
      const sched = new SchedC(opt, c.opts);
      expect(opt.lr).toBeCloseTo(c.initialLr, 12);
      const lrs: number[] = [];
      c.lrs.forEach((_, e) => {
        opt.zeroGrad();
        p.sum().backward();
        opt.step();
        if (c.metrics) sched.step(c.metrics[e]);
        else sched.step();
        lrs.push(opt.lr);
      });
      // Schedules are computed in float64 on both sides, so hold them to a tight tolerance.
      expectArrayClose(lrs, c.lrs, `${c.name} lr per epoch`, { rtol: 1e-7, atol: 1e-12 });
    });
  }
});
