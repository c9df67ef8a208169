// Builds the web lab into web/dist: first the embedded MNIST digits as gzipped IDX files (the
// same 8,000/2,000 split as `aelab train`, read by the CLI's own loader from dist/), so the lab
// works offline with no dataset given; then the Vite build. Runs after tsc in build.mjs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vite = join(root, 'node_modules', '.bin', 'vite');
if (!existsSync(vite)) {
  // without dev dependencies there is no Vite: the lab stays as it is
  process.exit(0);
}
const data = await import(pathToFileURL(join(root, 'dist', 'data', 'index.js')).href);
const out = join(root, 'web', 'public', 'embedded', 'mnist');
mkdirSync(out, { recursive: true });
for (const split of ['train', 'test']) {
  const ds = data.loadEmbeddedMnist(split);
  const n = ds.labels.length;
  const images = data.encodeIdx({ shape: [n, 28, 28], data: ds.bytes, dtype: 'uint8' });
  const labels = data.encodeIdx({ shape: [n], data: Uint8Array.from(ds.labels), dtype: 'uint8' });
  writeFileSync(join(out, `${split}-images-idx3-ubyte.gz`), gzipSync(images, { level: 9 }));
  writeFileSync(join(out, `${split}-labels-idx1-ubyte.gz`), gzipSync(labels, { level: 9 }));
}
const r = spawnSync(vite, ['build', '--config', join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) {
  console.error(`build-web: vite build failed (exit ${r.status})`);
  process.exit(r.status ?? 1);
}
