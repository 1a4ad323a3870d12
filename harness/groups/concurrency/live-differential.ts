import type pg from 'pg';
import type { HistoryVerdict } from '../../check/linearizability.ts';
import type { HistoryEvent } from '../../check/model.ts';
import { checkAgainstReference } from '../../check/state-differential.ts';
import { interruptionPoints, type MigrationStepMeta } from '../../migrate/index.ts';
import { connectClient, withClient } from '../../postgres/index.ts';
import type { GroupContext } from '../../run/group-context.ts';
import { outcomeOf, outcomeOfError, queryOf, type Program, type StepOutcome } from '../../sessions/index.ts';
import type { WriterStepMeta } from '../../check/model.ts';
import { readBackStatement, readBaseRows, rowsToWorld } from '../writes/table-rows.ts';
import { ReferenceRefusal, referenceState, refusalVerdict, writeRows } from '../writes/reference-target.ts';
import type { WriteTarget } from '../writes/write-target.ts';
import type { World } from '../../check/world.ts';

/** A live deploy judged by the state differential, or why this run cannot be. */
export type LiveJudgement = { verdict: HistoryVerdict } | { unjudged: string };

/**
 * The live deploy under the state differential. The run is replayed serially, each statement
 * in the order its result came (real time: a statement that waited on a lock comes after the
 * commit that released it): the writers' statements that finished before the migration
 * committed on a fresh copy of the state as it was, then the migration on that copy, then the
 * rest on the reference (the chain applied to an empty database, holding the rows the copy
 * holds then). Every writer statement must have done in the live run what it does in that
 * replay (as on the database before the migration, or on the one after it), and the live copy
 * must end with the reference's rows. A run the replay cannot stand for is not judged, and
 * says why: a deploy that commits in several steps (there is no reference for the schema in
 * between), a writer transaction open across the migration's commit, a writer that waited on
 * another writer (its statement read the snapshot it started with, which a serial replay does
 * not reproduce), several writers released together by the migration's commit, a writer the deploy deadlocked or cancelled (counted apart), a migration that
 * failed (its own failure).
 */
