/**
 * The calling convention of the wasm kernels, in the one place both sides follow.
 *
 * A kernel call writes its arguments into the argument block (f64 slots at ARGS_OFFSET, see
 * memory.ts) and runs the kernel's export (threads.ts). ARG_LAYOUTS names every kernel's slots,
 * in order, with their types; KERNELS maps each kernel export to its layout (kernels that read
 * the same arguments share one); OP_CODES lists the ops a kernel's `op` argument selects, an
 * op's code being its position in the list. tools/build-wasm.mjs generates from this file
 *
 *   assembly/abi.generated.ts  per layout an @unmanaged class whose getters read the slots with
 *                              their types (`const a = changetype<MatmulArgs>(args); a.M`), and
 *                              per op list an enum (`case UnaryOp.sigmoid:`);
 *   abi.generated.ts           per layout a writer (`writeMatmulArgs(view, { a, b, c, M, … })`),
 *                              which the type checker holds to every slot of the layout.
 *
 * CONTROL, the thread control block's fields, is shared by the thread pool (threads.ts) and the
 * kernels' item queue (assembly/common.ts) the same way.
 *
 * Slot types: 'ptr' a byte offset into wasm memory, and 'usize' a count that may pass 2³¹ (both
 * read through u32); 'i32'; 'bool' (written 1 or 0); 'f32' (a float32 parameter, stored as f64
 * and rounded when read); 'f64'.
 *
 * This file imports nothing but the op lists: the build transpiles it on its own.
 */
import { BINARY_OPS, FUSED_BINARY_OPS, MATMUL_ACTIVATIONS, REDUCE_OPS, UNARY_GRAD_OPS, UNARY_OPS } from '../backend.js';

export type ArgType = 'ptr' | 'usize' | 'i32' | 'bool' | 'f32' | 'f64';

/**
 * The thread control block at CTRL_OFFSET (memory.ts): each field's byte offset in it. The
 * generated AssemblyScript constants are absolute addresses (CTRL_GEN …).
 */
export const CONTROL = {
  /** i32: the current generation (written by the caller) */
  gen: 0,
  /** i32: the kernel's index in KERNELS (−1: the workers exit) */
  kernel: 4,
  /** i32: threads taking part in the call */
  nth: 8,
  /** u64: generation << 32 | next item */
  queue: 16,
  /** i32: items finished in the current generation */
  finished: 24,
  /** i32: set by a worker whose kernel threw */
  error: 32,
  /** i32: workers blocked in Atomics.wait on gen */
  sleepers: 40,
  /** u64: generation << 32 | item count, published by the caller */
  total: 48,
  /** i32: workers inside a kernel call */
  active: 56,
} as const;
type Layout = Readonly<Record<string, ArgType>>;

/**
 * Op codes: the AssemblyScript enum of each list has its members in this order. `copy` is the
 * unary kernel's internal identity (powScalar with p = 1); the binary kernel runs the primitive
 * and the fused loss ops alike.
 */
export const OP_CODES = {
  UnaryOp: [...UNARY_OPS, 'copy'],
  UnaryGradOp: UNARY_GRAD_OPS,
  BinaryOp: [...BINARY_OPS, ...FUSED_BINARY_OPS],
  ReduceOp: REDUCE_OPS,
  MatmulAct: MATMUL_ACTIVATIONS,
} as const;

/** The code of `op` in an op list of OP_CODES. */
export function opCodes<T extends string>(ops: readonly T[]): Record<T, number> {
  return Object.fromEntries(ops.map((op, i) => [op, i])) as Record<T, number>;
}

