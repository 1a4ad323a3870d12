import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from './fixtures/suites/accounts-unique-email/suite.ts';
import { scratchDir, SEED, testConfig } from './helpers.ts';

/** The suite's chain with its migration under test replaced. */
function faultyChain(constraint: string): string {
  const dir = scratchDir('ch-accounts-');
  for (const file of readdirSync(suite.migrationsDir)) copyFileSync(path.join(suite.migrationsDir, file), path.join(dir, file));
  writeFileSync(path.join(dir, '0002_unique_email_per_tenant.sql'), `ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_tenant_email_key;\nALTER TABLE accounts ADD CONSTRAINT accounts_tenant_email_key ${constraint};\n`);
  return dir;
}

describe(`a second suite, for a UNIQUE constraint, with the same engine (seed ${SEED})`, () => {
  it('passes every group in every state; a failed migration counts the duplicates the history holds', async () => {
    const report = await verify(suite, testConfig(suite, { runs: 8 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(Object.fromEntries(report.states.map((s) => [s.name, s.migration]))).toEqual({ fresh: 'converged', clean: 'converged', duplicates: 'failed-atomically', 'already-migrated': 'noop', 'stamped-not-run': 'drift' });
    expect(report.states.find((s) => s.name === 'duplicates')!.error).toMatch(/23505 could not create unique index "accounts_tenant_email_key"[\s\S]*\d+ row\(s\) of accounts violate accounts_tenant_email_key/);
    expect(report.states.find((s) => s.name === 'clean')!.properties.map((p) => p.name)).toEqual(['outcome-as-expected', 'catalog-converges', 'rows-preserved', 'idempotent', 'sign-ups-agree-with-model', 'concurrent-sign-ups-agree-with-model']);
  });

  it('catches its faulty variant: unique by address alone refuses the same address at another tenant', async () => {
    const report = await verify(suite, testConfig(suite, { migrationsDir: faultyChain('UNIQUE (email)'), groups: ['writes'], states: ['fresh'], runs: 100 }));
    const writes = report.states[0]!.properties.find((p) => p.name === 'sign-ups-agree-with-model')!;
    expect(writes.ok).toBe(false);
    expect(writes.counterexample?.expected).toBe('commit');
    expect(writes.counterexample?.actual).toBe('23505 accounts_tenant_email_key');
    expect(writes.counterexample?.steps).toEqual([expect.stringMatching(/^signUp\(a\d, \w+, \S+\)$/), expect.stringMatching(/^signUp\(a\d, \w+, \S+\)$/)]);
  });
});
