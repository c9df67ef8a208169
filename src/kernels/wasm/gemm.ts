/**
 * The matrix product of the wasm backend (assembly/gemm.ts), with the fused epilogue (bias and
 * activation) of FusedKernels.matmulEpilogue.
 */
import type { F32, MatmulActivation, MatmulEpilogueParams, MatmulParams } from '../backend.js';
import { K, OP_CODES, opCodes } from './abi.js';
import { writeMatmulArgs, writePackSharedArgs } from './abi.generated.js';
import { checkLen, roundUp, type WasmContext } from './context.js';

const MATMUL_ACT = opCodes(OP_CODES.MatmulAct);

/**
 * GEMM: floating-point operations. From 1 MFLOP a GEMM is long enough for spinning workers to
 * pay for their dispatch: the VAE's 20-wide code layers (2 MFLOP each) gain from the workers
 * still spinning after the big GEMM before them (a sleeping pool is not woken for these:
 * weight < WAKE_WEIGHT).
 */
const PAR_FLOPS = 1 << 20;
/** The GEMM's column block (NC in assembly/gemm.ts): a shared packed B must fit one. */
export const GEMM_NC = 2048;

export function matmul(c: WasmContext, a: F32, b: F32, out: F32, p: MatmulParams): void {
  gemm(c, a, b, out, p, null, 'none');
}

export function matmulEpilogue(c: WasmContext, a: F32, b: F32, out: F32, p: MatmulEpilogueParams): void {
  gemm(c, a, b, out, p, p.bias, p.act);
}

/** matmul, with the epilogue of FusedKernels.matmulEpilogue when bias or act is given. */
function gemm(c: WasmContext, a: F32, b: F32, out: F32, p: MatmulParams, bias: F32 | null, actName: MatmulActivation): void {
  const { batch, M, N, K: Kd, transA, transB, strideA, strideB } = p;
  const alpha = p.alpha ?? 1;
  const beta = p.beta ?? 0;
  if (batch <= 0 || M <= 0 || N <= 0) return;
  checkLen('matmul', 'a', a, strideA * (batch - 1) + M * Kd);
  checkLen('matmul', 'b', b, strideB * (batch - 1) + Kd * N);
  checkLen('matmul', 'out', out, batch * M * N);
  const act = MATMUL_ACT[actName];
  if (act === undefined) throw new Error(`wasm backend: unknown matmul activation '${String(actName)}'`);
  if (bias && bias.length !== N) throw new Error(`wasm backend matmul: bias has ${bias.length} elements, needs ${N}`);
  c.scratch(c.gemmScratch);
  const pa = c.inp(a);
  const pb = c.inp(b);
  const pbias = bias ? c.inp(bias) : 0;
  const po = c.outp(out, beta !== 0);
  const nth = c.par(2 * batch * M * N * Kd, PAR_FLOPS);
  // Threaded single matrix: its items (blocks of C along the larger of M and N) all read the
  // whole of the other operand; pack that once, threaded, instead of once per item.
  let preA = 0;
  let preB = 0;
  if (batch === 1 && nth > 1 && Kd > 0) {
    const splitN = N >= M;
    if (splitN || N <= GEMM_NC) {
      const rows = splitN ? M : N;
      const packed = c.packBlock.ensure(4 * Kd * roundUp(rows, 8));
      // op(A)(i, k) = a[i·rs + k·cs]; op(B)(k, j) = b[k·rs + j·cs]
      if (splitN)
        writePackSharedArgs(c.args, { src: pa, rs: transA ? 1 : Kd, cs: transA ? M : 1, rows: M, K: Kd, isB: false, dst: packed });
      else writePackSharedArgs(c.args, { src: pb, rs: transB ? 1 : N, cs: transB ? Kd : 1, rows: N, K: Kd, isB: true, dst: packed });
      try {
        c.pool.run(K.packShared, nth, c.weight);
      } catch (e) {
        c.abort(e);
      }
      if (splitN) preA = packed;
      else preB = packed;
    }
  }
  writeMatmulArgs(c.args, {
    a: pa,
    b: pb,
    c: po,
    batch,
    M,
    N,
    K: Kd,
    transA,
    transB,
    strideA,
    strideB,
    alpha,
    beta,
    scratch: c.scratchBlock.off,
    scratchStride: c.scratchStride,
    preA,
    preB,
    bias: pbias,
    act,
  });
  c.run(K.matmul, nth);
}
