/** Pooling and upsampling layers. */
import { avgPool2d, maxPool2d, upsampleNearest, type Pool2dOptions, type Size2 } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly opts: Pool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride ?? this.kernelSize)}`;
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly opts: Pool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.opts.stride ?? this.kernelSize)}`;
  }
}

/** Nearest-neighbour upsampling by an integer scale factor. */
export class Upsample extends Module {
  readonly scaleFactor: Size2;
  constructor(opts: { scaleFactor: Size2; mode?: 'nearest' }) {
    super();
    if (opts.mode && opts.mode !== 'nearest') throw new Error(`Upsample: only mode 'nearest' is supported, got '${opts.mode}'`);
    this.scaleFactor = opts.scaleFactor;
  }
  forward(x: Tensor): Tensor {
    return upsampleNearest(x, this.scaleFactor);
  }
  override extraRepr(): string {
    return `scaleFactor=${JSON.stringify(this.scaleFactor)}, mode=nearest`;
  }
}
