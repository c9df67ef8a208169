/** Containers: Sequential (children '0', '1', … as in PyTorch) and ModuleList. */
import { describe, expect, it } from 'vitest';
import { nn, tensor } from '../../src/index.js';

describe('containers', () => {
  it('Sequential: at, length, append, negative index, out of range', () => {
    const s = new nn.Sequential(new nn.ReLU());
    s.append(new nn.Tanh());
    expect(s.length).toBe(2);
    expect(s.at(-1).typeName).toBe('Tanh');
    expect(() => s.at(5)).toThrow(/Sequential: index 5 out of range \(2 layers\)/);
    expect(s.forward(tensor([-1, 1])).toList()).toEqual([0, Math.fround(Math.tanh(1))]);
  });

  it('ModuleList names its items 0, 1, … and has no forward', () => {
    const l = new nn.ModuleList([new nn.Linear(1, 2), new nn.Linear(2, 1)]);
    expect(l.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect([...l].length).toBe(2);
    expect(() => l.forward()).toThrow(/ModuleList has no forward/);
  });
});
