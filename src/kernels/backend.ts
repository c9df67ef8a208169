/**
 * The kernel table: the only thing a new backend (WebGPU is the likely next) has to provide.
 *
 * A backend is `Primitives`, every method required, plus an optional `fused` table: kernels that
 * each do the work of several primitives in one pass over memory. Where `fused` lacks a kernel,
 * src/ops and src/optim run the composite of primitives it stands for instead: the same values
 * within float rounding, with gradients through the primitives' rules. A new backend is complete
 * once it implements the primitives; fused kernels are added one at a time where profiles show
 * they pay. `primitivesOnly(backend)` (registry.ts) runs any backend without its fused part.
 *
 * The primitives a new backend must implement (methods of `Primitives`):
 *
 *   memory          alloc, free, allocatedBytes
 *   elementwise     fill, copy, unary (UNARY_OPS), binary (BINARY_OPS, NumPy broadcasting),
 *                   where, clamp, expand
 *   reductions      reduce (sum / max / min over axes), argmax
 *   linear algebra  matmul (batched, transposed operands, alpha / beta)
 *   data movement   permute, slice, sliceAdd, indexSelect, indexAdd
 *   convolution     conv2d, conv2dBackwardInput, conv2dBackwardWeight
 *   pooling         maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward
 *
 * The optional fused kernels (`FusedKernels`) and the composite each replaces, by where it runs:
 *
 *   unaryGrad                     g·f′ of an activation: where / mul / exp    ops/elementwise.ts
 *   binary (FUSED_BINARY_OPS)     BCE terms elementwise: log / clamp / mul     ops/losses.ts
 *   bceRows, bceLogitsRows,       per-sample sums of the BCE / KL terms        ops/losses.ts
 *   klNormalRows
 *   reparameterize                μ + e^{½ log σ²}·ε: mul / exp / add          ops/losses.ts
 *   matmulEpilogue                matmul, + bias, activation                   ops/linalg.ts
 *   upsampleNearest(+Backward)    reshape / expand (its gradient: sum)         ops/conv.ts
 *   allocBytes + gatherRows8      a batch from 8-bit pixels: a JS loop         data/loader.ts
 *   adamStep, sgdStep, rmspropStep, adagradStep, adadeltaStep
 *                                 unary / binary over the state buffers        optim/*.ts
 *
 * Every kernel works on flat, contiguous, row-major Float32Arrays plus plain shape numbers.
 * Kernels never import tensors, autograd or nn. They write into an `out` array the caller
 * allocated (through `alloc`, so a wasm backend can hand out views into its own memory), and
 * never keep a reference to their arguments. unary, binary (out = a) and clamp also run in
 * place; the optimizer steps update their buffers in place by definition.
 *
 * Shapes are `readonly number[]`. Broadcasting follows NumPy: the binary kernel receives the
 * operand shapes already right-aligned to the output rank (missing leading dims filled with 1).
 *
 * The op lists below are the single source of every op's name: the types are derived from
 * them, and the wasm backend's op codes are their positions (wasm/abi.ts, generated for the
 * AssemblyScript side at build time).
 */

export type F32 = Float32Array;
export type Shape = readonly number[];

/** Elementwise one-input ops (primitives); `p` is the op's scalar parameter where it has one. */
export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'sign',
  'square',
  'reciprocal',
  'sigmoid',
  'tanh',
  'relu',
  'leakyRelu', // p = negative slope
  'elu', // p = alpha
  'softplus',
  'addScalar', // x + p
  'mulScalar', // x·p
  'powScalar', // x^p
  'rsubScalar', // p − x
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * Fused derivative kernels: out = g·f′(…). `x` is the op's input for relu/leakyRelu/elu/softplus
 * and its OUTPUT y for sigmoid (y(1 − y)) and tanh (1 − y²), as PyTorch does.
 */
export const UNARY_GRAD_OPS = ['relu', 'leakyRelu', 'elu', 'softplus', 'sigmoid', 'tanh'] as const;
export type UnaryGradOp = (typeof UNARY_GRAD_OPS)[number];

