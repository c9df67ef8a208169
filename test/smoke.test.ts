import { describe, it, expect } from 'vitest';
import { tensor, nn, randn, gradcheck, losses } from '../src/index.js';
describe('smoke', () => {
  it('works', () => {
    const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 4, 6, 8]);
    const lin = new nn.Linear(3, 2);
    const inp = randn([4, 3]);
    const out = lin.forward(inp);
    expect(out.shape).toEqual([4, 2]);
    const r = gradcheck((a, w) => a.matmul(w.T).tanh().sum(1), [randn([4, 3], { requiresGrad: true }), randn([2, 3], { requiresGrad: true })]);
    expect(r.ok, r.message).toBe(true);
    console.log(String(out));
  });
});
