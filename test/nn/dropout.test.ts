/** The Dropout layer: seeded masks in train mode, the identity in eval mode. */
import { describe, expect, it } from 'vitest';
import { Generator, nn, ones, sum } from '../../src/index.js';
import { normal } from '../helpers/engine.js';

describe('Dropout', () => {
  it('is the identity in eval mode (the same tensor back)', () => {
    const d = new nn.Dropout(0.5).eval();
    const x = normal([4, 4], 1, false);
    expect(d.forward(x)).toBe(x);
  });

  it('in train mode zeroes elements and scales survivors by 1/(1 − p), reproducibly per seed', () => {
    const a = new nn.Dropout(0.25, new Generator(3));
    const b = new nn.Dropout(0.25, new Generator(3));
    const y = a.forward(ones([1000]));
    expect(y.toList()).toEqual(b.forward(ones([1000])).toList());
    const vals = new Set(y.toList());
    expect(vals).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    expect(Math.abs(sum(y).item() / 1000 - 1)).toBeLessThan(0.1);
  });

  it('successive calls draw new masks', () => {
    const d = new nn.Dropout(0.5, new Generator(4));
    expect(d.forward(ones([64])).toList()).not.toEqual(d.forward(ones([64])).toList());
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => new nn.Dropout(-0.1)).toThrow(/Dropout: p must be in \[0, 1\], got -0.1/);
  });
});

// torch.nn.Dropout(p=0.5, inplace=False)
describe("PyTorch's positional arguments", () => {
  it('Dropout(p, inplace); the generator by name (or second, as before)', () => {
    const d = new nn.Dropout(0.3, true);
    expect([d.p, d.inplace]).toEqual([0.3, true]);
    const x = ones([20, 20]);
    const a = new nn.Dropout(0.3, false, { generator: new Generator(9) }).forward(x).toList();
    const b = new nn.Dropout({ p: 0.3, generator: new Generator(9) }).forward(x).toList();
    const c = new nn.Dropout(0.3, new Generator(9)).forward(x).toList();
    expect(a).toEqual(b);
    expect(a).toEqual(c);
    expect(new nn.Dropout().p).toBe(0.5);
    expect(() => new nn.Dropout(0.5, 'yes' as never)).toThrow(/Dropout: inplace must be true or false, got "yes"/);
  });
});
