// Builds the package: AssemblyScript kernels (when present) and the TypeScript sources to dist/.
// Runs on `npm install` / `npm ci` (the `prepare` script) so `npx aelab` works from a fresh clone.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${[cmd, ...args].join(' ')} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(bin('tsc'))) {
  // Installed as a dependency of another package: dist/ ships prebuilt, nothing to do.
  process.exit(0);
}
const wasmBuild = join(root, 'tools', 'build-wasm.mjs');
if (existsSync(wasmBuild)) run(process.execPath, [wasmBuild]);
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.json']);
