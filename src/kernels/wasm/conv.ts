/**
 * Convolution of the wasm backend (assembly/conv.ts): conv2d and its two gradients, with the
 * blocking (image blocks, pixel and channel chunks) chosen here from the layer's geometry.
 */
import type { Conv2dParams, F32 } from '../backend.js';
import { K } from './abi.js';
import { writeConvArgs } from './abi.generated.js';
import { checkLen, roundUp, type WasmContext } from './context.js';

/**
 * Convolutions: floating-point operations. A convolution runs at roughly half the GEMM's rate
 * (im2col / col2im around each GEMM), so the same count takes twice as long: at this threshold
 * a 1→32-channel 3×3 layer on 128 MNIST images (14 MFLOP) wakes sleeping workers
 * (weight ≥ WAKE_WEIGHT in threads.ts) instead of running on the caller alone.
 */
const PAR_CONV_FLOPS = 1 << 20;
/**
 * Weight gradient of layers with 1–3 input channels: at most this many image groups (items),
 * each with its own partial dW. A constant, not a function of the thread count: the grouping
 * decides the order of the sum over images (see "Determinism" in index.ts).
 */
const WG_IMAGE_GROUPS = 16;
/** im2col buffer per thread, in floats: 2 MB keeps the column block in L2/L3. */
const COL_CAP = 1 << 19;
/** Columns (images × output pixels) the conv kernels aim at per GEMM (see conv.ts). */
const CONV_COLS = 512;

/** The operands of a conv kernel: byte offsets in wasm memory (ConvArgs in0, in1, bias, out). */
interface ConvPointers {
  in0: number;
  in1: number;
  bias: number;
  out: number;
}

/** How a conv call is cut into items (ConvArgs pChunk, chunk, mode, partials, nb). */
interface ConvBlocking {
  pChunk: number;
  chunk: number;
  mode: number;
  partials: number;
  nb: number;
}

/** Writes a conv kernel's arguments: operands, geometry, this call's scratch and blocking. */
function convArgs(c: WasmContext, q: ConvPointers, p: Conv2dParams, b: ConvBlocking, offs: [number, number, number, number]): void {
  writeConvArgs(c.args, {
    in0: q.in0,
    in1: q.in1,
    bias: q.bias,
    out: q.out,
    batch: p.batch,
    inC: p.inC,
    inH: p.inH,
    inW: p.inW,
    outC: p.outC,
    outH: p.outH,
    outW: p.outW,
    kH: p.kH,
    kW: p.kW,
    strideH: p.strideH,
    strideW: p.strideW,
    padH: p.padH,
    padW: p.padW,
    dilH: p.dilH,
    dilW: p.dilW,
    groups: p.groups,
    scratch: c.scratchBlock.off,
    scratchStride: c.scratchStride,
    pChunk: b.pChunk,
    chunk: b.chunk,
    mode: b.mode,
    partials: b.partials,
    nb: b.nb,
    colOff: offs[0],
    auxOff: offs[1],
    stageOff: offs[2],
    ctOff: offs[3],
  });
}

function convCheck(op: string, p: Conv2dParams, x: F32 | null, w: F32, g: F32 | null): void {
  const icg = p.inC / p.groups;
  const ocg = p.outC / p.groups;
  if (!Number.isInteger(icg) || !Number.isInteger(ocg)) {
    throw new Error(`wasm backend ${op}: channels ${p.inC}→${p.outC} not divisible by groups ${p.groups}`);
  }
  if (x) checkLen(op, 'x', x, p.batch * p.inC * p.inH * p.inW);
  checkLen(op, 'w', w, p.outC * icg * p.kH * p.kW);
  if (g) checkLen(op, 'g', g, p.batch * p.outC * p.outH * p.outW);
}

function isPointwise(p: Conv2dParams): boolean {
  return p.kH === 1 && p.kW === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
}

/** Pixels per im2col chunk for `rows` col rows, within COL_CAP floats (a multiple of 8). */
function pixelChunk(rows: number, P: number): number {
  return Math.max(1, Math.min(P, Math.max(8, Math.floor(COL_CAP / Math.max(rows, 1) / 8) * 8)));
}

