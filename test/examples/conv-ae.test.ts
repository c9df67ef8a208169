import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { io } from '../../src/index.js';
import { ConvAutoencoder, main } from '../../examples/conv-ae.js';

describe('examples/conv-ae.ts', () => {
  it('registers its field layers under their names', () => {
    expect(Object.keys(new ConvAutoencoder().stateDict())).toEqual(
      ['conv1', 'conv2', 'toCode', 'fromCode', 'deconv1', 'deconv2'].flatMap((n) => [`${n}.weight`, `${n}.bias`]),
    );
  });

  it('trains on digits with the fit loop (shortened): the loss falls; writes the reconstructions PNG', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aelab-ex-'));
    const { fit, png } = await main({ samples: 256, epochs: 2, batchSize: 32, out, quiet: true });
    expect(fit.history).toHaveLength(2);
    expect(fit.history[1]!.train.loss).toBeLessThan(fit.history[0]!.train.loss!);
    expect(fit.history[1]!.val.loss).toBeLessThan(fit.history[0]!.val.loss!);
    const img = io.decodePng(readFileSync(png));
    expect([img.width, img.height]).toEqual([8 * 57 + 1, 4 * 57 + 1]); // 8×4 cells of 2·28 pixels, 1-pixel gaps
    expect(existsSync(join(out, 'checkpoints', 'last', 'model.safetensors'))).toBe(true);
  });
});
