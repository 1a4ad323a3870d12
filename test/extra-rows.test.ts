import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatedRows, migratedToBeforeTarget } from '../harness/suite.ts';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from './fixtures/suites/accounts-unique-email/suite.ts';
import { scratchDir, SEED, testConfig } from './helpers.ts';

/** The accounts chain, its revision under test followed by a trigger the suite's model knows nothing of. */
function withTrigger(body: string): string {
  const dir = scratchDir('ch-accounts-');
  for (const file of readdirSync(suite.migrationsDir)) copyFileSync(path.join(suite.migrationsDir, file), path.join(dir, file));
  writeFileSync(
    path.join(dir, '0003_signup_trigger.sql'),
    `CREATE OR REPLACE FUNCTION on_sign_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body}; RETURN NEW; END $$;\nDROP TRIGGER IF EXISTS on_sign_up ON accounts;\nCREATE TRIGGER on_sign_up AFTER INSERT ON accounts FOR EACH ROW WHEN (NEW.tenant <> 'audit') EXECUTE FUNCTION on_sign_up();\n`,
  );
  return dir;
}

describe(`every row of the suite's tables is read back after a run (seed ${SEED})`, () => {
  it('a row under a key the run never handed out (a trigger\'s side row) fails the property, and is shown', async () => {
    const migrationsDir = withTrigger("INSERT INTO accounts (id, tenant, email) VALUES (gen_random_uuid(), 'audit', NEW.email)");
    const report = await verify(suite, testConfig(suite, { migrationsDir, to: '0003', groups: ['writes'], states: ['fresh'], runs: 50 }));
    const writes = report.states[0]!.properties.find((p) => p.name === 'sign-ups-agree-with-model')!;
    expect(writes.ok, formatConsoleReport(report)).toBe(false);
    expect(writes.counterexample!.steps).toEqual([expect.stringMatching(/^signUp\(a\d, \w+, \S+\)$/)]);
    expect(writes.counterexample!.actual).toMatch(/accounts\[[0-9a-f-]{36}\] exists but the model has no such row \(a trigger's, a cascade's, or a write under a key the run never used\): \{.*"tenant": "audit".*\}/);
  });

  it('a starting row no statement wrote, changed in a column the model does not read, fails the property, before and after shown', async () => {
    const migrationsDir = withTrigger("UPDATE accounts SET created_at = created_at - interval '1 day' WHERE id <> NEW.id");
    // a state that always starts with an account (a generated history may have none)
    const oneAccount = generatedRows('one account', fc.constant({ sql: ["INSERT INTO accounts (id, tenant, email) VALUES ('00000000-0000-4000-a000-00000000000a', 'initech', 'ada@example.com')"], summary: ['h0: ada@example.com at initech'] }));
    const withAccount = { ...suite, states: [{ name: 'one-account', story: 'One account.', expect: 'converge' as const, steps: [migratedToBeforeTarget(), oneAccount] }] };
    const report = await verify(withAccount, testConfig(withAccount, { migrationsDir, to: '0003', groups: ['writes'], runs: 50 }));
    const writes = report.states[0]!.properties.find((p) => p.name === 'sign-ups-agree-with-model')!;
    expect(writes.ok, formatConsoleReport(report)).toBe(false);
    expect(writes.counterexample!.actual).toMatch(/accounts\[[0-9a-f-]{36}\] changed, though no statement of the run wrote it: before \{.*"created_at": "([^"]+)".*\}, after \{.*"created_at": "(?!\1)[^"]+".*\}/);
  });

  it('the same chain without the trigger passes: nothing is reported that the run did not cause', async () => {
    const report = await verify(suite, testConfig(suite, { groups: ['writes', 'concurrency'], states: ['clean', 'fresh'], runs: 30 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
  });
});