/**
 * Image blocking of the conv kernels for `rows` col rows (see conv.ts): blocks of `nb` whole
 * images side by side, about CONV_COLS columns, within COL_CAP floats of col; or, for an
 * image whose col does not fit, one image in pixel chunks (a whole one for a pointwise conv,
 * which reads x in place). From the geometry alone.
 *
 * `weightsShared`: the forward and input-gradient GEMMs, where a block saves re-packing the
 * weights (rows × ocg floats) and a ragged column tile (up to 7 columns) per image but costs
 * a copy of the image's output or G (ocg × P floats). On the conv AE, blocks pay for 32→64
 * channels at 7×7 (P = 49, 288 rows), not for 1→32 at 14×14 (P = 196, 9 rows), hence one
 * image per block once P ≥ 8·rows. (The weight gradient always gains: K grows to nb·P.)
 */
function imageBlock(p: Conv2dParams, rows: number, weightsShared: boolean): { nb: number; pChunk: number } {
  const P = p.outH * p.outW;
  const fit = Math.floor(COL_CAP / Math.max(rows * P, 1));
  if (fit < 1) return { nb: 1, pChunk: isPointwise(p) ? P : pixelChunk(rows, P) };
  if (weightsShared && P >= 8 * rows) return { nb: 1, pChunk: P };
  return { nb: Math.max(1, Math.min(p.batch, fit, Math.round(CONV_COLS / P))), pChunk: P };
}

/**
 * The image block size for a kernel whose results do not depend on it (forward, input
 * gradient), with `perBlock` items per block: the size in [nb/2, nb] that gives every thread
 * ≥ 2 items and the busiest thread the fewest images.
 */
function balancedBlock(nb: number, batch: number, perBlock: number, nth: number): number {
  if (nth <= 1 || nb <= 1) return nb;
  let best = 0;
  let bestLoad = Infinity;
  for (let n = nb; n >= Math.ceil(nb / 2); n--) {
    const items = Math.ceil(batch / n) * perBlock;
    const load = Math.ceil(items / nth) * n; // images of the busiest thread (× perBlock)
    if (items >= 2 * nth && load < bestLoad) {
      best = n;
      bestLoad = load;
    }
  }
  return best > 0 ? best : Math.max(1, Math.floor((batch * perBlock) / (2 * nth)));
}

/** Floats per phase row of the conv stage (WQ in conv.ts). */
function stageWidth(p: Conv2dParams): number {
  return Math.max(Math.ceil((p.inW + p.padW) / p.strideW), p.outW + Math.floor(((p.kW - 1) * p.dilW) / p.strideW));
}

/** Floats of the conv stage (one input channel's padded, phase-split rows; see conv.ts). */
function stageFloats(p: Conv2dParams, pChunk: number): number {
  if (isPointwise(p)) return 0;
  const wq = stageWidth(p);
  const span = (p.kH - 1) * p.dilH + 1;
  const whole = (p.outH - 1) * p.strideH + span;
  const rows =
    pChunk < p.outH * p.outW
      ? Math.min(whole, (Math.floor((pChunk - 1) / p.outW) + 1) * p.strideH + span)
      : Math.max(whole, p.inH + p.padH);
  return rows * p.strideW * wq;
}

/**
 * Per-thread conv scratch: the GEMM's packing buffers, then col, aux, stage and the weight
 * gradient's transposed accumulator (sizes in floats), with 16 bytes of slack after col and
 * stage (col2im's masked vector tails read and write up to 3 floats past a run). Returns the
 * byte offsets of the four within a thread's block (ConvArgs colOff … ctOff; 0 = no accumulator).
 */
function convScratch(
  c: WasmContext,
  colFloats: number,
  auxFloats: number,
  stageFloats: number,
  ctFloats = 0,
): [number, number, number, number] {
  const col = roundUp(c.gemmScratch, 64);
  const aux = col + roundUp(colFloats * 4 + 16, 64);
  const stage = aux + roundUp(auxFloats * 4, 64);
  const ct = stage + roundUp(stageFloats * 4 + 16, 64);
  c.scratch(ct + ctFloats * 4);
  return [col, aux, stage, ctFloats > 0 ? ct : 0];
}

