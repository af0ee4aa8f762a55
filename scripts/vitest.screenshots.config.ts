import { defineConfig } from 'vitest/config';

/** `npm run screenshots`: regenerates docs/screenshots/*.png (not part of `npm test`). */
export default defineConfig({
  test: {
    include: ['scripts/screenshots.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
