/**
 * Pooling and nearest upsampling of the wasm backend (assembly/pool.ts): max and average pooling
 * and their gradients through one call frame (poolCall), upsampling and its gradient through
 * another. Items are runs of whole planes, so these kernels thread only over enough planes.
 */
import type { F32, Pool2dParams } from '../backend.js';
import { K } from './abi.js';
import { writePoolArgs, writeUpsampleArgs } from './abi.generated.js';
import { checkLen, PAR_ELEMS, type WasmContext } from './context.js';

/**
 * Whether max pooling (forward and gradient) takes the vector path of assembly/pool.ts: 2×2
 * windows, stride 2, no padding, every window inside the input (ceil mode's last window on an
 * odd size hangs over the edge, and the vector path reads all four of its pixels), and rows of
 * at least 4 windows (four windows per step).
 */
function maxPoolQuads(p: Pool2dParams): boolean {
  const inside = 2 * p.outH <= p.inH && 2 * p.outW <= p.inW;
  return p.kH === 2 && p.kW === 2 && p.strideH === 2 && p.strideW === 2 && p.padH === 0 && p.padW === 0 && inside && p.outW >= 4;
}

export function maxPool2d(c: WasmContext, x: F32, out: F32, idx: F32, p: Pool2dParams): void {
  poolCall(c, K.maxPool2d, 'maxPool2d', x, idx, out, p, false);
}

export function maxPool2dBackward(c: WasmContext, g: F32, idx: F32, out: F32, p: Pool2dParams): void {
  poolCall(c, K.maxPool2dBackward, 'maxPool2dBackward', g, idx, out, p, true);
}

export function avgPool2d(c: WasmContext, x: F32, out: F32, p: Pool2dParams): void {
  poolCall(c, K.avgPool2d, 'avgPool2d', x, null, out, p, false);
}

export function avgPool2dBackward(c: WasmContext, g: F32, out: F32, p: Pool2dParams): void {
  poolCall(c, K.avgPool2dBackward, 'avgPool2dBackward', g, null, out, p, true);
}

/**
 * A pooling kernel: forward (x → out, pooled; max pooling also writes idx) or backward (g → out,
 * input-sized; max pooling reads idx). Threaded by the window reads, or for the max-pooling
 * gradient by the input elements it writes.
 */
function poolCall(c: WasmContext, k: number, what: string, src: F32, idx: F32 | null, out: F32, p: Pool2dParams, backward: boolean): void {
  const planes = p.batch * p.channels;
  const inSize = planes * p.inH * p.inW;
  const outSize = planes * p.outH * p.outW;
  if ((backward ? inSize : outSize) === 0) return;
  checkLen(what, backward ? 'g' : 'x', src, backward ? outSize : inSize);
  if (idx && backward) checkLen(what, 'idx', idx, outSize);
  checkLen(what, 'out', out, backward ? inSize : outSize);
  if (idx && !backward) checkLen(what, 'idx', idx, outSize);
  const ps = c.inp(src);
  const po = c.outp(out, false);
  const pi = idx === null ? 0 : backward ? c.inp(idx) : c.outp(idx, false);
  const { inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW } = p;
  const quads = idx !== null && maxPoolQuads(p);
  writePoolArgs(c.args, { src: ps, out: po, idx: pi, planes, inH, inW, outH, outW, kH, kW, strideH, strideW, padH, padW, quads });
  const work = idx && backward ? inSize : outSize * kH * kW;
  c.run(k, planes >= c.threads ? c.par(work, PAR_ELEMS) : 1);
}

export function upsampleNearest(c: WasmContext, x: F32, planes: number, h: number, w: number, sh: number, sw: number, out: F32): void {
  upsampleCall(c, K.upsampleNearest, 'upsampleNearest', x, planes, h, w, sh, sw, out, false);
}

export function upsampleNearestBackward(
  c: WasmContext,
  g: F32,
  planes: number,
  h: number,
  w: number,
  sh: number,
  sw: number,
  out: F32,
): void {
  upsampleCall(c, K.upsampleNearestBackward, 'upsampleNearestBackward', g, planes, h, w, sh, sw, out, true);
}

/** Nearest upsampling forward (x → out) or backward (g → out, input-sized). */
function upsampleCall(
  c: WasmContext,
  k: number,
  what: string,
  src: F32,
  planes: number,
  h: number,
  w: number,
  sh: number,
  sw: number,
  out: F32,
  backward: boolean,
): void {
  const small = planes * h * w;
  const big = small * sh * sw;
  if (small === 0) return;
  checkLen(what, backward ? 'g' : 'x', src, backward ? big : small);
  checkLen(what, 'out', out, backward ? small : big);
  const ps = c.inp(src),
    po = c.outp(out, false);
  writeUpsampleArgs(c.args, { src: ps, out: po, planes, h, w, sh, sw });
  c.run(k, planes >= c.threads ? c.par(big, PAR_ELEMS) : 1);
}
