/**
 * Reductions of the wasm backend (assembly/reduce.ts): sum / max / min over axes, reduced to one
 * of the kernel's canonical modes (reducePlan); other layouts, and argmax, run in the js
 * reference on the same arrays.
 */
import type { F32, ReduceOp, Shape } from '../backend.js';
import { argmax as jsArgmax, reduce as jsReduce } from '../js/reduce.js';
import { K, OP_CODES, opCodes } from './abi.js';
import { writeReduceArgs } from './abi.generated.js';
import { PAR_ELEMS, product, type Plan, type WasmContext } from './context.js';

const REDUCE_CODES = opCodes(OP_CODES.ReduceOp);

/**
 * Reduces (shape, axes) to one of the reduce kernel's modes: size-1 dims dropped, neighbouring
 * reduced / kept dims merged. 'R' = reduced, 'K' = kept. Null: use the js path.
 */
function reducePlan(shape: Shape, axes: readonly number[]): Plan | 'copy' | null {
  const reduced = new Set(axes);
  const sizes: number[] = [];
  const kinds: string[] = [];
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const k = reduced.has(d) ? 'R' : 'K';
    if (kinds.length > 0 && kinds[kinds.length - 1] === k) sizes[sizes.length - 1]! *= s;
    else {
      sizes.push(s);
      kinds.push(k);
    }
  }
  const [s0 = 1, s1 = 1, s2 = 1] = sizes;
  switch (kinds.join('')) {
    case '':
      return { mode: 0, d0: 1, d1: 0, d2: 0 };
    case 'K':
      return 'copy';
    case 'R':
      return { mode: 0, d0: s0, d1: 0, d2: 0 };
    case 'KR':
      return { mode: 1, d0: s0, d1: s1, d2: 0 };
    case 'RK':
      return { mode: 2, d0: s0, d1: s1, d2: 0 };
    case 'KRK':
      return { mode: 3, d0: s0, d1: s1, d2: s2 };
    case 'RKR':
      return { mode: 4, d0: s0, d1: s1, d2: s2 };
    default:
      return null;
  }
}

export function reduce(c: WasmContext, op: ReduceOp, x: F32, shape: Shape, axes: readonly number[], out: F32): void {
  const code = REDUCE_CODES[op];
  if (code === undefined) throw new Error(`wasm backend: unknown reduce op '${op as string}'`);
  const plan = x.length === 0 || x.length !== product(shape) ? null : reducePlan(shape, axes);
  if (plan === null) {
    jsReduce(op, x, shape, axes, out);
    return;
  }
  if (plan === 'copy') {
    c.copy(x, out);
    return;
  }
  const px = c.inp(x),
    po = c.outp(out, false);
  writeReduceArgs(c.args, { op: code, mode: plan.mode, x: px, out: po, d0: plan.d0, d1: plan.d1, d2: plan.d2 });
  c.run(K.reduce, plan.mode === 0 ? 1 : c.par(x.length, PAR_ELEMS));
}

/** In the js reference, on the same arrays (not a hot kernel). */
export function argmax(_c: WasmContext, x: F32, shape: Shape, axis: number, out: F32): void {
  jsArgmax(x, shape, axis, out);
}
