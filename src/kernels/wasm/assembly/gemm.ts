// Single-precision GEMM, BLIS-style: C = alpha·op(A)·op(B) + beta·C.
//
// Loop nest (per thread, over its own block of C):
//   for jc in N step NC:            B block  (KC × NC) packed once, lives in L3/L2
//     for pc in K step KC:
//       pack B(pc:pc+kc, jc:jc+nc) into NR-wide column panels
//       for ic in M step MC:        A block  (MC × KC) packed, lives in L2
//         pack A(ic:ic+mc, pc:pc+kc) into MR-tall row panels
//         for jr in nc step NR:     one B panel (KC × NR = 8 KB) stays in L1
//           for ir in mc step MR:   4×8 micro-kernel, 8 f32x4 accumulators in registers
//                                   (full tiles: fullTiles; edge tiles: edgeTile + edgeUpdate)
//
// Why 4×8: the tile keeps 8 accumulators + 2 B vectors + 1 A broadcast in 11 of the 15 usable
// xmm registers, so V8 allocates it without spilling (6×8, 5×8 and 4×12 tiles spill), and with
// the relaxed-SIMD build's FMA it issues the 128-bit peak of 2 FMAs per cycle from L1. The tile
// is inlined into the loop over the block's tiles (fullTiles), which is what lets V8 keep its
// address arithmetic out of the k loop (see micro4x8).
//
// op(A)(i, k) = A[i·rsA + k·csA] and op(B)(k, j) = B[k·rsB + j·csB] (strides in elements), so
// transposition is just a choice of strides; the packers pick a SIMD path for the two
// contiguous layouts (row-major and transposed) and a scalar path otherwise.

import { MatmulAct, MatmulArgs, PackSharedArgs } from './abi.generated';
import { partLo, partHi, joinItems, beginItems, nextItem, endItems, loadPartial, storePartial } from './common';
import { sigmoidV, tanhV } from './vmath';

export const MR: i32 = 4;
export const NR: i32 = 8;
// Upper bounds of the cache blocks; the actual blocks split each dimension evenly (K = 784 runs
// as 2 × 392, not 512 + 272), so no block is a short ragged remainder.
export const MC: i32 = 128; // A block ≤ 128×512×4 B = 256 KB: half the 512 KB L2
export const KC: i32 = 512; // B panel ≤ 512×8×4 B = 16 KB + A panel 8 KB: inside the 32 KB L1
export const NC: i32 = 2048; // B block ≤ 512×2048×4 B = 4 MB: L3-resident

const PACK_A_BYTES: usize = <usize>(MC * KC) << 2;
const PACK_B_BYTES: usize = <usize>(KC * NC) << 2;
const TMP_BYTES: usize = <usize>(MR * NR) << 2;

/** Bytes of per-thread scratch gemmST needs (packed A block, packed B block, edge tile). */
export function gemmScratchBytes(): i32 {
  return <i32>(PACK_A_BYTES + PACK_B_BYTES + TMP_BYTES + 64);
}

/**
 * c + a·b. RELAXED is a compile-time constant (asc --use RELAXED=0|1): tools/build-wasm.mjs
 * builds the module twice, and the relaxed-SIMD build uses f32x4.relaxed_madd, a fused
 * multiply-add where the CPU has one. On Zen 3 FMA and separate mul+add have the same peak
 * (mul and add run on separate pipes), but on Intel and Apple cores FMA doubles it. The
 * loader picks the relaxed build when the engine validates it.
 */