export async function judgeLiveDeploy<Op>(context: GroupContext<Op>, probe: WriteTarget, run: { setupProgram: Program<WriterStepMeta>; setup: readonly HistoryEvent[]; events: readonly HistoryEvent[]; programs: readonly Program<WriterStepMeta | MigrationStepMeta>[]; deploySession: number; actual: World }): Promise<LiveJudgement> {
  const deploy = run.programs[run.deploySession]!;
  if (interruptionPoints(deploy.steps as readonly { name: string; meta?: MigrationStepMeta }[]).length > 0) return { unjudged: `the deploy commits in several steps (runner ${context.bench.migrator.runner}): the differential has no reference for the schema in between` };
  const migration = run.events.filter((e) => e.session === run.deploySession);
  const failed = migration.find((e) => e.outcome.kind === 'error');
  if (failed?.outcome.kind === 'error' && failed.outcome.sqlstate.startsWith('23')) return { unjudged: `the writers committed rows the migration then refused (${failed.outcome.sqlstate} ${failed.outcome.constraint ?? ''}), as a violating state would make it` };
  if (failed?.outcome.kind === 'error' && ['40P01', '55P03', '57014'].includes(failed.outcome.sqlstate)) return { unjudged: `the writers' transactions ${failed.outcome.sqlstate === '40P01' ? 'deadlocked' : 'held up'} the deploy (${failed.outcome.sqlstate}): derived writes are not your application's, rehearse it with your flows` };
  if (failed || migration.length < deploy.steps.length) return { unjudged: 'the migration did not apply (reported as such)' };
  const writers = run.events.filter((e) => e.session !== run.deploySession);
  if (writers.some((e) => e.timedOut || (e.outcome.kind === 'error' && (e.outcome.sqlstate === '40P01' || e.outcome.sqlstate === '57014')))) return { unjudged: 'a writer was deadlocked or cancelled by the deploy (counted apart)' };
  // a statement that waited on another writer's lock read with the snapshot it started with
  // (READ COMMITTED): a serial replay cannot stand for it
  if (writers.some((e) => e.blockedBy.some((session) => session !== run.deploySession))) return { unjudged: 'a writer waited on another writer (a serial replay cannot stand for the snapshot it read)' };
  // statements the migration's commit released run at once: their order is not known
  const released = writers.filter((e) => e.blockedBy.includes(run.deploySession));
  if (released.length > 1) return { unjudged: `${released.length} writers were released together by the migration's commit (their order is not known)` };
  const committed = Math.max(...migration.map((e) => e.completed));
  const before = writers.filter((e) => e.completed < committed).sort((a, b) => a.completed - b.completed);
  const after = writers.filter((e) => e.completed > committed).sort((a, b) => a.completed - b.completed);
  const spanning = [...new Set(writers.map((e) => e.session))].find((session) => {
    const last = before.filter((e) => e.session === session).at(-1);
    return last !== undefined && last.txStatus !== 'I';
  });
  if (spanning !== undefined) return { unjudged: `session s${spanning + 1} had a transaction open when the migration committed` };

  const { bench, suite } = context;
  const copy = await bench.templates.clone(probe.state, probe.history, `replay_${probe.state.name}`);
  const reference = await bench.templates.cloneWithoutHistory(referenceState(bench.to), `replay_reference_${probe.state.name}`);
  const sessions = writers.length ? Math.max(...writers.map((e) => e.session)) + 1 : 0;
  try {
    const replayed: HistoryEvent[] = [];
    const setupEvents = await onDatabase(bench.templates.connectionConfig(copy.name), 1, async ([client]) => {
      const events: HistoryEvent[] = [];
      for (const event of run.setup) events.push({ ...event, outcome: await send(client!, event) });
      return events;
    });
    replayed.push(...setupEvents);
    const rows = await onDatabase(bench.templates.connectionConfig(copy.name), sessions, async (clients) => {
      for (const event of before) replayed.push({ ...event, outcome: await send(clients[event.session]!, event) });
      const migrated = await bench.migrator.migrateTo(clients[0]!, bench.to);
      if (migrated.error) throw migrated.error;
      return readBaseRows(clients[0]!, suite.tables);
    });
    try {
      await withClient(bench.templates.connectionConfig(reference.name), (client) => writeRows(client, suite.tables, rows));
    } catch (error) {
      if (!(error instanceof ReferenceRefusal)) throw error;
      return { verdict: refusalVerdict(error, 'the reference to hold the rows the migrated copy holds when the migration commits') };
    }
    const expected = await onDatabase(bench.templates.connectionConfig(reference.name), sessions, async (clients) => {
      for (const event of after) replayed.push({ ...event, outcome: await send(clients[event.session]!, event) });
      const statement = readBackStatement(suite.tables);
      return rowsToWorld((await clients[0]!.query(statement.text, statement.values([]))).rows).world;
    });
    return { verdict: checkAgainstReference({ events: [...run.setup, ...writers], reference: replayed, actual: run.actual, expected, base: probe.base.world, ...(suite.invariant ? { invariant: suite.invariant } : {}) }) };
  } finally {
    await copy.drop();
    await reference.drop();
  }
}

/** One statement of the run, sent again as the run sent it. */
async function send(client: pg.ClientBase, event: HistoryEvent): Promise<StepOutcome> {
  try {
    return outcomeOf(await client.query(queryOf(event.step)));
  } catch (error) {
    return outcomeOfError(error);
  }
}

/** `count` connections (at least one) to a database for `work`, closed after it. */
async function onDatabase<T>(config: pg.ClientConfig, count: number, work: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  const clients = await Promise.all(Array.from({ length: Math.max(1, count) }, () => connectClient(config)));
  try {
    for (const client of clients) await client.query("SET statement_timeout = '10s'");
    return await work(clients);
  } finally {
    await Promise.allSettled(clients.map((client) => client.end()));
  }
}