export function conv2d(c: WasmContext, x: F32, w: F32, bias: F32 | null, out: F32, p: Conv2dParams): void {
  const P = p.outH * p.outW;
  if (p.batch === 0 || p.outC === 0 || P === 0) return;
  convCheck('conv2d', p, x, w, null);
  checkLen('conv2d', 'out', out, p.batch * p.outC * P);
  if (bias) checkLen('conv2d', 'bias', bias, p.outC);
  const Kc = (p.inC / p.groups) * p.kH * p.kW;
  const nth = c.par(2 * p.batch * p.outC * P * Kc, PAR_CONV_FLOPS);
  const pointwise = isPointwise(p);
  // Items are (image block, pixel chunk). Each output element is one dot product over Kc
  // whatever the blocking, so nb and the chunk may follow the thread count.
  const blk = imageBlock(p, Kc, true);
  const nb = balancedBlock(blk.nb, p.batch, 1, nth);
  let chunk = blk.pChunk;
  // Cut images into pixel chunks too when there are fewer than 2 per thread.
  if (nb === 1 && nth > 1 && p.batch < 2 * nth) chunk = Math.min(chunk, roundUp(Math.ceil(P / Math.ceil((2 * nth) / p.batch)), 8));
  const offs = convScratch(
    c,
    pointwise && nb === 1 ? 0 : Kc * nb * chunk,
    nb > 1 ? (p.outC / p.groups) * nb * P : 0,
    stageFloats(p, chunk),
  );
  let ptrs: ConvPointers;
  try {
    ptrs = { in0: c.inp(x), in1: c.inp(w), bias: bias ? c.inp(bias) : 0, out: c.outp(out, false) };
  } catch (e) {
    c.abort(e);
  }
  convArgs(c, ptrs, p, { pChunk: chunk, chunk: 0, mode: 0, partials: 0, nb }, offs);
  c.run(K.conv2d, nth);
}

export function conv2dBackwardInput(c: WasmContext, g: F32, w: F32, out: F32, p: Conv2dParams): void {
  const inSize = p.batch * p.inC * p.inH * p.inW;
  if (inSize === 0) return;
  convCheck('conv2dBackwardInput', p, null, w, g);
  checkLen('conv2dBackwardInput', 'out', out, inSize);
  const P = p.outH * p.outW;
  const icg = p.inC / p.groups;
  const kk = p.kH * p.kW;
  if (P === 0 || p.outC === 0) {
    c.fill(out.subarray(0, inSize), 0);
    return;
  }
  const nth = c.par(2 * p.batch * p.outC * P * icg * kk, PAR_CONV_FLOPS);
  const pointwise = isPointwise(p);
  // The pixel chunk sets the order in which col2im adds into dx: from the geometry only (not
  // from the thread count). nb does not change any value (col2im runs per image), so it may
  // follow the thread count. Items are (image block, group, input-channel chunk): cut
  // channels when there are fewer than 2 (block, group) pairs per thread.
  const blk = imageBlock(p, icg * kk, true);
  const nb = balancedBlock(blk.nb, p.batch, p.groups, nth);
  const chunk = blk.pChunk;
  let cChunk = icg;
  const pairs = Math.ceil(p.batch / nb) * p.groups;
  if (nth > 1 && pairs < 2 * nth) cChunk = Math.max(1, Math.ceil(icg / Math.ceil((2 * nth) / pairs)));
  const offs = convScratch(
    c,
    pointwise && nb === 1 ? 0 : cChunk * kk * nb * chunk,
    nb > 1 ? (p.outC / p.groups) * nb * P : 0,
    stageFloats(p, chunk),
  );
  let ptrs: ConvPointers;
  try {
    ptrs = { in0: c.inp(g), in1: c.inp(w), bias: 0, out: c.outp(out, false) };
  } catch (e) {
    c.abort(e);
  }
  convArgs(c, ptrs, p, { pChunk: chunk, chunk: cChunk, mode: 0, partials: 0, nb }, offs);
  c.run(K.conv2dBackwardInput, nth);
}

