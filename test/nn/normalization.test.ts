/** BatchNorm1d/2d layers: running statistics over several steps, eval mode, options and errors. */
import { describe, expect, it } from 'vitest';
import { mean, nn, variance, zeros } from '../../src/index.js';
import { expectClose, expectGrad, normal } from '../helpers/engine.js';

describe('BatchNorm', () => {
  it('running stats follow r ← (1 − m)·r + m·stat over several steps (unbiased variance), counting batches', () => {
    const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    for (let step = 0; step < 4; step++) {
      const x = normal([4, 3, 2, 2], 10 + step, false);
      bn.forward(x);
      const m = mean(x, [0, 2, 3]).toList();
      const v = variance(x, [0, 2, 3]).toList();
      rm = rm.map((r, c) => 0.8 * r + 0.2 * m[c]!);
      rv = rv.map((r, c) => 0.8 * r + 0.2 * v[c]!);
    }
    expectClose(bn.runningMean!.data, rm, 1e-5);
    expectClose(bn.runningVar!.data, rv, 1e-5);
    expect(bn.numBatchesTracked!.item()).toBe(4);
  });

  it('eval uses the running stats and leaves them alone', () => {
    const bn = new nn.BatchNorm1d(2);
    bn.runningMean!.data.set([1, -1]);
    bn.runningVar!.data.set([4, 0.25]);
    bn.weight!.data.set([2, 1]);
    bn.bias!.data.set([0, 3]);
    bn.eval();
    const y = bn.forward(normal([3, 2], 1, false).mul(0).add(1));
    const c1 = 2 / Math.sqrt(0.25 + 1e-5) + 3; // (1 − (−1))/√(0.25 + ε)·1 + 3
    expectClose(y.data, [0, c1, 0, c1, 0, c1], 1e-5);
    expect(bn.runningMean!.toList()).toEqual([1, -1]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('(N, C, L) input for BatchNorm1d; affine: false has no parameters; trackRunningStats: false has no buffers', () => {
    expect(new nn.BatchNorm1d(3).forward(normal([4, 3, 5], 2, false)).shape).toEqual([4, 3, 5]);
    const na = new nn.BatchNorm1d(3, { affine: false });
    expect(na.numParameters()).toBe(0);
    expect(Object.keys(na.stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    const nt = new nn.BatchNorm2d(2, { trackRunningStats: false }).eval();
    expect(Object.keys(nt.stateDict())).toEqual(['weight', 'bias']);
    // without running stats eval normalises with the batch statistics
    const y = nt.forward(normal([4, 2, 3, 3], 3, false));
    expectClose(mean(y, [0, 2, 3]).data, [0, 0], 1e-5);
  });

  it('gradient through the layer in train mode', () => {
    const bn = new nn.BatchNorm1d(3);
    expectGrad((x) => bn.forward(x), [normal([5, 3], 4)], { atol: 1e-4, rtol: 1e-3 });
  });

  it('errors name the layer and the shape', () => {
    expect(() => new nn.BatchNorm2d(3).forward(zeros([2, 3]))).toThrow(/BatchNorm2d: expected a 4-D input, got \[2, 3\]/);
    const bn = new nn.BatchNorm1d(3);
    expect(() => bn.forward(zeros([2, 4]))).toThrow(/batchNorm: runningMean has 3 elements, input \[2, 4\] has 4 channels/);
    // a failed forward does not count as a tracked batch
    expect(bn.numBatchesTracked!.item()).toBe(0);
    expect(() => new nn.BatchNorm1d(0)).toThrow(/BatchNorm1d: numFeatures must be a positive integer/);
  });
});

// torch.nn.BatchNorm1d/2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
describe("PyTorch's positional arguments", () => {
  it('BatchNorm1d(num, eps, momentum, affine, trackRunningStats)', () => {
    const bn = new nn.BatchNorm1d(3, 1e-3, 0.3, false, false);
    expect([bn.eps, bn.momentum]).toEqual([1e-3, 0.3]);
    expect(bn.weight).toBeNull();
    expect(bn.runningMean).toBeNull();
    expect(Object.keys(bn.stateDict())).toEqual([]);
    const b2 = new nn.BatchNorm2d(2, 1e-5, 0.2);
    expect(Object.keys(b2.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(b2.momentum).toBe(0.2);
    expect(new nn.BatchNorm2d(2, { affine: false }).weight).toBeNull();
    expect(() => new nn.BatchNorm1d(3, 1e-5, null as never)).toThrow(/BatchNorm1d: momentum=null \(a cumulative moving average\) is not supported/);
  });
});
