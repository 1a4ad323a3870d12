import { createHash } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { diffCatalogs, snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { errorMessage } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { connectClient } from '../postgres/index.ts';
import type { StartingState, StateDatabase, StateHistory, StateTemplates } from '../states/index.ts';
import { brokenRun, type PropertyResult } from './property-result.ts';
import type { Progress } from '../report/progress.ts';
import { removeUnneeded } from './minimize.ts';
import { runProperty, type PropertyOutcome } from './run-property.ts';
import { inlineParameters } from './sql-literals.ts';
import { formatActual, formatExpected, matches, outcomeOf, outcomeOfError, type ExpectedOutcome, type StepOutcome } from '../sessions/step-outcome.ts';
import type { Operation, Statement, WriteScenario } from './write-scenario.ts';

export interface WriteContext {
  templates: StateTemplates;
  migrator: Migrator;
  to: string;
  reference: CatalogSnapshot | undefined;
  runs: number;
  seed: number;
  path?: string;
  replayCommand: (state: StartingState, seed: number, path: string) => string;
  progress?: Progress;
  /** The replay command for the concurrency group. */
  concurrencyReplay?: (state: StartingState, seed: number, path: string) => string;
  concurrencyScript?: (state: StartingState, seed: number, path: string) => string;
  /** The command that prints a failure as a SQL script (`repro`), when there is one. */
  scriptCommand?: (state: StartingState, seed: number, path: string) => string;
}

/** One executed step of a run. */
export interface StepRecord {
  label: string;
  /** The statement with its parameters inlined, runnable on its own. */
  sql: string;
  expected: ExpectedOutcome;
  actual: StepOutcome;
}

/** The migrated database a state's write runs share, or why the state is not written to. */
export type WriteTarget = { database: StateDatabase; history: StateHistory } | { skipped: string };

/**
 * Builds the one database all write runs of a state use: the state with the history the seed
 * picks, migrated to the target. A state whose migration failed, or whose expected drift
 * showed, is not written to (SPEC §6).
 */
export async function prepareWriteTarget(state: StartingState, context: WriteContext): Promise<WriteTarget> {
  const [history] = fc.sample(context.templates.historyArbitrary(state), { seed: context.seed, numRuns: 1 });
  const database = await context.templates.clone(state, history!, `writes_${state.name}`);
  const client = await connectClient(context.templates.connectionConfig(database.name));
  try {
    const { applied } = await context.migrator.migrate(client, context.to);
    if (state.expect === 'drift' && applied.length === 0 && context.reference) {
      const diff = diffCatalogs(context.reference, await snapshotCatalog(client));
      if (diff.length > 0) return skip(database, 'drift was expected: reported, not written to');
    }
    return { database, history: history! };
  } catch (error) {
    return skip(database, `migration failed: ${errorMessage(error).split('\n')[0]}`);
  } finally {
    await client.end();
  }
}

async function skip(database: StateDatabase, reason: string): Promise<WriteTarget> {
  await database.drop();
  return { skipped: reason };
}

export interface WriteCheckResult {
  property: PropertyResult;
  /** The steps of the minimal failing run, for repro scripts. */
  failingSteps?: StepRecord[];
}

/** Runs one write scenario against a prepared state database: fresh keys per run, no clones. */
export async function checkWrites(state: StartingState, scenario: WriteScenario, database: StateDatabase, context: WriteContext): Promise<WriteCheckResult> {
  const task = context.progress?.start(state.name, scenario.name, 'writes', context.runs);
  const result = await checkWritesOnce(state, scenario, database, context, (passed) => task?.tick(passed));
  task?.done(result.property);
  return result;
}

interface FailingRun {
  operations: readonly Operation[];
  steps: StepRecord[];
  problem: string;
}

/** A counterexample found (and minimised) by one search, with the seed and path that replay it. */
interface Found {
  outcome: PropertyOutcome<readonly Operation[]>;
  failing?: FailingRun;
}

/** More searches, with other seeds, for a shorter counterexample than the first one found. */
const EXTRA_SEARCHES = 3;

async function checkWritesOnce(state: StartingState, scenario: WriteScenario, database: StateDatabase, context: WriteContext, onRun: (passed: boolean) => void): Promise<WriteCheckResult> {
  const client = await connectClient(context.templates.connectionConfig(database.name));
  try {
    const first = await search(client, scenario, context.seed, context.path, context.runs, onRun);
    const { outcome } = first;
    const base = { name: scenario.name, group: 'writes' as const, runs: outcome.runs, ms: outcome.ms, seed: outcome.seed };
    if (outcome.ok) return { property: { ...base, ok: true } };
    if (!first.failing) return { property: brokenRun({ ...base, path: outcome.path }, outcome.failure) };
    // A failure can be found first on a long path (complete, then unlink) while a shorter one
    // exists: a few more searches keep the shortest. A replay (--path) only replays.
    let best = first as Required<Found>;
    for (let k = 1; !context.path && k <= EXTRA_SEARCHES && best.failing.steps.length > 1; k++) {
      const other = await search(client, scenario, (context.seed + k * 7919) | 0, undefined, context.runs, () => undefined);
      if (other.failing && other.failing.steps.length < best.failing.steps.length) best = other as Required<Found>;
    }
    const { failing } = best;
    const seed = best.outcome.seed;
    const path = best.outcome.path ?? '';
    const last = failing.steps[failing.steps.length - 1];
    const stepMismatch = last !== undefined && !matches(last.expected, last.actual);
    return {
      property: {
        ...base,
        ok: false,
        seed,
        path,
        counterexample: {
          steps: failing.steps.map((step) => step.label),
          expected: stepMismatch ? formatExpected(last.expected) : 'the final table to equal the model, with no orphan',
          actual: stepMismatch ? formatActual(last.actual) : failing.problem,
          sql: failing.steps.map((step) => `${step.sql};  -- expected ${formatExpected(step.expected)}, actual ${formatActual(step.actual)}`),
          replay: context.replayCommand(state, seed, path),
          script: context.scriptCommand?.(state, seed, path),
        },
      },
      failingSteps: failing.steps,
    };
  } finally {
    await client.end();
  }
}

/** One fast-check search; a counterexample is then minimised further (see removeUnneeded). */
async function search(client: pg.ClientBase, scenario: WriteScenario, seed: number, path: string | undefined, runs: number, onRun: (passed: boolean) => void): Promise<Found> {
  const recorded = new WeakMap<readonly Operation[], FailingRun>();
  const outcome = await runProperty(
    scenario.operations,
    async (operations) => {
      const result = await executeRun(client, scenario, operations);
      if (result.problem) recorded.set(operations, { operations, steps: result.steps, problem: result.problem });
      return result.problem === undefined;
    },
    { runs, seed, path, onRun },
  );
  const shrunk = outcome.counterexample ? recorded.get(outcome.counterexample) : undefined;
  if (!shrunk) return { outcome };
  let failing = shrunk;
  await removeUnneeded(shrunk.operations, async (candidate) => {
    const result = await executeRun(client, scenario, candidate);
    if (result.problem !== undefined) failing = { operations: candidate, steps: result.steps, problem: result.problem };
    return result.problem !== undefined;
  });
  return { outcome, failing };
}

/** Runs the operations one statement at a time; stops at the first outcome the model did not predict. */
async function executeRun(client: pg.ClientBase, scenario: WriteScenario, operations: readonly Operation[]): Promise<{ steps: StepRecord[]; problem?: string }> {
  const run = scenario.begin();
  const steps: StepRecord[] = [];
  for (const operation of operations) {
    const statement = run.statement(operation);
    const expected = run.predict(operation);
    let actual: StepOutcome;
    try {
      actual = outcomeOf(await client.query(prepared(statement)));
    } catch (error) {
      actual = outcomeOfError(error);
    }
    steps.push({ label: operation.label, sql: inlineParameters(statement.sql, statement.parameters), expected, actual });
    if (!matches(expected, actual)) {
      return { steps, problem: `${operation.label}: expected ${formatExpected(expected)}, actual ${formatActual(actual)}` };
    }
  }
  const problems = await run.finalProblems(client);
  return problems.length ? { steps, problem: problems.join('; ') } : { steps };
}

/**
 * A write path sends a handful of distinct statements thousands of times: naming them makes
 * pg prepare each once per connection and then only bind and execute it.
 */
export function prepared(statement: Statement): pg.QueryConfig {
  let name = preparedNames.get(statement.sql);
  if (!name) preparedNames.set(statement.sql, (name = `ch_${createHash('sha1').update(statement.sql).digest('hex').slice(0, 16)}`));
  return { name, text: statement.sql, values: statement.parameters as unknown[] };
}

const preparedNames = new Map<string, string>();

