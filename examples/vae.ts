/**
 * A variational autoencoder written from scratch with the library: an encoder giving the mean
 * and log-variance of q(z|x), the reparameterisation z = μ + σ·ε, a decoder giving Bernoulli
 * logits, and the negative ELBO = reconstruction NLL + KL(q(z|x) ‖ N(0, I)), trained with the fit
 * loop through a step function of its own. Writes digits sampled from the prior as a PNG.
 *
 *   npm run example -- vae [--epochs 10] [--samples 8000] [--out runs/examples/vae]
 *   npx tsx vae.ts                     (in your project, after npm install aelab tsx)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  add,
  data,
  io,
  losses,
  nn,
  noGrad,
  randn,
  Generator,
  ProgressBar,
  TensorDataset,
  Trainer,
  type FitResult,
  type Tensor,
} from 'aelab';

const LATENT = 2;

export class VAE extends nn.Module {
  hidden = new nn.Linear(784, 400);
  mu = new nn.Linear(400, LATENT);
  logvar = new nn.Linear(400, LATENT);
  decHidden = new nn.Linear(LATENT, 400);
  decOut = new nn.Linear(400, 784);

  /** q(z|x) = N(μ, diag σ²): its mean and log-variance, each (B, LATENT). */
  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const h = this.hidden.forward(x).relu();
    return { mu: this.mu.forward(h), logvar: this.logvar.forward(h) };
  }

  /** z = μ + σ·ε with ε ~ N(0, I): a sample whose gradient flows to μ and σ (the reparameterisation trick). */
  sample(mu: Tensor, logvar: Tensor, generator: Generator): Tensor {
    const eps = randn(mu.shape, { generator });
    return add(mu, logvar.mul(0.5).exp().mul(eps));
  }

  /** Logits of p(x|z), a Bernoulli per pixel. */
  decode(z: Tensor): Tensor {
    return this.decOut.forward(this.decHidden.forward(z).relu());
  }

  /** The reconstruction from the posterior mean. */
  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x).mu).sigmoid();
  }

  /** −ELBO per digit = E_q[−log p(x|z)] + KL(q(z|x) ‖ N(0, I)), averaged over the batch, one sample of z. */
  negativeElbo(x: Tensor, generator: Generator): { loss: Tensor; recon: Tensor; kl: Tensor } {
    const { mu, logvar } = this.encode(x);
    const z = this.sample(mu, logvar, generator);
    const recon = losses.bernoulliNllWithLogits(this.decode(z), x); // Σ over pixels, mean over the batch
    const kl = losses.klNormal(mu, logvar); // −½ Σ (1 + log σ² − μ² − σ²), mean over the batch
    return { loss: add(recon, kl), recon, kl };
  }
}

export interface VaeOptions {
  epochs?: number;
  samples?: number;
  batchSize?: number;
  out?: string;
  quiet?: boolean;
}

export async function main(opts: VaeOptions = {}): Promise<{ model: VAE; fit: FitResult; png: string }> {
  const { epochs = 10, samples = 8000, batchSize = 128, out = join('runs', 'examples', 'vae'), quiet = false } = opts;
  const train = data.sampleDataset(data.loadEmbeddedMnist('train'), samples, 1);
  const test = data.sampleDataset(data.loadEmbeddedMnist('test'), Math.min(1000, samples), 2);
  const model = new VAE();
  const trainer = new Trainer(model, {
    data: TensorDataset.fromImages(train, { layout: 'flat', labels: false }),
    validationData: TensorDataset.fromImages(test, { layout: 'flat', labels: false }),
    // ctx.generator is the trainer's seeded generator (saved in checkpoints): ε draws resume exactly
    step: ({ x }, ctx) => {
      const { loss, recon, kl } = model.negativeElbo(x, ctx.generator);
      return { loss, logs: { recon: recon.item(), kl: kl.item() } };
    },
    optimizer: 'adam',
    lr: 1e-3,
    epochs,
    batchSize,
    callbacks: quiet ? [] : [new ProgressBar()],
  });
  const fit = await trainer.fit();

  // decode 64 draws from the prior N(0, I)
  model.eval();
  const digits = noGrad(() => model.decode(randn([64, LATENT], { generator: new Generator(7) })).sigmoid());
  const png = join(out, 'samples.png');
  await io.saveImageGrid(png, digits.data, 64, 28, 28, { cols: 8, scale: 2 });
  if (!quiet) console.log(`−ELBO ${fit.history.at(-1)?.val.loss?.toFixed(1)} nats per test digit; samples from the prior: ${png}`);
  return { model, fit, png };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { values } = parseArgs({ options: { epochs: { type: 'string' }, samples: { type: 'string' }, out: { type: 'string' } } });
    await main({
      ...(values.epochs && { epochs: Number(values.epochs) }),
      ...(values.samples && { samples: Number(values.samples) }),
      ...(values.out && { out: values.out }),
    });
  } catch (e) {
    // a user's mistake (a missing file, an unknown option) as one line, not a stack trace
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
