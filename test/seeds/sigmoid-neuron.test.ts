/**
 * Seed 000 (after Nielsen, "Neural Networks and Deep Learning", ch. 3): one sigmoid neuron,
 * a = sigmoid(w*x + b) with x = 1 and target y = 0, trained by plain gradient descent
 * (lr 0.15, 300 steps) from (w, b) = (0.6, 0.9) and from (2, 2), with the quadratic cost
 * C = (y - a)^2 / 2 and the cross-entropy cost C = -(y ln a + (1 - y) ln(1 - a)).
 *
 * aelab's own tensors, autograd and optim.SGD must follow PyTorch's trajectory at every step,
 * and the seed's point must hold: with the quadratic cost, dC/dw = (a - y) a (1 - a) x carries
 * the sigmoid's derivative, which is ~0.0177 at z = 4 (a ~ 0.982), so learning from (2, 2) starts
 * very slowly; cross-entropy's dC/dw = (a - y) x has no such factor and learns at once.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noGrad, optim, setBackend, tensor, type Tensor } from '../../src/index.js';
import { expectArrayClose } from '../helpers/close.js';

interface Run {
  name: string;
  cost: 'quadratic' | 'crossEntropy';
  w0: number;
  b0: number;
  w: number[];
  b: number[];
  a: number[];
  costValues: number[];
  gradW: number[];
  gradB: number[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/torch/sigmoid_neuron.json', import.meta.url), 'utf8'),
) as { x: number; y: number; lr: number; steps: number; runs: Run[] };

interface Trace {
  w: number[];
  b: number[];
  a: number[];
  cost: number[];
  gradW: number[];
  gradB: number[];
}

function costOf(kind: Run['cost'], a: Tensor, y: Tensor): Tensor {
  if (kind === 'quadratic') {
    const d = y.sub(a);
    return d.mul(d).mul(tensor([0.5], []));
  }
  // -(y ln a + (1 - y) ln(1 - a))
  const one = tensor([1], []);
  return y.mul(a.log()).add(one.sub(y).mul(one.sub(a).log())).neg();
}

/**
 * Trains the neuron with aelab and records the same quantities as the fixture. `update` picks
 * the step: optim.SGD, or plain gradient descent written with tensor ops (w ← w − lr·∂C/∂w,
 * computed under noGrad into a fresh leaf), so the autograd check does not depend on optim.
 */
function train(kind: Run['cost'], w0: number, b0: number, update: 'sgd' | 'manual'): Trace {
  const { x: x0, y: y0, lr, steps } = fixture;
  let w = tensor([w0], [], { requiresGrad: true });
  let b = tensor([b0], [], { requiresGrad: true });
  const x = tensor([x0], []);
  const y = tensor([y0], []);
  const opt = update === 'sgd' ? new optim.SGD([w, b], { lr }) : null;
  const tr: Trace = { w: [], b: [], a: [], cost: [], gradW: [], gradB: [] };
  for (let t = 0; t <= steps; t++) {
    const a = w.mul(x).add(b).sigmoid();
    const c = costOf(kind, a, y);
    tr.w.push(w.data[0] as number);
    tr.b.push(b.data[0] as number);
    tr.a.push(a.data[0] as number);
    tr.cost.push(c.data[0] as number);
    if (t === steps) break;
    opt?.zeroGrad();
    c.backward();
    const gw = w.grad;
    const gb = b.grad;
    if (!gw || !gb) throw new Error(`step ${t}: backward left no gradient on w or b`);
    tr.gradW.push(gw.data[0] as number);
    tr.gradB.push(gb.data[0] as number);
    if (opt) {
      opt.step();
    } else {
      const [w1, b1] = noGrad(() => [w.sub(gw.mul(lr)), b.sub(gb.mul(lr))] as const);
      w = tensor(w1.data, [], { requiresGrad: true });
      b = tensor(b1.data, [], { requiresGrad: true });
    }
  }
  return tr;
}

/**
 * The trajectories are checked on each kernel backend: js always; wasm when this runtime can
 * start it (reported as skipped otherwise; required with AELAB_BACKEND=wasm).
 */
