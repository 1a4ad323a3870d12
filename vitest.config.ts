import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'properties/**/*.test.ts'],
    // One real PostgreSQL for the whole run (started and stopped by the global setup);
    // each test file creates its own databases on it under a unique prefix.
    globalSetup: ['test/global-setup.ts'],
    // two files at once: on 2 cores the test processes and PostgreSQL together keep both busy
    // (measured: 97 s with two, 105 s with three)
    maxWorkers: 2,
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', ['junit', { outputFile: 'out/junit/vitest.xml' }]] : ['default'],
  },
});
