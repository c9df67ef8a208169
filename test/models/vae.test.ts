import { beforeAll, describe, expect, it } from 'vitest';
import { VAE, defaultConfig } from '../../src/models/index.js';
import { Generator, noGrad, tensor } from '../../src/index.js';
import { avgPart, digits, paramShapes, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}) =>
  new VAE(defaultConfig('vae', [1, 28, 28], { hidden: [64], latent: 4, ...over }), { generator: new Generator(9) });

const meanOf = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

describe('VAE', () => {
  it('has the PyTorch layout: encoder, fc_mu, fc_logvar, decoder', () => {
    expect(paramShapes(make())).toEqual({
      'encoder.0.weight': [64, 784],
      'encoder.0.bias': [64],
      'fc_mu.weight': [4, 64],
      'fc_mu.bias': [4],
      'fc_logvar.weight': [4, 64],
      'fc_logvar.bias': [4],
      'decoder.0.weight': [64, 4],
      'decoder.0.bias': [64],
      'decoder.2.weight': [784, 64],
      'decoder.2.bias': [784],
    });
    // the Gaussian decoder's scale is a buffer (closed-form σ, not trained by the optimizer)
    const g = make({ decoder: 'gaussian' });
    expect(paramShapes(g)['log_sigma']).toBeUndefined();
    expect(g.stateDict()['log_sigma']!.shape).toEqual([1]);
    expect(make().encoder.layers.map((l) => l.typeName)).toEqual(['Linear', 'ReLU']);
    expect(() => make({ decoder: 'poisson' })).toThrow(/decoder/);
    expect(() => make({ beta: -1 })).toThrow(/beta/);
  });

  it('encodes to μ, samples with the generator, and decodes into [0, 1]', () => {
    const m = make();
    const { x } = digits(6);
    const { mu, logvar } = m.posterior(x);
    expect(mu.shape).toEqual([6, 4]);
    expect(logvar.shape).toEqual([6, 4]);
    expect(Array.from(m.encode(x).data)).toEqual(Array.from(mu.data));
    const z1 = m.reparameterize(mu, logvar, new Generator(3));
    const z2 = m.reparameterize(mu, logvar, new Generator(3));
    expect(Array.from(z1.data)).toEqual(Array.from(z2.data));
    expect(Array.from(z1.data)).not.toEqual(Array.from(mu.data));
    const s = m.sample(10, new Generator(1));
    expect(s.shape).toEqual([10, 784]);
    for (const v of s.data) expect(v >= 0 && v <= 1).toBe(true);
    expect(Array.from(m.sample(3, new Generator(1)).data)).toEqual(Array.from(s.data.subarray(0, 3 * 784)));
    expect(m.reconstruct(x).shape).toEqual([6, 784]);
    expect(m.reconstructionError(x).length).toBe(6);
  });

  it('reports nats per image: KL ≥ 0, recon + kl = neg_elbo, loss = recon + β·kl', () => {
    const m = make({ beta: 4 });
    const out = m.evaluate({ x: digits(32).x, y: null }, { generator: new Generator(1), epoch: 0 });
    const p = out.parts;
    expect(p.kl).toBeGreaterThanOrEqual(0);
    expect(p.neg_elbo).toBeCloseTo(p.recon! + p.kl!, 3);
    // named by its sign: the negative ELBO of binary pixels is a positive number of nats
    expect(p.neg_elbo).toBeGreaterThan(0);
    expect(p).not.toHaveProperty('elbo');
    expect(p.loss).toBeCloseTo(p.recon! + 4 * p.kl!, 2);
    expect(out.loss.item()).toBeCloseTo(p.loss!, 3);
    // an untrained Bernoulli decoder is near p = ½ everywhere: about 784·log 2 nats per image
    expect(p.recon).toBeGreaterThan(400);
    expect(p.recon).toBeLessThan(700);
  });

  it('the KL term is 0 exactly when q(z|x) = N(0, I)', () => {
    const m = make();
    // zero the posterior heads: μ = 0, log σ² = 0
    for (const t of [...m.fc_mu.parameters(), ...m.fc_logvar.parameters()]) t.data.fill(0);
    const p = m.evaluate({ x: digits(8).x, y: null }, { generator: new Generator(1), epoch: 0 }).parts;
    expect(p.kl).toBeCloseTo(0, 6);
  });

  it('Gaussian decoder: trains with the optimal σ, keeps a running σ for evaluation', () => {
    const m = make({ decoder: 'gaussian' });
    const { x } = digits(64, 700);
    const evalLoss = () => noGrad(() => m.evaluate({ x, y: null }, { generator: new Generator(3), epoch: 0 }).parts);
    const before = evalLoss();
    expect(m.sigma).toBe(1);
    const r = train(m, 50, { lr: 3e-3 });
    // σ*² is the batch's mean squared residual: recon = D/2·(1 + log 2πσ*²) + the KL-free part
    const last = r.last;
    expect(last.sigma! ** 2).toBeCloseTo(last.mse!, 2);
    expect(last.recon).toBeCloseTo(392 * (1 + Math.log(2 * Math.PI * last.sigma! ** 2)), -1);
    expect(m.sigma).toBeLessThan(0.45);
    const after = evalLoss();
    expect(after.sigma).toBeCloseTo(m.sigma, 5);
    expect(after.neg_elbo).toBeLessThan(before.neg_elbo! - 300);
    const iw = m.importanceWeightedLogLikelihood(x.narrow(0, 0, 8), 4, new Generator(2));
    for (const v of iw) expect(Number.isFinite(v)).toBe(true);
  });

  describe('after training on real digits', () => {
    const m = make();
    let history: Record<string, number>[] = [];
    const { x } = digits(64, 700);
    beforeAll(() => {
      history = train(m, 150, { lr: 3e-3 }).history;
      m.eval();
    });

    it('the negative ELBO fell clearly', () => {
      expect(avgPart(history, 'neg_elbo', 'last')).toBeLessThan(avgPart(history, 'neg_elbo', 'first') - 250);
      expect(avgPart(history, 'kl', 'last')).toBeGreaterThan(1); // the code is used
    });

    it('k = 1 importance weighting equals −ELBO in expectation; larger k bounds log p(x) more tightly', () => {
      // −ELBO per image, averaged over many reparameterisation draws
      let negElbo = 0;
      const R = 20;
      for (let r = 0; r < R; r++)
        negElbo += noGrad(() => m.evaluate({ x, y: null }, { generator: new Generator(100 + r), epoch: 0 }).parts.neg_elbo!) / R;
      let k1 = 0;
      for (let r = 0; r < R; r++) k1 += meanOf(m.importanceWeightedLogLikelihood(x, 1, new Generator(200 + r))) / R;
      expect(Math.abs(k1 + negElbo)).toBeLessThan(0.01 * negElbo);
      const k50 = meanOf(m.importanceWeightedLogLikelihood(x, 50, new Generator(7)));
      const k5 = meanOf(m.importanceWeightedLogLikelihood(x, 5, new Generator(7)));
      // log p(x) ≥ ELBO: the IW estimate lies above −(negative ELBO), increasingly so with k
      expect(k5).toBeGreaterThan(-negElbo);
      expect(k50).toBeGreaterThan(k5 - 0.2);
      expect(k50 - -negElbo).toBeLessThan(20); // and not absurdly far above it
    });

    it('the IW estimate is stable for any k·B (chunked log-sum-exp)', () => {
      const a = m.importanceWeightedLogLikelihood(x.narrow(0, 0, 2), 3000, new Generator(1));
      for (const v of a) expect(Number.isFinite(v)).toBe(true);
      expect(() => m.importanceWeightedLogLikelihood(x, 0, new Generator(1))).toThrow(/k/);
    });
  });

  it('accepts images as (B, 1, 28, 28) too, and rejects wrong sizes', () => {
    const m = make();
    expect(m.encode(digits(2, 0, 'image').x).shape).toEqual([2, 4]);
    expect(() => m.encode(tensor(new Float32Array(20), [2, 10]))).toThrow(/784/);
  });
});
