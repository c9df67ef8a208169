/**
 * The gradient rules: one per primitive op, all in this table, written with ops so every
 * backend gets gradients for free. Each rule maps the upstream gradient g (shaped like the
 * op's output) to one gradient per input, shaped like that input; broadcasting is undone by
 * `sumTo`. Composite ops (mean, softmax, batchNorm, …) need no rule. The fused ops at the end
 * have rules too, because with the fused kernel they are one node on the tape; their rules
 * reuse what the kernel computed on the way forward.
 */
import { F32_TINY, type Conv2dParams, type Pool2dParams } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { Tensor } from '../tensor/tensor.js';
import { add, clamp, div, eq, exp, ge, gt, le, log, maximum, mul, neg, pow, sign, sub, unaryGrad, unaryOp, where } from '../ops/elementwise.js';
import { binaryCrossEntropyGrad, binaryCrossEntropyWithLogitsGrad } from '../ops/losses.js';
import { conv2d, conv2dWeightGrad, convTranspose2d } from '../ops/conv.js';
import { mm } from '../ops/linalg.js';
import { sum } from '../ops/reduce.js';
import { expand, permute, reshape, slice, sumTo } from '../ops/shape.js';
import { defineGradRules } from './tape.js';

const s = <T>(node: { saved: Record<string, unknown> }, k: string): T => node.saved[k] as T;

/** A fresh zero tensor with the given shape to scatter into. */
function zerosOf(shape: readonly number[]): Tensor {
  return Tensor.empty(shape);
}

/** A per-sample gradient g (B) shaped to broadcast over each sample of x (B, …): (B, 1, …, 1). */
function perSample(g: Tensor, x: Tensor): Tensor {
  return reshape(g, [g.size, ...x.shape.slice(1).map(() => 1)]);
}

/** d bce(p, y) / dy = lq − lp, with lp = max(log p, −100) and lq = max(log(1 − p), −100). */
function bceTargetGrad(p: Tensor): Tensor {
  const clampedLog = (x: Tensor) => maximum(log(clamp(x, F32_TINY)), -100);
  return sub(clampedLog(sub(1, p)), clampedLog(p));
}

/** Broadcasts a keepdim-shaped reduction gradient back over the reduced axes. */
function unreduce(g: Tensor, keepShape: number[], inShape: readonly number[]): Tensor {
  return expand(reshape(g, keepShape), inShape);
}

