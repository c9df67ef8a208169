/** Batch normalisation layers with PyTorch's parameter and buffer names. */
import { batchNorm } from '../ops/index.js';
import { full, ones, zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkArg, resolveArgs, type PosArgs } from './args.js';
import { Module } from './module.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics (PyTorch's None, a cumulative average, is not supported). */
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** torch.nn.BatchNorm1d/2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True). */
type BatchNormArgs = PosArgs<[eps: number, momentum: number, affine: boolean, trackRunningStats: boolean], BatchNormOptions>;

function batchNormOptions(layer: string, args: BatchNormArgs): BatchNormOptions {
  const o = resolveArgs(layer, ['eps', 'momentum', 'affine', 'trackRunningStats'], args) as BatchNormOptions;
  if ((o.momentum as unknown) === null) throw new Error(`${layer}: momentum=null (a cumulative moving average) is not supported; give a number such as 0.1`);
  checkArg(layer, 'eps', o.eps, 'number');
  checkArg(layer, 'momentum', o.momentum, 'number');
  checkArg(layer, 'affine', o.affine, 'boolean');
  checkArg(layer, 'trackRunningStats', o.trackRunningStats, 'boolean');
  return o;
}

abstract class BatchNormBase extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null = null;
  runningVar: Tensor | null = null;
  numBatchesTracked: Tensor | null = null;
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions,
    private readonly expectedDims: number[],
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new Error(`${this.typeName}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : this.registerParameter('weight', null);
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : this.registerParameter('bias', null);
    if (opts.trackRunningStats ?? true) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0));
    }
  }
  forward(x: Tensor): Tensor {
    if (!this.expectedDims.includes(x.ndim))
      throw new Error(`${this.typeName}: expected a ${this.expectedDims.join(' or ')}-D input, got [${x.shape.join(', ')}]`);
    const y = batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training || !this.runningMean,
      momentum: this.momentum,
      eps: this.eps,
    });
    // counted after the checks in batchNorm, so a rejected input does not count as a batch
    if (this.training && this.numBatchesTracked) this.numBatchesTracked.data[0]! += 1;
    return y;
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}`;
  }
}

/** Over (N, C) or (N, C, L). Arguments as torch.nn.BatchNorm1d(num_features, eps, momentum, affine, track_running_stats). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, ...args: BatchNormArgs) {
    super(numFeatures, batchNormOptions('BatchNorm1d', args), [2, 3]);
  }
}

/** Over (N, C, H, W). Arguments as torch.nn.BatchNorm2d(num_features, eps, momentum, affine, track_running_stats). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, ...args: BatchNormArgs) {
    super(numFeatures, batchNormOptions('BatchNorm2d', args), [4]);
  }
}
