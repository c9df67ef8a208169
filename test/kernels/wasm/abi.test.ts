/**
 * The calling convention (src/kernels/wasm/abi.ts) and the two sides that follow it: the op
 * codes come from the op lists of backend.ts, every kernel export exists, every argument layout
 * fits the argument block and is read through its generated class, no kernel reads a slot by
 * number, every op of a list has its case in the kernels' switches, and the constants the JS
 * side keeps of the kernels' blocking match theirs. (That each kernel computes what its op
 * name says is the family tests' business: every op against the js reference.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BINARY_OPS, FUSED_BINARY_OPS, MATMUL_ACTIVATIONS, REDUCE_OPS, UNARY_GRAD_OPS, UNARY_OPS } from '../../../src/kernels/backend.js';
import { ARG_LAYOUTS, CONTROL, K, KERNEL_NAMES, KERNELS, OP_CODES, opCodes } from '../../../src/kernels/wasm/abi.js';
import * as writers from '../../../src/kernels/wasm/abi.generated.js';
import { GEMM_NC } from '../../../src/kernels/wasm/gemm.js';
import { ARG_SLOTS } from '../../../src/kernels/wasm/memory.js';
import { WASM_BASE64 } from '../../../src/kernels/wasm/module.generated.js';

const assemblyDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'kernels', 'wasm', 'assembly');
/** The hand-written AssemblyScript sources, by file name. */
const sources = Object.fromEntries(
  readdirSync(assemblyDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.generated.ts'))
    .map((f) => [f, readFileSync(join(assemblyDir, f), 'utf8')]),
);
const allSources = Object.values(sources).join('\n');

describe('the wasm calling convention (abi.ts)', () => {
  it('op codes are the positions in the op lists of backend.ts (primitive ops first)', () => {
    expect(OP_CODES.UnaryOp).toEqual([...UNARY_OPS, 'copy']);
    expect(OP_CODES.UnaryGradOp).toEqual(UNARY_GRAD_OPS);
    expect(OP_CODES.BinaryOp).toEqual([...BINARY_OPS, ...FUSED_BINARY_OPS]);
    expect(OP_CODES.ReduceOp).toEqual(REDUCE_OPS);
    expect(OP_CODES.MatmulAct).toEqual(MATMUL_ACTIVATIONS);
    expect(opCodes(OP_CODES.BinaryOp).bce).toBe(BINARY_OPS.length);
    expect(K.matmul).toBe(KERNEL_NAMES.indexOf('matmul'));
  });

  it('every kernel is an export of the module, and every export named like a kernel is one', async () => {
    const bytes = Uint8Array.from(atob(WASM_BASE64), (ch) => ch.charCodeAt(0));
    const exports = WebAssembly.Module.exports(await WebAssembly.compile(bytes)).map((e) => e.name);
    for (const k of KERNEL_NAMES) expect(exports, `export '${k}'`).toContain(k);
    // the exports with the kernel signature (args, tid, nth, gen): declared in assembly/index.ts
    const index = sources['index.ts']!;
    for (const k of KERNEL_NAMES) expect(index, `assembly/index.ts exports ${k}`).toMatch(new RegExp(`\\b${k}\\b`));
  });

  it('every layout fits the argument block and is read through its class; no slot is read by number', () => {
    for (const [layout, fields] of Object.entries(ARG_LAYOUTS)) {
      expect(Object.keys(fields).length, layout).toBeLessThanOrEqual(ARG_SLOTS);
      expect(allSources, `a kernel reads ${layout}Args`).toContain(`changetype<${layout}Args>(args)`);
      expect(typeof (writers as Record<string, unknown>)[`write${layout}Args`], `write${layout}Args`).toBe('function');
    }
    for (const [file, text] of Object.entries(sources)) expect(text, file).not.toMatch(/load<f64>\(\s*args/);
    // every kernel's layout is one of the layouts
    for (const k of KERNEL_NAMES) expect(Object.keys(ARG_LAYOUTS)).toContain(KERNELS[k]);
  });

  it('a generated writer fills its layout slot by slot, booleans as 1 / 0', () => {
    const view = new Float64Array(ARG_SLOTS).fill(NaN);
    const fields = Object.keys(ARG_LAYOUTS.Matmul);
    const values = Object.fromEntries(
      fields.map((f, i) => [f, ARG_LAYOUTS.Matmul[f as keyof typeof ARG_LAYOUTS.Matmul] === 'bool' ? i % 2 === 0 : 100 + i]),
    );
    writers.writeMatmulArgs(view, values as unknown as writers.MatmulArgs);
    fields.forEach((f, i) => expect(view[i], f).toBe(typeof values[f] === 'boolean' ? (values[f] ? 1 : 0) : 100 + i));
    expect(Number.isNaN(view[fields.length]!)).toBe(true);
  });

  it('each op of a switched list has its case in the kernels', () => {
    for (const list of ['UnaryOp', 'UnaryGradOp', 'BinaryOp'] as const)
      for (const op of OP_CODES[list]) expect(sources['elementwise.ts'], `case ${list}.${op}`).toContain(`case ${list}.${op}:`);
    for (const act of MATMUL_ACTIVATIONS.filter((a) => a !== 'none')) expect(sources['gemm.ts']).toContain(`MatmulAct.${act}`);
  });

  it("the control block and the GEMM column block are the kernels' own", () => {
    // the kernels take the control block's addresses from the generated constants only
    expect(sources['common.ts']).toMatch(/import \{[^}]*CTRL_GEN[^}]*\} from '\.\/abi\.generated'/);
    expect(sources['common.ts']).not.toMatch(/CTRL \+ \d/);
    expect(Object.values(CONTROL).every((off) => off % 4 === 0)).toBe(true);
    expect((CONTROL.queue % 8) + (CONTROL.total % 8)).toBe(0);
    const nc = /export const NC: i32 = (\d+);/.exec(sources['gemm.ts']!);
    expect(nc, 'NC in assembly/gemm.ts').not.toBeNull();
    expect(GEMM_NC).toBe(Number(nc![1]));
  });
});