@inline function madd(c: v128, a: v128, b: v128): v128 {
  // @ts-ignore: RELAXED is defined by the compiler flag, not declared
  if (RELAXED) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** C (one row: 8 floats at p) = alpha·acc + beta·C, beta 0 overwriting without reading C. */
@inline function upd(p: usize, acc0: v128, acc1: v128, av: v128, bv: v128, mode: i32): void {
  if (mode == 0) {
    v128.store(p, acc0);
    v128.store(p, acc1, 16);
  } else if (mode == 1) {
    v128.store(p, f32x4.mul(acc0, av));
    v128.store(p, f32x4.mul(acc1, av), 16);
  } else if (mode == 2) {
    v128.store(p, madd(v128.load(p), acc0, av));
    v128.store(p, madd(v128.load(p, 16), acc1, av), 16);
  } else {
    v128.store(p, madd(f32x4.mul(v128.load(p), bv), acc0, av));
    v128.store(p, madd(f32x4.mul(v128.load(p, 16), bv), acc1, av), 16);
  }
}

/**
 * The 4×8 micro-kernel. pa: kc×4 packed A panel (k-major), pb: kc×8 packed B panel (k-major).
 * Writes the tile to c (row stride ldcB bytes) with C = alpha·acc + beta·C; `mode` (see
 * tileMode) says which of those terms are needed.
 *
 * Always inlined into a loop over tiles (fullTiles, edgeTile): V8 does not fold the constant
 * offsets of the three A broadcasts into their addressing mode, and only when the k loop sits
 * inside an outer loop in the same function does it hoist those address computations out of
 * the k loop. Called as a function of its own, the k loop carries 3 extra `lea`s per iteration
 * (25 instead of 21 instructions per 8 FMAs).
 */
@inline function micro4x8(kc: i32, pa: usize, pb: usize, c: usize, ldcB: usize, av: v128, bv: v128, mode: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a = pa, b = pb;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(c00, av, b0);
    c01 = madd(c01, av, b1);
    av = v128.load32_splat(a, 4);
    c10 = madd(c10, av, b0);
    c11 = madd(c11, av, b1);
    av = v128.load32_splat(a, 8);
    c20 = madd(c20, av, b0);
    c21 = madd(c21, av, b1);
    av = v128.load32_splat(a, 12);
    c30 = madd(c30, av, b0);
    c31 = madd(c31, av, b1);
    a += 16;
    b += 32;
  }
  if (mode == 0) {
    upd(c, c00, c01, av, bv, 0);
    upd(c + ldcB, c10, c11, av, bv, 0);
    upd(c + 2 * ldcB, c20, c21, av, bv, 0);
    upd(c + 3 * ldcB, c30, c31, av, bv, 0);
  } else if (mode == 1) {
    upd(c, c00, c01, av, bv, 1);
    upd(c + ldcB, c10, c11, av, bv, 1);
    upd(c + 2 * ldcB, c20, c21, av, bv, 1);
    upd(c + 3 * ldcB, c30, c31, av, bv, 1);
  } else if (mode == 2) {
    upd(c, c00, c01, av, bv, 2);
    upd(c + ldcB, c10, c11, av, bv, 2);
    upd(c + 2 * ldcB, c20, c21, av, bv, 2);
    upd(c + 3 * ldcB, c30, c31, av, bv, 2);
  } else {
    upd(c, c00, c01, av, bv, 3);
    upd(c + ldcB, c10, c11, av, bv, 3);
    upd(c + 2 * ldcB, c20, c21, av, bv, 3);
    upd(c + 3 * ldcB, c30, c31, av, bv, 3);
  }
}

/** How a tile is written: 0 plain store, 1 scaled store, 2 C += alpha·acc, 3 general. */
@inline function tileMode(alpha: f32, beta: f32): i32 {
  return beta == 0 ? (alpha == 1 ? 0 : 1) : beta == 1 ? 2 : 3;
}

/** One dense 4×8 tile into `tmp` (row stride 32 bytes), for the edges: edgeUpdate then writes its valid part. */
function edgeTile(kc: i32, pa: usize, pb: usize, tmp: usize): void {
  micro4x8(kc, pa, pb, tmp, 32, f32x4.splat(1), f32x4.splat(0), 0);
}

/**
 * Every full 4×8 tile of an mc × nc block (mFull, nFull: the multiples of 4 and 8 in it),
 * B panels outer so each stays in L1 while the A panels stream past it from L2.
 */
