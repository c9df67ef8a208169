/** Convolutions, pooling and upsampling over (B, C, H, W) tensors. */
import type { Conv2dParams, Pool2dParams } from '../kernels/backend.js';
import { getBackend } from '../kernels/registry.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { expand, reshape } from './shape.js';
import { checkTensor, fmt, pair } from './util.js';

export type Size2 = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Size2;
}

function check4d(op: string, x: Tensor): [number, number, number, number] {
  checkTensor(op, x);
  if (x.ndim !== 4) throw new Error(`${op}: expected a 4-D input (B, C, H, W), got ${fmt(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

function convParams(op: string, x: Tensor, w: Tensor, o: Conv2dOptions): Conv2dParams {
  const [B, C, H, W] = check4d(op, x);
  checkTensor(op, w, 'weight');
  if (w.ndim !== 4) throw new Error(`${op}: weight must be 4-D (out, in/groups, kH, kW), got ${fmt(w.shape)}`);
  const groups = o.groups ?? 1;
  const [sH, sW] = pair(op, 'stride', o.stride ?? 1, 1);
  const [pH, pW] = pair(op, 'padding', o.padding ?? 0, 0);
  const [dH, dW] = pair(op, 'dilation', o.dilation ?? 1, 1);
  const [O, Cg, kH, kW] = w.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0)
    throw new Error(`${op}: groups=${groups} must divide input channels ${C} and output channels ${O}`);
  if (Cg * groups !== C)
    throw new Error(`${op}: input ${fmt(x.shape)} has ${C} channels but weight ${fmt(w.shape)} expects ${Cg * groups} (groups=${groups})`);
  const oH = Math.floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const oW = Math.floor((W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  if (oH < 1 || oW < 1)
    throw new Error(`${op}: kernel ${kH}×${kW} (dilation ${dH}×${dW}) is larger than the padded input ${H + 2 * pH}×${W + 2 * pW}`);
  return { batch: B, inC: C, inH: H, inW: W, outC: O, outH: oH, outW: oW, kH, kW, strideH: sH, strideW: sW, padH: pH, padW: pW, dilH: dH, dilW: dW, groups };
}

/** PyTorch's conv2d (cross-correlation): x (B, C, H, W), w (O, C/g, kH, kW), bias (O). */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const p = convParams('conv2d', x, w, opts);
  if (bias && (bias.ndim !== 1 || bias.size !== p.outC))
    throw new Error(`conv2d: bias must have shape [${p.outC}], got ${fmt(bias.shape)}`);
  const out = Tensor.uninit([p.batch, p.outC, p.outH, p.outW]);
  getBackend().conv2d(x.data, w.data, bias ? bias.data : null, out.data, p);
  return record(out, 'conv2d', bias ? [x, w, bias] : [x, w], { p });
}

/**
 * Transposed convolution (the adjoint of conv2d): x (B, Cin, H, W), w (Cin, Cout/g, kH, kW),
 * out size (H − 1)·s − 2p + d·(k − 1) + outputPadding + 1.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const [B, Cin, H, W] = check4d(op, x);
  checkTensor(op, w, 'weight');
  if (w.ndim !== 4) throw new Error(`${op}: weight must be 4-D (in, out/groups, kH, kW), got ${fmt(w.shape)}`);
  const groups = opts.groups ?? 1;
  const [sH, sW] = pair(op, 'stride', opts.stride ?? 1, 1);
  const [pH, pW] = pair(op, 'padding', opts.padding ?? 0, 0);
  const [dH, dW] = pair(op, 'dilation', opts.dilation ?? 1, 1);
  const [opH, opW] = pair(op, 'outputPadding', opts.outputPadding ?? 0, 0);
  if (opH >= Math.max(sH, dH) || opW >= Math.max(sW, dW))
    throw new Error(`${op}: outputPadding ${opH}×${opW} must be smaller than stride or dilation`);
  const [wi, Cog, kH, kW] = w.shape as [number, number, number, number];
  if (wi !== Cin) throw new Error(`${op}: input ${fmt(x.shape)} has ${Cin} channels but weight ${fmt(w.shape)} expects ${wi}`);
  if (!Number.isInteger(groups) || groups < 1 || Cin % groups !== 0)
    throw new Error(`${op}: groups=${groups} must divide input channels ${Cin}`);
  const Cout = Cog * groups;
  const oH = (H - 1) * sH - 2 * pH + dH * (kH - 1) + opH + 1;
  const oW = (W - 1) * sW - 2 * pW + dW * (kW - 1) + opW + 1;
  if (oH < 1 || oW < 1) throw new Error(`${op}: output size ${oH}×${oW} is not positive for input ${fmt(x.shape)}`);
  if (bias && (bias.ndim !== 1 || bias.size !== Cout))
    throw new Error(`${op}: bias must have shape [${Cout}], got ${fmt(bias.shape)}`);
  // The equivalent forward conv maps (B, Cout, oH, oW) → (B, Cin, H, W).
  const p: Conv2dParams = {
    batch: B, inC: Cout, inH: oH, inW: oW, outC: Cin, outH: H, outW: W, kH, kW,
    strideH: sH, strideW: sW, padH: pH, padW: pW, dilH: dH, dilW: dW, groups,
  };
  const out = Tensor.uninit([B, Cout, oH, oW]);
  const b = getBackend();
  b.conv2dBackwardInput(x.data, w.data, out.data, p);
  // The bias, per output channel, in place with the backend's broadcasting add (a JavaScript
  // loop over wasm memory would take the slow element-by-element path on shared memory).
  if (bias) b.binary('add', out.data, [B, Cout, oH * oW], bias.data, [1, Cout, 1], out.data, [B, Cout, oH * oW]);
  return record(out, 'convTranspose2d', bias ? [x, w, bias] : [x, w], { p });
}

/** The weight gradient of a conv2d with params p (not differentiable itself). */
export function conv2dWeightGrad(x: Tensor, g: Tensor, wShape: readonly number[], p: Conv2dParams): Tensor {
  const out = Tensor.uninit(wShape);
  getBackend().conv2dBackwardWeight(x.data, g.data, out.data, p);
  return out;
}

export interface Pool2dOptions {
  stride?: Size2;
  padding?: Size2;
  /** Round output sizes up instead of down (PyTorch's ceil_mode). */
  ceilMode?: boolean;
}

function poolParams(op: string, x: Tensor, kernel: Size2, o: Pool2dOptions): Pool2dParams {
  const [B, C, H, W] = check4d(op, x);
  const [kH, kW] = pair(op, 'kernelSize', kernel, 1);
  const [sH, sW] = pair(op, 'stride', o.stride ?? kernel, 1);
  const [pH, pW] = pair(op, 'padding', o.padding ?? 0, 0);
  if (pH * 2 > kH || pW * 2 > kW) throw new Error(`${op}: padding ${pH}×${pW} must be at most half the kernel ${kH}×${kW}`);
  const rnd = o.ceilMode ? Math.ceil : Math.floor;
  let oH = rnd((H + 2 * pH - kH) / sH) + 1;
  let oW = rnd((W + 2 * pW - kW) / sW) + 1;
  // ceil mode: the last window must start inside the input or left padding
  if (o.ceilMode && (oH - 1) * sH >= H + pH) oH--;
  if (o.ceilMode && (oW - 1) * sW >= W + pW) oW--;
  if (oH < 1 || oW < 1) throw new Error(`${op}: kernel ${kH}×${kW} is larger than the padded input ${H + 2 * pH}×${W + 2 * pW}`);
  return { batch: B, channels: C, inH: H, inW: W, outH: oH, outW: oW, kH, kW, strideH: sH, strideW: sW, padH: pH, padW: pW };
}

export function maxPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor {
  const p = poolParams('maxPool2d', x, kernelSize, opts);
  const out = Tensor.uninit([p.batch, p.channels, p.outH, p.outW]);
  // The argmax indices for the gradient, in backend memory (a plain array would be copied into
  // the wasm heap and back in the forward pass, and in again in the backward: ~3 MB each way per
  // CNN layer); a tensor, so it lives as long as the tape around it (tidy scopes).
  const idx = Tensor.uninit([out.size]);
  getBackend().maxPool2d(x.data, out.data, idx.data, p);
  return record(out, 'maxPool2d', [x], { p, idx });
}

export function avgPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor {
  const p = poolParams('avgPool2d', x, kernelSize, opts);
  const out = Tensor.uninit([p.batch, p.channels, p.outH, p.outW]);
  getBackend().avgPool2d(x.data, out.data, p);
  return record(out, 'avgPool2d', [x], { p });
}

/**
 * Nearest-neighbour upsampling by integer scale factors: the fused kernel, or each pixel repeated
 * over an sh × sw block by expand (whose gradient sums each block back).
 */
export function upsampleNearest(x: Tensor, scale: Size2): Tensor {
  const [B, C, H, W] = check4d('upsample', x);
  const [sh, sw] = pair('upsample', 'scaleFactor', scale, 1);
  const kernel = getBackend().fused?.upsampleNearest;
  if (!kernel) return reshape(expand(reshape(x, [B, C, H, 1, W, 1]), [B, C, H, sh, W, sw]), [B, C, H * sh, W * sw]);
  const out = Tensor.uninit([B, C, H * sh, W * sw]);
  kernel(x.data, B * C, H, W, sh, sw, out.data);
  return record(out, 'upsampleNearest', [x], { sh, sw });
}
