import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = { aelab: fileURLToPath(new URL('./src/index.ts', import.meta.url)) };

// The suite runs twice: on the js reference backend and on the wasm backend. Tests of code that
// never touches the kernels (data readers, file formats, charts) run once, in the js project.
export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/setup-backend.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'js', include: ['test/**/*.test.ts'], env: { AELAB_BACKEND: 'js' } },
      },
      {
        extends: true,
        test: {
          name: 'wasm',
          include: ['test/**/*.test.ts'],
          exclude: ['test/data/**', 'test/io/**', 'test/viz/**', 'test/cli/**', 'test/kernels/**', 'test/browser/**'],
          env: { AELAB_BACKEND: 'wasm', AELAB_POISON_UNINIT: '1' },
        },
      },
    ],
  },
});
