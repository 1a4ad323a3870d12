import type pg from 'pg';
import type { HistoryVerdict } from '../../check/linearizability.ts';
import type { HistoryEvent } from '../../check/model.ts';
import { checkAgainstReference } from '../../check/state-differential.ts';
import { interruptionPoints, type MigrationStepMeta } from '../../migrate/index.ts';
import { timed } from '../../run/phase-timer.ts';
import type { GroupContext } from '../../run/group-context.ts';
import { outcomeOf, outcomeOfError, queryOf, type Program, type StepOutcome } from '../../sessions/index.ts';
import type { WriterStepMeta } from '../../check/model.ts';
import { readBack, readBaseRows } from '../writes/table-rows.ts';
import { ReferenceRefusal, referenceState, refusalVerdict, writeRows } from '../writes/reference-target.ts';
import { WriteTarget } from '../writes/write-target.ts';
import { DeployCopy } from './deploy-copy.ts';
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
export async function judgeLiveDeploy<Op>(replay: LiveReplay<Op>, probe: WriteTarget, run: { setupProgram: Program<WriterStepMeta>; setup: readonly HistoryEvent[]; events: readonly HistoryEvent[]; programs: readonly Program<WriterStepMeta | MigrationStepMeta>[]; deploySession: number; actual: World; /** performance.now() when the run began (see clockSlackMs). */ started: number }): Promise<LiveJudgement> {
  const { context } = replay;
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

  const { suite } = context;
  const sessions = writers.length ? Math.max(...writers.map((e) => e.session)) + 1 : 1;
  const replayed: HistoryEvent[] = [];
  // the copy of the state as the live run found it: the setup, the writers' statements that
  // finished before the migration committed, the migration; then the rows it holds
  const rows = await replay.copy.onSessions(sessions, (clients) =>
    timed('live differential: replayed up to the commit on a copy of the state', async () => {
      for (const event of run.setup) replayed.push({ ...event, outcome: await send(clients[0]!, event) });
      for (const event of before) replayed.push({ ...event, outcome: await send(clients[event.session]!, event) });
      const migrated = await context.bench.migrator.migrateTo(clients[0]!, context.bench.to);
      if (migrated.error) throw migrated.error;
      return readBaseRows(clients[0]!, suite.tables);
    }),
  );
  // the reference holding those rows: the writers' statements after the commit; then its rows
  const reference = await replay.reference();
  const expected = await reference.onSessions(sessions, (clients) =>
    timed('live differential: the rest replayed on the reference', async () => {
      try {
        await writeRows(clients[0]!, suite.tables, rows);
      } catch (error) {
        if (!(error instanceof ReferenceRefusal)) throw error;
        return error;
      }
      for (const event of after) replayed.push({ ...event, outcome: await send(clients[event.session]!, event) });
      return (await readBack(clients[0]!, suite.tables)).world;
    }),
  );
  if (expected instanceof ReferenceRefusal) return { verdict: refusalVerdict(expected, 'the reference to hold the rows the migrated copy holds when the migration commits') };
  return { verdict: checkAgainstReference({ events: [...run.setup, ...writers], reference: replayed, actual: run.actual, expected, base: probe.base.world, clockSlackMs: performance.now() - run.started, ...(suite.invariant ? { invariant: suite.invariant } : {}) }) };
}

/**
 * The two databases a live deploy's runs are replayed on (see judgeLiveDeploy), made on first
 * use and kept for every run of the property: a copy of the state (of the live deploy's probe,
 * not yet migrated) and a copy of the reference (the chain applied to an empty database). After
 * each replay both are put back as DeployCopy puts a live deploy's copy back (the migration
 * reverted, rows, version table and sequences restored, then checked against the copy as it
 * was), or dropped and made again: a replay never meets what another left behind.
 */
export class LiveReplay<Op> {
  readonly copy: DeployCopy;
  private referenceSource: Promise<WriteTarget> | undefined;
  private referenceCopy: DeployCopy | undefined;

  constructor(
    readonly context: GroupContext<Op>,
    probe: WriteTarget,
    private readonly sessions: number,
  ) {
    this.copy = new DeployCopy(context.bench.databases, probe, context.bench.migrator.chain.versionTable.tables, sessions);
  }

  /** The reference's copy (its source, the chain from an empty database with the rows the chain writes, made once). */
  async reference(): Promise<DeployCopy> {
    const { bench } = this.context;
    this.referenceSource ??= WriteTarget.open(this.context, referenceState(bench.to), [], { migrate: false, label: 'replay_reference' });
    const source = await this.referenceSource;
    this.referenceCopy ??= new DeployCopy(bench.databases, source, bench.migrator.chain.versionTable.tables, this.sessions);
    return this.referenceCopy;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.copy.close(), this.referenceCopy?.close()]);
    await this.referenceSource?.then((target) => target.close(), () => undefined);
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
