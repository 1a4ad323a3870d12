import { inject } from 'vitest';
import type { PropertyGroup } from '../../harness/check/property-result.ts';
import type { VerifyOptions } from '../../harness/check/verify.ts';
import { UrlPostgresProvider } from '../../harness/postgres/index.ts';
import suite from './suite.ts';

/** One seed per test run (TEST_SEED replays one); every property title prints it. */
export const SEED = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Runs per property in `npm test` (TEST_RUNS overrides). */
export function testRuns(byDefault: number): number {
  return Number(process.env.TEST_RUNS ?? byDefault);
}

/** `verify` options for this suite against the test run's shared server. */
export function verifyOptions(groups: PropertyGroup[], runs: number, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    provider: new UrlPostgresProvider(inject('databaseUrl')),
    migrationsDir: suite.migrationsDir,
    groups,
    runs,
    seed: SEED,
    replayCommand: (state, group, seed, path) => `verify --states ${state.name} --group ${group} --seed ${seed} --path ${path}`,
    log: () => undefined,
    ...overrides,
  };
}
