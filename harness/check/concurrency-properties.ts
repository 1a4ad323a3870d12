import pg from 'pg';
import type { Migration } from '../migrate/index.ts';
import { connectClient } from '../postgres/index.ts';
import { InterleavingExecutor, type SessionStep, type StepEvent } from '../sessions/index.ts';
import type { StartingState, StateDatabase, StateHistory } from '../states/index.ts';
import type { ConcurrencyProblem, ConcurrencyScenario, ConcurrentCase } from './concurrency-scenario.ts';
import { brokenRun, type PropertyResult } from './property-result.ts';
import { removeUnneeded } from './minimize.ts';
import { runProperty, type PropertyOutcome } from './run-property.ts';
import { inlineParameters } from './sql-literals.ts';
import { formatActual } from '../sessions/step-outcome.ts';
import type { WriteContext } from './write-properties.ts';

/** What one concurrent run did, kept for the counterexample and for repro. */
export interface ConcurrentRecord {
  flows: string[];
  setup: SessionStep[];
  programs: SessionStep[][];
  schedule: readonly number[];
  events: StepEvent[];
  problems: ConcurrencyProblem[];
  deploySession?: number;
}

export interface ConcurrencyCheckResult {
  property: PropertyResult;
  failing?: ConcurrentRecord;
}

const DEPLOY = 'live-deploy-keeps-valid-writes';

/** Flows on a migrated state: fresh keys per run, one executor for all runs. */
export async function checkConcurrentFlows(state: StartingState, scenario: ConcurrencyScenario, database: StateDatabase, context: WriteContext): Promise<ConcurrencyCheckResult> {
  const config = context.templates.connectionConfig(database.name);
  const executor = await InterleavingExecutor.connect(config, maxSessions(scenario));
  const control = await connectClient(config);
  try {
    return await runCases(state, scenario, context, scenario.name, async (testCase) => runCase(state, scenario, testCase, executor, control));
  } finally {
    await executor.close();
    await control.end();
  }
}

/**
 * The live deploy: every run gets its own copy of the state (with the history the write
 * groups use), not yet migrated; the pending revisions run in one more session, statement
 * by statement, as steps of the schedule.
 */
