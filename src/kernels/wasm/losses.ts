/**
 * The fused loss kernels of the wasm backend (assembly/losses.ts): the per-row BCE and KL sums
 * and the reparameterised sample. (The elementwise loss ops run in the binary kernel:
 * elementwise.ts.)
 */
import type { F32 } from '../backend.js';
import { K } from './abi.js';
import { writeReparameterizeArgs, writeTermRowsArgs } from './abi.generated.js';
import { checkLen, PAR_ELEMS_HEAVY, type WasmContext } from './context.js';

export function bceRows(c: WasmContext, p: F32, y: F32, rows: number, cols: number, loss: F32, grad: F32 | null): void {
  termRows(c, K.bceRows, 'bceRows', ['p', 'y', 'loss', 'sq', 'grad'], p, y, rows, cols, loss, null, grad, 1);
}

export function bceLogitsRows(
  c: WasmContext,
  z: F32,
  y: F32,
  rows: number,
  cols: number,
  loss: F32,
  sq: F32 | null,
  diff: F32 | null,
): void {
  termRows(c, K.bceLogitsRows, 'bceLogitsRows', ['z', 'y', 'loss', 'sq', 'diff'], z, y, rows, cols, loss, sq, diff, 1);
}

export function klNormalRows(c: WasmContext, mu: F32, lv: F32, rows: number, cols: number, out: F32, dlv: F32 | null): void {
  termRows(c, K.klNormalRows, 'klNormalRows', ['mu', 'lv', 'out', 'sq', 'dlv'], mu, lv, rows, cols, out, null, dlv, -0.5);
}

/** The row-terms kernels of assembly/losses.ts: per-row sums (scaled), optional second sums and per-element gradients. */
function termRows(
  c: WasmContext,
  k: number,
  op: string,
  names: readonly [string, string, string, string, string],
  a: F32,
  b: F32,
  rows: number,
  cols: number,
  loss: F32,
  sq: F32 | null,
  aux: F32 | null,
  scale: number,
): void {
  const n = rows * cols;
  if (rows === 0) return;
  checkLen(op, names[0], a, n);
  checkLen(op, names[1], b, n);
  checkLen(op, names[2], loss, rows);
  if (sq) checkLen(op, names[3], sq, rows);
  if (aux) checkLen(op, names[4], aux, n);
  const pa = c.inp(a),
    pb = c.inp(b);
  const pl = c.outp(loss, false),
    ps = sq ? c.outp(sq, false) : 0,
    px = aux ? c.outp(aux, false) : 0;
  writeTermRowsArgs(c.args, { a: pa, b: pb, rows, cols, loss: pl, sq: ps, aux: px, scale });
  c.run(k, rows >= c.threads ? c.par(n, PAR_ELEMS_HEAVY) : 1);
}

export function reparameterize(c: WasmContext, mu: F32, lv: F32, eps: F32, z: F32, half: F32 | null): void {
  const n = z.length;
  if (n === 0) return;
  checkLen('reparameterize', 'mu', mu, n);
  checkLen('reparameterize', 'lv', lv, n);
  checkLen('reparameterize', 'eps', eps, n);
  if (half) checkLen('reparameterize', 'half', half, n);
  const pm = c.inp(mu),
    pl = c.inp(lv),
    pe = c.inp(eps),
    pz = c.outp(z, false),
    ph = half ? c.outp(half, false) : 0;
  writeReparameterizeArgs(c.args, { mu: pm, lv: pl, eps: pe, z: pz, half: ph, n });
  c.run(K.reparameterize, c.par(n, PAR_ELEMS_HEAVY));
}
