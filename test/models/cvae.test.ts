import { beforeAll, describe, expect, it } from 'vitest';
import { CVAE, defaultConfig, buildModel } from '../../src/models/index.js';
import { Generator, noGrad, zeros } from '../../src/index.js';
import { avgPart, digits, mnist, paramShapes, train } from './helpers.js';

const make = (over: Record<string, unknown> = {}) =>
  new CVAE(defaultConfig('cvae', [1, 28, 28], { hidden: [64], latent: 2, ...over }), { generator: new Generator(4) });

describe('CVAE', () => {
  it('concatenates the one-hot label to the encoder and decoder inputs', () => {
    const m = make();
    const s = paramShapes(m);
    expect(s['encoder.0.weight']).toEqual([64, 784 + 10]);
    expect(s['decoder.0.weight']).toEqual([64, 2 + 10]);
    expect(s['fc_mu.weight']).toEqual([2, 64]);
    expect(m.kind).toBe('cvae');
    expect(m.needsLabels).toBe(true);
    expect(m.numClasses).toBe(10);
    expect(buildModel(m.config)).toBeInstanceOf(CVAE);
  });

  it('needs labels, one per sample, in range', () => {
    const m = make();
    const { x, y } = digits(4);
    expect(() => m.encode(x)).toThrow(/labels/);
    expect(() => m.evaluate({ x, y: null }, { generator: new Generator(1), epoch: 0 })).toThrow(/labels/);
    expect(() => m.encode(x, y.subarray(0, 3))).toThrow(/3 labels/);
    expect(() => m.encode(x, Int32Array.from([0, 1, 2, 10]))).toThrow(/label 10/);
    expect(m.encode(x, y).shape).toEqual([4, 2]);
  });

  it('samples the requested labels in the requested shape', () => {
    const m = make();
    const s = m.sample(6, new Generator(1), Int32Array.from([3, 3, 3, 7, 7, 7]));
    expect(s.shape).toEqual([6, 784]);
    expect(m.sample(12, new Generator(1)).shape).toEqual([12, 784]); // labels cycle 0..9
    expect(() => m.sample(3, new Generator(1), Int32Array.from([1, 2]))).toThrow(/2 labels for 3/);
    expect(m.styleGrid(3, new Generator(2)).shape).toEqual([30, 784]);
  });

  describe('after training on real digits', () => {
    const m = make();
    let history: Record<string, number>[] = [];
    beforeAll(() => {
      history = train(m, 200, { lr: 5e-3, pool: 2000, batch: 48 }).history;
      m.eval();
    });

    it('the conditional negative ELBO fell clearly', () => {
      expect(avgPart(history, 'neg_elbo', 'last')).toBeLessThan(avgPart(history, 'neg_elbo', 'first') - 250);
    });

    it('decodes each label as its digit: the same z rendered as c is closest to class c', () => {
      // class means of 2,000 other digits
      const ds = mnist();
      const means = Array.from({ length: 10 }, () => new Float64Array(784));
      const counts = new Array<number>(10).fill(0);
      for (let i = 2000; i < 4000; i++) {
        const c = ds.labels![i]!;
        counts[c]!++;
        for (let j = 0; j < 784; j++) means[c]![j] = means[c]![j]! + ds.images[i * 784 + j]!;
      }
      means.forEach((mu, c) => mu.forEach((v, j) => (mu[j] = v / counts[c]!)));
      const z = zeros([1, 2]); // the prior's mode: the 'average style'
      let hits = 0;
      for (let c = 0; c < 10; c++) {
        const img = noGrad(() => m.decode(z, Int32Array.from([c]))).data;
        let best = -1;
        let bestD = Infinity;
        for (let k = 0; k < 10; k++) {
          let dd = 0;
          for (let j = 0; j < 784; j++) dd += (img[j]! - means[k]![j]!) ** 2;
          if (dd < bestD) {
            bestD = dd;
            best = k;
          }
        }
        if (best === c) hits++;
      }
      expect(hits).toBeGreaterThanOrEqual(8);
      // and the sample for one label does not depend on the other samples' labels
      const a = m.sample(2, new Generator(9), Int32Array.from([5, 1])).data.subarray(0, 784);
      const b = m.sample(2, new Generator(9), Int32Array.from([5, 8])).data.subarray(0, 784);
      expect(Array.from(a)).toEqual(Array.from(b));
    });

    it('has a finite conditional IW log-likelihood that is at least the ELBO', () => {
      const { x, y } = digits(16, 3000);
      const negElbo = noGrad(() => m.evaluate({ x, y }, { generator: new Generator(1), epoch: 0 }).parts.neg_elbo!);
      const iw = m.importanceWeightedLogLikelihood(x, 20, new Generator(2), y);
      const mean = Array.from(iw).reduce((a, b) => a + b, 0) / iw.length;
      expect(mean).toBeGreaterThan(-negElbo - 3);
    });
  });
});