/** Elementwise two-input ops (primitives); comparisons give 1 or 0. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/**
 * Fused two-input ops, the loss terms of the family models (FusedKernels.binary):
 *   bce            binary cross-entropy of probability a against target b, each log clamped at
 *                  −100 (losses.bce): −[b·max(log a, −100) + (1 − b)·max(log(1 − a), −100)]
 *   bceGrad        d bce(a, b) / da, 0 where a log's clamp is active
 *   bceLogits      binary cross-entropy of logit a against target b:
 *                  max(a, 0) − a·b + log(1 + e^−|a|) (losses.bceWithLogits)
 *   bceLogitsGrad  d bceLogits(a, b) / da = sigmoid(a) − b
 *   sigmoidSqErr   (sigmoid(a) − b)², each step rounded to float32 as the separate sigmoid, sub
 *                  and mul round it (the same bits): the squared error of a decoder's
 *                  probabilities, for the training logs
 */
export const FUSED_BINARY_OPS = ['bce', 'bceGrad', 'bceLogits', 'bceLogitsGrad', 'sigmoidSqErr'] as const;
export type FusedBinaryOp = (typeof FUSED_BINARY_OPS)[number];

export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export interface Conv2dParams {
  batch: number;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilH: number;
  dilW: number;
  groups: number;
}

export interface Pool2dParams {
  batch: number;
  channels: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/**
 * The smallest positive float32 (a denormal, 2^−149). Binary cross-entropy takes logs of
 * max(p, F32_TINY): its log, −103.3, is below the −100 clamp, so the clamp decides there.
 */
export const F32_TINY = 2 ** -149;

/** Activations a matmul can apply to its output (MatmulParams.act). */
export const MATMUL_ACTIVATIONS = ['none', 'relu', 'sigmoid', 'tanh'] as const;
export type MatmulActivation = (typeof MATMUL_ACTIVATIONS)[number];

export interface MatmulParams {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** A is stored (K, M) and used transposed. */
  transA: boolean;
  /** B is stored (N, K) and used transposed. */
  transB: boolean;
  /** Elements between consecutive batch matrices; 0 broadcasts one matrix over the batch. */
  strideA: number;
  strideB: number;
  /** C = alpha·op(A)·op(B) + beta·C (beta 0 overwrites). */
  alpha?: number;
  beta?: number;
}

/**
 * A matmul with an epilogue (FusedKernels.matmulEpilogue, a fused linear layer): after C, bias
 * (length N) added to every row of every matrix, then the activation. The result is what the
 * separate binary add and unary activation kernels would give.
 */
export interface MatmulEpilogueParams extends MatmulParams {
  bias: Float32Array | null;
  act: MatmulActivation;
}

export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the weights directly instead of adding wd·p to the gradient. */
  decoupled: boolean;
  amsgrad: boolean;
  /** 1-based step count, for bias correction. */
  step: number;
}

export interface SgdParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** First step: the momentum buffer is set to the gradient instead of blended. */
  first: boolean;
}

export interface RmspropParams {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  /** Used when the step gets a momentum buffer. */
  momentum: number;
}

export interface AdagradParams {
  /** The step's learning rate after decay: lr / (1 + (t − 1)·lrDecay). */
  clr: number;
  eps: number;
  weightDecay: number;
}

export interface AdadeltaParams {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

/** The kernels every backend implements (see the list at the top of this file). */
export interface Primitives {
  readonly name: string;

  /**
   * An array of n floats owned by this backend, zero-filled unless `zeroed` is false: then its
   * contents are unspecified and the caller must write every element (kernel outputs).
   */
  alloc(n: number, zeroed?: boolean): F32;
  /** Returns memory (from alloc or allocBytes) to the backend; it must not be used afterwards. No-op for js. */
  free(a: F32 | Uint8Array): void;
  /** Bytes currently handed out by alloc and not freed (0 when the backend does not track it). */
  allocatedBytes(): number;

  fill(out: F32, value: number): void;
  copy(src: F32, out: F32): void;

