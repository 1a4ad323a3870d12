import { describe, expect, it } from 'vitest';
import accounts from './fixtures/suites/accounts-unique-email/suite.ts';
import shop from './fixtures/suites/customers-orders/suite.ts';
import profiles from './fixtures/suites/profiles-not-null/suite.ts';
import { SEED } from './helpers.ts';
import { explained, mutateSuite, statusOf } from './mutation-helpers.ts';

describe(`mutants of every kind of constraint (seed ${SEED})`, () => {
  it('UNIQUE: constraint mutants, not only deployment ones; NULLS NOT DISTINCT over NOT NULL keys is proven moot', async () => {
    const report = await mutateSuite(accounts, 15);
    const unique = report.mutants.filter((m) => m.kind === 'unique');
    expect(unique.map((m) => m.description)).toEqual(expect.arrayContaining([
      'drop key column tenant from accounts_tenant_email_key UNIQUE (tenant, email)', 'drop key column email from accounts_tenant_email_key UNIQUE (tenant, email)',
      'key column id added to accounts_tenant_email_key UNIQUE (tenant, email)', 'NULLS NOT DISTINCT added to accounts_tenant_email_key UNIQUE (tenant, email)', 'remove the constraint accounts_tenant_email_key',
    ]));
    expect(unique.filter((m) => m.status === 'killed' || m.status === 'survived').length).toBeGreaterThanOrEqual(4);
    expect(statusOf(report)['NULLS NOT DISTINCT added to accounts_tenant_email_key UNIQUE (tenant, email)']).toBe('equivalent');
    for (const m of report.mutants) expect(explained(m), `${m.description}: ${m.status} ${m.reason ?? ''}`).toBe(true);
  });

  it('FOREIGN KEY and NOT NULL fixtures get theirs, each killed or a survivor that says what the suite never does', async () => {
    // the states that tell these mutants apart (the others add time, not verdicts)
    const fk = await mutateSuite(shop, 25, ['fresh', 'clean', 'orphans'], ['foreign key']);
    const fkMutants = fk.mutants.filter((m) => m.kind === 'foreign key');
    expect(fkMutants.map((m) => m.description)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ON DELETE RESTRICT → CASCADE in orders_customer_fk/), expect.stringMatching(/^ON UPDATE NO ACTION → CASCADE in orders_customer_fk/),
      expect.stringMatching(/^NOT DEFERRABLE → DEFERRABLE INITIALLY DEFERRED in orders_customer_fk/), 'add orders_customer_fk NOT VALID', 'remove the constraint orders_customer_fk',
    ]));
    expect(statusOf(fk)['add orders_customer_fk NOT VALID']).toBe('killed');
    expect(fk.mutants.filter((m) => /^ON DELETE RESTRICT/.test(m.description)).map((m) => m.status)).toEqual(['killed', 'killed', 'killed', 'killed']);
    expect(fk.mutants.find((m) => /^ON UPDATE NO ACTION → CASCADE/.test(m.description))!.reason).toMatch(/does any write change the key of a row that is still referenced\?/);
    const notNull = await mutateSuite(profiles, 30, ['fresh', 'named', 'unnamed'], ['not null']);
    expect(notNull.mutants.filter((m) => m.kind === 'not null').map((m) => m.description)).toEqual(['ALTER COLUMN display_name SET NOT NULL removed', 'NOT NULL on locale removed']);
    expect(statusOf(notNull)['ALTER COLUMN display_name SET NOT NULL removed']).toBe('killed');
    for (const m of [...fk.mutants, ...notNull.mutants]) expect(explained(m), `${m.description}: ${m.status} ${m.reason ?? ''}`).toBe(true);
  });
});
