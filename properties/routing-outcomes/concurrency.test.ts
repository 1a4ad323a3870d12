import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { runConcurrentCase } from '../../harness/groups/concurrency/concurrent-run.ts';
import { WriteTarget } from '../../harness/groups/writes/write-target.ts';
import { ScratchDatabases, UrlPostgresProvider } from '../../harness/postgres/index.ts';
import { reproduce } from '../../harness/repro/repro.ts';
import type { RunConfig } from '../../harness/run/run-config.ts';
import { openWorkbench } from '../../harness/run/workbench.ts';
import { formatActual, parseIsolationSpec, replayIsolationSpec } from '../../harness/sessions/index.ts';
import type { CaseStep, ConcurrentCase } from '../../harness/suite.ts';
import { verify } from '../../harness/verify/verify.ts';
import type { VerifyReport } from '../../harness/verify/verify-report.ts';
import { chainWith, SEED, testConfig, testRuns } from '../../test/helpers.ts';
import { concurrentCase, flowOperations, type Flow } from './flows.ts';
import { fresh, type RoutingOperation } from './operations.ts';
import suite from './suite.ts';

const RUNS = testRuns(10);
const config = (overrides: Partial<RunConfig> = {}) => testConfig(suite, { groups: ['concurrency'], runs: RUNS, ...overrides });
const propertyOf = (report: VerifyReport, state: string, name: string) => report.states.find((s) => s.name === state)!.properties.find((p) => p.name === name)!;

type Op = RoutingOperation;
const op = (o: Op): CaseStep<Op> => ({ kind: 'op', op: o });
const inTransaction = (...ops: Op[]): CaseStep<Op>[] => [{ kind: 'begin' }, ...ops.map(op), { kind: 'commit' }];

/** One fixed case through the real executor on a migrated fresh state: what each step did, and the checker's verdict. */
async function runFixedCase(testCase: ConcurrentCase<Op>) {
  const cfg = testConfig(suite, { states: ['fresh'] });
  const bench = await openWorkbench(suite, cfg);
  const context = { suite, bench, config: cfg, log: () => undefined };
  const target = await WriteTarget.open(context, bench.states[0]!, [], { migrate: true, label: 'fixed' });
  try {
    const executor = await target.executor(testCase.sessions.length);
    const run = await runConcurrentCase({ suite, property: 'fixed', target, executor }, testCase);
    const shown = run.events.map((e) => `s${e.session + 1}-${e.step.name}${e.blocked ? '*' : ''}: ${formatActual(e.outcome)}`);
    return { problems: run.problems, shown };
  } finally {
    await target.close();
    await bench.close();
  }
}

describe(`concurrent flows (seed ${SEED}, ${RUNS} runs)`, () => {
  it('two transactions completing one decision: the second waits on the first, then touches no row', async () => {
    const result = await runFixedCase({
      setup: [{ kind: 'insertDecision', d: fresh(90), rule: 'explicit_model', provider: 'mistral' }],
      sessions: [1, 2].map((s) => inTransaction({ kind: 'recordInference', i: s, provider: 'openai', status: 'ok', httpStatus: 200 }, { kind: 'completeDecision', d: fresh(90), i: s })),
      labels: ['race', 'race'],
      schedule: [0, 1, 0, 1, 0, 1, 0, 1],
    });
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's2-begin: 0 rows', 's1-recordInference: commit (1 row)', 's2-recordInference: commit (1 row)',
      's1-completeDecision: commit (1 row)', 's1-commit: 0 rows', 's2-completeDecision*: 0 rows', 's2-commit: 0 rows',
    ]);
  });

  it('one request handled twice in transactions: the second insert waits, fails with 23505, and its transaction is aborted', async () => {
    const duplicate: Flow = { kind: 'duplicate-insert', target: { own: true }, rule: 'cheapest_clearing_floor', provider: 'openai', transaction: true, rollback: false };
    const steps = (session: number) => inTransaction(...flowOperations(duplicate, session));
    const result = await runFixedCase({ setup: [], sessions: [steps(0), steps(1)], labels: ['dup', 'dup'], schedule: [0, 1, 0, 1, 0, 0, 1, 1] });
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's2-begin: 0 rows', 's1-insertDecision: commit (1 row)', 's1-recordInference: commit (1 row)',
      's1-completeDecision: commit (1 row)', 's1-commit: 0 rows', 's2-insertDecision*: 23505 routing_outcomes_pkey', 's2-recordInference: 25P02',
      's2-completeDecision: 25P02', 's2-commit: 0 rows',
    ]);
  });

  it('an error inside a transaction aborts it: its COMMIT rolls back the decision it inserted', async () => {
    const result = await runFixedCase({
      setup: [],
      sessions: [
        inTransaction({ kind: 'insertDecision', d: fresh(1), rule: 'cheapest_clearing_floor', provider: 'mistral' }, { kind: 'failProviderUnlinked', d: fresh(1), stamped: true }),
        [op({ kind: 'insertDecision', d: fresh(2), rule: 'cheapest_clearing_floor', provider: 'openai' }), op({ kind: 'recordInference', i: 2, provider: 'openai', status: 'ok', httpStatus: 200 }), op({ kind: 'completeDecision', d: fresh(2), i: 2 })],
      ],
      labels: ['buggy', 'two-phase'],
      schedule: [0, 0, 0, 1, 1, 1, 0],
    });
    expect(result.problems).toEqual([]);
    expect(result.shown).toEqual([
      's1-begin: 0 rows', 's1-insertDecision: commit (1 row)', 's1-failProviderUnlinked: 23514 outcome_requires_inference_when_model_chosen',
      's2-insertDecision: commit (1 row)', 's2-recordInference: commit (1 row)', 's2-completeDecision: commit (1 row)', 's1-commit: 0 rows',
    ]);
  });

  it('contends: at least half of the generated cases put two sessions on one decision, router-chosen ones included', () => {
    const cases = fc.sample(concurrentCase, { seed: 7, numRuns: 2000 });
    const decisionsOf = (steps: readonly CaseStep<Op>[]) => new Set(steps.flatMap((s) => (s.kind === 'op' && 'd' in s.op ? [JSON.stringify(s.op.d)] : [])));
    const contended = cases.filter((c) => c.sessions.some((a, i) => c.sessions.some((b, j) => j > i && [...decisionsOf(a)].some((d) => decisionsOf(b).has(d)))));
    expect(contended.length / cases.length).toBeGreaterThanOrEqual(0.5);
    const onRouterChosen = contended.filter((c) => c.setup.some((s) => s.kind === 'insertDecision' && s.rule === 'cheapest_clearing_floor'));
    expect(onRouterChosen.length).toBeGreaterThan(contended.length / 4);
  });
});

