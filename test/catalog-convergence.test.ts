import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { expectEveryKind } from './catalog-kinds.ts';
import { chainWith, MIGRATIONS, SEED, sharedServer, testConfig } from './helpers.ts';

const TARGET = '0031_outcome_requires_inference.sql';
const original = readFileSync(path.join(MIGRATIONS, TARGET), 'utf8');

/** One object of each kind, each created idempotently (running 0031 again changes nothing). */
const OBJECTS: { kind: string; name: string; sql: string }[] = [
  { kind: 'function', name: 'public.outcome_age(o routing_outcomes)', sql: 'CREATE OR REPLACE FUNCTION outcome_age(o routing_outcomes) RETURNS interval LANGUAGE sql STABLE AS $f$ SELECT now() - o.created_at $f$;' },
  { kind: 'trigger', name: 'public.routing_outcomes.outcome_touched', sql: "CREATE OR REPLACE FUNCTION touch_outcome() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.attempts := NEW.attempts; RETURN NEW; END $f$;\n  DROP TRIGGER IF EXISTS outcome_touched ON routing_outcomes;\n  CREATE TRIGGER outcome_touched BEFORE UPDATE ON routing_outcomes FOR EACH ROW EXECUTE FUNCTION touch_outcome();" },
  { kind: 'view', name: 'public.final_outcomes', sql: 'CREATE OR REPLACE VIEW final_outcomes AS SELECT id, outcome_status FROM routing_outcomes WHERE outcome_status IS NOT NULL;' },
  { kind: 'sequence', name: 'public.outcome_batch', sql: 'CREATE SEQUENCE IF NOT EXISTS outcome_batch START 100;' },
  { kind: 'enum', name: 'public.outcome_kind', sql: "IF to_regtype('outcome_kind') IS NULL THEN CREATE TYPE outcome_kind AS ENUM ('final', 'in_flight'); END IF;" },
  { kind: 'policy', name: 'public.routing_outcomes.outcomes_visible', sql: 'DROP POLICY IF EXISTS outcomes_visible ON routing_outcomes;\n  CREATE POLICY outcomes_visible ON routing_outcomes FOR SELECT USING (true);' },
];

const doBlock = (body: string) => `\nDO $$\nBEGIN\n  ${body}\nEND\n$$;\n`;
/** The states whose history 0031 runs over (already-migrated applied 0031 before its rows: its catalog is fresh's). */
const WITH_ROWS = ['prod-drift', 'prod-drift-inflight', 'staging', 'schema-ahead'];

describe(`convergence compares the whole schema, every kind of object (seed ${SEED})`, () => {
  it('objects 0031 creates only where routing_outcomes holds rows: catalog-converges fails in every state with rows, the diff naming each object', async () => {
    const dependent = doBlock(`IF EXISTS (SELECT 1 FROM routing_outcomes) THEN\n  ${OBJECTS.map((o) => o.sql).join('\n  ')}\n  END IF;`);
    const report = await verify(suite, testConfig(suite, { migrationsDir: chainWith({ [TARGET]: original + dependent }), groups: ['migration'], states: ['fresh', ...WITH_ROWS], runs: 25 }));
    expect(report.states[0]!.properties.every((p) => p.ok), formatConsoleReport(report)).toBe(true);
    for (const state of report.states.slice(1)) {
      const converges = state.properties.find((p) => p.name === 'catalog-converges')!;
      expect(converges.ok, `${state.name}: ${formatConsoleReport(report)}`).toBe(false);
      const diff = [converges.counterexample!.actual, ...(converges.counterexample!.details ?? [])].join('\n');
      for (const object of OBJECTS) expect(diff, `${state.name} names the ${object.kind}`).toContain(`+ ${object.kind} ${object.name}: `);
      // the diff is the fresh catalog against this state's: what fresh lacks, shown as present here, not expected
      expect(diff).toMatch(/\(present, not expected\)/);
    }
  });

  it('the same objects created unconditionally and idempotently: every state converges', async () => {
    const always = doBlock(OBJECTS.filter((o) => o.kind === 'enum').map((o) => o.sql).join('\n  ')) + OBJECTS.filter((o) => o.kind !== 'enum').map((o) => `${o.sql.replace(/\n {2}/g, '\n')}\n`).join('');
    const report = await verify(suite, testConfig(suite, { migrationsDir: chainWith({ [TARGET]: original + always }), groups: ['migration'], states: ['fresh', ...WITH_ROWS, 'already-migrated'], runs: 10 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
  });
});

describe('the snapshot holds every kind of object, and the diff names a change to each', () => {
  it(`on the test run's server`, async () => {
    await expectEveryKind((await sharedServer()).server);
  });
});
