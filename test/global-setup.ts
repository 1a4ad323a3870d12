import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the PostgreSQL every test file shares (embedded, started here). */
    databaseUrl: string;
    postgresVersion: string;
    /** The one folder under which tests make their temporary files; removed when the run ends. */
    scratchRoot: string;
  }
}

/**
 * Starts one embedded PostgreSQL for the test run (or uses TEST_DATABASE_URL), and makes the
 * run's scratch folder: every temporary chain, report and tool project of the tests goes under
 * it, so that `npm test` leaves nothing in the system's temporary directory.
 */
export default async function setup(project: TestProject) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ch-test-'));
  project.provide('scratchRoot', scratch);
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  if (process.env.TEST_DATABASE_URL) {
    project.provide('databaseUrl', process.env.TEST_DATABASE_URL);
    project.provide('postgresVersion', 'external');
    return removeScratch;
  }
  const server = await new EmbeddedPostgresProvider({ pgVersion: process.env.TEST_PG_VERSION }).start().catch((error: unknown) => {
    removeScratch();
    throw error;
  });
  project.provide('databaseUrl', server.connectionUri(server.maintenanceDatabase));
  project.provide('postgresVersion', server.version);
  return async () => {
    try {
      await server.stop();
    } finally {
      removeScratch();
    }
  };
}
