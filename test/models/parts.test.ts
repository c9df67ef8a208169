/** The names of the logged parts: documented, renamed from earlier versions, and the Gaussian decoder's note. */
import { describe, expect, it } from 'vitest';
import { buildModel, defaultConfig, PART_DOCS, partDocsFor, partsNote, renameLegacyParts } from '../../src/models/index.js';
import { Generator } from '../../src/index.js';
import { digits } from './helpers.js';

describe('model parts', () => {
  it('every part a model reports is documented', () => {
    for (const kind of ['ae', 'conv-ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'mlp', 'cnn'] as const) {
      const m = buildModel(defaultConfig(kind, [1, 28, 28], kind === 'vae' ? { decoder: 'gaussian' } : {}), { generator: new Generator(1) });
      const { x, y } = digits(4, 0, m.inputLayout);
      const parts = m.evaluate({ x, y }, { generator: new Generator(2), epoch: 0 }).parts;
      for (const k of Object.keys(parts)) expect(PART_DOCS[k], `${kind}: ${k}`).toBeDefined();
      expect(Object.keys(partDocsFor(parts)).sort()).toEqual(Object.keys(parts).sort());
    }
  });

  it("renames an earlier version's 'elbo' to 'neg_elbo' for the VAE family only", () => {
    const old = { loss: 170, recon: 160, kl: 10, elbo: 170 };
    expect(renameLegacyParts('vae', old)).toEqual({ loss: 170, recon: 160, kl: 10, neg_elbo: 170 });
    expect(renameLegacyParts('cvae', old)).toHaveProperty('neg_elbo', 170);
    expect(renameLegacyParts('ae', old)).toBe(old);
    const current = { loss: 1, neg_elbo: 1 };
    expect(renameLegacyParts('vae', current)).toBe(current);
  });

  it('explains negative nats for a Gaussian decoder, and only there', () => {
    expect(partsNote({ kind: 'vae', config: defaultConfig('vae', [1, 28, 28], { decoder: 'gaussian' }) })).toMatch(/density, which can exceed 1/);
    expect(partsNote({ kind: 'cvae', config: defaultConfig('cvae', [1, 28, 28], { decoder: 'gaussian' }) })).not.toBeNull();
    expect(partsNote({ kind: 'vae', config: defaultConfig('vae', [1, 28, 28]) })).toBeNull();
    expect(partsNote({ kind: 'ae', config: defaultConfig('ae', [1, 28, 28], { loss: 'mse' }) })).toBeNull();
  });
});
