import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the PostgreSQL every test file shares (embedded, started here). */
    databaseUrl: string;
    postgresVersion: string;
  }
}

/** Starts one embedded PostgreSQL for the test run, or uses TEST_DATABASE_URL if set. */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('databaseUrl', process.env.TEST_DATABASE_URL);
    project.provide('postgresVersion', 'external');
    return;
  }
  const server = await new EmbeddedPostgresProvider({ pgVersion: process.env.TEST_PG_VERSION }).start();
  project.provide('databaseUrl', server.connectionUri(server.maintenanceDatabase));
  project.provide('postgresVersion', server.version);
  return async () => {
    await server.stop();
  };
}
