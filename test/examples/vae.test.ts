import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { io } from '../../src/index.js';
import { main } from '../../examples/vae.js';

describe('examples/vae.ts', () => {
  it('trains the VAE from scratch (shortened): −ELBO falls, and it is the reconstruction term plus the KL term', async () => {
    const out = mkdtempSync(join(tmpdir(), 'aelab-ex-'));
    const { fit, png } = await main({ samples: 512, epochs: 2, batchSize: 64, out, quiet: true });
    const [e0, e1] = fit.history;
    expect(e1!.train.loss).toBeLessThan(e0!.train.loss!);
    expect(e1!.val.loss).toBeLessThan(e0!.val.loss!);
    expect(e1!.train.loss).toBeCloseTo(e1!.train.recon! + e1!.train.kl!, 3);
    expect(e1!.train.kl).toBeGreaterThan(0);
    expect(io.decodePng(readFileSync(png)).width).toBe(8 * 57 + 1);
  });
});