const wasmStarts = await setBackend('wasm').then(
  () => true,
  () => false,
);
await setBackend('js');
const BACKENDS = [
  { name: 'js', run: true },
  { name: 'wasm', run: wasmStarts || process.env.AELAB_BACKEND === 'wasm' },
] as const;

const traces = new Map<string, Trace>();
function trace(r: Run, update: 'sgd' | 'manual', backend: string): Trace {
  const key = `${r.name} ${update} ${backend}`;
  let tr = traces.get(key);
  if (!tr) {
    tr = train(r.cost, r.w0, r.b0, update);
    traces.set(key, tr);
  }
  return tr;
}

function findRun(cost: Run['cost'], w0: number, b0: number): Run {
  const r = fixture.runs.find((k) => k.cost === cost && k.w0 === w0 && k.b0 === b0);
  if (!r) throw new Error(`no run ${cost} from w=${w0},b=${b0}`);
  return r;
}

describe('seed 000: single sigmoid neuron', () => {
  it('fixture has the four runs of 300 steps', () => {
    expect(fixture.runs.map((r) => r.name).sort()).toEqual([
      'crossEntropy from w=0.6,b=0.9',
      'crossEntropy from w=2,b=2',
      'quadratic from w=0.6,b=0.9',
      'quadratic from w=2,b=2',
    ]);
    for (const r of fixture.runs) expect(r.w.length).toBe(fixture.steps + 1);
  });

  it('quadratic cost from w=2,b=2 starts learning much slower than cross-entropy', () => {
    // aelab's own trajectories (js backend), not the fixture's.
    const quad = trace(findRun('quadratic', 2, 2), 'manual', 'js');
    const ce = trace(findRun('crossEntropy', 2, 2), 'manual', 'js');
    const quadGood = trace(findRun('quadratic', 0.6, 0.9), 'manual', 'js');

    // The first gradient: (a - y) a (1 - a) ~ 0.017 against (a - y) ~ 0.98: over 50x smaller.
    expect(Math.abs(quad.gradW[0] as number)).toBeLessThan(0.02);
    expect(Math.abs(ce.gradW[0] as number)).toBeGreaterThan(0.95);
    expect(Math.abs(ce.gradW[0] as number)).toBeGreaterThan(50 * Math.abs(quad.gradW[0] as number));

    // After 50 steps the quadratic neuron still outputs a > 0.95 and its cost fell by under 2%,
    // while cross-entropy has already brought a under 0.15 (cost down by over 95%).
    expect(quad.a[50] as number).toBeGreaterThan(0.95);
    expect((quad.cost[50] as number) / (quad.cost[0] as number)).toBeGreaterThan(0.98);
    expect(ce.a[50] as number).toBeLessThan(0.15);
    expect((ce.cost[50] as number) / (ce.cost[0] as number)).toBeLessThan(0.05);

    // The same quadratic cost from (0.6, 0.9), where sigma'(z) is not saturated, learns at once:
    // the saturation, not the cost alone, is what slows the (2, 2) start.
    expect(quadGood.a[50] as number).toBeLessThan(0.45);
    expect(quadGood.a[50] as number).toBeLessThan((quad.a[50] as number) - 0.5);
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.run)(`seed 000: single sigmoid neuron vs PyTorch [${backend.name}]`, () => {
    beforeAll(async () => {
      await setBackend(backend.name);
    });
    afterAll(async () => {
      await setBackend('js');
    });

    for (const r of fixture.runs) {
      for (const update of ['manual', 'sgd'] as const) {
        const how = update === 'sgd' ? 'optim.SGD' : 'plain tensor-op update';
        it(`${r.name} (${how}): w, b, a, cost and gradients match at every step`, () => {
          const tr = trace(r, update, backend.name);
          expectArrayClose(tr.gradW, r.gradW, `${r.name} dC/dw per step`);
          expectArrayClose(tr.gradB, r.gradB, `${r.name} dC/db per step`);
          expectArrayClose(tr.w, r.w, `${r.name} w per step`);
          expectArrayClose(tr.b, r.b, `${r.name} b per step`);
          expectArrayClose(tr.a, r.a, `${r.name} a per step`);
          expectArrayClose(tr.cost, r.costValues, `${r.name} cost per step`);
        });
      }
    }
  });
}