function fullTiles(
  mFull: i32, nFull: i32, kc: i32, aBlock: usize, bBlock: usize, cc: usize, ldcB: usize, alpha: f32, beta: f32,
): void {
  const av = f32x4.splat(alpha), bv = f32x4.splat(beta), mode = tileMode(alpha, beta);
  for (let jr = 0; jr < nFull; jr += NR) {
    const bp = bBlock + ((<usize>jr * <usize>kc) << 2);
    const cj = cc + (<usize>jr << 2);
    for (let ir = 0; ir < mFull; ir += MR) {
      micro4x8(kc, aBlock + ((<usize>ir * <usize>kc) << 2), bp, cj + <usize>ir * ldcB, ldcB, av, bv, mode);
    }
  }
}

/** Partial edge tile (mr ≤ 4, nr ≤ 8): the kernel wrote a dense 4×8 tile to tmp. */
function edgeUpdate(mr: i32, nr: i32, tmp: usize, c: usize, ldcB: usize, alpha: f32, beta: f32): void {
  for (let i = 0; i < mr; i++) {
    const t = tmp + (<usize>i << 5);
    const cr = c + <usize>i * ldcB;
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      const v = alpha * load<f32>(t + o);
      store<f32>(cr + o, beta == 0 ? v : v + beta * load<f32>(cr + o));
    }
  }
}

@inline function tr0(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 0, 1, 4, 5);
}
@inline function tr1(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 2, 3, 6, 7);
}
@inline function tr2(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 0, 1, 4, 5);
}
@inline function tr3(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 2, 3, 6, 7);
}

/**
 * Packs op(A)(0:mc, 0:kc) into MR-row panels: panel p holds kc groups of 4 floats
 * (rows 4p..4p+3 at one k), rows past mc zero-filled.
 */
function packA(a: usize, rsA: i32, csA: i32, mc: i32, kc: i32, dst: usize): void {
  const rsb = <usize>rsA << 2, csb = <usize>csA << 2;
  for (let i0 = 0; i0 < mc; i0 += 4) {
    const rows = min(4, mc - i0);
    const src = a + <usize>i0 * rsb;
    if (rows == 4 && csA == 1) {
      // Row-major A: 4 rows × 4 k loaded as 4 vectors, transposed to 4 k-groups.
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + (<usize>k << 2);
        const r0 = v128.load(s), r1 = v128.load(s + rsb), r2 = v128.load(s + 2 * rsb), r3 = v128.load(s + 3 * rsb);
        const d = dst + (<usize>k << 4);
        v128.store(d, tr0(r0, r1, r2, r3));
        v128.store(d, tr1(r0, r1, r2, r3), 16);
        v128.store(d, tr2(r0, r1, r2, r3), 32);
        v128.store(d, tr3(r0, r1, r2, r3), 48);
      }
      for (; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 4);
        store<f32>(d, load<f32>(s));
        store<f32>(d, load<f32>(s + rsb), 4);
        store<f32>(d, load<f32>(s + 2 * rsb), 8);
        store<f32>(d, load<f32>(s + 3 * rsb), 12);
      }
    } else if (rows == 4 && rsA == 1) {
      // Transposed A (stored K × M): the 4 rows at one k are contiguous.
      for (let k = 0; k < kc; k++) {
        v128.store(dst + (<usize>k << 4), v128.load(src + <usize>k * csb));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const d = dst + (<usize>k << 4);
        const s = src + <usize>k * csb;
        for (let r = 0; r < 4; r++) {
          store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + <usize>r * rsb) : 0);
        }
      }
    }
    dst += <usize>kc << 4;
  }
}

/**
 * Packs op(B)(0:kc, 0:nc) into NR-column panels: panel q holds kc groups of 8 floats
 * (columns 8q..8q+7 at one k), columns past nc zero-filled.
 */