defineGradRules({
  // ---- arithmetic: d(a∘b) -------------------------------------------------------------------
  add: (g, n) => [sumTo(g, n.inputs[0]!.shape), sumTo(g, n.inputs[1]!.shape)],
  sub: (g, n) => [sumTo(g, n.inputs[0]!.shape), sumTo(neg(g), n.inputs[1]!.shape)],
  mul: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? sumTo(mul(g, b), a.shape) : null, b.requiresGrad ? sumTo(mul(g, a), b.shape) : null];
  },
  // d(a/b)/da = 1/b, d(a/b)/db = −a/b² = −out/b
  div: (g, n, out) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? sumTo(div(g, b), a.shape) : null, b.requiresGrad ? sumTo(neg(div(mul(g, out), b)), b.shape) : null];
  },
  // d(a^b)/da = b·a^(b−1), d(a^b)/db = a^b·log a
  pow: (g, n, out) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [
      a.requiresGrad ? sumTo(mul(g, mul(b, pow(a, add(b, -1)))), a.shape) : null,
      b.requiresGrad ? sumTo(mul(g, mul(out, log(a))), b.shape) : null,
    ];
  },
  // Ties split the gradient equally, as PyTorch does.
  maximum: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const ma = add(gt(a, b), mul(eq(a, b), 0.5));
    return [sumTo(mul(g, ma), a.shape), sumTo(mul(g, unaryOp('rsubScalar', ma, 1)), b.shape)];
  },
  minimum: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const ma = add(gt(b, a), mul(eq(a, b), 0.5));
    return [sumTo(mul(g, ma), a.shape), sumTo(mul(g, unaryOp('rsubScalar', ma, 1)), b.shape)];
  },

  // ---- one-input elementwise -------------------------------------------------------------------
  neg: (g) => [neg(g)],
  exp: (g, _n, out) => [mul(g, out)],
  log: (g, n) => [div(g, n.inputs[0]!)],
  sqrt: (g, _n, out) => [mul(div(g, out), 0.5)],
  abs: (g, n) => [mul(g, sign(n.inputs[0]!))],
  square: (g, n) => [mul(g, mul(n.inputs[0]!, 2))],
  reciprocal: (g, _n, out) => [neg(mul(g, mul(out, out)))],
  addScalar: (g) => [g],
  rsubScalar: (g) => [neg(g)],
  mulScalar: (g, n) => [mul(g, s<number>(n, 'p'))],
  powScalar: (g, n) => {
    const p = s<number>(n, 'p');
    return [mul(g, mul(pow(n.inputs[0]!, p - 1), p))];
  },
  sigmoid: (g, _n, out) => [unaryGrad('sigmoid', out, g)],
  tanh: (g, _n, out) => [unaryGrad('tanh', out, g)],
  relu: (g, n) => [unaryGrad('relu', n.inputs[0]!, g)],
  leakyRelu: (g, n) => [unaryGrad('leakyRelu', n.inputs[0]!, g, s<number>(n, 'p'))],
  elu: (g, n) => [unaryGrad('elu', n.inputs[0]!, g, s<number>(n, 'p'))],
  softplus: (g, n) => [unaryGrad('softplus', n.inputs[0]!, g)],
  clamp: (g, n) => {
    const x = n.inputs[0]!;
    const lo = s<number>(n, 'lo');
    const hi = s<number>(n, 'hi');
    return [mul(g, mul(ge(x, lo), le(x, hi)))];
  },
  where: (g, n) => {
    const cond = s<Float32Array>(n, 'cond');
    const c = Tensor.empty(g.shape);
    c.data.set(cond);
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? sumTo(where(c, g, 0), a.shape) : null, b.requiresGrad ? sumTo(where(c, 0, g), b.shape) : null];
  },

  // ---- reductions ---------------------------------------------------------------------------
  sum: (g, n) => [unreduce(g, s<number[]>(n, 'keepShape'), n.inputs[0]!.shape)],
  // The gradient goes to every element equal to the extreme, shared among ties.
  max: (g, n, out) => extremeGrad(g, n.inputs[0]!, out, s<number[]>(n, 'keepShape'), s<number[]>(n, 'axes')),
  min: (g, n, out) => extremeGrad(g, n.inputs[0]!, out, s<number[]>(n, 'keepShape'), s<number[]>(n, 'axes')),

  // ---- shapes -----------------------------------------------------------------------------------
  reshape: (g, n) => [reshape(g, s<number[]>(n, 'shape'))],
  permute: (g, n) => {
    const perm = s<number[]>(n, 'perm');
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(g, inv)];
  },
  expand: (g, n) => [sumTo(g, n.inputs[0]!.shape)],
  clone: (g) => [g],
  slice: (g, n) => {
    const x = n.inputs[0]!;
    const out = zerosOf(x.shape);
    getBackend().sliceAdd(g.data, g.shape, s<number[]>(n, 'starts'), s<number[]>(n, 'steps'), out.data, x.shape);
    return [out];
  },
  concat: (g, n) => {
    const dim = s<number>(n, 'dim');
    const offsets = s<number[]>(n, 'offsets');
    return n.inputs.map((x, i) => {
      if (!x.requiresGrad) return null;
      const out = zerosOf(x.shape);
      const starts = g.shape.map((_, j) => (j === dim ? offsets[i]! : 0));
      getBackend().slice(g.data, g.shape, starts, g.shape.map(() => 1), out.data, x.shape);
      return out;
    });
  },
  indexSelect: (g, n) => {
    const x = n.inputs[0]!;
    const out = zerosOf(x.shape);
    getBackend().indexAdd(g.data, x.shape, s<number>(n, 'dim'), s<Int32Array>(n, 'idx'), out.data);
    return [out];
  },

  // ---- linear algebra -----------------------------------------------------------------------------
  // C = op(A)·op(B): dA = G·op(B)ᵀ (transposed back if A was), dB = op(A)ᵀ·G (likewise).
  mm: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const tA = s<boolean>(n, 'transA');
    const tB = s<boolean>(n, 'transB');
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) ga = sumTo(tA ? mm(b, g, tB, true) : mm(g, b, false, !tB), a.shape);
    if (b.requiresGrad) gb = sumTo(tB ? mm(g, a, true, tA) : mm(a, g, !tA, false), b.shape);
    return [ga, gb];
  },

  // ---- convolution ------------------------------------------------------------------------------
  conv2d: (g, n) => {
    const p = s<Conv2dParams>(n, 'p');
    const [x, w, b] = n.inputs as [Tensor, Tensor, Tensor | undefined];
    // the transposed conv that maps g back to x's size needs this output padding
    const opH = p.inH - ((p.outH - 1) * p.strideH - 2 * p.padH + p.dilH * (p.kH - 1) + 1);
    const opW = p.inW - ((p.outW - 1) * p.strideW - 2 * p.padW + p.dilW * (p.kW - 1) + 1);
    return [
      x.requiresGrad ? convTranspose2dExact(g, w, p, opH, opW) : null,
      w.requiresGrad ? conv2dWeightGrad(x, g, w.shape, p) : null,
      b && b.requiresGrad ? sum(g, [0, 2, 3]) : null,
    ];
  },
  convTranspose2d: (g, n) => {
    // y = convT(x, w) is the input-gradient of the conv with params p (conv input = y's space).
    const p = s<Conv2dParams>(n, 'p');
    const [x, w, b] = n.inputs as [Tensor, Tensor, Tensor | undefined];
    return [
      x.requiresGrad ? convTranspose2dInputGrad(g, w, p) : null,
      w.requiresGrad ? conv2dWeightGrad(g, x, w.shape, p) : null,
      b && b.requiresGrad ? sum(g, [0, 2, 3]) : null,
    ];
  },
  // The pooling and upsampling gradient kernels zero their output themselves (backend.ts).
  maxPool2d: (g, n) => {
    const x = n.inputs[0]!;
    const out = Tensor.uninit(x.shape);
    getBackend().maxPool2dBackward(g.data, s<Tensor>(n, 'idx').data, out.data, s<Pool2dParams>(n, 'p'));
    return [out];
  },
  avgPool2d: (g, n) => {
    const x = n.inputs[0]!;
    const out = Tensor.uninit(x.shape);
    getBackend().avgPool2dBackward(g.data, out.data, s<Pool2dParams>(n, 'p'));
    return [out];
  },

  // ---- fused ops: on the tape only when the backend ran the fused kernel (FusedKernels in
  // kernels/backend.ts); without it the op runs as its composite, whose parts have their rules.
  // bce(p, y) = −[y·lp + (1−y)·lq], lp = max(log p, −100), lq = max(log(1−p), −100):
  // d/dp by the fused kernel, d/dy = lq − lp.
  bce: (g, n) => {
    const [p, y] = n.inputs as [Tensor, Tensor];
    return [
      p.requiresGrad ? sumTo(mul(g, binaryCrossEntropyGrad(p, y)), p.shape) : null,
      y.requiresGrad ? sumTo(mul(g, bceTargetGrad(p)), y.shape) : null,
    ];
  },
  // bceLogits(z, y) = max(z, 0) − z·y + log(1 + e^−|z|): d/dz = sigmoid(z) − y, d/dy = −z.
  bceLogits: (g, n) => {
    const [z, y] = n.inputs as [Tensor, Tensor];
    return [
      z.requiresGrad ? sumTo(mul(g, binaryCrossEntropyWithLogitsGrad(z, y)), z.shape) : null,
      y.requiresGrad ? sumTo(mul(g, neg(z)), y.shape) : null,
    ];
  },
  // Σ_c bce(p, y) per sample: d/dp = g_b·bceGrad(p, y) (saved by the forward kernel),
  // d/dy = g_b·(lq − lp) as for bce.
  bcePerSample: (g, n) => {
    const [p, y] = n.inputs as [Tensor, Tensor];
    const gb = perSample(g, p);
    return [p.requiresGrad ? mul(s<Tensor>(n, 'grad'), gb) : null, y.requiresGrad ? mul(bceTargetGrad(p), gb) : null];
  },
  // Σ_c bceLogits(z, y) per sample: d/dz = g_b·(sigmoid(z) − y) (saved by the forward kernel),
  // d/dy = −g_b·z.
  bceWithLogitsPerSample: (g, n) => {
    const [z, y] = n.inputs as [Tensor, Tensor];
    const gb = perSample(g, z);
    return [z.requiresGrad ? mul(s<Tensor>(n, 'diff'), gb) : null, y.requiresGrad ? mul(neg(z), gb) : null];
  },
  // KL per sample: d/dμ = g_b·μ, d/d log σ² = g_b·½(σ² − 1) (saved by the forward kernel).
  klNormalPerSample: (g, n) => {
    const [mu, lv] = n.inputs as [Tensor, Tensor];
    const gb = perSample(g, mu);
    return [mu.requiresGrad ? mul(mu, gb) : null, lv.requiresGrad ? mul(s<Tensor>(n, 'dlv'), gb) : null];
  },
  // z = μ + e^{½ lv} ⊙ ε: d/dμ = g, d/dlv = g ⊙ ½e^{½ lv}ε (saved), d/dε = g ⊙ e^{½ lv}.
  reparameterize: (g, n) => {
    const [mu, lv, eps] = n.inputs as [Tensor, Tensor, Tensor];
    return [
      mu.requiresGrad ? g : null,
      lv.requiresGrad ? mul(g, s<Tensor>(n, 'half')) : null,
      eps.requiresGrad ? mul(g, exp(mul(lv, 0.5))) : null,
    ];
  },
  // y = act(x·Wᵀ + b): g' = g·act'(y) from the output (relu: y > 0 exactly where x·Wᵀ + b > 0),
  // then dx = g'·W, dW = g'ᵀ·x, db = Σ_rows g'.
  linear: (g, n, y) => {
    const [x, w, b] = n.inputs as [Tensor, Tensor, Tensor | undefined];
    const act = s<string>(n, 'act');
    const gp = act === 'none' ? g : unaryGrad(act as 'relu' | 'sigmoid' | 'tanh', y, g);
    return [
      x.requiresGrad ? mm(gp, w) : null,
      w.requiresGrad ? mm(gp, x, true, false) : null,
      b && b.requiresGrad ? sum(gp, [0]) : null,
    ];
  },
  // Each input pixel's gradient is the sum of its sh × sw block of g (the kernel, or that sum).
  upsampleNearest: (g, n) => {
    const x = n.inputs[0]!;
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const [sh, sw] = [s<number>(n, 'sh'), s<number>(n, 'sw')];
    const kernel = getBackend().fused?.upsampleNearestBackward;
    if (!kernel) return [reshape(sum(reshape(g, [B, C, H, sh, W, sw]), [3, 5]), x.shape)];
    const out = Tensor.uninit(x.shape);
    kernel(g.data, B * C, H, W, sh, sw, out.data);
    return [out];
  },
});

