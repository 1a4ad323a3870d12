import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'properties/**/*.test.ts'],
    // One real PostgreSQL for the whole run (started and stopped by the global setup);
    // each test file creates its own databases on it under a unique prefix.
    globalSetup: ['test/global-setup.ts'],
    // the tests spend most of their time waiting on PostgreSQL: run three files at once
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default', ['junit', { outputFile: 'out/junit/vitest.xml' }]] : ['default'],
  },
});
