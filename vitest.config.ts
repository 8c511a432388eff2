import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          // One control plane is shared by every integration file; run the files one at a time
          // so that two suites never fight over the same cluster-wide objects (webhooks, CRDs).
          fileParallelism: false,
        },
      },
    ],
  },
});