  unary(op: UnaryOp, x: F32, out: F32, p: number): void;
  binary(op: BinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void;
  /** out = cond != 0 ? a : b, all four the same length. */
  where(cond: F32, a: F32, b: F32, out: F32): void;
  /** out = min(max(x, lo), hi). */
  clamp(x: F32, lo: number, hi: number, out: F32): void;
  /** Copies x (shape right-aligned to outShape, dims of 1 repeated) into out. */
  expand(x: F32, xShape: Shape, out: F32, outShape: Shape): void;

  /** Reduces the given axes of x (sorted, unique); out has the keepdim shape's element count. */
  reduce(op: ReduceOp, x: F32, shape: Shape, axes: readonly number[], out: F32): void;
  /** Index of the max along `axis` (as floats). */
  argmax(x: F32, shape: Shape, axis: number, out: F32): void;

  matmul(a: F32, b: F32, out: F32, p: MatmulParams): void;

  /** out[perm-ordered] = x: out shape is shape permuted by perm. */
  permute(x: F32, shape: Shape, perm: readonly number[], out: F32): void;
  /** out = x[starts[i] : starts[i] + outShape[i] : steps[i]] for every dim. */
  slice(x: F32, shape: Shape, starts: readonly number[], steps: readonly number[], out: F32, outShape: Shape): void;
  /** The adjoint of slice: out (shape) += g (gShape) at the sliced positions. */
  sliceAdd(g: F32, gShape: Shape, starts: readonly number[], steps: readonly number[], out: F32, shape: Shape): void;
  /** out = x.index_select(axis, idx). */
  indexSelect(x: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void;
  /** The adjoint: out (shape) at idx along axis += g. */
  indexAdd(g: F32, shape: Shape, axis: number, idx: Int32Array, out: F32): void;

  /** x (B, C, H, W), w (outC, inC/groups, kH, kW) → out (B, outC, outH, outW); bias may be null. Overwrites out. */
  conv2d(x: F32, w: F32, bias: F32 | null, out: F32, p: Conv2dParams): void;
  /**
   * The input gradient of conv2d (= the forward of a transposed convolution): g (B, outC, outH,
   * outW) → out (B, inC, inH, inW). Overwrites out (input pixels no window reaches get 0).
   */
  conv2dBackwardInput(g: F32, w: F32, out: F32, p: Conv2dParams): void;
  /** The weight gradient of conv2d: out (outC, inC/groups, kH, kW) = Σ_b g ⋆ x. Overwrites out. */
  conv2dBackwardWeight(x: F32, g: F32, out: F32, p: Conv2dParams): void;

  /** Max pooling (overwrites out); writes the flat input index of each maximum into idx (as floats, -1 for an all-padding window). */
  maxPool2d(x: F32, out: F32, idx: F32, p: Pool2dParams): void;
  /** out (input-sized, zeroed by the kernel) += g at idx. */
  maxPool2dBackward(g: F32, idx: F32, out: F32, p: Pool2dParams): void;
  /** Average pooling (overwrites out); countIncludePad as PyTorch's default (true). */
  avgPool2d(x: F32, out: F32, p: Pool2dParams): void;
  /** out (input-sized, zeroed by the kernel) += g / count over each window. */
  avgPool2dBackward(g: F32, out: F32, p: Pool2dParams): void;
}

/**
 * Kernels that fuse several primitives into one pass, each optional (see the list at the top of
 * this file for the composite each replaces). Each gives the values of its composite within
 * float rounding; most give its exact bits, as their docs say.
 */
export interface FusedKernels {
  unaryGrad(op: UnaryGradOp, x: F32, g: F32, out: F32, p: number): void;
  /** The loss-term ops, with the broadcasting of Primitives.binary. */
  binary(op: FusedBinaryOp, a: F32, aShape: Shape, b: F32, bShape: Shape, out: F32, outShape: Shape): void;
  /**
   * Binary cross-entropy of probabilities p against targets y, both (rows, cols), per row in one
   * pass: loss[r] = Σ_c bce(p, y) and, when given, grad = bceGrad(p, y) (rows·cols), the
   * gradient in p. Every element's value is that of the binary op and every row sum that of
   * reduce('sum') over the last axis, to the bit.
   */
  bceRows(p: F32, y: F32, rows: number, cols: number, loss: F32, grad: F32 | null): void;
  /**
   * The Bernoulli reconstruction terms of logits z against targets y, both (rows, cols), in one
   * pass: loss[r] = Σ_c bceLogits(z, y); when given, sq[r] = Σ_c sigmoidSqErr(z, y) and
   * diff = bceLogitsGrad(z, y) = sigmoid(z) − y (rows·cols). Every element's value is that of
   * the binary op and every row sum that of reduce('sum') over the last axis, to the bit.
   */
  bceLogitsRows(z: F32, y: F32, rows: number, cols: number, loss: F32, sq: F32 | null, diff: F32 | null): void;
  /**
   * KL(N(μ, σ²) ‖ N(0, I)) per row of μ and lv = log σ², both (rows, cols), in one pass:
   * out[r] = −½ Σ_c ((lv + 1) − μ·μ) − e^lv, to the bit of those ops (add, mul, sub, exp) and
   * reduce('sum'); when given, dlv = ½(e^lv − 1), the gradient in lv (the gradient in μ is μ).
   */
  klNormalRows(mu: F32, lv: F32, rows: number, cols: number, out: F32, dlv: F32 | null): void;
  /**
   * z = μ + e^{½ lv} ⊙ ε (the bits of mul(lv, ½), exp, mul, add), all of one length; when given,
   * half = ½ e^{½ lv} ⊙ ε, the gradient of z in lv.
   */
  reparameterize(mu: F32, lv: F32, eps: F32, z: F32, half: F32 | null): void;
  /** matmul, then its epilogue: bias over the rows and the activation (see MatmulEpilogueParams). */
  matmulEpilogue(a: F32, b: F32, out: F32, p: MatmulEpilogueParams): void;
  /** Nearest-neighbour upsampling by integer factors: x (N, H, W) planes → out (N, H·sh, W·sw), overwritten. */
  upsampleNearest(x: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void;
  /** out (N, H, W; zeroed by the kernel) = the sum of each sh × sw block of g. */
  upsampleNearestBackward(g: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void;
  /**
   * n zero bytes owned by this backend, for data that kernels read many times (a dataset's 8-bit
   * pixels for gatherRows8); released with free(). A backend has both allocBytes and
   * gatherRows8, or neither.
   */
  allocBytes(n: number): Uint8Array;
  /**
   * Rows of 8-bit pixels picked by index, scaled to [0, 1]: out[j·d + k] = src[idx[j]·d + k] / 255
   * (the float32 nearest to it) for j < idx.length, k < d. Every index must be a row of src.
   */
  gatherRows8(src: Uint8Array, d: number, idx: Int32Array, out: F32): void;

  /** Fused, in-place Adam/AdamW step over one parameter (vmax may be null unless amsgrad). */
  adamStep(p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void;
  /** Fused, in-place SGD step; buf may be null when momentum is 0. */
  sgdStep(p: F32, g: F32, buf: F32 | null, hp: SgdParams): void;
  /**
   * Fused, in-place RMSprop step: gradAvg non-null makes it centered, buf non-null adds
   * momentum (hp.momentum).
   */
  rmspropStep(p: F32, g: F32, squareAvg: F32, gradAvg: F32 | null, buf: F32 | null, hp: RmspropParams): void;
  /** Fused, in-place Adagrad step. */
  adagradStep(p: F32, g: F32, sum: F32, hp: AdagradParams): void;
  /** Fused, in-place Adadelta step. */
  adadeltaStep(p: F32, g: F32, squareAvg: F32, accDelta: F32, hp: AdadeltaParams): void;
}

/** A kernel table: the primitives, and whichever fused kernels the backend has. */
export interface Backend extends Primitives {
  readonly fused?: Partial<FusedKernels>;
}

/** A backend with every fused kernel (the js reference and the wasm backend are). */
export interface FullBackend extends Backend {
  readonly fused: FusedKernels;
}
