import { defineConfig } from 'vitest/config';

// The lab's end-to-end tests (`npm run test:e2e`): Chromium drives the built lab served by
// `aelab lab`. Not part of `npm test`: they need /usr/bin/chromium and a built web/dist.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
