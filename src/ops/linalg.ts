/** Matrix products. One primitive, `mm`, covers transposed operands and batches. */
import { MATMUL_ACTIVATIONS, type MatmulActivation } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, unaryOp } from './elementwise.js';
import { expand, reshape } from './shape.js';
import { checkTensor, fmt } from './util.js';

/**
 * C = op(A)·op(B) with op = transpose when the flag is set. A is (…, M, K) or (…, K, M), B is
 * (…, K, N) or (…, N, K); batch dims must be equal, or absent on one side (then that matrix is
 * shared across the batch).
 */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  checkTensor('matmul', a, 'first input');
  checkTensor('matmul', b, 'second input');
  if (a.ndim < 2 || b.ndim < 2) throw new Error(`matmul: mm needs ≥2-D inputs, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb)
    throw new Error(
      `matmul: shapes ${fmt(a.shape)}${transA ? 'ᵀ' : ''} and ${fmt(b.shape)}${transB ? 'ᵀ' : ''} are not aligned (${K} ≠ ${Kb})`,
    );
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length > 0 && bBatch.length > 0 && aBatch.join() !== bBatch.join())
    throw new Error(`matmul: batch dims ${fmt(aBatch)} and ${fmt(bBatch)} differ`);
  const batchShape = aBatch.length > 0 ? aBatch : bBatch;
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const out = Tensor.uninit([...batchShape, M, N]);
  getBackend().matmul(a.data, b.data, out.data, {
    batch,
    M,
    N,
    K,
    transA,
    transB,
    strideA: aBatch.length > 0 ? M * K : 0,
    strideB: bBatch.length > 0 ? K * N : 0,
  });
  return record(out, 'mm', [a, b], { transA, transB });
}

/** NumPy-style matmul: 1-D operands are promoted and squeezed, batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmul', a, 'first input');
  checkTensor('matmul', b, 'second input');
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: inputs must be at least 1-D, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  let A = a2;
  let B = b2;
  const ab = a2.shape.slice(0, -2);
  const bb = b2.shape.slice(0, -2);
  if (ab.length > 0 && bb.length > 0 && ab.join() !== bb.join()) {
    // broadcast the batch dims by materialising both operands
    const n = Math.max(ab.length, bb.length);
    const pa = [...new Array<number>(n - ab.length).fill(1), ...ab];
    const pb = [...new Array<number>(n - bb.length).fill(1), ...bb];
    const batch = pa.map((d, i) => {
      const e = pb[i]!;
      if (d !== e && d !== 1 && e !== 1) throw new Error(`matmul: batch dims ${fmt(ab)} and ${fmt(bb)} cannot be broadcast`);
      return Math.max(d, e);
    });
    A = expand(reshape(a2, [...pa, ...a2.shape.slice(-2)]), [...batch, ...a2.shape.slice(-2)]);
    B = expand(reshape(b2, [...pb, ...b2.shape.slice(-2)]), [...batch, ...b2.shape.slice(-2)]);
  }
  let out = mm(A, B);
  if (a.ndim === 1) out = reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]!]);
  if (b.ndim === 1) out = reshape(out, out.shape.slice(0, -1));
  return out;
}

/** Activations `linear` can fuse into its matrix product: those of the matmul kernel's epilogue. */
export type LinearActivation = MatmulActivation;
const LINEAR_ACTS: readonly LinearActivation[] = MATMUL_ACTIVATIONS;

/**
 * y = act(x·Wᵀ + b) with W (out, in) as in PyTorch; x (…, in); act 'none' by default. With the
 * backend's matmulEpilogue, one fused kernel (the bias and the activation are the matrix
 * product's epilogue) and one tape node; otherwise mm, add and the activation op one after
 * another. The two give the same values.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, activation: LinearActivation = 'none'): Tensor {
  checkTensor('linear', x);
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D (out, in), got ${fmt(weight.shape)}`);
  const inF = weight.shape[1]!;
  const outF = weight.shape[0]!;
  if (x.shape[x.ndim - 1] !== inF)
    throw new Error(`linear: input ${fmt(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${fmt(weight.shape)} expects ${inF}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF))
    throw new Error(`linear: bias must have shape [${outF}], got ${fmt(bias.shape)}`);
  if (!LINEAR_ACTS.includes(activation))
    throw new Error(`linear: activation must be one of ${LINEAR_ACTS.join(', ')}, got '${String(activation)}'`);
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, inF]);
  const kernel = getBackend().fused?.matmulEpilogue;
  if (!kernel) {
    let y = mm(x2, weight, false, true);
    if (bias) y = add(y, bias);
    if (activation !== 'none') y = unaryOp(activation, y);
    return x.ndim === 2 ? y : reshape(y, [...x.shape.slice(0, -1), outF]);
  }
  const rows = x2.shape[0]!;
  const y = Tensor.uninit([rows, outF]);
  kernel(x2.data, weight.data, y.data, {
    batch: 1,
    M: rows,
    N: outF,
    K: inF,
    transA: false,
    transB: true,
    strideA: 0,
    strideB: 0,
    bias: bias ? bias.data : null,
    act: activation,
  });
  const inputs = bias ? [x2, weight, bias] : [x2, weight];
  const r = record(y, 'linear', inputs, { act: activation });
  return x.ndim === 2 ? r : reshape(r, [...x.shape.slice(0, -1), outF]);
}
