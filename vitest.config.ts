import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A guard against hangs only; no test asserts on speed (benchmarks do that).
    testTimeout: 600_000,
  },
});
