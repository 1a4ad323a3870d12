import type pg from 'pg';
import type { Mismatch, StartContext } from '../check/model.ts';
import { World } from '../check/world.ts';
import { formatActual, stepSql } from '../sessions/index.ts';
import type { Counterexample } from '../run/property-result.ts';
import type { Suite } from '../suite.ts';
import { checkRun } from '../groups/writes/run-history.ts';
import { readBackStatement, rowsToWorld } from '../groups/writes/table-rows.ts';
import type { WriterCase } from './gateway-writers.ts';
import { deploySession, type DeployRun } from './retrying-deploy.ts';

/** A flow the model could not explain. */
export interface WriterFailure {
  case: WriterCase;
  mismatches: Mismatch[];
  counterexample: Counterexample;
}

/**
 * Checks every flow the writers ran against the model, each on its own with the deploy as a
 * second session (flows never share keys): before the migration commits the starting state's
 * rules hold, after it the target's, and the rows each flow left must be the model's. A flow
 * that ended before the deploy began or started after it converged is checked without it.
 */
export async function checkWriters<Op>(client: pg.ClientBase, suite: Suite<Op>, context: StartContext, cases: readonly WriterCase[], deploy: DeployRun | undefined): Promise<{ checked: number; failures: WriterFailure[] }> {
  const actual = await readBack(client, suite, cases);
  const session = deploy ? deploySession(deploy) : undefined;
  const [deployStart, deployEnd] = session?.events.length ? [session.events[0]!.start, session.events.at(-1)!.end] : [Infinity, -Infinity];
  const failures: WriterFailure[] = [];
  for (const flow of cases) {
    if (flow.events.length === 0) continue;
    const [start, end] = [flow.events[0]!.start, flow.events.at(-1)!.end];
    const overlaps = session !== undefined && end >= deployStart && start <= deployEnd;
    const after = session !== undefined && start > deployEnd && deploy!.converged;
    const withDeploy = overlaps || (session !== undefined && start > deployEnd && !deploy!.converged);
    const keys = new Set(flow.keys.all());
    const verdict = checkRun({
      ...context,
      events: withDeploy ? [...flow.events, ...session!.events] : flow.events,
      base: World.empty(),
      writers: 1,
      schema: after ? 'after' : 'before',
      migration: withDeploy ? session!.migration : undefined,
      actual: World.of(actual.all().filter((row) => keys.has(row.key))),
      keys: flow.keys,
      invariant: suite.invariant,
    });
    if (!verdict.ok) failures.push({ case: flow, mismatches: verdict.mismatches, counterexample: describe(flow, verdict.mismatches, withDeploy) });
  }
  return { checked: cases.length, failures };
}

async function readBack<Op>(client: pg.ClientBase, suite: Suite<Op>, cases: readonly WriterCase[]): Promise<World> {
  const statement = readBackStatement(suite.tables, 'keys');
  const keys = cases.flatMap((flow) => flow.keys.all());
  const result = await client.query(statement.text, statement.values(keys));
  return rowsToWorld(result.rows).world;
}

function describe(flow: WriterCase, mismatches: readonly Mismatch[], withDeploy: boolean): Counterexample {
  const [first, ...others] = mismatches;
  return {
    steps: [`writer ${flow.writer + 1}: ${flow.label}`, ...(withDeploy ? ['m: the deploy, at the same time'] : []), ...flow.events.map((e) => `${e.step.meta?.kind === 'writer' ? e.step.meta.label : e.step.name} → ${formatActual(e.outcome)}`)],
    expected: first ? `${first.where}: ${first.expected}` : 'the model to explain the flow',
    actual: first?.actual ?? 'unexplained',
    ...(first?.error ? { error: first.error } : {}),
    details: others.map((m) => `${m.where}: expected ${m.expected}, actual ${m.actual}`),
    sql: flow.events.map((e) => `-- ${formatActual(e.outcome)} after ${Math.round(e.end - e.start)} ms\n${stepSql(e.step)}`),
  };
}