export async function checkLiveDeploy(state: StartingState, history: StateHistory, scenario: ConcurrencyScenario, context: WriteContext): Promise<ConcurrencyCheckResult | undefined> {
  const probe = await context.templates.clone(state, history, `deploy_${state.name}`);
  let pending: Migration[];
  try {
    const client = await connectClient(context.templates.connectionConfig(probe.name));
    const applied = new Set((await context.migrator.appliedRevisions(client)).map((r) => BigInt(r)));
    await client.end();
    pending = context.migrator.chainTo(context.to).filter((m) => !applied.has(BigInt(m.revision)));
  } finally {
    await probe.drop();
  }
  if (pending.length === 0) return undefined;
  const waits: number[] = [];
  const result = await runCases(state, scenario, context, DEPLOY, async (testCase) => {
    const database = await context.templates.clone(state, history, `deploy_${state.name}`);
    const config = context.templates.connectionConfig(database.name);
    const executor = await InterleavingExecutor.connect(config, testCase.flows.length + 1);
    const control = await connectClient(config);
    try {
      const record = await runCase(state, scenario, testCase, executor, control, deployProgram(pending, context.migrator.versionTable));
      waits.push(...record.events.filter((e) => e.session !== record.deploySession && e.blockedBy.includes(record.deploySession!)).map((e) => e.ms));
      return record;
    } finally {
      await executor.close();
      await control.end();
      await database.drop();
    }
  });
  result.property.notes = [
    waits.length === 0
      ? `live deploy of ${pending.map((m) => m.revision).join(', ')}: no writer waited on the migration's lock`
      : `live deploy of ${pending.map((m) => m.revision).join(', ')}: writers waited on the migration's lock ${waits.length} time(s), max ${Math.max(...waits).toFixed(1)} ms, total ${waits.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
  ];
  return result;
}

function deployProgram(pending: readonly Migration[], versionTable: string): SessionStep[] {
  return pending.flatMap((migration) => {
    const name = (suffix: string) => `migrate${migration.revision}-${suffix}`;
    const body: SessionStep[] = migration.up.map((statement, i) => ({ name: name(`${i + 1}`), sql: statement.sql }));
    body.push({ name: name('record'), sql: `INSERT INTO ${pg.escapeIdentifier(versionTable)} (version) VALUES ($1)`, parameters: [migration.revision] });
    return migration.transactional ? [{ name: name('begin'), sql: 'BEGIN' }, ...body, { name: name('commit'), sql: 'COMMIT' }] : body;
  });
}

async function runCase(
  state: StartingState,
  scenario: ConcurrencyScenario,
  testCase: ConcurrentCase,
  executor: InterleavingExecutor,
  control: pg.Client,
  deploy?: SessionStep[],
): Promise<ConcurrentRecord> {
  const deploySession = deploy ? testCase.flows.length : undefined;
  const run = scenario.begin({ state, deploySession }, testCase.flows);
  for (const step of run.setup) await control.query(step.sql, step.parameters as unknown[] | undefined);
  const programs = deploy ? [...run.programs, deploy] : run.programs;
  const events = await executor.run(programs, testCase.schedule);
  const problems = await run.check(events, control);
  if (deploy) {
    for (const event of events.filter((e) => e.session === deploySession && e.outcome.kind === 'error')) {
      problems.push({ where: `m ${event.step.name}`, expected: 'the migration to apply', actual: formatActual(event.outcome) });
    }
  }
  return { flows: testCase.flows.map((f) => f.label), setup: run.setup, programs, schedule: testCase.schedule, events, problems, deploySession };
}

async function runCases(
  state: StartingState,
  scenario: ConcurrencyScenario,
  context: WriteContext,
  name: string,
  run: (testCase: ConcurrentCase) => Promise<ConcurrentRecord>,
): Promise<ConcurrencyCheckResult> {
  const records = new WeakMap<ConcurrentCase, ConcurrentRecord>();
  const task = context.progress?.start(state.name, name, 'concurrency', context.runs);
  const outcome = await runProperty(
    scenario.cases,
    async (testCase) => {
      const record = await run(testCase);
      if (record.problems.length) records.set(testCase, record);
      return record.problems.length === 0;
    },
    { runs: context.runs, seed: context.seed, path: context.path, onRun: (passed) => task?.tick(passed) },
  );
  const shrunk = outcome.counterexample ? records.get(outcome.counterexample) : undefined;
  const failing = outcome.counterexample && shrunk ? await minimiseCase(outcome.counterexample, shrunk, run) : undefined;
  const result = summarise(state, context, name, failing, outcome);
  task?.done(result.property);
  return result;
}

/** Drops the flows, then the schedule entries, that the failure does not need (see removeUnneeded). */
async function minimiseCase(testCase: ConcurrentCase, record: ConcurrentRecord, run: (testCase: ConcurrentCase) => Promise<ConcurrentRecord>): Promise<ConcurrentRecord> {
  let best = record;
  let current = testCase;
  const stillFails = async (candidate: ConcurrentCase) => {
    const attempt = await run(candidate);
    if (attempt.problems.length === 0) return false;
    best = attempt;
    current = candidate;
    return true;
  };
  await removeUnneeded(current.flows, (flows) => stillFails({ ...current, flows }), 20);
  await removeUnneeded(current.schedule, (schedule) => stillFails({ ...current, schedule }), 40);
  return best;
}

function summarise(
  state: StartingState,
  context: WriteContext,
  name: string,
  failing: ConcurrentRecord | undefined,
  outcome: PropertyOutcome<ConcurrentCase>,
): ConcurrencyCheckResult {
  const base = { name, group: 'concurrency' as const, runs: outcome.runs, ms: outcome.ms, seed: outcome.seed };
  if (outcome.ok) return { property: { ...base, ok: true } };
  if (!failing) {
    return { property: brokenRun({ ...base, path: outcome.path }, outcome.failure) };
  }
  const problem = failing.problems[0]!;
  return {
    property: {
      ...base,
      ok: false,
      path: outcome.path,
      counterexample: {
        steps: [...failing.flows.map((flow, i) => `s${i + 1}: ${flow}`), ...(failing.deploySession !== undefined ? ['m: deploy the migration'] : []), `permutation: ${permutation(failing)}`],
        expected: `${problem.where}: ${problem.expected}`,
        actual: problem.actual,
        details: failing.problems.slice(1).map((p) => `${p.where}: expected ${p.expected}, actual ${p.actual}`),
        sql: failing.events
          .slice()
          .sort((a, b) => a.issued - b.issued)
          .map((e) => `-- ${sessionName(e.session, failing)}${e.blocked ? ' (blocked, completed later)' : ''}: ${formatActual(e.outcome)}\n${inlineParameters(e.step.sql, e.step.parameters ?? [])};`),
        replay: context.replayCommand(state, outcome.seed, outcome.path ?? ''),
        script: context.scriptCommand?.(state, outcome.seed, outcome.path ?? ''),
      },
    },
    failing,
  };
}

/** The steps in the order they were sent, isolation-tester style: `s1-insert s2-insert* s1-commit`. */
export function permutation(record: Pick<ConcurrentRecord, 'events' | 'deploySession'>): string {
  return record.events
    .slice()
    .sort((a, b) => a.issued - b.issued)
    .map((e) => `${sessionName(e.session, record)}-${e.step.name}${e.blocked ? '*' : ''}`)
    .join(' ');
}

export function sessionName(session: number, record: Pick<ConcurrentRecord, 'deploySession'>): string {
  return session === record.deploySession ? 'm' : `s${session + 1}`;
}

function maxSessions(scenario: ConcurrencyScenario): number {
  return scenario.maxSessions;
}