/**
 * convTranspose2d's input gradient: the forward conv with params p. When outputPadding ≥ stride
 * (allowed if dilation > stride) that conv's output is larger than x; the extra rows/cols lie
 * outside x and are dropped.
 */
function convTranspose2dInputGrad(g: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const dx = conv2d(g, w, null, { stride: [p.strideH, p.strideW], padding: [p.padH, p.padW], dilation: [p.dilH, p.dilW], groups: p.groups });
  if (dx.shape[2] === p.outH && dx.shape[3] === p.outW) return dx;
  return slice(dx, null, null, [0, p.outH], [0, p.outW]);
}

/** conv2d's input gradient through the transposed convolution with an explicit output padding. */
function convTranspose2dExact(g: Tensor, w: Tensor, p: Conv2dParams, opH: number, opW: number): Tensor {
  if (opH < Math.max(p.strideH, p.dilH) && opW < Math.max(p.strideW, p.dilW))
    return convTranspose2d(g, w, null, {
      stride: [p.strideH, p.strideW],
      padding: [p.padH, p.padW],
      dilation: [p.dilH, p.dilW],
      groups: p.groups,
      outputPadding: [opH, opW],
    });
  // Rows/cols the conv never reached (large strides) get zero gradient: use the kernel directly
  // (it overwrites all of out, zeros included).
  const out = Tensor.uninit([p.batch, p.inC, p.inH, p.inW]);
  getBackend().conv2dBackwardInput(g.data, w.data, out.data, p);
  return out;
}

function extremeGrad(g: Tensor, x: Tensor, out: Tensor, keepShape: number[], axes: number[]): (Tensor | null)[] {
  const m = reshape(out, keepShape);
  const mask = eq(x, m);
  const count = sum(mask, axes, true);
  return [mul(unreduce(div(reshape(g, keepShape), count), keepShape, x.shape), mask)];
}
