/**
 * Step 1 of 2: train an autoencoder and save it for another program — the weights as safetensors
 * (PyTorch's names and layout; `safetensors.torch.load_file` reads it too) with the model's
 * config in the file's header. Step 2 is load-model.ts.
 *
 *   npm run example -- save-model [--out runs/examples/saved-ae] [--epochs 5]
 *   npm run example -- load-model [--model runs/examples/saved-ae/model.safetensors]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { data, losses, nn, saveModelWeights, TensorDataset, Trainer, type Tensor } from 'aelab';

/** Everything needed to rebuild the model: saved with the weights, as JSON. */
export interface AutoencoderConfig {
  inputDim: number;
  hidden: number;
  latent: number;
}

/** A dense autoencoder whose decoder gives logits; the program that loads it imports this class. */
export class DenseAutoencoder extends nn.Module {
  readonly config: AutoencoderConfig;
  encoder: nn.Sequential;
  decoder: nn.Sequential;
  constructor(config: AutoencoderConfig) {
    super();
    this.config = { ...config };
    const { inputDim, hidden, latent } = config;
    this.encoder = new nn.Sequential(new nn.Linear(inputDim, hidden), new nn.ReLU(), new nn.Linear(hidden, latent));
    this.decoder = new nn.Sequential(new nn.Linear(latent, hidden), new nn.ReLU(), new nn.Linear(hidden, inputDim));
  }
  encode(x: Tensor): Tensor {
    return this.encoder.forward(x);
  }
  forward(x: Tensor): Tensor {
    return this.decoder.forward(this.encode(x));
  }
}

export interface SaveOptions {
  out?: string;
  epochs?: number;
  samples?: number;
  quiet?: boolean;
}

export async function main(opts: SaveOptions = {}): Promise<{ model: DenseAutoencoder; path: string }> {
  const { out = join('runs', 'examples', 'saved-ae'), epochs = 5, samples = 8000, quiet = false } = opts;
  const train = data.sampleDataset(data.loadEmbeddedMnist('train'), samples, 1);
  const model = new DenseAutoencoder({ inputDim: 784, hidden: 128, latent: 8 });
  const fit = await new Trainer(model, {
    data: TensorDataset.fromImages(train, { layout: 'flat', labels: false }),
    loss: losses.bceWithLogits,
    lr: 2e-3,
    epochs,
    batchSize: 64,
  }).fit();
  const path = join(out, 'model.safetensors');
  saveModelWeights(model, path, { config: JSON.stringify(model.config), trainedEpochs: String(fit.epochsCompleted) });
  if (!quiet) console.log(`trained ${fit.epochsCompleted} epochs (loss ${fit.history.at(-1)?.train.loss?.toFixed(4)}); saved ${path}`);
  return { model, path };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { values } = parseArgs({ options: { out: { type: 'string' }, epochs: { type: 'string' } } });
    await main({ ...(values.out && { out: values.out }), ...(values.epochs && { epochs: Number(values.epochs) }) });
  } catch (e) {
    // a user's mistake (a missing file, an unknown option) as one line, not a stack trace
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
