/** Saving a model's weights with metadata, and loading them into a model built in another program. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nn, randn, type Tensor } from '../../src/index.js';
import { loadModelWeights, readModelMetadata, saveModelWeights } from '../../src/train/checkpoint-node.js';
import { loadSafetensorsSync } from '../../src/io/safetensors-node.js';

class Net extends nn.Module {
  enc = new nn.Linear(4, 3);
  bn = new nn.BatchNorm1d(3);
  dec = new nn.Linear(3, 4);
  forward(x: Tensor): Tensor {
    return this.dec.forward(this.bn.forward(this.enc.forward(x)).relu());
  }
}

describe('saveModelWeights / readModelMetadata / loadModelWeights', () => {
  it('round-trips weights and buffers with PyTorch names, and the metadata strings', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'aelab-ck-')), 'net.safetensors');
    const a = new Net();
    a.forward(randn([8, 4])); // moves the running statistics
    a.eval();
    saveModelWeights(a, path, { config: JSON.stringify({ hidden: 3 }), note: 'test' });
    expect(readModelMetadata(path)).toEqual({ format: 'pt', config: '{"hidden":3}', note: 'test' });
    expect(Object.keys(loadSafetensorsSync(path).tensors).sort()).toEqual(Object.keys(a.stateDict()).sort());
    const b = new Net().eval();
    loadModelWeights(b, path);
    const x = randn([5, 4]);
    expect(b.forward(x).toList()).toEqual(a.forward(x).toList());
  });

  it('errors name the file and what does not fit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aelab-ck-'));
    const path = join(dir, 'net.safetensors');
    saveModelWeights(new Net(), path);
    expect(() => loadModelWeights(new nn.Sequential(new nn.Linear(4, 3)), path)).toThrow(
      /net\.safetensors: Sequential\.loadStateDict: .*unexpected keys: .*'enc\.weight'/s,
    );
    expect(() => saveModelWeights(new Net(), path, { n: 3 as never })).toThrow(/saveModelWeights: metadata 'n' must be a string/);
    writeFileSync(join(dir, 'bad.safetensors'), 'nope');
    expect(() => readModelMetadata(join(dir, 'bad.safetensors'))).toThrow(/bad\.safetensors: .*file is 4 bytes, too short/);
    expect(() => readModelMetadata(join(dir, 'missing.safetensors'))).toThrow(/missing\.safetensors: cannot read/);
  });
});
