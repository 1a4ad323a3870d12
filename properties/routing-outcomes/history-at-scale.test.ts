import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaledStates } from '../../harness/states/scaled-states.ts';
import { withClient } from '../../harness/postgres/index.ts';
import { openWorkbench, type Workbench } from '../../harness/run/workbench.ts';
import type { StateStep } from '../../harness/states/index.ts';
import { testConfig, SEED } from '../../test/helpers.ts';
import suite from './suite.ts';

const ROWS = 2000;
/** One state per story at scale (valid under the old predicate, in flight, without and with orphans) and per expectation. */
const SCALED = suite.states.filter((state) => ['prod-drift', 'prod-drift-inflight', 'already-migrated', 'prod-drift-not-valid', 'stamped-not-run'].includes(state.name));

/**
 * The history at scale must tell each state's story as the generated one does: rows valid
 * under the old predicate where PROD has it, orphans exactly where the story has them, and
 * the deploy of 0031 ending as the state expects (converge, fail on the orphans, change nothing).
 */
describe(`the starting states at scale (${ROWS} rows) tell the same story (seed ${SEED})`, () => {
  let bench: Workbench;
  beforeAll(async () => {
    bench = await openWorkbench(suite, testConfig(suite, { states: SCALED.map((s) => s.name) }));
  });
  afterAll(() => bench?.close());

  it.each(SCALED.map((state) => [state.name, state] as const))('%s', async (_name, state) => {
    const scaled = await ScaledStates.build(bench.templates, state, [ROWS], 2, () => undefined);
    try {
      const copy = await scaled.copy(ROWS);
      try {
        await withClient(bench.templates.connectionConfig(copy.database), async (client) => {
          const count = async (where: string) => Number((await client.query(`SELECT count(*) AS n FROM routing_outcomes WHERE ${where}`)).rows[0].n);
          expect(await count('true')).toBe(ROWS);
          const orphan = `outcome_status IS NOT NULL AND decision_rule_override IS NULL AND decision_rule = 'cheapest_clearing_floor' AND inference_id IS NULL`;
          const rowsStep = state.steps.find((s): s is Extract<StateStep, { kind: 'rows' }> => s.kind === 'rows')!;
          expect(await count(orphan)).toBe(rowsStep.atScale!({ from: 0, to: ROWS }).violating ?? 0);
          if (state.name.startsWith('prod-drift') && state.expect === 'converge') {
            expect(await count(`NOT (decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`)).toBe(0);
          }
          if (state.name === 'prod-drift-inflight') expect(await count('outcome_status IS NULL')).toBe(ROWS * 0.15);
          const run = await bench.migrator.migrateTo(client, bench.to);
          if (state.expect === 'fail-atomically') expect(run.error?.sqlstate).toBe('23514');
          else expect(run.error).toBeUndefined();
          if (state.expect === 'noop' || state.expect === 'drift') expect(run.applied).toEqual([]);
          if (state.expect === 'converge') expect(run.applied).toContain('0031');
        });
      } finally {
        await copy.drop();
      }
    } finally {
      await scaled.close();
    }
  });
});
