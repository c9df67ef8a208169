/**
 * GELU (exact and tanh) and SiLU against PyTorch (fixtures from tools/gen_torch_fixtures.py
 * activations): output and input gradient of loss = (output * gOut).sum(), over inputs from −12
 * to 12. Both are composites of existing ops: no gradient rule, kernel or op code of their own.
 */
import { describe, expect, it } from 'vitest';
import { gelu, nn, silu, sum, mul, tensor, type Tensor } from '../../src/index.js';
import { hasGradRule } from '../../src/autograd/tape.js';
import { loadTorchFixture } from '../helpers/backends.js';
import { expectTensorClose, type FixtureTensor } from '../helpers/close.js';
import { expectGrad, normal } from '../helpers/engine.js';

interface Case {
  name: string;
  spec: { type: 'GELU' | 'SiLU'; args: ['tanh'] | [] };
  input: FixtureTensor;
  gOut: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
}
const { cases } = loadTorchFixture<{ cases: Case[] }>('activations.json');
const from = (t: FixtureTensor, requiresGrad = false): Tensor => tensor(Float32Array.from(t.data), t.shape, { requiresGrad });

describe('GELU and SiLU vs PyTorch', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: output and input gradient', (_, c) => {
    const m = c.spec.type === 'GELU' ? new nn.GELU(...c.spec.args) : new nn.SiLU();
    const x = from(c.input, true);
    const y = m.forward(x);
    expectTensorClose(y, c.output, `${c.name} output`, { atol: 1e-6, rtol: 1e-5 });
    sum(mul(y, from(c.gOut))).backward();
    expectTensorClose(x.grad, c.gradInput, `${c.name} input gradient`, { atol: 1e-5, rtol: 1e-4 });
  });

  it('are composites: no rule of their own, gradients by finite differences', () => {
    for (const op of ['gelu', 'silu', 'erf']) expect(hasGradRule(op)).toBe(false);
    const x = normal([3, 5], 1, true);
    expectGrad((t: Tensor) => gelu(t), [x]);
    expectGrad((t: Tensor) => gelu(t, 'tanh'), [x]);
    expectGrad(silu, [x]);
  });

  it('take PyTorch positional arguments and refuse an unknown approximation', () => {
    expect(new nn.GELU('tanh').approximate).toBe('tanh');
    expect(new nn.GELU().approximate).toBe('none');
    expect(() => new nn.GELU('fast' as 'tanh')).toThrow(/GELU: approximate must be 'none' or 'tanh', got "fast"/);
    expect(new nn.SiLU(true).inplace).toBe(true);
  });
});
