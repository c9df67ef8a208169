import { describe, expect, it } from 'vitest';
import { trainTinyAutoencoder } from '../../examples/tiny-ae.js';

describe('README library example', () => {
  it('trains the tiny autoencoder: the loss falls by more than 10×', () => {
    const { first, last } = trainTinyAutoencoder(300);
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(first / 10);
  });
});