/** Slots of every kernel family's arguments (documented at each kernel in assembly/). */
export const ARG_LAYOUTS = {
  // gemm.ts: C = alpha·op(A)·op(B) + beta·C, then the epilogue (bias, act); per-thread scratch
  // at scratch + tid·scratchStride; preA / preB: operands packed once by packShared (0 = none)
  Matmul: {
    a: 'ptr',
    b: 'ptr',
    c: 'ptr',
    batch: 'i32',
    M: 'i32',
    N: 'i32',
    K: 'i32',
    transA: 'bool',
    transB: 'bool',
    strideA: 'usize',
    strideB: 'usize',
    alpha: 'f32',
    beta: 'f32',
    scratch: 'ptr',
    scratchStride: 'usize',
    preA: 'ptr',
    preB: 'ptr',
    bias: 'ptr',
    act: 'i32',
  },
  // gemm.ts: packs op(A) (isB false) or op(B) for matmul's preA / preB
  PackShared: { src: 'ptr', rs: 'i32', cs: 'i32', rows: 'i32', K: 'i32', isB: 'bool', dst: 'ptr' },
  // conv.ts: in0 / in1 are (x, w) forward, (g, w) for the input gradient, (x, g) for the weight
  // gradient; then the geometry (Conv2dParams), the per-thread scratch and the blocking
  Conv: {
    in0: 'ptr',
    in1: 'ptr',
    bias: 'ptr',
    out: 'ptr',
    batch: 'i32',
    inC: 'i32',
    inH: 'i32',
    inW: 'i32',
    outC: 'i32',
    outH: 'i32',
    outW: 'i32',
    kH: 'i32',
    kW: 'i32',
    strideH: 'i32',
    strideW: 'i32',
    padH: 'i32',
    padW: 'i32',
    dilH: 'i32',
    dilW: 'i32',
    groups: 'i32',
    scratch: 'ptr',
    scratchStride: 'usize',
    pChunk: 'i32',
    chunk: 'i32',
    mode: 'i32',
    partials: 'ptr',
    nb: 'i32',
    colOff: 'usize',
    auxOff: 'usize',
    stageOff: 'usize',
    ctOff: 'usize',
  },
  // elementwise.ts
  Unary: { op: 'i32', x: 'ptr', out: 'ptr', n: 'i32', p: 'f32' },
  UnaryGrad: { op: 'i32', x: 'ptr', g: 'ptr', out: 'ptr', n: 'i32', p: 'f32' },
  Binary: { op: 'i32', mode: 'i32', a: 'ptr', b: 'ptr', out: 'ptr', d0: 'i32', d1: 'i32', d2: 'i32' },
  Where: { cond: 'ptr', a: 'ptr', b: 'ptr', out: 'ptr', n: 'i32' },
  Clamp: { x: 'ptr', out: 'ptr', n: 'i32', lo: 'f32', hi: 'f32' },
  // losses.ts: loss[r] = scale·Σ_c first(a, b), sq[r] = Σ_c second(a, b), aux = per element (0 = none)
  TermRows: { a: 'ptr', b: 'ptr', rows: 'i32', cols: 'i32', loss: 'ptr', sq: 'ptr', aux: 'ptr', scale: 'f64' },
  Reparameterize: { mu: 'ptr', lv: 'ptr', eps: 'ptr', z: 'ptr', half: 'ptr', n: 'i32' },
  // shape.ts
  GatherRows8: { src: 'ptr', d: 'i32', idx: 'ptr', m: 'i32', out: 'ptr' },
  // reduce.ts
  Reduce: { op: 'i32', mode: 'i32', x: 'ptr', out: 'ptr', d0: 'i32', d1: 'i32', d2: 'i32' },
  // optim.ts: hyperparameters as f64 (each kernel rounds what it computes in f32)
  AdamStep: {
    p: 'ptr',
    g: 'ptr',
    m: 'ptr',
    v: 'ptr',
    vmax: 'ptr',
    n: 'i32',
    lr: 'f64',
    beta1: 'f64',
    beta2: 'f64',
    eps: 'f64',
    weightDecay: 'f64',
    decoupled: 'bool',
    amsgrad: 'bool',
    step: 'f64',
  },
  SgdStep: {
    p: 'ptr',
    g: 'ptr',
    buf: 'ptr',
    n: 'i32',
    lr: 'f64',
    momentum: 'f64',
    dampening: 'f64',
    weightDecay: 'f64',
    nesterov: 'bool',
    first: 'bool',
  },
  RmspropStep: {
    p: 'ptr',
    g: 'ptr',
    squareAvg: 'ptr',
    gradAvg: 'ptr',
    buf: 'ptr',
    n: 'i32',
    lr: 'f64',
    alpha: 'f64',
    eps: 'f64',
    weightDecay: 'f64',
    momentum: 'f64',
  },
  AdagradStep: { p: 'ptr', g: 'ptr', sum: 'ptr', n: 'i32', clr: 'f64', eps: 'f64', weightDecay: 'f64' },
  AdadeltaStep: { p: 'ptr', g: 'ptr', squareAvg: 'ptr', accDelta: 'ptr', n: 'i32', lr: 'f64', rho: 'f64', eps: 'f64', weightDecay: 'f64' },
  // pool.ts: src is x (forward) or g (backward); idx the max-pooling indices (0 for average
  // pooling); quads: max pooling's 2×2 vector path
  Pool: {
    src: 'ptr',
    out: 'ptr',
    idx: 'ptr',
    planes: 'i32',
    inH: 'i32',
    inW: 'i32',
    outH: 'i32',
    outW: 'i32',
    kH: 'i32',
    kW: 'i32',
    strideH: 'i32',
    strideW: 'i32',
    padH: 'i32',
    padW: 'i32',
    quads: 'bool',
  },
  Upsample: { src: 'ptr', out: 'ptr', planes: 'i32', h: 'i32', w: 'i32', sh: 'i32', sw: 'i32' },
} as const satisfies Record<string, Layout>;

export type LayoutName = keyof typeof ARG_LAYOUTS;

/** Every kernel export and its argument layout; the thread pool runs kernels by position here. */
export const KERNELS = {
  matmul: 'Matmul',
  packShared: 'PackShared',
  conv2d: 'Conv',
  conv2dBackwardInput: 'Conv',
  conv2dBackwardWeight: 'Conv',
  unary: 'Unary',
  unaryGrad: 'UnaryGrad',
  binary: 'Binary',
  where: 'Where',
  clamp: 'Clamp',
  bceRows: 'TermRows',
  bceLogitsRows: 'TermRows',
  klNormalRows: 'TermRows',
  reparameterize: 'Reparameterize',
  gatherRows8: 'GatherRows8',
  reduce: 'Reduce',
  adamStep: 'AdamStep',
  sgdStep: 'SgdStep',
  rmspropStep: 'RmspropStep',
  adagradStep: 'AdagradStep',
  adadeltaStep: 'AdadeltaStep',
  maxPool2d: 'Pool',
  maxPool2dBackward: 'Pool',
  avgPool2d: 'Pool',
  avgPool2dBackward: 'Pool',
  upsampleNearest: 'Upsample',
  upsampleNearestBackward: 'Upsample',
} as const satisfies Record<string, LayoutName>;

export type KernelName = keyof typeof KERNELS;
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
/** A kernel's index in the thread pool. */
export const K = opCodes(KERNEL_NAMES);
