/**
 * Every layer against PyTorch 1.13 (fixtures from tools/gen_torch_fixtures.py).
 *
 * For each case: build the module from its spec, load torch's state_dict, forward the stored
 * input, compare the output, backpropagate loss = (output * gOut).sum(), compare the input
 * gradient and every parameter gradient; for BatchNorm also the running statistics after the
 * train-mode forward and the eval-mode output.
 */
import { fixtureBackends, loadTorchFixture } from '../helpers/backends.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nn, noGrad, setBackend, tensor, type Tensor } from '../../src/index.js';
import { expectTensorClose, type FixtureTensor } from '../helpers/close.js';

interface Spec {
  type: string;
  args: unknown[];
}
interface LayerCase {
  name: string;
  spec: Spec;
  mode: 'train' | 'eval';
  state: Record<string, FixtureTensor>;
  input: FixtureTensor;
  gOut: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
  grads: Record<string, FixtureTensor>;
  stateAfter?: Record<string, FixtureTensor>;
  evalOutput?: FixtureTensor;
}

const BACKENDS = await fixtureBackends();

const fixture = loadTorchFixture<{ cases: LayerCase[] }>('layers.json');

/** A single-input layer (nn.Module's own forward is typed for any arity). */
type Module = nn.Module & { forward(x: Tensor): Tensor };
type ModuleCtor = new (...args: unknown[]) => Module;

function build(spec: Spec): Module {
  if (spec.type === 'Sequential') {
    return new nn.Sequential(...(spec.args as Spec[]).map(build));
  }
  const Ctor = (nn as unknown as Record<string, ModuleCtor | undefined>)[spec.type];
  if (!Ctor) throw new Error(`nn.${spec.type} is not exported`);
  return new Ctor(...spec.args);
}

function fromFixture(t: FixtureTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(t.data), t.shape, { requiresGrad });
}

/**
 * PyTorch's num_batches_tracked is an integer buffer that only matters for momentum=None
 * (cumulative averaging); an engine may leave it out. Everything else must match by name.
 */
const OPTIONAL_KEYS = /(^|\.)num_batches_tracked$/;

function loadTorchState(m: Module, state: Record<string, FixtureTensor>): void {
  const own = Object.keys(m.stateDict()).sort();
  const torchKeys = Object.keys(state).sort();
  const required = torchKeys.filter((k) => !OPTIONAL_KEYS.test(k));
  expect(own.filter((k) => !OPTIONAL_KEYS.test(k)), 'stateDict keys').toEqual(required);
  const sd: Record<string, Tensor> = {};
  for (const k of own) {
    const t = state[k];
    if (t) sd[k] = fromFixture(t);
  }
  m.loadStateDict(sd, { strict: true });
}

describe('layers vs PyTorch', () => {
  it('fixture holds every layer type the brief names', () => {
    const types = new Set<string>();
    const walk = (s: Spec): void => {
      types.add(s.type);
      if (s.type === 'Sequential') (s.args as Spec[]).forEach(walk);
    };
    fixture.cases.forEach((c) => walk(c.spec));
    for (const t of [
      'Linear', 'Conv2d', 'ConvTranspose2d', 'MaxPool2d', 'AvgPool2d', 'Upsample', 'Flatten',
      'Unflatten', 'Dropout', 'BatchNorm1d', 'BatchNorm2d', 'Identity', 'Sigmoid', 'Tanh', 'ReLU',
      'LeakyReLU', 'PReLU', 'ELU', 'Softplus', 'Softmax', 'LogSoftmax', 'Sequential',
    ]) {
      expect(types.has(t), t).toBe(true);
    }
  });

  it('Sequential uses PyTorch dotted names (0.weight, 3.bias)', () => {
    const c = fixture.cases.find((k) => k.spec.type === 'Sequential');
    if (!c) throw new Error('no Sequential case');
    const names = build(c.spec).namedParameters().map(([n]) => n);
    expect(names).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(!backend.run)(`layers vs PyTorch [${backend.name}]`, () => {
    beforeAll(async () => {
      await setBackend(backend.name);
    });
    afterAll(async () => {
      await setBackend('js');
    });

    for (const c of fixture.cases) {
      it(c.name, () => {
        const m = build(c.spec);
        loadTorchState(m, c.state);
        const names = m.namedParameters().map(([n]) => n).sort();
        expect(names, 'namedParameters names').toEqual(Object.keys(c.grads).sort());

        if (c.mode === 'train') m.train();
        else m.eval();
        const x = fromFixture(c.input, true);
        const out = m.forward(x);
        expectTensorClose(out, c.output, `${c.name} output`);

        out.mul(fromFixture(c.gOut)).sum().backward();
        expectTensorClose(x.grad, c.gradInput, `${c.name} input grad`);
        for (const [n, p] of m.namedParameters()) {
          const g = c.grads[n];
          if (!g) throw new Error(`no torch grad for ${n}`);
          expectTensorClose(p.grad, g, `${c.name} grad ${n}`);
        }

        if (c.stateAfter) {
          const sd = m.stateDict();
          for (const [k, want] of Object.entries(c.stateAfter)) {
            const got = sd[k];
            if (!got && OPTIONAL_KEYS.test(k)) continue;
            expectTensorClose(got, want, `${c.name} ${k} after train forward`);
          }
        }
        if (c.evalOutput) {
          m.eval();
          const y = noGrad(() => m.forward(fromFixture(c.input)));
          expectTensorClose(y, c.evalOutput, `${c.name} eval output`);
        }
      });
    }
  });
}
