import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { reproduce } from '../../harness/check/repro.ts';
import { verify, writeContext, type VerifyOptions } from '../../harness/check/verify.ts';
import { openWorkbench } from '../../harness/check/workbench.ts';
import { prepareWriteTarget } from '../../harness/check/write-properties.ts';
import { ScratchDatabases, UrlPostgresProvider } from '../../harness/postgres/index.ts';
import { formatConsoleReport } from '../../harness/report/console-report.ts';
import { formatActual } from '../../harness/sessions/step-outcome.ts';
import { InterleavingExecutor, parseIsolationSpec, replayIsolationSpec } from '../../harness/sessions/index.ts';
import { concurrencyScenario } from './concurrency.ts';
import type { Flow } from './flows.ts';
import suite from './suite.ts';
import { SEED, testRuns, verifyOptions } from './testing.ts';

const RUNS = testRuns(10);
const provider = () => new UrlPostgresProvider(inject('databaseUrl'));

const options = (overrides: Partial<VerifyOptions> = {}) => verifyOptions(['concurrency'], RUNS, overrides);

const flow = (kind: Flow['kind'], transaction: boolean, rule: Flow['rule'] = 'cheapest_clearing_floor'): Flow => ({ kind, rule, provider: 'openai', transaction, label: `${kind}${transaction ? ' in one transaction' : ''}` });

/** One fixed case through the real executor on a migrated fresh state: its events and the model's verdict. */
async function runFixedCase(flows: Flow[], schedule: number[]) {
  const bench = await openWorkbench(suite, { provider: provider(), migrationsDir: suite.migrationsDir, states: ['fresh'], log: () => undefined });
  try {
    const context = writeContext(bench, { runs: 1, seed: 1, replayCommand: () => '' });
    const target = await prepareWriteTarget(bench.states[0]!, context);
    if ('skipped' in target) throw new Error(target.skipped);
    const config = bench.templates.connectionConfig(target.database.name);
    const run = concurrencyScenario.begin({ state: bench.states[0]! }, flows);
    const control = new pg.Client(config);
    await control.connect();
    const executor = await InterleavingExecutor.connect(config, flows.length);
    try {
      for (const step of run.setup) await control.query(step.sql, step.parameters as unknown[]);
      const events = await executor.run(run.programs, schedule);
      const problems = await run.check(events, control);
      const shown = events.map((e) => `s${e.session + 1}-${e.step.name}${e.blocked ? '*' : ''}: ${formatActual(e.outcome)}`);
      return { events, problems, shown };
    } finally {
      await executor.close();
      await control.end();
    }
  } finally {
    await bench.close();
  }
}

