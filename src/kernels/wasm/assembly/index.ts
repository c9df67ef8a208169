// Entry point of the wasm kernels. Every kernel export has the signature (args, tid, nth, gen) → items:
// `args` points at the f64 argument block the JS side wrote (its layout per kernel: ../abi.ts);
// threads claim work items from a shared queue (see common.ts). The other exports are start-up
// queries and the bulk memory operations the JS side calls directly.
export { matmul, packShared, gemmScratchBytes } from './gemm';
export { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv';
export { unary, unaryGrad, binary, where, clamp } from './elementwise';
export { bceRows, bceLogitsRows, klNormalRows, reparameterize } from './losses';
export { gatherRows8 } from './shape';
export { reduce } from './reduce';
export { ctrlOffset, claimedItems, fillF32, copyF32, addF32, repeatEachF32 } from './common';
export { adamStep, sgdStep, rmspropStep, adagradStep, adadeltaStep } from './optim';
export { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, upsampleNearest, upsampleNearestBackward } from './pool';

/** End of the module's static data; the JS allocator starts above its reserved region. */
export function heapBase(): usize {
  return __heap_base;
}
