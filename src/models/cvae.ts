/**
 * The conditional VAE (Sohn et al., 2015; seed 000, chapter 4): the label y is given to both
 * networks as a one-hot vector concatenated to their inputs,
 *
 *   q_φ(z | x, y) = N(μ_φ([x, onehot(y)]), diag σ²_φ(·)),   p_θ(x | z, y) = decoder([z, onehot(y)]),
 *
 * and the objective is the conditional negative ELBO per image,
 *
 *   −ELBO(x | y) = E_q[−log p(x | z, y)] + KL(q(z | x, y) ‖ N(0, I)).
 *
 * Because the decoder is told which digit to draw, the code z is free to hold only the style
 * (slant, thickness), so `sample(n, gen, labels)` draws chosen digits in random styles and
 * decoding one z with every label renders the same style as each digit.
 *
 * Layout (PyTorch names): encoder.0 is Linear(D + classes, h₀), fc_mu, fc_logvar, decoder.0 is
 * Linear(latent + classes, h_last).
 */
import { noGrad } from '../autograd/tape.js';
import { checkPositiveInt, type BuildOptions } from './common.js';
import type { Generator } from '../tensor/random.js';
import { tidy, type Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import { concat } from '../ops/index.js';
import type { CVAEConfig } from './types.js';
import { VAE } from './vae.js';

export class CVAE extends VAE {
  declare readonly kind: 'cvae';
  declare readonly config: CVAEConfig;

  constructor(config: CVAEConfig, opts: BuildOptions = {}) {
    if (config.kind !== 'cvae') throw new Error(`cvae: config.kind must be 'cvae', got '${String(config.kind)}'`);
    super(config, opts);
  }

  get numClasses(): number {
    return this.condClasses;
  }

  /**
   * Draws z ~ N(0, I) and decodes it as the given labels (one per sample). Without labels the
   * samples cycle through the classes: 0, 1, …, numClasses−1, 0, 1, …
   */
  override sample(n: number, gen: Generator, labels?: Int32Array | null): Tensor {
    checkPositiveInt('cvae.sample', 'n', n);
    const y = labels ?? Int32Array.from({ length: n }, (_, i) => i % this.condClasses);
    if (y.length !== n) throw new Error(`cvae.sample: got ${y.length} labels for ${n} samples`);
    return super.sample(n, gen, y);
  }

  /**
   * One style per row, rendered as every class: z_i ~ N(0, I) for i < nStyles, decoded with
   * labels 0..numClasses−1. Returns (nStyles·numClasses, D), row-major by style then class.
   */
  styleGrid(nStyles: number, gen: Generator): Tensor {
    checkPositiveInt('cvae.styleGrid', 'nStyles', nStyles);
    const C = this.condClasses;
    return noGrad(() =>
      tidy(() => {
        const z = randn([nStyles, this.latentDim], { generator: gen });
        const rows: Tensor[] = [];
        const labels = new Int32Array(nStyles * C);
        for (let s = 0; s < nStyles; s++) {
          for (let c = 0; c < C; c++) {
            rows.push(z.narrow(0, s, 1));
            labels[s * C + c] = c;
          }
        }
        return this.decode(concat(rows, 0), labels);
      }),
    );
  }
}