describe(`self-check: stopping the chain at 0030, the concurrency group finds the bug too (seed ${SEED})`, () => {
  it('in prod-drift (a valid flow refused) and in staging (an orphan committed)', async () => {
    const report = await verify(suite, config({ to: '0030', states: ['prod-drift', 'staging'], runs: 100 }));
    const failed = (state: string) => propertyOf(report, state, 'concurrent-flows-agree-with-model');
    expect(failed('prod-drift').ok).toBe(false);
    // a write the fixed gateway makes is refused by the old predicate (an insert mid-flight, an
    // unlink with an override in place…)
    expect(failed('prod-drift').counterexample?.actual).toBe('23514 outcome_requires_inference_when_model_chosen');
    expect(failed('prod-drift').counterexample?.expected).toMatch(/^(setup|s\d) \w+\(.*\): commit$/);
    // an orphan the model refuses gets through (committed, or stopped only by another check)
    expect(failed('staging').ok).toBe(false);
    expect(`${failed('staging').counterexample?.expected} ${failed('staging').counterexample?.actual}`).toMatch(/: 23514 outcome_requires_inference_when_model_chosen (commit|23505)|orphan committed/);
  });

  it('repro writes an isolation spec that replays the failing interleaving on an empty database', async () => {
    const report = await verify(suite, config({ to: '0030', states: ['staging'], runs: 100 }));
    const property = report.states[0]!.properties.find((p) => !p.ok)!;
    const spec = await reproduce(suite, config({ to: '0030' }), { state: 'staging', property: property.name, seed: property.seed, path: property.path! });
    expect(spec).toMatch(/^permutation s\d_1_/m);
    const observed = [...spec.matchAll(/^step (\S+) \{.*\}  # observed: ([^,\n]+)/gm)].map((m) => [m[1], m[2]]);
    const server = await new UrlPostgresProvider(inject('databaseUrl')).start();
    const databases = new ScratchDatabases(server);
    try {
      const replay = await replayIsolationSpec(parseIsolationSpec(spec), server.connectionConfig(await databases.create('spec')));
      expect(replay.setupError).toBeUndefined();
      const replayed = Object.fromEntries(replay.lines.slice(1).map((line) => line.split(': ')).map(([step, outcome]) => [step, outcome!.replace(/ \(blocked.*$/, '')]));
      for (const [step, outcome] of observed) expect(`${step}: ${replayed[step!]}`).toBe(`${step}: ${outcome}`);
    } finally {
      await databases.close();
    }
  });
});

describe(`live deploy failures (seed ${SEED})`, () => {
  it('the old predicate as 0031: writers after the deploy are refused; repro writes the deploy as session m of an isolation spec', async () => {
    const dir = chainWith({ '0031_outcome_requires_inference.sql': "ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;\nALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL);\n" });
    const report = await verify(suite, config({ migrationsDir: dir, states: ['prod-drift'], runs: 200 }));
    const deploy = propertyOf(report, 'prod-drift', 'live-deploy-keeps-valid-writes');
    expect(deploy.ok).toBe(false);
    expect(deploy.counterexample?.steps).toContain('m: deploy the migration');
    expect(deploy.counterexample?.script).toMatch(/^npx constraint-harness repro --state prod-drift --property live-deploy-keeps-valid-writes --seed \d+ --path [\d:]+ --migrations /);
    const spec = await reproduce(suite, config({ migrationsDir: dir }), { state: 'prod-drift', property: deploy.name, seed: deploy.seed, path: deploy.path! });
    expect(spec).toMatch(/^session m$/m);
    expect(spec).toMatch(/^step m_\d+_0031_begin \{ BEGIN; \}/m);
    expect(spec).toMatch(/^step m_\d+_0031_commit \{ COMMIT; \}/m);
    expect(spec).toMatch(/^permutation .*m_\d+_0031_commit/m);
  });
});
