// Compiles the AssemblyScript kernels (src/kernels/wasm/assembly/) with `asc` from npm into
// src/kernels/wasm/module.generated.ts, which exports the wasm bytes as base64 so the backend
// loads the same way in Node and in a bundled browser app (no file or URL resolution).
// Two builds: the baseline (SIMD + threads) and one that also uses relaxed SIMD (fused
// multiply-add in the GEMM micro-kernel), which the loader prefers where the engine supports it.
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
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'kernels', 'wasm', 'assembly');
const buildDir = join(root, 'src', 'kernels', 'wasm', 'build');
const outTs = join(root, 'src', 'kernels', 'wasm', 'module.generated.ts');
const force = process.argv.includes('--force');
const wantWat = process.argv.includes('--wat');
const wantNames = process.argv.includes('--names');

// Must match the control block reserved by the JS side (src/kernels/wasm/memory.ts): static data
// of the module has to end below it.
const RESERVED_LOW_BYTES = 32768;
// Maximum pages (64 KiB each) the module declares for its shared memory: 4 GiB, the wasm32 limit.
// The JS side creates the memory with this maximum or less.
const MAX_PAGES = 65536;
const INITIAL_PAGES = 32;

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
