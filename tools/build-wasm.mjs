// Compiles the AssemblyScript kernels (src/kernels/wasm/assembly/) with `asc` from npm into
// src/kernels/wasm/module.generated.ts, which exports the wasm bytes as base64 so the backend
// loads the same way in Node and in a bundled browser app (no file or URL resolution).
// Two builds: the baseline (SIMD + threads) and one that also uses relaxed SIMD (fused
// multiply-add in the GEMM micro-kernel), which the loader prefers where the engine supports it.
//
// First it generates both sides of the kernels' calling convention from src/kernels/wasm/abi.ts
// (the argument layouts and op codes; see there): assembly/abi.generated.ts (argument classes and
// op enums for the kernels) and abi.generated.ts (argument writers for the JS side). Neither is
// committed; each is rewritten only when its text changes.
//
//   node tools/build-wasm.mjs            build (skipped when the output is newer than the sources)
//   node tools/build-wasm.mjs --force    always rebuild
//   node tools/build-wasm.mjs --wat      also write the text format to src/kernels/wasm/build/
//   node tools/build-wasm.mjs --names    keep function names (for profiles: node --cpu-prof)
//
// Flags: -O3 with shrink level 0 (speed), --noAssert (no bounds checks: the JS side validates),
// SIMD + threads, the memory imported from env.memory as a shared memory (so worker threads
// instantiate the same module over the same bytes), the stub runtime (the kernels never
// allocate: all memory is managed from JS), and no abort import.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kernelsDir = join(root, 'src', 'kernels');
const srcDir = join(root, 'src', 'kernels', 'wasm', 'assembly');
const buildDir = join(root, 'src', 'kernels', 'wasm', 'build');
const outTs = join(root, 'src', 'kernels', 'wasm', 'module.generated.ts');
const abiAs = join(srcDir, 'abi.generated.ts');
const abiJs = join(root, 'src', 'kernels', 'wasm', 'abi.generated.ts');
const force = process.argv.includes('--force');
const wantWat = process.argv.includes('--wat');
const wantNames = process.argv.includes('--names');

// Static data of the module has to end below the control block (CTRL_OFFSET in memory.ts).
const { CTRL_OFFSET: RESERVED_LOW_BYTES } = await generateAbi();

// Maximum pages (64 KiB each) the module declares for its shared memory: 4 GiB, the wasm32 limit.
// The JS side creates the memory with this maximum or less.
const MAX_PAGES = 65536;
const INITIAL_PAGES = 32;

