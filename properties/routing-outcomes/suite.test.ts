import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../../harness/report/console-report.ts';
import { verify } from '../../harness/verify/verify.ts';
import { SEED, testConfig, testRuns } from '../../test/helpers.ts';
import suite from './suite.ts';

const RUNS = testRuns(10);

describe(`the AIN-300 chain, every group in every state (seed ${SEED}, ${RUNS} runs)`, () => {
  it('holds: each state does what SPEC §4 says, writes agree with the model, the live deploy loses no valid write', async () => {
    const report = await verify(suite, testConfig(suite, { runs: RUNS }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(Object.fromEntries(report.states.map((state) => [state.name, state.migration]))).toEqual({
      fresh: 'converged', 'prod-drift': 'converged', 'prod-drift-inflight': 'converged', staging: 'converged', 'already-migrated': 'noop',
      'schema-ahead': 'converged', 'unrepaired-orphans': 'failed-atomically', 'prod-drift-not-valid': 'failed-atomically', 'stamped-not-run': 'drift',
      // derived: 0031's constraint hand-applied NOT VALID over staging's rows
      'hand-applied-outcome-requires-inference-when-model-chosen': 'converged',
    });
    const state = (name: string) => report.states.find((s) => s.name === name)!;
    const names = (name: string) => state(name).properties.map((p) => p.name);
    const checks = ['outcome-as-expected', 'catalog-converges', 'rows-preserved', 'idempotent'];
    expect(names('staging')).toEqual([...checks, 'write-path-agrees-with-model', 'concurrent-flows-agree-with-model']);
    expect(names('prod-drift')).toEqual([...checks, 'write-path-agrees-with-model', 'concurrent-flows-agree-with-model', 'live-deploy-keeps-valid-writes']);
    expect(names('unrepaired-orphans')).toEqual(['outcome-as-expected', 'rows-preserved', 'atomic-on-failure']);
    expect(names('stamped-not-run')).toEqual(['outcome-as-expected', 'rows-preserved']);
    for (const s of report.states) for (const property of s.properties) expect(property).toMatchObject({ seed: SEED });

    // a failed migration names the constraint and counts exactly the orphans the history holds
    expect(state('unrepaired-orphans').error).toMatch(/0031_outcome_requires_inference\.sql:9: 23514 check constraint "outcome_requires_inference_when_model_chosen"[\s\S]*\n {2}\d+ row\(s\) of routing_outcomes violate outcome_requires_inference_when_model_chosen$/);
    expect(state('stamped-not-run').catalogDiff?.join('\n')).toMatch(/~ constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen: expected CHECK .*outcome_status IS NULL.*actual CHECK/);
    expect(state('unrepaired-orphans').skipped).toEqual(['writes and concurrency: the migration must fail here: there is no migrated database to write to']);
    expect(state('stamped-not-run').skipped).toEqual(['writes and concurrency: drift is expected: reported, not written to']);

    const notes = state('prod-drift').properties.find((p) => p.name === 'live-deploy-keeps-valid-writes')!.notes ?? [];
    // the correct chain's deploy is put back exactly after every run: one copy serves them all
    expect(notes[0]).toBe(`live deploy: ${RUNS} run(s) on 1 copy(ies) of the state (a copy is used again only when put back exactly as it was)`);
    expect(notes[1]).toMatch(/^live deploy of 0031: (no writer waited|writers waited on the migration's lock \d+ time\(s\), max [\d.]+ ms, total [\d.]+ ms)/);
  });
});
