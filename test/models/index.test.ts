import { describe, expect, it } from 'vitest';
import {
  MODEL_KINDS,
  buildModel,
  defaultConfig,
  isAutoencoder,
  isClassifier,
  isGenerative,
  type AutoencoderModel,
  type ModelConfig,
} from '../../src/models/index.js';
import { Generator, liveTensorCount, noGrad } from '../../src/index.js';
import { adam, ctx, digits } from './helpers.js';

describe('models index', () => {
  it('builds every kind from its default config, and rebuilds it from the saved JSON config', () => {
    for (const kind of MODEL_KINDS) {
      const cfg = defaultConfig(kind, [1, 28, 28]);
      expect(cfg.kind).toBe(kind);
      const m = buildModel(cfg, { generator: new Generator(1) });
      expect(m.kind).toBe(kind);
      expect(m.config).toEqual(cfg);
      const again = buildModel(JSON.parse(JSON.stringify(m.config)) as ModelConfig);
      const names = (x: typeof m) => x.namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`);
      expect(names(again)).toEqual(names(m));
      again.loadStateDict(m.stateDict());
      expect(isAutoencoder(m)).toBe(kind !== 'mlp' && kind !== 'cnn');
      expect(isClassifier(m)).toBe(kind === 'mlp' || kind === 'cnn');
      expect(isGenerative(m)).toBe(kind === 'vae' || kind === 'cvae' || kind === 'aae');
      expect(m.needsLabels).toBe(kind === 'cvae' || kind === 'mlp' || kind === 'cnn');
      expect(m.inputLayout).toBe(kind === 'conv-ae' || kind === 'cnn' ? 'image' : 'flat');
    }
  });

  it('the CLI default is a small 2-D VAE', () => {
    const cfg = defaultConfig('vae', [1, 28, 28]);
    expect(cfg.latent).toBe(2);
    expect(cfg.hidden.length).toBe(1);
    expect(cfg.hidden[0]).toBeLessThanOrEqual(512);
    expect(cfg.decoder).toBe('bernoulli');
  });

  it('applies overrides and rejects unknown ones', () => {
    const cfg = defaultConfig('ae', [3, 32, 32], { latent: 7, hidden: [10] });
    expect(cfg).toMatchObject({ kind: 'ae', latent: 7, hidden: [10], inputShape: [3, 32, 32] });
    expect(() => defaultConfig('ae', [1, 28, 28], { latnet: 3 } as never)).toThrow(/no option 'latnet'/);
    expect(() => defaultConfig('gan' as never, [1, 28, 28])).toThrow(/unknown model kind/);
    expect(() => defaultConfig('ae', [28, 28])).toThrow(/inputShape/);
    expect(() => buildModel({ kind: 'gan' } as never)).toThrow(/unknown model kind 'gan'/);
    // defaults are not shared between calls
    const a = defaultConfig('ae', [1, 28, 28]);
    a.hidden.push(1);
    expect(defaultConfig('ae', [1, 28, 28]).hidden).toEqual([512, 256]);
  });

  it('every autoencoder runs one step and the AutoencoderModel methods on real digits', () => {
    for (const kind of ['ae', 'sparse-ae', 'dae', 'vae', 'cvae', 'aae', 'conv-ae'] as const) {
      const over: Record<string, unknown> = kind === 'conv-ae' ? { channels: [4, 8] } : { hidden: [32] };
      const m = buildModel(defaultConfig(kind, [1, 28, 28], over), { generator: new Generator(2) }) as AutoencoderModel;
      const { x, y } = digits(8, 0, m.inputLayout);
      const parts = m.trainStep({ x, y }, m.createOptimizers(adam()), ctx());
      expect(Number.isFinite(parts.loss!)).toBe(true);
      noGrad(() => {
        expect(m.encode(x, y).shape).toEqual([8, m.latentDim]);
        expect(m.reconstruct(x, y).shape).toEqual(x.shape);
        expect(m.reconstructionError(x, y).length).toBe(8);
        if (m.sample) expect(m.sample(3, new Generator(1), Int32Array.from([1, 2, 3])).shape[0]).toBe(3);
      });
    }
  });

  it('keeps memory flat: no tensors are left behind by training or evaluation steps', () => {
    for (const kind of MODEL_KINDS) {
      const over: Record<string, unknown> =
        kind === 'conv-ae' || kind === 'cnn' ? { channels: [4] } : kind === 'mlp' ? { hidden: [16] } : { hidden: [16] };
      const m = buildModel(defaultConfig(kind, [1, 28, 28], over as never), { generator: new Generator(3) });
      const opts = m.createOptimizers(adam());
      const { x, y } = digits(8, 0, m.inputLayout);
      const c = ctx();
      const step = () => {
        m.trainStep({ x, y }, opts, c);
        noGrad(() => m.evaluate({ x, y }, c).loss.dispose());
      };
      step();
      const live = liveTensorCount();
      step();
      step();
      expect(liveTensorCount(), kind).toBe(live);
    }
  });
});