// (abi.generated.ts is among the sources: it changes when abi.ts does)
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.ts'));
const newestSource = Math.max(...sources.map((f) => statSync(join(srcDir, f)).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (!force && !wantWat && !wantNames && existsSync(outTs) && statSync(outTs).mtimeMs > newestSource) {
  process.exit(0);
}

const asc = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'asc.cmd' : 'asc');
if (!existsSync(asc)) {
  console.error('build-wasm: assemblyscript is not installed (npm install) — cannot compile the wasm kernels');
  process.exit(1);
}
mkdirSync(buildDir, { recursive: true });

/** Compiles one variant and returns its bytes. */
function compile(relaxed) {
  const name = relaxed ? 'kernels-relaxed' : 'kernels';
  const wasmFile = join(buildDir, `${name}.wasm`);
  const args = [
    join(srcDir, 'index.ts'),
    ...['-o', wasmFile],
    ...(wantWat ? ['-t', join(buildDir, `${name}.wat`)] : []),
    ...(wantNames ? ['--debug'] : []),
    ...['-O3', '--shrinkLevel', '0', '--converge', '--noAssert'],
    ...['--runtime', 'stub', '--use', 'abort='],
    ...['--enable', relaxed ? 'simd,threads,relaxed-simd' : 'simd,threads'],
    // Compile-time constant selecting the multiply-add of the GEMM micro-kernel (gemm.ts).
    ...['--use', `RELAXED=${relaxed ? 1 : 0}`],
    ...['--importMemory', '--sharedMemory', '--noExportMemory'],
    ...['--initialMemory', String(INITIAL_PAGES), '--maximumMemory', String(MAX_PAGES)],
    // AS112: v128 in the signatures of internal helpers, which never cross to JS.
    ...['--disableWarning', '112'],
  ];
  const r = spawnSync(asc, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  // asc reports "Last converge was suboptimal." on stderr: informational, filtered out.
  const errors = (r.stderr ?? '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('converge was suboptimal'))
    .join('\n');
  if (errors) console.error(errors);
  if (r.status !== 0) {
    console.error(`build-wasm: asc failed on the ${name} build (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return readFileSync(wasmFile);
}

const bytes = compile(false);
const relaxedBytes = compile(true);

// Sanity: instantiate the baseline once and check where its static data ends.
const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
const heapBase = instance.exports.heapBase();
if (heapBase > RESERVED_LOW_BYTES) {
  console.error(`build-wasm: static data ends at ${heapBase} bytes, above the ${RESERVED_LOW_BYTES}-byte reserved region`);
  process.exit(1);
}

const base64Lines = (buf) => {
  const b64 = buf.toString('base64');
  const lines = [];
  for (let i = 0; i < b64.length; i += 120) lines.push(`  '${b64.slice(i, i + 120)}'`);
  return lines.join(' +\n');
};
writeFileSync(
  outTs,
  `// GENERATED by tools/build-wasm.mjs from src/kernels/wasm/assembly/ — do not edit, not committed.\n` +
    `/* eslint-disable */\n` +
    `/** The kernels' wasm binary (${bytes.length} bytes), base64: SIMD + threads. */\n` +
    `export const WASM_BASE64: string =\n${base64Lines(bytes)};\n` +
    `/** The same kernels also using relaxed SIMD (fused multiply-add), ${relaxedBytes.length} bytes. */\n` +
    `export const WASM_RELAXED_BASE64: string =\n${base64Lines(relaxedBytes)};\n` +
    `/** Memory limits the modules were compiled with (pages of 64 KiB). */\n` +
    `export const WASM_INITIAL_PAGES = ${INITIAL_PAGES};\n` +
    `export const WASM_MAX_PAGES = ${MAX_PAGES};\n`,
);
console.log(
  `build-wasm: ${sources.length} sources → ${bytes.length} + ${relaxedBytes.length} (relaxed SIMD) bytes of wasm → ` +
    outTs.slice(root.length + 1),
);

// ---------------------------------------------------------------------------------------------
// The calling convention, generated from src/kernels/wasm/abi.ts

/** Writes `text` to `file` unless it already holds exactly that (keeps the mtime for the freshness check). */
function writeIfChanged(file, text) {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

/**
 * Imports abi.ts with the modules it needs (backend.ts, memory.ts), transpiled on their own by
 * the TypeScript compiler from npm into a temporary folder with the same layout.
 */
async function loadAbi() {
  const ts = (await import('typescript')).default;
  const tmp = mkdtempSync(join(tmpdir(), 'aelab-abi-'));
  try {
    for (const rel of ['backend.ts', 'wasm/abi.ts', 'wasm/memory.ts']) {
      const out = join(tmp, rel.replace(/\.ts$/, '.js'));
      mkdirSync(dirname(out), { recursive: true });
      const src = readFileSync(join(kernelsDir, rel), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(out, js);
    }
    writeFileSync(join(tmp, 'package.json'), '{"type":"module"}');
    const abi = await import(pathToFileURL(join(tmp, 'wasm', 'abi.js')).href);
    const memory = await import(pathToFileURL(join(tmp, 'wasm', 'memory.js')).href);
    return { ...abi, ARG_SLOTS: memory.ARG_SLOTS, CTRL_OFFSET: memory.CTRL_OFFSET };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function generateAbi() {
  /** How the AssemblyScript getter reads a slot of each type (the f64 at byte offset `off`). */
  const AS_READ = {
    ptr: ['usize', (off) => `<usize>(<u32>load<f64>(changetype<usize>(this), ${off}))`],
    usize: ['usize', (off) => `<usize>(<u32>load<f64>(changetype<usize>(this), ${off}))`],
    i32: ['i32', (off) => `<i32>load<f64>(changetype<usize>(this), ${off})`],
    bool: ['bool', (off) => `<i32>load<f64>(changetype<usize>(this), ${off}) != 0`],
    f32: ['f32', (off) => `<f32>load<f64>(changetype<usize>(this), ${off})`],
    f64: ['f64', (off) => `load<f64>(changetype<usize>(this), ${off})`],
  };
  const { ARG_LAYOUTS, KERNELS, OP_CODES, CONTROL, ARG_SLOTS, CTRL_OFFSET } = await loadAbi();
  const header = '// GENERATED by tools/build-wasm.mjs from src/kernels/wasm/abi.ts — do not edit, not committed.\n';
  const usedBy = (layout) => Object.keys(KERNELS).filter((k) => KERNELS[k] === layout);
  const as = [
    header,
    '// The kernels read their arguments as `const a = changetype<XArgs>(args)`, then a.field: each',
    "// getter loads the field's f64 slot of the argument block and converts it to the slot's type.",
    '',
  ];
  as.push('/** The thread control block (abi.ts CONTROL) at CTRL_OFFSET (memory.ts): absolute addresses. */');
  as.push(`export const CTRL: usize = ${CTRL_OFFSET};`);
  for (const [field, off] of Object.entries(CONTROL)) as.push(`export const CTRL_${field.toUpperCase()}: usize = ${CTRL_OFFSET + off};`);
  as.push('');
  for (const [name, ops] of Object.entries(OP_CODES)) {
    as.push(`/** Op codes of OP_CODES.${name} (abi.ts). */`, `export const enum ${name} {`);
    ops.forEach((op, i) => as.push(`  ${op} = ${i},`));
    as.push('}', '');
  }
  const js = [header, '/* eslint-disable */', '// Argument writers of the wasm kernels: one per layout of ARG_LAYOUTS (abi.ts), slot by slot.', ''];
  for (const [layout, fields] of Object.entries(ARG_LAYOUTS)) {
    const entries = Object.entries(fields);
    if (entries.length > ARG_SLOTS) throw new Error(`build-wasm: layout ${layout} has ${entries.length} slots, the argument block ${ARG_SLOTS}`);
    const kernels = usedBy(layout).join(', ');
    as.push(`/** The arguments of ${kernels} (ARG_LAYOUTS.${layout}). */`, `@final @unmanaged export class ${layout}Args {`);
    entries.forEach(([field, type], slot) => {
      const [asType, read] = AS_READ[type];
      as.push(`  @inline get ${field}(): ${asType} { return ${read(slot * 8)}; }`);
    });
    as.push('}', '');
    js.push(`/** The arguments of ${kernels} (ARG_LAYOUTS.${layout}). */`, `export interface ${layout}Args {`);
    for (const [field, type] of entries) js.push(`  ${field}: ${type === 'bool' ? 'boolean' : 'number'};`);
    js.push('}', '', `export function write${layout}Args(s: Float64Array, v: ${layout}Args): void {`);
    entries.forEach(([field, type], slot) => js.push(`  s[${slot}] = ${type === 'bool' ? `v.${field} ? 1 : 0` : `v.${field}`};`));
    js.push('}', '');
  }
  writeIfChanged(abiAs, as.join('\n'));
  writeIfChanged(abiJs, js.join('\n'));
  return { CTRL_OFFSET };
}
