/**
 * Step 2 of 2: a separate program that loads the model save-model.ts saved — the config from the
 * safetensors header, the class from the module that defines it, the weights by name — and uses
 * it: codes and reconstruction errors of a few test digits.
 *
 *   npm run example -- load-model [--model runs/examples/saved-ae/model.safetensors]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { data, loadModelWeights, losses, noGrad, readModelMetadata, TensorDataset, type Tensor } from 'aelab';
import { DenseAutoencoder, type AutoencoderConfig } from './save-model.js';

/** Rebuilds the model a file was saved from and loads its weights, ready for inference. */
export function loadAutoencoder(path: string): DenseAutoencoder {
  const meta = readModelMetadata(path);
  if (!meta.config) throw new Error(`${path}: no 'config' in the file's metadata; was it written by save-model.ts?`);
  const model = new DenseAutoencoder(JSON.parse(meta.config) as AutoencoderConfig);
  loadModelWeights(model, path); // strict: every name and shape must match
  return model.eval();
}

export function main(opts: { model?: string; n?: number; quiet?: boolean } = {}): { codes: Tensor; errors: number[] } {
  const { model: path = join('runs', 'examples', 'saved-ae', 'model.safetensors'), n = 8, quiet = false } = opts;
  const model = loadAutoencoder(path);
  const test = data.loadEmbeddedMnist('test');
  const [x] = TensorDataset.fromImages(test, { layout: 'flat', labels: false }).gather(Array.from({ length: n }, (_, i) => i));
  return noGrad(() => {
    const codes = model.encode(x!);
    const recon = model.decoder.forward(codes).sigmoid();
    const errors = Array.from(losses.mse(recon, x!, { reduction: 'none' }).mean(1).data);
    if (!quiet) {
      console.log(`loaded ${path}: ${JSON.stringify(model.config)}`);
      errors.forEach((e, i) =>
        console.log(
          `digit ${test.labels![i]}: code [${Array.from(codes.data.subarray(i * 8, i * 8 + 8), (v) => v.toFixed(2)).join(', ')}]  reconstruction MSE ${e.toFixed(4)}`,
        ),
      );
    }
    return { codes, errors };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { values } = parseArgs({ options: { model: { type: 'string' } } });
    main({ ...(values.model && { model: values.model }) });
  } catch (e) {
    // a user's mistake (a missing file, an unknown option) as one line, not a stack trace
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
