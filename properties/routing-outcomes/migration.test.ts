import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../../harness/run/run-config.ts';
import { verify } from '../../harness/verify/verify.ts';
import type { VerifyReport } from '../../harness/verify/verify-report.ts';
import { chainWith, testConfig, testRuns, SEED } from '../../test/helpers.ts';
import suite from './suite.ts';

const RUNS = testRuns(10);
const config = (overrides: Partial<RunConfig> = {}) => testConfig(suite, { groups: ['migration'], runs: RUNS, ...overrides });

function outcomes(report: VerifyReport) {
  return Object.fromEntries(report.states.map((state) => [state.name, { migration: state.migration, ok: state.properties.every((p) => p.ok) }]));
}
const stateOf = (report: VerifyReport, name: string) => report.states.find((s) => s.name === name)!;

/** Faulty versions of 0031 that a reviewer could plausibly have approved: each must be caught. */
describe(`faulty 0031 migrations are caught by the migration group (seed ${SEED})`, () => {
  const ADD = `ALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (
  outcome_status IS NULL OR decision_rule_override IS NOT NULL OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`;
  const DROP = 'ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;';
  const with0031 = (text: string) => chainWith({ '0031_outcome_requires_inference.sql': text });

  it('without DROP IF EXISTS: the deploy fails on PROD, where the constraint already exists', async () => {
    const report = await verify(suite, config({ migrationsDir: with0031(`${ADD};\n`), states: ['fresh', 'prod-drift'] }));
    expect(report.ok).toBe(false);
    const drift = stateOf(report, 'prod-drift');
    expect(drift.migration).toBe('failed-atomically');
    const failed = drift.properties.find((p) => p.name === 'outcome-as-expected')!;
    expect(failed.ok).toBe(false);
    expect(failed.counterexample?.actual).toMatch(/42710 constraint "outcome_requires_inference_when_model_chosen" for relation "routing_outcomes" already exists/);
    expect(failed.counterexample?.replay).toMatch(/--states prod-drift --group migration --property outcome-as-expected --seed \d+ --path \S+/);
    // from fresh it applies, but deploying it a second time raises the same error
    const fresh = stateOf(report, 'fresh');
    expect(fresh.migration).toBe('converged');
    const idempotent = fresh.properties.find((p) => p.name === 'idempotent')!;
    expect(idempotent.ok).toBe(false);
    expect(idempotent.counterexample?.actual).toMatch(/applying 0031 again raised: .*42710/);
  });

  it('added NOT VALID: orphans slip through instead of failing the deploy', async () => {
    const report = await verify(suite, config({ migrationsDir: with0031(`${DROP}\n${ADD} NOT VALID;\n`), states: ['unrepaired-orphans', 'prod-drift'] }));
    expect(outcomes(report)['unrepaired-orphans']).toEqual({ migration: 'converged', ok: false });
  });

  it('COMMIT; BEGIN; between DROP and ADD: run as written, it is not atomic, and where the ADD fails the old constraint is lost', async () => {
    const report = await verify(suite, config({ migrationsDir: with0031(`${DROP}\nCOMMIT;\nBEGIN;\n${ADD};\n`), states: ['prod-drift-not-valid', 'prod-drift'] }));
    const state = stateOf(report, 'prod-drift-not-valid');
    expect(state.migration).toBe('failed');
    expect(state.catalogDiff?.join('\n')).toMatch(/^- constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen: CHECK .* \(expected, absent\)$/m);
    const atomic = state.properties.find((p) => p.name === 'atomic-on-failure')!;
    expect(atomic.ok).toBe(false);
    expect(atomic.counterexample?.details?.join('\n')).toMatch(/^- constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen: CHECK \(\(\(decision_rule <> 'cheapest_clearing_floor'::text\) OR \(inference_id IS NOT NULL\)\)\) NOT VALID \[NOT VALID, not deferrable\] \(there before, gone after\)$/m);
    // where the ADD succeeds, the same file converges
    expect(stateOf(report, 'prod-drift').migration).toBe('converged');
  });

  it('sent statement by statement without a transaction (--runner psql): a failed ADD leaves the old constraint dropped', async () => {
    const report = await verify(suite, config({ migrationsDir: with0031(`${DROP}\n${ADD};\n`), runner: 'psql', states: ['prod-drift-not-valid'] }));
    const state = report.states[0]!;
    expect(state.migration).toBe('failed');
    const atomic = state.properties.find((p) => p.name === 'atomic-on-failure')!;
    expect(atomic.ok).toBe(false);
    expect(atomic.counterexample?.details?.join('\n')).toMatch(/- constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen/);
  });

  it('dbmate transaction:false sends DROP and ADD as one query: PostgreSQL still runs them as one implicit transaction', async () => {
    const report = await verify(suite, config({ migrationsDir: with0031(`-- migrate:up transaction:false\n${DROP}\n${ADD};\n-- migrate:down\n`), states: ['prod-drift-not-valid'] }));
    expect(report.migrations.runner).toBe('dbmate');
    expect(outcomes(report)['prod-drift-not-valid']).toEqual({ migration: 'failed-atomically', ok: true });
  });

  it('deleting orphans to make the constraint fit: rows are lost, and it is shrunk to one orphan', async () => {
    const text = `${DROP}\nDELETE FROM routing_outcomes WHERE outcome_status IS NOT NULL AND inference_id IS NULL AND decision_rule = 'cheapest_clearing_floor' AND decision_rule_override IS NULL;\n${ADD};\n`;
    const report = await verify(suite, config({ migrationsDir: with0031(text), states: ['unrepaired-orphans'] }));
    const state = report.states[0]!;
    expect(state.migration).toBe('converged');
    const preserved = state.properties.find((p) => p.name === 'rows-preserved')!;
    expect(preserved.ok).toBe(false);
    expect(preserved.counterexample?.actual).toMatch(/pre-existing rows changed/);
    expect(preserved.counterexample?.steps.filter((step) => step.includes('(orphan)'))).toHaveLength(1);
  });
});
