/**
 * A tiny autoencoder trained on random data with the public API and a hand-written loop (the
 * README's first library example).
 *
 *   npm run example -- tiny-ae [--steps 300]     (in this repository)
 *   npx tsx tiny-ae.ts                           (in your project, after npm install aelab tsx)
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { nn, optim, losses, randn, noGrad, tidy, manualSeed } from 'aelab';

export function trainTinyAutoencoder(steps = 300): { first: number; last: number } {
  manualSeed(42);
  // 64 points near a 2-D plane inside 8-D space: an autoencoder with a 2-D code can learn it.
  const codes = randn([64, 2]);
  const data = noGrad(() => codes.matmul(randn([2, 8])).tanh());
  // prettier-ignore
  const model = new nn.Sequential(
    new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 2), // encoder
    new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 8), // decoder
  );
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  let first = NaN;
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    last = tidy(() => {
      opt.zeroGrad();
      const loss = losses.mse(model.forward(data), data); // Gaussian likelihood = MSE
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (step === 0) first = last;
  }
  return { first, last };
}

// Run when executed (npx tsx tiny-ae.ts), not when imported (the tests import the function).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '300' } } });
  const { first, last } = trainTinyAutoencoder(Number(values.steps));
  console.log(`MSE ${first.toFixed(4)} at the first step → ${last.toFixed(4)} after ${values.steps} steps`);
}
