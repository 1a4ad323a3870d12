import { describe, expect, it } from 'vitest';
import { verify, type VerifyOptions } from '../../harness/check/verify.ts';
import { formatConsoleReport } from '../../harness/report/console-report.ts';
import { chainWith } from '../../test/helpers.ts';
import suite from './suite.ts';
import { SEED, testRuns, verifyOptions } from './testing.ts';

const RUNS = testRuns(10);

const options = (overrides: Partial<VerifyOptions> = {}) => verifyOptions(['migration'], RUNS, overrides);

function outcomes(report: Awaited<ReturnType<typeof verify>>) {
  return Object.fromEntries(report.states.map((state) => [state.name, { migration: state.migration, ok: state.properties.every((p) => p.ok) }]));
}

describe(`migration properties of the AIN-300 chain (seed ${SEED}, ${RUNS} runs)`, () => {
  it('holds in every starting state: each state does what SPEC §4 says', async () => {
    const report = await verify(suite, options());
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(outcomes(report)).toEqual({
      fresh: { migration: 'converged', ok: true },
      'prod-drift': { migration: 'converged', ok: true },
      'prod-drift-inflight': { migration: 'converged', ok: true },
      staging: { migration: 'converged', ok: true },
      'already-migrated': { migration: 'noop', ok: true },
      'schema-ahead': { migration: 'converged', ok: true },
      'unrepaired-orphans': { migration: 'failed-atomically', ok: true },
      'prod-drift-not-valid': { migration: 'failed-atomically', ok: true },
      'stamped-not-run': { migration: 'drift', ok: true },
    });
    const orphans = report.states.find((s) => s.name === 'unrepaired-orphans')!;
    expect(orphans.error).toMatch(/outcome_requires_inference_when_model_chosen/);
    expect(orphans.error).toMatch(/\d+ row\(s\) of routing_outcomes violate outcome_requires_inference_when_model_chosen/);
    const drift = report.states.find((s) => s.name === 'stamped-not-run')!;
    expect(drift.catalogDiff?.join('\n')).toMatch(/~ constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen: expected CHECK .*outcome_status IS NULL.*actual CHECK/);
    for (const state of report.states) for (const property of state.properties) expect(property.seed).toBe(SEED);
  });
});

/** Faulty versions of 0031 that a reviewer could plausibly have approved: each must be caught. */
describe('faulty 0031 migrations are caught by the migration group', () => {
  const ADD = `ALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (
  outcome_status IS NULL OR decision_rule_override IS NOT NULL OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`;
  const DROP = 'ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;';

  it('without DROP IF EXISTS: the deploy fails on PROD, where the constraint already exists', async () => {
    const report = await verify(suite, options({ migrationsDir: chainWith({ '0031_outcome_requires_inference.sql': `${ADD};\n` }) }));
    expect(report.ok).toBe(false);
    const drift = report.states.find((s) => s.name === 'prod-drift')!;
    expect(drift.migration).toBe('failed-atomically');
    const failed = drift.properties.find((p) => p.name === 'outcome-as-expected')!;
    expect(failed.ok).toBe(false);
    expect(failed.counterexample?.actual).toMatch(/42710 constraint "outcome_requires_inference_when_model_chosen" for relation "routing_outcomes" already exists/);
    expect(failed.counterexample?.replay).toMatch(/--states prod-drift --group migration --seed \d+ --path \S+/);
    // from fresh it applies, but deploying it a second time raises the same error
    const fresh = report.states.find((s) => s.name === 'fresh')!;
    expect(fresh.migration).toBe('converged');
    const idempotent = fresh.properties.find((p) => p.name === 'idempotent')!;
    expect(idempotent.ok).toBe(false);
    expect(idempotent.counterexample?.actual).toMatch(/applying 0031 again raised: .*42710/);
  });

  it('added NOT VALID: orphans slip through instead of failing the deploy', async () => {
    const report = await verify(suite, options({ migrationsDir: chainWith({ '0031_outcome_requires_inference.sql': `${DROP}\n${ADD} NOT VALID;\n` }), states: ['unrepaired-orphans', 'prod-drift'] }));
    expect(outcomes(report)['unrepaired-orphans']).toEqual({ migration: 'converged', ok: false });
  });

  it('outside a transaction: a failed ADD leaves the old constraint dropped', async () => {
    const text = `-- migrate:up transaction:false\n${DROP}\n${ADD};\n`;
    const report = await verify(suite, options({ migrationsDir: chainWith({ '0031_outcome_requires_inference.sql': text }), states: ['prod-drift-not-valid'] }));
    const state = report.states[0]!;
    expect(state.migration).toBe('failed');
    const atomic = state.properties.find((p) => p.name === 'atomic-on-failure')!;
    expect(atomic.ok).toBe(false);
    expect(atomic.counterexample?.details?.join('\n')).toMatch(/- constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen/);
  });

  it('deleting orphans to make the constraint fit: rows are lost, and it is shrunk to one orphan', async () => {
    const text = `${DROP}\nDELETE FROM routing_outcomes WHERE outcome_status IS NOT NULL AND inference_id IS NULL AND decision_rule = 'cheapest_clearing_floor' AND decision_rule_override IS NULL;\n${ADD};\n`;
    const report = await verify(suite, options({ migrationsDir: chainWith({ '0031_outcome_requires_inference.sql': text }), states: ['unrepaired-orphans'] }));
    const state = report.states[0]!;
    expect(state.migration).toBe('converged');
    const preserved = state.properties.find((p) => p.name === 'rows-preserved')!;
    expect(preserved.ok).toBe(false);
    expect(preserved.counterexample?.actual).toMatch(/pre-existing rows changed/);
    expect(preserved.counterexample?.steps.filter((step) => step.includes('(orphan)'))).toHaveLength(1);
  });
});
