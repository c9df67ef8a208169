#!/usr/bin/env node
// npm run example -- <name> [args…]: runs examples/<name>.ts with tsx, with 'aelab' resolved to
// this repository's source (examples/tsconfig.json's paths), so an example runs the code beside
// it. In a project of your own, `npx tsx <file>.ts` runs a copied example against the package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'examples');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
const file = name ? join(dir, `${name.replace(/\.ts$/, '')}.ts`) : '';
if (!name || !existsSync(file)) {
  console.error(`${name ? `no example '${name}'. ` : ''}usage: npm run example -- <name> [options]\nexamples: ${names.join(', ')}`);
  process.exit(2);
}
const tsx = fileURLToPath(import.meta.resolve('tsx/cli'));
const r = spawnSync(process.execPath, [tsx, '--tsconfig', join(dir, 'tsconfig.json'), file, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