function packB(b: usize, rsB: i32, csB: i32, kc: i32, nc: i32, dst: usize): void {
  const rsb = <usize>rsB << 2, csb = <usize>csB << 2;
  for (let j0 = 0; j0 < nc; j0 += 8) {
    const cols = min(8, nc - j0);
    const src = b + <usize>j0 * csb;
    if (cols == 8 && csB == 1) {
      // Row-major B: 8 contiguous floats per k.
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>k * rsb;
        const d = dst + (<usize>k << 5);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else if (cols == 8 && rsB == 1) {
      // Transposed B (stored N × K): each column is contiguous along k; transpose 4×4 blocks.
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 5);
        let r0 = v128.load(s), r1 = v128.load(s + csb), r2 = v128.load(s + 2 * csb), r3 = v128.load(s + 3 * csb);
        v128.store(d, tr0(r0, r1, r2, r3));
        v128.store(d, tr1(r0, r1, r2, r3), 32);
        v128.store(d, tr2(r0, r1, r2, r3), 64);
        v128.store(d, tr3(r0, r1, r2, r3), 96);
        const s4 = s + 4 * csb;
        r0 = v128.load(s4);
        r1 = v128.load(s4 + csb);
        r2 = v128.load(s4 + 2 * csb);
        r3 = v128.load(s4 + 3 * csb);
        v128.store(d, tr0(r0, r1, r2, r3), 16);
        v128.store(d, tr1(r0, r1, r2, r3), 48);
        v128.store(d, tr2(r0, r1, r2, r3), 80);
        v128.store(d, tr3(r0, r1, r2, r3), 112);
      }
      for (; k < kc; k++) {
        const s = src + (<usize>k << 2);
        const d = dst + (<usize>k << 5);
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + <usize>j * csb));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>k * rsb;
        const d = dst + (<usize>k << 5);
        for (let j = 0; j < 8; j++) {
          store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(s + <usize>j * csb) : 0);
        }
      }
    }
    dst += <usize>kc << 5;
  }
}

/** Block size ≤ max splitting n into equal blocks, rounded up to a multiple of `unit`. */
@inline function evenBlock(n: i32, max: i32, unit: i32): i32 {
  const blocks = (n + max - 1) / max;
  const b = (n + blocks - 1) / blocks;
  const r = ((b + unit - 1) / unit) * unit;
  return r < max ? r : max;
}

/** C (M × N, row stride ldc) = beta·C, for K = 0. */
function scaleC(M: i32, N: i32, c: usize, ldc: i32, beta: f32): void {
  for (let i = 0; i < M; i++) {
    const row = c + ((<usize>i * <usize>ldc) << 2);
    for (let j = 0; j < N; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, beta == 0 ? 0 : beta * load<f32>(p));
    }
  }
}

/** The K block size gemmST uses for a given K (shared with packShared). */
@inline function kBlock(K: i32): i32 {
  return evenBlock(K, KC, 8);
}

/**
 * Single-threaded GEMM over one block: C(M × N, row stride ldc) = alpha·op(A)·op(B) + beta·C.
 * `scratch` needs gemmScratchBytes() bytes. Used directly by the conv kernels.
 *
 * preA / preB (0 = none): the whole of op(A) or op(B) already packed by packShared, which the
 * threads of a matmul share instead of each packing the same operand again. preA holds, for
 * each K block pc, the row panels of all M rows (rows padded to a multiple of 4): the panel of
 * rows i..i+3 starts at float pc·Mpad + i·kc. preB likewise holds column panels (padded to a
 * multiple of 8): float pc·Npad + j·kc; it needs N ≤ NC (one column block).
 */
