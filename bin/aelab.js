#!/usr/bin/env node
// The `aelab` command. The CLI lives in dist/ (built by `npm install` / `npm ci` in a clone, through
// the `dependencies` script; shipped prebuilt in the npm package).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('aelab: the package is not built (dist/ is missing); run `npm install` or `npm run build` in its folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// Worker threads of the wasm backend are unref'd; flush output and leave with the command's code.
process.exitCode = code;
