/**
 * Every loss and reduction against PyTorch 1.13 (fixtures from tools/gen_torch_fixtures.py).
 *
 * For reduction 'mean'/'sum' the gradients are of the scalar loss; for 'none' they are of
 * (output * gOut).sum() with a stored random gOut.
 */
import { fixtureBackends, loadTorchFixture } from '../helpers/backends.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { losses, setBackend, tensor, type Tensor } from '../../src/index.js';
import { expectTensorClose, type FixtureTensor } from '../helpers/close.js';

interface LossCase {
  name: string;
  loss: string;
  reduction: 'mean' | 'sum' | 'none';
  opts: Record<string, unknown>;
  args: (FixtureTensor & { name: string })[];
  output: FixtureTensor;
  gOut?: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}

const BACKENDS = await fixtureBackends();

const fixture = loadTorchFixture<{ cases: LossCase[] }>('losses.json');

type LossFn = (...args: unknown[]) => Tensor;

function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(t.data), t.shape, { requiresGrad });
}

describe('losses vs PyTorch', () => {
  it('fixture covers every loss with every reduction', () => {
    for (const l of ['mse', 'bce', 'bceWithLogits', 'crossEntropy', 'nll', 'klNormal', 'gaussianNll', 'bernoulliNll']) {
      for (const r of ['mean', 'sum', 'none']) {
        expect(fixture.cases.some((c) => c.loss === l && c.reduction === r), `${l} ${r}`).toBe(true);
      }
    }
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.run)(`losses vs PyTorch [${backend.name}]`, () => {
    beforeAll(async () => {
      await setBackend(backend.name);
    });
    afterAll(async () => {
      await setBackend('js');
    });

    for (const c of fixture.cases) {
      it(`${c.name} (${c.reduction})`, () => {
        const fn = (losses as unknown as Record<string, LossFn | undefined>)[c.loss];
        if (!fn) throw new Error(`losses.${c.loss} is not exported`);
        const inputs = c.args.map((a) => fromFixture(a, a.name in c.grads));
        const out = fn(...inputs, c.opts);
        expectTensorClose(out, c.output, `${c.name} ${c.reduction} output`);

        if (c.gOut) out.mul(fromFixture(c.gOut)).sum().backward();
        else out.backward();
        c.args.forEach((a, i) => {
          const want = c.grads[a.name];
          if (want) expectTensorClose(inputs[i]?.grad, want, `${c.name} ${c.reduction} grad ${a.name}`);
        });
      });
    }
  });
}
