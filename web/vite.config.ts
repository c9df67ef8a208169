// The lab's build: the page and its module worker, with `aelab/browser` taken from the sources
// (src/browser.ts) so the lab always matches the engine of this checkout.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  // relative asset URLs: the built lab also works from any folder of a static host
  base: './',
  resolve: { alias: { 'aelab/browser': here('../src/browser.ts') } },
  worker: { format: 'es' },
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
