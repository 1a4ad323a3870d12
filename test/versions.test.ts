import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresProvider, type PostgresServer } from '../harness/postgres/index.ts';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { runConfig } from '../harness/run/run-config.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { expectEveryKind } from './catalog-kinds.ts';

/**
 * The default server of the test run is the newest supported major (18); this file proves
 * the whole suite — catalog normalisation included — on the oldest one too.
 */
const OLDEST = '14';
const SEED = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : Math.floor(Math.random() * 2 ** 31);

describe(`PostgreSQL ${OLDEST}, the oldest supported major (seed ${SEED})`, () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await new EmbeddedPostgresProvider({ pgVersion: OLDEST }).start();
  });
  afterAll(() => server?.stop());

  it('passes every group in every state, with the same outcomes as on 18', async () => {
    const report = await verify(suite, runConfig({ migrationsDir: suite.migrationsDir, provider: { pgVersion: OLDEST }, runs: 3, seed: SEED, workers: 2 }), { server });
    expect(report.postgres.version).toMatch(/^14\./);
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(Object.fromEntries(report.states.map((s) => [s.name, s.migration]))).toEqual({
      fresh: 'converged', 'prod-drift': 'converged', 'prod-drift-inflight': 'converged', staging: 'converged', 'already-migrated': 'noop',
      'schema-ahead': 'converged', 'unrepaired-orphans': 'failed-atomically', 'prod-drift-not-valid': 'failed-atomically', 'stamped-not-run': 'drift',
      // derived: 0031's constraint hand-applied NOT VALID over staging's rows
      'hand-applied-outcome-requires-inference-when-model-chosen': 'converged',
    });
  });

  it('the catalog snapshot holds every kind of object there too, and the diff names a change to each', async () => {
    await expectEveryKind(server);
  });
});
