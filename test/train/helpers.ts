/** A tiny family model for trainer tests: a dense AE 16-8-16 with MSE, no dependency on src/models. */
import { Linear, Sequential, Tanh } from '../../src/nn/index.js';
import { Module } from '../../src/nn/module.js';
import { mse } from '../../src/nn/losses.js';
import { noGrad } from '../../src/autograd/tape.js';
import { tidy, type Tensor } from '../../src/tensor/tensor.js';
import { createDataset, type ImageDataset } from '../../src/data/dataset.js';
import { Generator } from '../../src/tensor/random.js';
import { mul } from '../../src/ops/index.js';
import { tensor } from '../../src/tensor/creation.js';
import type { Batch, FamilyModel, LossOutput, ModelConfig, OptimizerFactory, OptimizerLike, StepContext } from '../../src/models/types.js';

export class TinyAE extends Module implements FamilyModel {
  readonly kind = 'ae' as const;
  readonly inputLayout = 'flat' as const;
  readonly needsLabels = false;
  readonly config = { kind: 'ae', inputShape: [1, 4, 4], hidden: [], latent: 8, activation: 'tanh', loss: 'mse' } as ModelConfig;
  net: Sequential;
  /** Multiplies the loss, to force divergence in a test. */
  lossScale = 1;
  constructor() {
    super();
    this.net = this.registerModule('net', new Sequential(new Linear(16, 8), new Tanh(), new Linear(8, 16)));
  }
  forward(x: Tensor): Tensor {
    return this.net.forward(x);
  }
  createOptimizers(make: OptimizerFactory): Record<string, OptimizerLike> {
    return { main: make(this.parameters(), 'main') };
  }
  private objective(b: Batch, ctx: StepContext): LossOutput {
    // a little noise from the step generator, so generator state matters for exact resume
    const noise = new Float32Array(b.x.size);
    ctx.generator.fillNormal(noise, 0, 0.01);
    const x = b.x.add(tensor(noise, b.x.shape));
    const loss = mul(mse(this.forward(x), b.x), this.lossScale);
    return { loss, parts: { loss: loss.item() } };
  }
  trainStep(b: Batch, opts: Record<string, OptimizerLike>, ctx: StepContext): Record<string, number> {
    return tidy(() => {
      const opt = opts.main!;
      opt.zeroGrad();
      const { loss, parts } = this.objective(b, ctx);
      loss.backward();
      opt.step();
      return parts;
    });
  }
  evaluate(b: Batch, ctx: StepContext): LossOutput {
    return noGrad(() => this.objective(b, ctx));
  }
}

export function randomImages(n: number, seed = 0): ImageDataset {
  const g = new Generator(seed);
  const images = new Float32Array(n * 16);
  for (let i = 0; i < images.length; i++) images[i] = g.random();
  return createDataset({ name: 'random', images, labels: Int32Array.from({ length: n }, (_, i) => i % 2), channels: 1, height: 4, width: 4 });
}