export function gemmST(
  M: i32, N: i32, K: i32,
  a: usize, rsA: i32, csA: i32,
  b: usize, rsB: i32, csB: i32,
  c: usize, ldc: i32, alpha: f32, beta: f32, scratch: usize,
  preA: usize = 0, preB: usize = 0,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    scaleC(M, N, c, ldc, beta);
    return;
  }
  const ldcB = <usize>ldc << 2;
  const pa = (scratch + 63) & ~(<usize>63);
  const pb = pa + PACK_A_BYTES;
  const tmp = pb + PACK_B_BYTES;
  const ncB = preB != 0 ? N : evenBlock(N, NC, NR), kcB = kBlock(K), mcB = evenBlock(M, MC, MR);
  const mPad = <usize>((M + MR - 1) & ~(MR - 1)), nPad = <usize>((N + NR - 1) & ~(NR - 1));
  for (let jc = 0; jc < N; jc += ncB) {
    const nc = min(ncB, N - jc);
    for (let pc = 0; pc < K; pc += kcB) {
      const kc = min(kcB, K - pc);
      const bt: f32 = pc == 0 ? beta : 1;
      let bBlock = pb;
      if (preB != 0) bBlock = preB + ((<usize>pc * nPad) << 2);
      else packB(b + ((<usize>pc * <usize>rsB + <usize>jc * <usize>csB) << 2), rsB, csB, kc, nc, pb);
      for (let ic = 0; ic < M; ic += mcB) {
        const mc = min(mcB, M - ic);
        let aBlock = pa;
        if (preA != 0) aBlock = preA + ((<usize>pc * mPad + <usize>ic * <usize>kc) << 2);
        else packA(a + ((<usize>ic * <usize>rsA + <usize>pc * <usize>csA) << 2), rsA, csA, mc, kc, pa);
        const mFull = mc & ~(MR - 1), nFull = nc & ~(NR - 1);
        const cc = c + <usize>ic * ldcB + (<usize>jc << 2);
        fullTiles(mFull, nFull, kc, aBlock, bBlock, cc, ldcB, alpha, bt);
        // Edge tiles (last rows and/or columns): the kernel writes a dense 4×8 tile to tmp.
        if (mFull < mc || nFull < nc) {
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = min(NR, nc - jr);
            const bp = bBlock + ((<usize>jr * <usize>kc) << 2);
            for (let ir = jr < nFull ? mFull : 0; ir < mc; ir += MR) {
              const mr = min(MR, mc - ir);
              edgeTile(kc, aBlock + ((<usize>ir * <usize>kc) << 2), bp, tmp);
              edgeUpdate(mr, nr, tmp, cc + <usize>ir * ldcB + (<usize>jr << 2), ldcB, alpha, bt);
            }
          }
        }
      }
    }
  }
}

/** The epilogue for one activation: C = act(C + bias) over rows × cols (row stride ldc floats). */
@inline function epilogueLoop<Op>(c: usize, rows: i32, cols: i32, ldc: i32, bias: usize): void {
  const op = changetype<Op>(0);
  for (let r = 0; r < rows; r++) {
    const row = c + ((<usize>r * <usize>ldc) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      let v = v128.load(row + o);
      if (bias != 0) v = f32x4.add(v, v128.load(bias + o));
      v128.store(row + o, op.f(v));
    }
    if (j < cols) {
      const o = <usize>j << 2, n = cols - j;
      let v = loadPartial(row + o, n);
      if (bias != 0) v = f32x4.add(v, loadPartial(bias + o, n));
      storePartial(row + o, op.f(v), n);
    }
  }
}
// Same definitions as the unary kernels (elementwise.ts), so a fused layer gives their bits.
@final class ENone { @inline f(x: v128): v128 { return x; } }
@final class ERelu { @inline f(x: v128): v128 { return v128.and(x, f32x4.gt(x, f32x4.splat(0))); } }
@final class ESigmoid { @inline f(x: v128): v128 { return sigmoidV(x); } }
@final class ETanh { @inline f(x: v128): v128 { return tanhV(x); } }

/** C = act(C + bias) on a block of C, bias (0 = none) already offset to the block's first column. */
function epilogue(c: usize, rows: i32, cols: i32, ldc: i32, bias: usize, act: i32): void {
  if (act == MatmulAct.relu) epilogueLoop<ERelu>(c, rows, cols, ldc, bias);
  else if (act == MatmulAct.sigmoid) epilogueLoop<ESigmoid>(c, rows, cols, ldc, bias);
  else if (act == MatmulAct.tanh) epilogueLoop<ETanh>(c, rows, cols, ldc, bias);
  else if (bias != 0) epilogueLoop<ENone>(c, rows, cols, ldc, bias);
}

/** Panels packed per packShared item. */
const PACK_PANELS: i32 = 8;

/**
 * Packs a whole GEMM operand for gemmST's preA / preB, threaded. Args: PackSharedArgs: rows is
 * M of op(A) or N of op(B) (isB); op(A)(i, k) = src[i·rs + k·cs]; op(B)(k, j) = src[k·rs + j·cs].
 * Items: groups of PACK_PANELS panels of one K block. dst needs K·rows-padded floats (see gemmST).
 */
