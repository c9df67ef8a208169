import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { data, noGrad, saveModelWeights, TensorDataset } from '../../src/index.js';
import { main as save, DenseAutoencoder } from '../../examples/save-model.js';
import { loadAutoencoder, main as load } from '../../examples/load-model.js';

describe('examples/save-model.ts + load-model.ts', () => {
  it('the loaded model gives the trained one’s outputs exactly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aelab-ex-'));
    const { model, path } = await save({ out, epochs: 1, samples: 256, quiet: true });
    const { codes, errors } = load({ model: path, n: 8, quiet: true });
    const test = data.loadEmbeddedMnist('test');
    const [x] = TensorDataset.fromImages(test, { layout: 'flat', labels: false }).gather([0, 1, 2, 3, 4, 5, 6, 7]);
    model.eval();
    expect(codes.toList()).toEqual(noGrad(() => model.encode(x!)).toList());
    expect(errors).toHaveLength(8);
    const again = loadAutoencoder(path);
    expect(again.config).toEqual({ inputDim: 784, hidden: 128, latent: 8 });
  });

  it('a file without the config is refused with its name', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'aelab-ex-')), 'bare.safetensors');
    saveModelWeights(new DenseAutoencoder({ inputDim: 4, hidden: 3, latent: 2 }), path);
    expect(() => loadAutoencoder(path)).toThrow(/bare\.safetensors: no 'config' in the file's metadata/);
  });
});
