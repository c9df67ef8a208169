/**
 * Optimizer steps and gradient clipping against PyTorch 1.13 (fixtures from
 * tools/gen_torch_fixtures.py): two parameters (a 3x4 matrix and a 4-vector), five steps with
 * stored gradients, parameter values compared after every step.
 */
import { fixtureBackends, loadTorchFixture } from '../helpers/backends.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optim, setBackend, tensor, type Tensor } from '../../src/index.js';
import { expectNumberClose, expectTensorClose, type FixtureTensor } from '../helpers/close.js';

interface ParamRun {
  name: string;
  initial: FixtureTensor;
  grads: FixtureTensor[];
  after: FixtureTensor[];
}
interface OptCase {
  name: string;
  optimizer: string;
  opts: Record<string, unknown>;
  params: ParamRun[];
}
interface ClipCase {
  name: string;
  maxNorm: number;
  normType: number | 'inf';
  grads: FixtureTensor[];
  totalNorm: number;
  clipped: FixtureTensor[];
}

const BACKENDS = await fixtureBackends();

const fixture = loadTorchFixture<{ optimizers: OptCase[]; clipGradNorm: ClipCase[] }>('optimizers.json');

interface Optimizer {
  zeroGrad(): void;
  step(): void;
}
type OptCtor = new (params: Tensor[], opts: Record<string, unknown>) => Optimizer;

function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(t.data), t.shape, { requiresGrad });
}

/** Gives each parameter exactly the stored gradient: d/dp sum(p * g) = g. */
function setGrads(params: Tensor[], grads: FixtureTensor[]): void {
  let loss: Tensor | null = null;
  params.forEach((p, i) => {
    const term = p.mul(fromFixture(grads[i] as FixtureTensor)).sum();
    loss = loss === null ? term : loss.add(term);
  });
  (loss as unknown as Tensor).backward();
}

describe('optimizers vs PyTorch', () => {
  it('fixture covers every optimizer', () => {
    const names = new Set(fixture.optimizers.map((c) => c.optimizer));
    for (const n of ['SGD', 'Adagrad', 'Adadelta', 'RMSprop', 'Adam', 'AdamW']) expect(names.has(n), n).toBe(true);
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.run)(`optimizers vs PyTorch [${backend.name}]`, () => {
    beforeAll(async () => {
      await setBackend(backend.name);
    });
    afterAll(async () => {
      await setBackend('js');
    });

    for (const c of fixture.optimizers) {
      it(c.name, () => {
        const Ctor = (optim as unknown as Record<string, OptCtor | undefined>)[c.optimizer];
        if (!Ctor) throw new Error(`optim.${c.optimizer} is not exported`);
        const params = c.params.map((p) => fromFixture(p.initial, true));
        const opt = new Ctor(params, c.opts);
        const steps = c.params[0]?.grads.length ?? 0;
        for (let t = 0; t < steps; t++) {
          opt.zeroGrad();
          setGrads(params, c.params.map((p) => p.grads[t] as FixtureTensor));
          opt.step();
          c.params.forEach((p, i) => {
            expectTensorClose(params[i], p.after[t] as FixtureTensor, `${c.name}: ${p.name} after step ${t + 1}`);
          });
        }
      });
    }
  });

  describe.skipIf(!backend.run)(`clipGradNorm vs torch.nn.utils.clip_grad_norm_ [${backend.name}]`, () => {
    beforeAll(async () => {
      await setBackend(backend.name);
    });
    afterAll(async () => {
      await setBackend('js');
    });

    for (const c of fixture.clipGradNorm) {
      it(c.name, () => {
        const params = c.grads.map((g) => tensor(new Float32Array(g.data.length), g.shape, { requiresGrad: true }));
        setGrads(params, c.grads);
        const normType = c.normType === 'inf' ? Number.POSITIVE_INFINITY : c.normType;
        const total = optim.clipGradNorm(params, c.maxNorm, normType);
        expectNumberClose(total, c.totalNorm, `${c.name} total norm`);
        c.clipped.forEach((want, i) => expectTensorClose(params[i]?.grad, want, `${c.name} clipped grad ${i}`));
      });
    }
  });
}
