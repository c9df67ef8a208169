/** Reductions over axes (with keepdim), and the softmax family built from them. */
import { getBackend } from '../kernels/registry.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, div, exp, log, mul, sqrt, sub } from './elementwise.js';
import { detach, reshape } from './shape.js';
import { checkTensor, normAxes, normAxis } from './util.js';

export type Axes = number | readonly number[] | undefined;

function keepShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function dropShape(shape: readonly number[], axes: number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

function reduceOp(op: 'sum' | 'max' | 'min', x: Tensor, dims: Axes, keepdim: boolean): Tensor {
  checkTensor(op, x);
  const axes = normAxes(op, dims, x.ndim);
  if ((op === 'max' || op === 'min') && axes.some((a) => x.shape[a] === 0))
    throw new Error(`${op}: cannot reduce an empty dimension of shape [${x.shape.join(', ')}]`);
  const ks = keepShape(x.shape, axes);
  const out = Tensor.empty(keepdim ? ks : dropShape(x.shape, axes));
  if (axes.length === 0) getBackend().copy(x.data, out.data);
  else getBackend().reduce(op, x.data, x.shape, axes, out.data);
  return record(out, op, [x], { axes, keepShape: ks });
}

/** Sum over dims (all when omitted). */
export const sum = (x: Tensor, dims?: Axes, keepdim = false): Tensor => reduceOp('sum', x, dims, keepdim);
/** Max over dims; ties share the gradient equally. */
export const max = (x: Tensor, dims?: Axes, keepdim = false): Tensor => reduceOp('max', x, dims, keepdim);
export const min = (x: Tensor, dims?: Axes, keepdim = false): Tensor => reduceOp('min', x, dims, keepdim);

function countOf(x: Tensor, dims: Axes, op: string): number {
  return normAxes(op, dims, x.ndim).reduce((n, a) => n * x.shape[a]!, 1);
}

export function mean(x: Tensor, dims?: Axes, keepdim = false): Tensor {
  checkTensor('mean', x);
  const n = countOf(x, dims, 'mean');
  return mul(sum(x, dims, keepdim), 1 / n);
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(x: Tensor, dims?: Axes, keepdim = false, correction = 1): Tensor {
  checkTensor('var', x);
  const n = countOf(x, dims, 'var');
  const d = sub(x, mean(x, dims, true));
  return mul(sum(mul(d, d), dims, keepdim), 1 / Math.max(n - correction, 0));
}

export function std(x: Tensor, dims?: Axes, keepdim = false, correction = 1): Tensor {
  const v = variance(x, dims, keepdim, correction);
  return sqrt(v);
}

/** Indices of the maxima along one dim (no gradient). */
export function argmax(x: Tensor, dim: number, keepdim = false): Tensor {
  checkTensor('argmax', x);
  const a = normAxis('argmax', dim, x.ndim);
  const out = Tensor.empty(keepdim ? keepShape(x.shape, [a]) : dropShape(x.shape, [a]));
  getBackend().argmax(x.data, x.shape, a, out.data);
  return out;
}

/** log Σ exp(x) over dims, stable: m + log Σ exp(x − m) with m the (constant) max. */
export function logsumexp(x: Tensor, dims?: Axes, keepdim = false): Tensor {
  const m = detach(max(x, dims, true));
  const s = log(sum(exp(sub(x, m)), dims, true));
  const r = add(s, m);
  if (keepdim) return r;
  const axes = normAxes('logsumexp', dims, x.ndim);
  return reshape(r, dropShape(x.shape, axes));
}

/** softmax along a dim: exp(x − max) / Σ exp(x − max). */
export function softmax(x: Tensor, dim = -1): Tensor {
  checkTensor('softmax', x);
  const m = detach(max(x, dim, true));
  const e = exp(sub(x, m));
  return div(e, sum(e, dim, true));
}

/** log softmax along a dim: x − logsumexp(x). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  checkTensor('logSoftmax', x);
  return sub(x, logsumexp(x, dim, true));
}
