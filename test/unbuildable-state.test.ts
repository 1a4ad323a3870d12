import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { writeReports } from '../harness/report/write-reports.ts';
import { generatedRows, migratedToBeforeTarget, runSql, type StartingState } from '../harness/suite.ts';
import { verify } from '../harness/verify/verify.ts';
import { exitCodeOf } from '../harness/verify/verify-report.ts';
import shop from './fixtures/suites/customers-orders/suite.ts';
import { scratchDir, SEED, testConfig } from './helpers.ts';

/** The shop's chain with its revision under test replaced. */
function chainWithTarget(sql: string): string {
  const dir = scratchDir('ch-shop-');
  for (const file of readdirSync(shop.migrationsDir)) copyFileSync(path.join(shop.migrationsDir, file), path.join(dir, file));
  writeFileSync(path.join(dir, '0002_orders_belong_to_customers.sql'), sql);
  return dir;
}

describe(`a state that cannot be built is that state's result (seed ${SEED})`, () => {
  it('caused by the revision under test: state-builds fails in that state, every other state is reported, exit 1', async () => {
    // a faulty CHECK: the orders the shop took after the migration (total 0 among them) are refused
    const migrationsDir = chainWithTarget('ALTER TABLE orders ADD CONSTRAINT orders_total_nonnegative CHECK (total > 5);\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE RESTRICT;\n');
    const suite = { ...shop, states: shop.states.map((s) => (s.name === 'already-migrated' ? { ...s, steps: [...s.steps.slice(0, -1), generatedRows('an order of total 0', fc.constant({ sql: ["INSERT INTO customers (id, name) VALUES ('00000000-0000-4000-c000-000000000009', 'c'); INSERT INTO orders (id, customer_id, total) VALUES ('00000000-0000-4000-d000-000000000009', '00000000-0000-4000-c000-000000000009', 0)"], summary: ['an order of total 0'] }))] } : s)) };
    const report = await verify(suite, testConfig(suite, { migrationsDir, runs: 5 }));
    expect(report.states.map((s) => s.name)).toEqual(['fresh', 'clean', 'orphans', 'negative', 'already-migrated', 'stamped-not-run', 'hand-applied-orders-total-nonnegative', 'hand-applied-orders-customer-fk']);
    const state = report.states.find((s) => s.name === 'already-migrated')!;
    const builds = state.properties.find((p) => p.name === 'state-builds')!;
    expect(builds.ok).toBe(false);
    expect(builds.counterexample!.actual).toMatch(/state already-migrated, step "an order of total 0": new row for relation "orders" violates check constraint "orders_total_nonnegative"/);
    expect(builds.counterexample!.error).toMatchObject({ sqlstate: '23514', detail: expect.stringMatching(/^Failing row contains/) });
    expect(state.skipped!.join('\n')).toMatch(/writes: not run: state already-migrated cannot be built \(it fails once 0002 is applied\)/);
    expect(state.properties.filter((p) => p.ok)).toEqual([]);
    expect(state.setupError).toBeUndefined();
    // the other states ran: fresh converged with the faulty CHECK and its writes were checked
    expect(report.states[0]!.properties.map((p) => p.name)).toContain('orders-agree-with-model');
    expect(exitCodeOf(report)).toBe(1);
    const dir = scratchDir('ch-report-');
    await writeReports(dir, report);
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain('### already-migrated');
    expect(formatConsoleReport(report)).toMatch(/✗ already-migrated \/ state-builds \(migration\) failed/);
  });

  it("caused by the suite's own setup before the revision: the state says so, the others are reported, exit 2", async () => {
    const typo: StartingState = { name: 'typo', story: 'A state whose own SQL is wrong.', expect: 'converge', steps: [migratedToBeforeTarget(), runSql('a fixture with a typo', 'INSERT INTO customer (id, name) VALUES (gen_random_uuid(), 1)')] };
    const badRows: StartingState = { name: 'bad-rows', story: 'A state whose generated rows are wrong.', expect: 'converge', steps: [migratedToBeforeTarget(), generatedRows('rows of a table that does not exist', fc.constant({ sql: ['INSERT INTO shoppers (id) VALUES (1)'], summary: ['a shopper'] }))] };
    const suite = { ...shop, states: [shop.states[0]!, typo, badRows] };
    const report = await verify(suite, testConfig(suite, { runs: 5 }));
    // (the derived hand-applied states start from bad-rows' rows, and cannot be built either)
    expect(report.states.map((s) => [s.name, s.properties.every((p) => p.ok), s.setupError !== undefined])).toEqual([['fresh', true, false], ['typo', true, true], ['bad-rows', true, true], ['hand-applied-orders-total-nonnegative', true, true], ['hand-applied-orders-customer-fk', true, true]]);
    expect(report.states[1]!.setupError).toMatch(/state typo, step "a fixture with a typo": relation "customer" does not exist/);
    expect(report.states[2]!.setupError).toMatch(/state bad-rows, step "rows of a table that does not exist": relation "shoppers" does not exist/);
    expect(report.states[2]!.properties).toEqual([]);
    expect(report.ok).toBe(false);
    expect(exitCodeOf(report)).toBe(2);
    const text = formatConsoleReport(report);
    expect(text).toMatch(/setup error \(the suite's, not the migration's\): state typo/);
    expect(text).toMatch(/^FAILED: .*; 4 state\(s\) could not be built by the suite's own setup/m);
  });
});
