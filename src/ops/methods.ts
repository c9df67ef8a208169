/**
 * Tensor methods: thin forwards to the functional ops, so `x.add(y).relu().sum()` reads like
 * PyTorch. Installed on the prototype here, typed by module augmentation.
 */
import { backward as runBackward, type BackwardOptions } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import * as E from './elementwise.js';
import * as R from './reduce.js';
import * as S from './shape.js';
import * as L from './linalg.js';
import type { TensorLike } from './util.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(other: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    square(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    relu(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    sum(dims?: R.Axes, keepdim?: boolean): Tensor;
    mean(dims?: R.Axes, keepdim?: boolean): Tensor;
    max(dims?: R.Axes, keepdim?: boolean): Tensor;
    min(dims?: R.Axes, keepdim?: boolean): Tensor;
    var(dims?: R.Axes, keepdim?: boolean, correction?: number): Tensor;
    std(dims?: R.Axes, keepdim?: boolean, correction?: number): Tensor;
    argmax(dim: number, keepdim?: boolean): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    view(...shape: number[] | [readonly number[]]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    permute(...perm: number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** The transpose of a 2-D tensor. */
    readonly T: Tensor;
    expand(...shape: number[]): Tensor;
    slice(...specs: Parameters<typeof S.slice> extends [Tensor, ...infer R] ? R : never): Tensor;
    select(dim: number, index: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    indexSelect(dim: number, index: Tensor | ArrayLike<number>): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    clone(): Tensor;
    detach(): Tensor;
    /** Reverse-mode autodiff from this tensor (a scalar, or give the upstream gradient). */
    backward(grad?: Tensor, opts?: BackwardOptions): void;
    /** Sets requiresGrad (on a leaf) and returns this. */
    requiresGrad_(flag?: boolean): Tensor;
  }
}

const shapeArgs = (a: unknown[]): number[] => (Array.isArray(a[0]) ? (a[0] as number[]) : (a as number[]));

const P = Tensor.prototype;
P.add = function (o) { return E.add(this, o); };
P.sub = function (o) { return E.sub(this, o); };
P.mul = function (o) { return E.mul(this, o); };
P.div = function (o) { return E.div(this, o); };
P.pow = function (o) { return E.pow(this, o); };
P.neg = function () { return E.neg(this); };
P.exp = function () { return E.exp(this); };
P.log = function () { return E.log(this); };
P.sqrt = function () { return E.sqrt(this); };
P.abs = function () { return E.abs(this); };
P.square = function () { return E.square(this); };
P.sigmoid = function () { return E.sigmoid(this); };
P.tanh = function () { return E.tanh(this); };
P.relu = function () { return E.relu(this); };
P.clamp = function (lo, hi) { return E.clamp(this, lo, hi); };
P.maximum = function (o) { return E.maximum(this, o); };
P.minimum = function (o) { return E.minimum(this, o); };
P.sum = function (d, k) { return R.sum(this, d, k); };
P.mean = function (d, k) { return R.mean(this, d, k); };
P.max = function (d, k) { return R.max(this, d, k); };
P.min = function (d, k) { return R.min(this, d, k); };
P.var = function (d, k, c) { return R.variance(this, d, k, c); };
P.std = function (d, k, c) { return R.std(this, d, k, c); };
P.argmax = function (d, k) { return R.argmax(this, d, k); };
P.softmax = function (d) { return R.softmax(this, d); };
P.logSoftmax = function (d) { return R.logSoftmax(this, d); };
P.matmul = function (o) { return L.matmul(this, o); };
P.reshape = function (...s) { return S.reshape(this, shapeArgs(s)); };
P.view = function (...s) { return S.reshape(this, shapeArgs(s)); };
P.flatten = function (a, b) { return S.flatten(this, a, b); };
P.squeeze = function (d) { return S.squeeze(this, d); };
P.unsqueeze = function (d) { return S.unsqueeze(this, d); };
P.permute = function (...p) { return S.permute(this, p); };
P.transpose = function (a, b) { return S.transpose(this, a, b); };
Object.defineProperty(P, 'T', { get(this: Tensor) { return S.transpose(this); } });
P.expand = function (...s) { return S.expand(this, s); };
P.slice = function (...specs) { return S.slice(this, ...specs); };
P.select = function (d, i) { return S.select(this, d, i); };
P.narrow = function (d, s, l) { return S.narrow(this, d, s, l); };
P.indexSelect = function (d, i) { return S.indexSelect(this, d, i); };
P.gather = function (d, i) { return S.gather(this, d, i); };
P.clone = function () { return S.clone(this); };
P.detach = function () { return S.detach(this); };
P.backward = function (g, o) { runBackward(this, g, o); };
P.requiresGrad_ = function (flag = true) {
  if (!this.isLeaf) throw new Error('requiresGrad_(): only leaf tensors can change requiresGrad (use detach() first)');
  this.requiresGrad = flag;
  return this;
};