export function packShared(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const ar = changetype<PackSharedArgs>(args);
  const src = ar.src, rs = ar.rs, cs = ar.cs;
  const rows = ar.rows, K = ar.K, isB = ar.isB, dst = ar.dst;
  const unit = isB ? NR : MR;
  const pad = (rows + unit - 1) / unit * unit;
  const panels = pad / unit;
  const groups = (panels + PACK_PANELS - 1) / PACK_PANELS;
  const kcB = kBlock(K);
  const kBlocks = (K + kcB - 1) / kcB;
  const total = kBlocks * groups;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const pc = (it / groups) * kcB, g = it % groups;
    const kc = min(kcB, K - pc);
    const r0 = g * PACK_PANELS * unit;
    const r1 = min(rows, r0 + PACK_PANELS * unit);
    const d = dst + ((<usize>pc * <usize>pad + <usize>r0 * <usize>kc) << 2);
    if (isB) packB(src + ((<usize>pc * <usize>rs + <usize>r0 * <usize>cs) << 2), rs, cs, kc, r1 - r0, d);
    else packA(src + ((<usize>r0 * <usize>rs + <usize>pc * <usize>cs) << 2), rs, cs, r1 - r0, kc, d);
  }
  endItems();
  return total;
}

/**
 * Work items per thread for the matrices of a small batch (one matrix: guided blocks, below).
 * With one item per thread a briefly descheduled thread leaves its whole share to the other
 * while the caller idles; several smaller items per thread (blocks of ≥ 32 columns or 16 rows)
 * even that out, and cost nothing at the peak since packShared packs the shared operand once.
 */
const ITEMS_PER_THREAD: i32 = 8;

/**
 * Blocks of one threaded matrix: guided self-scheduling. Each block takes ⌈rest / (2·nth)⌉ of
 * the units (NR columns or MR rows) left, clamped to [MIN, MAX], so blocks shrink towards the
 * end and the threads finish within one small block of each other (with equal blocks the caller
 * waits at the end of each threaded GEMM for the other thread's last whole block). The cap keeps
 * the first blocks from taking 100+ columns, which unbalances a 128-row forward GEMM; below the
 * 16-unit minimum the per-block overhead outweighs the balance.
 * Blocks never change results: each block of C is computed whole by one item.
 */
const GUIDED_MIN_COLS: i32 = 16;
const GUIDED_MIN_ROWS: i32 = 16;
const GUIDED_MAX_COLS: i32 = 64;
const GUIDED_MAX_ROWS: i32 = 64;
@inline function guidedSize(rest: i32, nth: i32, minU: i32, maxU: i32): i32 {
  const d = 2 * nth;
  return min(rest, max(minU, min(maxU, (rest + d - 1) / d)));
}
function guidedCount(units: i32, nth: i32, minU: i32, maxU: i32): i32 {
  let n = 0;
  for (let rest = units; rest > 0; n++) rest -= guidedSize(rest, nth, minU, maxU);
  return n;
}

/**
 * Batched matmul kernel. Args: MatmulArgs: strideA / strideB in elements (0: one matrix
 *  shared by the batch), scratchStride in bytes per thread, preA / preB (batch 1 only: the
 *  operand the items share, packed by packShared, or 0), bias (N floats, or 0) and act
 *  (MatmulAct): the epilogue C = act(C + bias), applied by each item to its block of C right
 *  after computing it (while it is in cache).
 * A is (M, K) or, transposed, (K, M); B is (K, N) or (N, K); C is (batch, M, N).
 * Items are blocks of C along its larger dimension (N in multiples of 8 columns, M of 4 rows):
 * for one threaded matrix, guided blocks (guidedSize); for a small batch (fewer than 2 per
 * thread), each matrix cut into equal blocks, ITEMS_PER_THREAD per thread, at least 32 columns /
 * 16 rows; otherwise whole matrices. Each item packs its own operands, so items are independent;
 * splitting along the larger dimension keeps the re-packing of the shared operand
 * (min(M, N)·K floats per item, when it is not packed once by packShared) small.
 */