export function conv2dBackwardWeight(c: WasmContext, x: F32, g: F32, out: F32, p: Conv2dParams): void {
  const icg = p.inC / p.groups;
  const ocg = p.outC / p.groups;
  const kk = p.kH * p.kW;
  const wSize = p.outC * icg * kk;
  if (wSize === 0) return;
  convCheck('conv2dBackwardWeight', p, x, out, g);
  const P = p.outH * p.outW;
  const nth = c.par(2 * p.batch * p.outC * P * icg * kk, PAR_CONV_FLOPS);
  // mode 0: items (group, input-channel chunk) — no repeated work; mode 1: (group,
  // output-channel chunk), repeating im2col per item; mode 2: groups of images, each summed
  // into its own partial dW, for layers with too few input channels to split (a first layer
  // on 1–3 channels). Modes 0 and 1 only cut dW into disjoint blocks, so their chunk sizes may
  // follow the thread count (aiming at ≥ 2 items per thread); whether mode 2 is used, and its
  // image groups, change the order of the sum over images and so depend on the geometry only.
  let mode = 0;
  let chunk = icg;
  if (p.inC < 4 && p.batch >= 2 && P > 0) {
    mode = 2;
    chunk = Math.ceil(p.batch / Math.min(p.batch, WG_IMAGE_GROUPS));
  } else if (nth > 1 && p.groups < 2 * nth) {
    const cuts = Math.ceil((2 * nth) / p.groups);
    if (icg >= cuts) chunk = Math.ceil(icg / cuts);
    else if (ocg >= 4 * cuts) {
      mode = 1;
      chunk = roundUp(Math.ceil(ocg / cuts), 4);
    } else chunk = 1;
  }
  const pointwise = isPointwise(p);
  // The image block (the GEMM's K = nb·P) and the pixel chunk are the blocking of the sum over
  // images and pixels: from the geometry only.
  const { nb, pChunk } = imageBlock(p, icg * kk, false);
  const cols = (mode === 0 ? chunk : icg) * kk; // col rows = dW columns per item
  const ocRows = mode === 1 ? chunk : ocg;
  // dWᵀ when fewer 4×8 micro-kernel tiles cover it than dW (see conv.ts).
  const tiles = (m: number, n: number): number => Math.ceil(m / 4) * Math.ceil(n / 8);
  const transposed = tiles(cols, ocRows) < tiles(ocRows, cols);
  const offs = convScratch(
    c,
    pointwise && nb === 1 ? 0 : cols * nb * pChunk,
    nb > 1 ? ocRows * nb * P : 0,
    stageFloats(p, pChunk),
    transposed ? cols * ocRows : 0,
  );
  const items = mode === 2 ? Math.ceil(p.batch / chunk) : 0;
  let ptrs: ConvPointers;
  let partials = 0;
  try {
    if (mode === 2) {
      partials = c.heap.alloc(items * wSize * 4, false);
      c.temps.push(partials);
    }
    const outPtr = c.outp(out, false);
    ptrs = { in0: c.inp(x), in1: c.inp(g), bias: 0, out: outPtr };
  } catch (e) {
    c.abort(e);
  }
  const outPtr = ptrs.out;
  convArgs(c, ptrs, p, { pChunk: Math.max(1, pChunk), chunk, mode, partials, nb }, offs);
  if (mode !== 2) {
    c.run(K.conv2dBackwardWeight, nth);
    return;
  }
  c.run(K.conv2dBackwardWeight, nth, () => {
    // dW = Σ of the partials in item order (fixed by the geometry: see above).
    const dst = c.heap.f32(outPtr, wSize);
    c.mem.copy(outPtr, partials, wSize);
    for (let t = 1; t < items; t++) {
      const part = c.heap.f32(partials + t * wSize * 4, wSize);
      for (let i = 0; i < wSize; i++) dst[i]! += part[i]!;
    }
  });
}
