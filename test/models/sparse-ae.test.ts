import { describe, expect, it } from 'vitest';
import { SparseAE, defaultConfig, l1Activity, sparsityKL } from '../../src/models/index.js';
import { Generator, tensor } from '../../src/index.js';
import { avgPart, digits, paramShapes, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}) =>
  new SparseAE(defaultConfig('sparse-ae', [1, 28, 28], { latent: 32, ...over }), { generator: new Generator(5) });

const klBernoulli = (rho: number, r: number) => rho * Math.log(rho / r) + (1 - rho) * Math.log((1 - rho) / (1 - r));

describe('sparsity penalties', () => {
  it('Σ_j KL(ρ ‖ ρ̂_j) is 0 at ρ̂ = ρ and matches the closed form elsewhere', () => {
    expect(sparsityKL(tensor([0.05, 0.05, 0.05]), 0.05).item()).toBeCloseTo(0, 6);
    const rh = [0.01, 0.2, 0.5, 0.9];
    const expected = rh.reduce((a, r) => a + klBernoulli(0.05, r), 0);
    expect(sparsityKL(tensor(rh), 0.05).item()).toBeCloseTo(expected, 4);
    // the gradient pushes ρ̂ toward ρ: ∂KL/∂ρ̂ = −ρ/ρ̂ + (1−ρ)/(1−ρ̂)
    const t = tensor([0.3, 0.01], undefined, { requiresGrad: true });
    sparsityKL(t, 0.05).backward();
    const g = t.grad!.data;
    expect(g[0]).toBeCloseTo(-0.05 / 0.3 + 0.95 / 0.7, 4);
    expect(g[0]!).toBeGreaterThan(0);
    expect(g[1]!).toBeLessThan(0);
    expect(() => sparsityKL(tensor([0.5]), 1)).toThrow(/rho/);
  });

  it('L1 activity is the mean over the batch of Σ_j |h_j|', () => {
    expect(
      l1Activity(
        tensor([
          [1, -2, 0],
          [0.5, 0.5, -1],
        ]),
      ).item(),
    ).toBeCloseTo((3 + 2) / 2, 6);
  });
});

describe('SparseAE', () => {
  it('has a sigmoid code for the KL penalty and the dense layout', () => {
    const m = make({ hidden: [], latent: 100 });
    expect(paramShapes(m)).toEqual({
      'encoder.0.weight': [100, 784],
      'encoder.0.bias': [100],
      'decoder.0.weight': [784, 100],
      'decoder.0.bias': [784],
    });
    expect(m.encoder.layers.map((l) => l.typeName)).toEqual(['Linear', 'Sigmoid']);
    const h = m.encode(digits(8).x);
    for (const v of h.data) expect(v > 0 && v < 1).toBe(true);
    expect(make({ sparsity: 'l1', activation: 'relu' }).encoder.at(-1).typeName).toBe('ReLU');
    expect(() => make({ rho: 0 })).toThrow(/rho/);
    expect(() => make({ sparsity: 'l2' })).toThrow(/sparsity/);
  });

  it('reports loss = recon + β·sparsity', () => {
    const m = make({ beta: 2 });
    const out = m.evaluate({ x: digits(16).x, y: null }, { generator: new Generator(1), epoch: 0 });
    const p = out.parts;
    expect(p.loss).toBeCloseTo(p.recon! + 2 * p.sparsity!, 2);
    expect(p.meanActivation).toBeGreaterThan(0.2); // a fresh sigmoid code sits near 0.5
  });

  it('a larger β gives a lower mean activation after training', () => {
    const run = (beta: number) => {
      const m = make({ hidden: [], latent: 32, beta, rho: 0.05 });
      const r = train(m, 60, { lr: 5e-3 });
      const act = m.meanActivation(digits(128, 512).x);
      return { mean: act.reduce((a, b) => a + b, 0) / act.length, last: r.last };
    };
    const free = run(0);
    const sparse = run(5);
    expect(free.mean).toBeGreaterThan(0.8); // unpenalised sigmoid codes saturate
    expect(sparse.mean).toBeLessThan(0.5 * free.mean);
    expect(sparse.last.sparsity).toBeLessThan(free.last.sparsity!);
    // both still learn to reconstruct
    expect(sparse.last.recon).toBeLessThan(400);
  });

  it('the default config is one layer of 196 sigmoid code units; a short run brings ρ̂ close to ρ and beats the mean digit', () => {
    // UFLDL's MNIST sparse autoencoder: 196 units, ρ = 0.1, β = 3 for ½·SSE (β = 6 for our SSE)
    const cfg = defaultConfig('sparse-ae', [1, 28, 28]);
    expect([cfg.hidden, cfg.latent, cfg.sparsity, cfg.loss, cfg.rho, cfg.beta]).toEqual([[], 196, 'kl', 'mse', 0.1, 6]);
    const m = new SparseAE(cfg, { generator: new Generator(5) });
    expect(m.namedParameters().map(([n, p]) => `${n} ${p.shape.join('×')}`)).toEqual([
      'encoder.0.weight 196×784',
      'encoder.0.bias 196',
      'decoder.0.weight 784×196',
      'decoder.0.bias 784',
    ]);
    const r = train(m, 200, { lr: 5e-3, batch: 32, pool: 2048 });
    const held = digits(500, 8000).x; // held-out digits
    const act = m.meanActivation(held);
    const mean = act.reduce((a, b) => a + b, 0) / act.length;
    expect(mean).toBeGreaterThan(cfg.rho / 2);
    expect(mean).toBeLessThan(2 * cfg.rho);
    expect(avgPart(r.history, 'recon', 'last')).toBeLessThan(0.5 * avgPart(r.history, 'recon', 'first'));
    // the reconstructions are not the mean digit: their error is well below the mean image's
    const err = m.reconstructionError(held);
    const meanErr = err.reduce((a, b) => a + b, 0) / err.length;
    const pool = digits(2048).x.data;
    const avg = new Float64Array(784);
    for (let i = 0; i < pool.length; i++) avg[i % 784]! += pool[i]! / 2048;
    let base = 0;
    for (let i = 0; i < held.data.length; i++) base += (held.data[i]! - avg[i % 784]!) ** 2 / held.data.length;
    expect(meanErr).toBeLessThan(0.8 * base);
  });

  it('the L1 variant trains, with less activity for a larger β', () => {
    const run = (beta: number) => train(make({ sparsity: 'l1', activation: 'relu', beta }), 40, { lr: 3e-3 }).last;
    const free = run(0);
    const sparse = run(0.5);
    expect(sparse.sparsity).toBeLessThan(0.8 * free.sparsity!);
    expect(sparse.recon).toBeLessThan(300);
  });
});
