// Builds the package: AssemblyScript kernels (when present) and the TypeScript sources to dist/.
// Runs as the `dependencies` script, which npm runs in the project's own folder after `npm ci` and
// after any `npm install` that changed node_modules (so `npx aelab` works in a fresh clone), and
// as `prepack`, so a packed tarball always holds a fresh dist/. Not as `prepare`: npm lists the
// `prepare` script of a package installed from a tarball as an install script for the user to
// approve (allowScripts), while `dependencies` and `prepack` only ever run in this folder.
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
  // Dev dependencies not installed (npm ci --omit=dev): no compiler, so dist/ stays as it is.
  process.exit(0);
}
const wasmBuild = join(root, 'tools', 'build-wasm.mjs');
if (existsSync(wasmBuild)) run(process.execPath, [wasmBuild]);
rmSync(join(root, 'dist'), { recursive: true, force: true });
// Declaration maps let an editor's "go to definition" land in the shipped src/*.ts, not in a .d.ts.
run(bin('tsc'), ['-p', 'tsconfig.json', '--declarationMap']);
// The web lab (web/dist, shipped in the package): it needs dist/ for the embedded digits.
run(process.execPath, [join(root, 'tools', 'build-web.mjs')]);
