/**
 * The reference backend: plain, readable TypeScript over Float32Arrays. It runs everywhere and is
 * what every other backend is tested against. Loops are flat and cache-friendly (innermost loop
 * over contiguous memory), with no per-element function calls. It implements every primitive and
 * every fused kernel (the references the wasm backend's fused kernels are tested against); one
 * file per kernel family:
 *
 *   elementwise.ts  fill, copy, unary, unaryGrad, binary, where, clamp, expand
 *   losses.ts       the fused loss ops (bce, bceLogits, …), their per-row sums, reparameterize
 *   reduce.ts       reduce, argmax
 *   gemm.ts         matmul and its fused epilogue
 *   conv.ts         conv2d and its two gradients
 *   pool.ts         max / average pooling, nearest upsampling, and their gradients
 *   shape.ts        permute, slice, sliceAdd, indexSelect, indexAdd, gatherRows8
 *   optim.ts        the fused optimizer steps
 */
import type { FullBackend } from '../backend.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';
import { binary, clamp, copy, expand, fill, unary, unaryGrad, where } from './elementwise.js';
import { gemm, matmulEpilogue } from './gemm.js';
import { bceLogitsRows, bceRows, klNormalRows, lossBinary, reparameterize } from './losses.js';
import { adadeltaStep, adagradStep, adamStep, rmspropStep, sgdStep } from './optim.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, upsampleNearest, upsampleNearestBackward } from './pool.js';
import { argmax, reduce } from './reduce.js';
import { gatherRows8, indexAdd, indexSelect, permute, slice, sliceAdd } from './shape.js';

export const jsBackend: FullBackend = {
  name: 'js',
  alloc: (n) => new Float32Array(n),
  free: () => {},
  allocatedBytes: () => 0,
  fill,
  copy,
  unary,
  binary,
  where,
  clamp,
  expand,
  reduce,
  argmax,
  matmul: gemm,
  permute,
  slice,
  sliceAdd,
  indexSelect,
  indexAdd,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  fused: {
    unaryGrad,
    binary: lossBinary,
    bceRows,
    bceLogitsRows,
    klNormalRows,
    reparameterize,
    matmulEpilogue,
    upsampleNearest,
    upsampleNearestBackward,
    allocBytes: (n) => new Uint8Array(n),
    gatherRows8,
    adamStep,
    sgdStep,
    rmspropStep,
    adagradStep,
    adadeltaStep,
  },
};
