/** Containers: Sequential (children '0', '1', … as in PyTorch) and ModuleList. */
import { describe, expect, it } from 'vitest';
import { manualSeed, mul, nn, randn, sum, tensor } from '../../src/index.js';
import { expectClose } from '../helpers/engine.js';

describe('containers', () => {
  it('Sequential: at, length, append, negative index, out of range', () => {
    const s = new nn.Sequential(new nn.ReLU());
    s.append(new nn.Tanh());
    expect(s.length).toBe(2);
    expect(s.at(-1).typeName).toBe('Tanh');
    expect(() => s.at(5)).toThrow(/Sequential: index 5 out of range \(2 layers\)/);
    expect(s.forward(tensor([-1, 1])).toList()).toEqual([0, Math.fround(Math.tanh(1))]);
  });

  it('Sequential fuses Linear + ReLU / Sigmoid / Tanh (one tape node) with the same values and gradients', () => {
    manualSeed(3);
    const net = new nn.Sequential(
      new nn.Linear(6, 5),
      new nn.ReLU(),
      new nn.Linear(5, 4),
      new nn.Tanh(),
      new nn.Linear(4, 3),
      new nn.Sigmoid(),
      new nn.Linear(3, 2),
    );
    const x = randn([4, 6]);
    const fused = net.forward(x);
    expect(fused.node?.op).toBe('linear');
    expect(fused.node?.inputs[0]?.node?.op).toBe('linear'); // the Sigmoid ran inside the third Linear
    // the same layers one by one, unfused
    let y = x;
    for (const m of net.layers) y = m.forward(y);
    expect(fused.data).toEqual(y.data);
    sum(mul(fused, fused)).backward();
    const g1 = net.parameters().map((p) => Float32Array.from(p.grad!.data));
    net.zeroGrad();
    sum(mul(y, y)).backward();
    net.parameters().forEach((p, i) => expectClose(p.grad!.data, g1[i]!, 1e-6));
    // forwardRange stops before `end`: the last Linear's Sigmoid is then not applied
    const logits = net.forwardRange(x, 0, 5);
    expect(logits.node?.op).toBe('linear');
    expect(logits.data).toEqual(net.at(4).forward(net.forwardRange(x, 0, 4)).data);
    expect(net.forwardRange(x, 0, 6).data).toEqual(net.forwardRange(x, 0, 7 - 1).data);
    // a subclass (or a wrapped forward) is never fused
    class MyReLU extends nn.ReLU {}
    const sub = new nn.Sequential(new nn.Linear(6, 5), new MyReLU());
    expect(sub.forward(x).node?.op).toBe('relu');
  });

  it('ModuleList names its items 0, 1, … and has no forward', () => {
    const l = new nn.ModuleList([new nn.Linear(1, 2), new nn.Linear(2, 1)]);
    expect(l.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect([...l].length).toBe(2);
    expect(() => l.forward()).toThrow(/ModuleList has no forward/);
  });
});
