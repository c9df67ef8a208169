/** Activation layers: each equals its functional op; PReLU's learnable slopes and gradients. */
import { describe, expect, it } from 'vitest';
import { elu, leakyRelu, logSoftmax, nn, relu, sigmoid, softmax, softplus, sum, tanh, tensor } from '../../src/index.js';
import { awayFromZero, expectGrad, normal } from '../helpers/engine.js';

describe('activation layers', () => {
  const x = normal([3, 4], 1, false);
  it('forward equals the functional op', () => {
    expect(new nn.Sigmoid().forward(x).toList()).toEqual(sigmoid(x).toList());
    expect(new nn.Tanh().forward(x).toList()).toEqual(tanh(x).toList());
    expect(new nn.ReLU().forward(x).toList()).toEqual(relu(x).toList());
    expect(new nn.LeakyReLU(0.2).forward(x).toList()).toEqual(leakyRelu(x, 0.2).toList());
    expect(new nn.LeakyReLU().forward(x).toList()).toEqual(leakyRelu(x, 0.01).toList());
    expect(new nn.ELU(0.5).forward(x).toList()).toEqual(elu(x, 0.5).toList());
    expect(new nn.Softplus({ beta: 2, threshold: 10 }).forward(x).toList()).toEqual(softplus(x, 2, 10).toList());
    expect(new nn.Softmax(0).forward(x).toList()).toEqual(softmax(x, 0).toList());
    expect(new nn.LogSoftmax().forward(x).toList()).toEqual(logSoftmax(x, -1).toList());
  });

  it('parameter-free layers have no parameters', () => {
    for (const m of [new nn.Sigmoid(), new nn.ReLU(), new nn.LeakyReLU(), new nn.ELU(), new nn.Softplus(), new nn.Softmax()])
      expect(m.numParameters()).toBe(0);
  });
});

describe('PReLU', () => {
  it('shared slope: one parameter initialised to 0.25, named weight', () => {
    const p = new nn.PReLU();
    expect(p.numParameters()).toBe(1);
    expect(Object.keys(p.stateDict())).toEqual(['weight']);
    expect(p.forward(tensor([-2, 3])).toList()).toEqual([-0.5, 3]);
  });

  it('per-channel slopes on (N, C, H, W)', () => {
    const p = new nn.PReLU(2, 0.1);
    p.weight.data.set([0.1, 0.5]);
    const y = p.forward(tensor([[[[-1]], [[-1]]]]));
    expect(y.toList()).toEqual([Math.fround(-0.1), -0.5]);
  });

  it('the slope learns: gradient Σ min(0, x)·g, checked by finite differences', () => {
    const p = new nn.PReLU(3, 0.25);
    const x = tensor([
      [-1, 2, -3],
      [4, -5, 6],
    ]);
    sum(p.forward(x)).backward();
    expect(p.weight.grad!.toList()).toEqual([-1, -5, -3]);
    expectGrad(
      (inp, a) => {
        p.weight = a;
        return p.forward(inp);
      },
      [awayFromZero([4, 3], 2), normal([3], 3)],
      { atol: 1e-4, rtol: 1e-3 },
    );
  });

  it('rejects a bad slope count', () => {
    expect(() => new nn.PReLU(0)).toThrow(/PReLU: numParameters must be a positive integer/);
    expect(() => new nn.PReLU(3).forward(tensor([[1, 2]]))).toThrow(/prelu: weight has 3 slopes but input \[1, 2\] has 2 channels/);
  });
});

// torch.nn.ReLU(inplace), LeakyReLU(negative_slope, inplace), ELU(alpha, inplace), PReLU(num_parameters, init),
// Softplus(beta, threshold), Softmax(dim=None), LogSoftmax(dim=None)
describe("PyTorch's positional arguments", () => {
  const x = normal([2, 3, 2, 2], 5, false);

  it('inplace is accepted second (first for ReLU) and computes the same values', () => {
    expect(new nn.ReLU(true).inplace).toBe(true);
    expect(new nn.ReLU(true).forward(x).toList()).toEqual(relu(x).toList());
    const l = new nn.LeakyReLU(0.2, true);
    expect([l.negativeSlope, l.inplace]).toEqual([0.2, true]);
    expect(l.forward(x).toList()).toEqual(leakyRelu(x, 0.2).toList());
    const e = new nn.ELU(0.5, true);
    expect([e.alpha, e.inplace]).toEqual([0.5, true]);
    expect(new nn.LeakyReLU({ negativeSlope: 0.3 }).negativeSlope).toBe(0.3);
  });

  it('PReLU(numParameters, init) and Softplus(beta, threshold)', () => {
    const p = new nn.PReLU(3, 0.1);
    expect(p.weight.toList()).toEqual([0.1, 0.1, 0.1].map(Math.fround));
    expect(new nn.PReLU({ init: 0.5 }).weight.toList()).toEqual([0.5]);
    expect(new nn.Softplus(2, 5).forward(x).toList()).toEqual(softplus(x, 2, 5).toList());
    expect(new nn.Softplus(2, 5).forward(x).toList()).toEqual(new nn.Softplus({ beta: 2, threshold: 5 }).forward(x).toList());
  });

  it("Softmax()/LogSoftmax() without a dim choose PyTorch's implicit dim: 0 for 1-D and 3-D input, else 1", () => {
    const v = normal([4], 6, false);
    const m = normal([2, 3], 7, false);
    const c = normal([2, 3, 4], 8, false);
    expect(new nn.Softmax().forward(v).toList()).toEqual(softmax(v, 0).toList());
    expect(new nn.Softmax().forward(m).toList()).toEqual(softmax(m, 1).toList());
    expect(new nn.Softmax().forward(c).toList()).toEqual(softmax(c, 0).toList());
    expect(new nn.Softmax().forward(x).toList()).toEqual(softmax(x, 1).toList());
    expect(new nn.LogSoftmax().forward(c).toList()).toEqual(logSoftmax(c, 0).toList());
    expect(new nn.Softmax(-1).forward(c).toList()).toEqual(softmax(c, 2).toList());
    expect(new nn.LogSoftmax({ dim: 2 }).forward(c).toList()).toEqual(logSoftmax(c, 2).toList());
    expect(() => new nn.Softmax(1.5)).toThrow(/Softmax: dim must be an integer or null, got 1.5/);
  });
});

describe('the activation list (nn.ACTIVATIONS)', () => {
  const x = normal([3, 4], 1, false);
  it('every name builds its module, and an unknown name is refused by name', () => {
    for (const name of nn.ACTIVATION_NAMES) {
      const m = nn.activation(name);
      expect(m).toBeInstanceOf(nn.Module);
      expect(m.forward(x).shape).toEqual(x.shape);
    }
    expect(() => nn.activation('swish' as nn.ActivationName)).toThrow(/unknown activation 'swish'.*relu/);
  });
  it('models and the CLI take their names from it', async () => {
    const { models } = await import('../../src/index.js');
    const { buildProgram } = await import('../../src/cli/main.js');
    expect([...models.ACTIVATIONS]).toEqual(nn.ACTIVATION_NAMES);
    const train = buildProgram().commands.find((c) => c.name() === 'train')!;
    const opt = train.options.find((o) => o.long === '--activation')!;
    expect(opt.argChoices).toEqual(nn.ACTIVATION_NAMES);
  });
});