export function matmul(args: usize, tid: i32, nth: i32, gen: u32): i32 {
  if (!joinItems(tid, nth, gen)) return 0;
  const ar = changetype<MatmulArgs>(args);
  const a = ar.a, b = ar.b, c = ar.c;
  const batch = ar.batch, M = ar.M, N = ar.N, K = ar.K;
  const transA = ar.transA, transB = ar.transB;
  const strideA = ar.strideA << 2, strideB = ar.strideB << 2;
  const alpha = ar.alpha, beta = ar.beta;
  const scratch = ar.scratch + <usize>tid * ar.scratchStride;
  const rsA = transA ? 1 : K, csA = transA ? M : 1;
  const rsB = transB ? 1 : N, csB = transB ? K : 1;
  const preA = ar.preA, preB = ar.preB;
  const bias = ar.bias, act = ar.act;
  const post = bias != 0 || act != MatmulAct.none;
  const strideC = (<usize>M * <usize>N) << 2;
  const splitN = N >= M;
  const dim = splitN ? N : M; // the dimension blocks of C are cut along
  let chunks = 1;
  // One matrix: guided blocks (see guidedSize), in units of NR columns or MR rows.
  const guided = nth > 1 && batch == 1;
  const unit = splitN ? NR : MR;
  const units = (dim + unit - 1) / unit;
  const minU = splitN ? GUIDED_MIN_COLS / NR : GUIDED_MIN_ROWS / MR;
  const maxU = splitN ? GUIDED_MAX_COLS / NR : GUIDED_MAX_ROWS / MR;
  if (guided) chunks = guidedCount(units, nth, minU, maxU);
  else if (nth > 1 && batch < 2 * nth) {
    const want = (ITEMS_PER_THREAD * nth + batch - 1) / batch;
    const most = splitN ? (N + 31) / 32 : (M + 15) / 16;
    chunks = max(1, min(want, most));
  }
  const total = batch * chunks;
  beginItems(total);
  for (let it = nextItem(); it >= 0; it = nextItem()) {
    const i = it / chunks, ch = it - i * chunks;
    const ai = a + <usize>i * strideA, bi = b + <usize>i * strideB, ci = c + <usize>i * strideC;
    if (chunks == 1) {
      gemmST(M, N, K, ai, rsA, csA, bi, rsB, csB, ci, N, alpha, beta, scratch, preA, preB);
      if (post) epilogue(ci, M, N, N, bias, act);
      continue;
    }
    // block [x0, x1) of C's columns (splitN) or rows
    let x0: i32, x1: i32;
    if (guided) {
      let lo = 0, rest = units;
      for (let q = 0; q < ch; q++) {
        const sz = guidedSize(rest, nth, minU, maxU);
        lo += sz;
        rest -= sz;
      }
      x0 = lo * unit;
      x1 = min(dim, (lo + guidedSize(rest, nth, minU, maxU)) * unit);
    } else {
      x0 = partLo(dim, ch, chunks, unit);
      x1 = partHi(dim, ch, chunks, unit);
    }
    if (x1 <= x0) continue;
    if (splitN) {
      const cj = ci + (<usize>x0 << 2);
      gemmST(M, x1 - x0, K, ai, rsA, csA, bi + ((<usize>x0 * <usize>csB) << 2), rsB, csB,
        cj, N, alpha, beta, scratch, preA, 0);
      if (post) epilogue(cj, M, x1 - x0, N, bias != 0 ? bias + (<usize>x0 << 2) : 0, act);
    } else {
      const cr = ci + ((<usize>x0 * <usize>N) << 2);
      gemmST(x1 - x0, N, K, ai + ((<usize>x0 * <usize>rsA) << 2), rsA, csA, bi, rsB, csB,
        cr, N, alpha, beta, scratch, 0, preB);
      if (post) epilogue(cr, x1 - x0, N, N, bias, act);
    }
  }
  endItems();
  return total;
}
