import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          // The end-to-end tests spawn the real built binary, so dist/ is built once first.
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