describe(`concurrent flows (seed ${SEED}, ${RUNS} runs)`, () => {
  it('agree with the model in every writable state, and the live deploy loses no valid write', async () => {
    const report = await verify(suite, options());
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    const names = (state: string) => report.states.find((s) => s.name === state)!.properties.map((p) => p.name);
    expect(names('staging')).toEqual(['concurrent-flows-agree-with-model']);
    expect(names('prod-drift')).toEqual(['concurrent-flows-agree-with-model', 'live-deploy-keeps-valid-writes']);
    expect(names('prod-drift-inflight')).toEqual(['concurrent-flows-agree-with-model', 'live-deploy-keeps-valid-writes']);
    const deploy = report.states.find((s) => s.name === 'prod-drift')!.properties[1]!;
    expect(deploy.notes?.[0]).toMatch(/^live deploy of 0031: (no writer waited|writers waited on the migration's lock \d+ time\(s\), max [\d.]+ ms, total [\d.]+ ms)/);
  });

  it('two transactions completing one decision: the second waits on the first, then touches no row', async () => {
    const result = await runFixedCase([flow('race-complete', true), flow('race-complete', true)], [0, 1, 0, 1, 0, 1, 0, 1]);
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's2-begin: 0 rows', 's1-recordInference: commit (1 row)', 's2-recordInference: commit (1 row)',
      's1-completeDecision: commit (1 row)', 's1-commit: 0 rows', 's2-completeDecision*: 0 rows', 's2-commit: 0 rows',
    ]);
  });

  it('one request handled twice in transactions: the second insert waits, fails with 23505, and its transaction is aborted', async () => {
    const result = await runFixedCase([flow('duplicate-decision', true), flow('duplicate-decision', true)], [0, 1, 0, 1, 0, 0, 1, 1]);
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's2-begin: 0 rows', 's1-insertDecision: commit (1 row)', 's1-recordInference: commit (1 row)',
      's1-completeDecision: commit (1 row)', 's1-commit: 0 rows', 's2-insertDecision*: 23505 routing_outcomes_pkey', 's2-recordInference: 25P02',
      's2-completeDecision: 25P02', 's2-commit: 0 rows',
    ]);
  });

  it('an error inside a transaction aborts it: its COMMIT rolls back the decision it inserted', async () => {
    const result = await runFixedCase([flow('buggy-unlinked', true), flow('two-phase', false)], [0, 0, 0, 1, 1, 1, 0]);
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's1-insertDecision: commit (1 row)', 's1-failProviderUnlinked: 23514 outcome_requires_inference_when_model_chosen',
      's2-insertDecision: commit (1 row)', 's2-recordInference: commit (1 row)', 's2-completeDecision: commit (1 row)', 's1-commit: 0 rows',
    ]);
  });
});

describe('self-check: stopping the chain at 0030, the concurrency group finds the bug too', () => {
  it('in prod-drift (a two-phase flow refused) and in staging (an orphan committed)', async () => {
    const report = await verify(suite, options({ to: '0030', states: ['prod-drift', 'staging'], runs: 100 }));
    const failed = (state: string) => report.states.find((s) => s.name === state)!.properties.find((p) => p.name === 'concurrent-flows-agree-with-model')!;
    expect(failed('prod-drift').ok).toBe(false);
    expect(failed('prod-drift').counterexample?.actual).toBe('23514 outcome_requires_inference_when_model_chosen');
    expect(failed('prod-drift').counterexample?.expected).toMatch(/insertDecision\(d\d+, cheapest_clearing_floor, \w+\): commit$/);
    expect(failed('prod-drift').counterexample?.steps.at(-1)).toMatch(/^permutation: s1-insertDecision/);
    expect(failed('staging').ok).toBe(false);
    expect(`${failed('staging').counterexample?.expected} ${failed('staging').counterexample?.actual}`).toMatch(/23514 outcome_requires_inference_when_model_chosen commit|orphan committed/);
  });

  it('repro writes an isolation spec that replays the failing interleaving on an empty database', async () => {
    const report = await verify(suite, options({ to: '0030', states: ['staging'], runs: 100 }));
    const property = report.states[0]!.properties.find((p) => !p.ok)!;
    const spec = await reproduce(suite, { provider: provider(), migrationsDir: suite.migrationsDir, to: '0030', state: 'staging', group: 'concurrency', seed: property.seed, path: property.path!, log: () => undefined });
    expect(spec).toMatch(/^permutation s\d_1_/m);
    const parsed = parseIsolationSpec(spec);
    const observed = [...spec.matchAll(/^step (\S+) \{.*\}  # observed: ([^,\n]+)/gm)].map((m) => [m[1], m[2]]);

    const server = await provider().start();
    const databases = new ScratchDatabases(server);
    try {
      const replay = await replayIsolationSpec(parsed, server.connectionConfig(await databases.create('spec')));
      expect(replay.setupError).toBeUndefined();
      const replayed = Object.fromEntries(replay.lines.slice(1).map((line) => line.split(': ')).map(([step, outcome]) => [step, outcome!.replace(/ \(blocked.*$/, '')]));
      for (const [step, outcome] of observed) expect(`${step}: ${replayed[step!]}`).toBe(`${step}: ${outcome}`);
      expect(Object.values(replayed).join(' ')).toMatch(/commit/);
    } finally {
      await databases.close();
    }
  });
});
