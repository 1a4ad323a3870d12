import type pg from 'pg';
import type { Program, SessionStep, StepEvent, TransactionStatus } from './session-step.ts';
import { outcomeOf, outcomeOfError, queryOf, type StepOutcome } from './step-outcome.ts';

/** A clock in ms (performance.now by default), shared by the events of one run. */
export type Clock = () => number;

/**
 * Runs one program on one connection, a step at a time, and records each step as an event.
 * A program that stops on error sends the failing step's recovery (e.g. `ROLLBACK`, what a
 * deploy tool's ending connection amounts to) when a transaction is still open, then stops.
 */
export async function runSequentially<Meta>(client: pg.ClientBase, program: Program<Meta>, options: { session?: number; clock?: Clock } = {}): Promise<StepEvent<Meta>[]> {
  const clock = options.clock ?? (() => performance.now());
  const session = options.session ?? 0;
  const events: StepEvent<Meta>[] = [];
  for (const [index, step] of program.steps.entries()) {
    const start = clock();
    let outcome: StepOutcome;
    try {
      outcome = outcomeOf(await client.query(queryOf(step)));
    } catch (error) {
      outcome = outcomeOfError(error);
    }
    const end = clock();
    const txStatus = await statusAfter(client);
    events.push({ session, index, step, issued: events.length, completed: events.length, start, end, blocked: false, blockedBy: [], timedOut: false, outcome, txStatus });
    if (outcome.kind === 'error' && program.stopOnError) {
      if (step.recovery && txStatus !== 'I') await client.query(step.recovery);
      break;
    }
  }
  return events;
}

export function transactionStatus(client: pg.ClientBase): TransactionStatus {
  const status = client.getTransactionStatus();
  return status === 'T' || status === 'E' ? status : 'I';
}

/**
 * The transaction status once the server has said it is ready again. pg settles a failed query
 * as soon as the error arrives, which can be before the ReadyForQuery message that carries the
 * new status (in its own packet): reading the status then would give the one from before.
 */
export async function statusAfter(client: pg.ClientBase): Promise<TransactionStatus> {
  const connection = client as unknown as { readyForQuery?: boolean };
  for (let waited = 0; connection.readyForQuery === false && waited < 10_000; waited++) await new Promise((resolve) => setImmediate(resolve));
  return transactionStatus(client);
}

interface PipelineConnection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  on(event: 'readyForQuery', listener: (message: { status: string }) => void): void;
  off(event: 'readyForQuery', listener: (message: { status: string }) => void): void;
}

/** What one pipelined query did, and the session's status once the server was ready again. */
interface Sent {
  start: number;
  end: number;
  outcome: StepOutcome;
  status: TransactionStatus;
  /** The server's error as pg raised it. */
  raised?: unknown;
}

type Query = pg.QueryConfig | string;

/**
 * Sends `queries` on an idle client without waiting between them, each with its own Sync (pg's
 * pipeline mode, switched on for the call if the client was not opened with it): the server runs
 * them one after another, each in its own implicit transaction or in the session's open one,
 * exactly as if each had waited for the one before. `after` is called right behind the last, in
 * the same write to the socket. A query whose prepared statement this connection has not parsed
 * yet, sent a second time, waits for the first (a Parse that fails would otherwise make the
 * second's Bind fail with "prepared statement does not exist"). A failure that is not the
 * server's (a dropped connection) is thrown once every query settled.
 */
async function pipeline<T>(client: pg.Client, queries: readonly Query[], clock: Clock, after?: () => Promise<T>): Promise<{ sent: Sent[]; after?: Promise<T> }> {
  const connection = (client as unknown as { connection: PipelineConnection }).connection;
  const restore = pipelineMode(client);
  const statuses: TransactionStatus[] = [];
  const onReady = (message: { status: string }) => statuses.push(message.status === 'T' || message.status === 'E' ? message.status : 'I');
  connection.on('readyForQuery', onReady);
  const pending: { start: number; settled: Promise<{ outcome: StepOutcome; end: number; raised?: unknown } | { failure: unknown }> }[] = [];
  const settled = () => Promise.all(pending.map((p) => p.settled));
  let followUp: Promise<T> | undefined;
  try {
    let index = 0;
    do {
      connection.stream.cork?.();
      try {
        for (; index < queries.length; index++) {
          const query = queries[index]!;
          const name = typeof query === 'object' ? query.name : undefined;
          if (name && connection.parsedStatements[name] === undefined && connection.submittedNamedStatements[name] !== undefined) break;
          const start = clock();
          pending.push({
            start,
            settled: client.query(query).then(
              (result) => ({ outcome: outcomeOf(result), end: clock() }),
              (error) => {
                try {
                  return { outcome: outcomeOfError(error), end: clock(), raised: error };
                } catch (failure) {
                  return { failure };
                }
              },
            ),
          });
        }
        if (index === queries.length && after) {
          followUp = after();
          followUp.catch(() => undefined); // the caller awaits it; handled now, so a failure while the queries settle is not unhandled
        }
      } finally {
        connection.stream.uncork?.();
      }
      if (index < queries.length) await settled();
    } while (index < queries.length);
    const results = await settled();
    // an error settles before the ReadyForQuery that carries the session's status after it
    for (let waited = 0; statuses.length < results.length && waited < 10_000; waited++) await new Promise((resolve) => setImmediate(resolve));
    const failed = results.find((r): r is { failure: unknown } => 'failure' in r);
    if (failed) throw failed.failure;
    let previousEnd = -Infinity;
    const sent = results.map((result, i): Sent => {
      const { outcome, end, raised } = result as { outcome: StepOutcome; end: number; raised?: unknown };
      // the server begins a query once the one before it ended
      const start = Math.max(pending[i]!.start, previousEnd);
      previousEnd = Math.max(end, start);
      return { start, end: previousEnd, outcome, status: statuses[i] ?? transactionStatus(client), ...(raised ? { raised } : {}) };
    });
    return { sent, ...(followUp ? { after: followUp } : {}) };
  } catch (error) {
    await settled();
    await followUp?.catch(() => undefined);
    throw error;
  } finally {
    connection.off('readyForQuery', onReady);
    // pipeline mode is left only once nothing is in flight (`after`'s queries included)
    if (restore.switched) await followUp?.catch(() => undefined);
    restore();
  }
}

function eventOf<Meta>(step: SessionStep<Meta>, index: number, session: number, sent: Sent): StepEvent<Meta> {
  return { session, index, step, issued: index, completed: index, start: sent.start, end: sent.end, blocked: false, blockedBy: [], timedOut: false, outcome: sent.outcome, txStatus: sent.status };
}

/**
 * A writer's program (one that does not stop on error), its steps pipelined (see `pipeline`):
 * the events `runSequentially` would record, with the round trips between the steps saved.
 * `before`'s statements are sent ahead of the first step (what puts back the last run's rows),
 * and `then` right behind the last (this run's read-back), in the same write to the socket.
 */
export async function runPipelined<Meta, T>(client: pg.Client, program: Program<Meta>, then: () => Promise<T>, options: { session?: number; clock?: Clock; before?: readonly Query[] } = {}): Promise<{ events: StepEvent<Meta>[]; after: T; before?: StepOutcome[] }> {
  if (program.stopOnError) throw new Error('runPipelined: a program that stops on error goes through runProgram');
  const clock = options.clock ?? (() => performance.now());
  const session = options.session ?? 0;
  const ahead = options.before ?? [];
  const { sent, after } = await pipeline(client, [...ahead, ...program.steps.map((step) => queryOf(step))], clock, then);
  const steps = sent.slice(ahead.length);
  return { events: steps.map((result, i) => eventOf(program.steps[i]!, i, session, result)), after: await after!, ...(options.before ? { before: sent.slice(0, ahead.length).map((r) => r.outcome) } : {}) };
}

/**
 * A program with `runSequentially`'s semantics, stop on error included, pipelined where that
 * cannot change what the server does: inside an open transaction block, a run of steps none of
 * which can end it goes out at once. If one of them fails, the block is aborted, and those
 * after it fail with 25P02 without touching anything (only COMMIT, ROLLBACK, ABORT, END and
 * PREPARE TRANSACTION act in an aborted block; a step whose text names one of them is sent on
 * its own); their events are dropped, as if they had never been sent, and the failing step's
 * recovery follows. Outside a transaction block every step waits for the one before (an
 * autocommit step after a failure would run). For plans and state steps, not for timings.
 */
export async function runProgram<Meta>(client: pg.Client, program: Program<Meta>, options: { session?: number } = {}): Promise<StepEvent<Meta>[]> {
  if (!program.stopOnError) return (await runPipelined(client, program, async () => undefined, options)).events;
  const clock = () => performance.now();
  const session = options.session ?? 0;
  const steps = program.steps;
  const events: StepEvent<Meta>[] = [];
  let status = await statusAfter(client);
  for (let i = 0; i < steps.length; ) {
    let j = i + 1;
    if (status === 'T' && !endsTransaction(steps[i]!)) while (j < steps.length && !endsTransaction(steps[j]!)) j++;
    const { sent } = await pipeline(client, steps.slice(i, j).map((step) => queryOf(step)), clock);
    for (const [k, result] of sent.entries()) {
      const step = steps[i + k]!;
      events.push(eventOf(step, i + k, session, result));
      if (result.outcome.kind === 'error') {
        if (step.recovery && sent.at(-1)!.status !== 'I') await client.query(step.recovery);
        return events;
      }
    }
    status = sent.at(-1)!.status;
    i = j;
  }
  return events;
}

/** The step's text names a command that acts even in an aborted transaction block (conservatively: anywhere in the text). */
function endsTransaction(step: SessionStep<unknown>): boolean {
  return /\b(commit|rollback|abort|end|prepare\s+transaction)\b/i.test(step.sql);
}

/**
 * Statements sent one after another, stopping at the first the server refuses, whose error is
 * thrown as pg raised it: inside an open transaction block all at once (see `runProgram`),
 * otherwise each waiting for the one before.
 */
export async function runStatements(client: pg.ClientBase, statements: readonly string[]): Promise<void> {
  const pipelined = statements.length > 1 && 'connection' in client && (await statusAfter(client)) === 'T' && !statements.some((sql) => endsTransaction({ name: '', sql }));
  if (!pipelined) {
    for (const sql of statements) await client.query(sql);
    return;
  }
  const { sent } = await pipeline(client as pg.Client, statements, () => performance.now());
  const failed = sent.find((result) => result.outcome.kind === 'error');
  if (failed) throw failed.raised;
}

/**
 * Runs `work`, which may send several queries without waiting for one another (read-only ones,
 * or ones that do not depend on each other), with the client in pg's pipeline mode: they go out
 * back to back, each with its own Sync, and come back in order. The client must be idle.
 */
export async function withPipeline<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  if (!('connection' in client)) return work();
  const restore = pipelineMode(client as pg.Client);
  try {
    return await work();
  } finally {
    restore();
  }
}

/**
 * Switches pg's pipeline mode on (a private flag of pg.Client, which its `pipeline` option sets
 * when the client is opened; the only place that touches it). The function returned switches it
 * back to what it was; `switched` says whether this call turned it on.
 */
function pipelineMode(client: pg.Client): (() => void) & { switched: boolean } {
  const modal = client as unknown as { pipeline?: boolean };
  const was = modal.pipeline === true;
  modal.pipeline = true;
  return Object.assign(() => void (modal.pipeline = was), { switched: !was });
}

/**
 * BEGIN, the queries and COMMIT in one round trip, and `then`'s queries right behind. If one
 * fails, those after it do nothing (25P02) and the COMMIT rolls the transaction back, as a
 * ROLLBACK after the failure would: the first failure is thrown, as pg raised it.
 */
export async function inOneTransaction<T = undefined>(client: pg.ClientBase, queries: readonly (pg.QueryConfig | string)[], then?: () => Promise<T>): Promise<T> {
  if (!('connection' in client)) {
    await client.query('BEGIN');
    try {
      for (const query of queries) await client.query(query);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return (await then?.()) as T;
  }
  // `then` (reads of what the transaction left) goes out right behind the COMMIT
  const { sent, after } = await pipeline(client as pg.Client, ['BEGIN', ...queries, 'COMMIT'], () => performance.now(), then);
  const failed = sent.find((result) => result.outcome.kind === 'error');
  if (failed) {
    await after?.catch(() => undefined);
    if ((await statusAfter(client)) !== 'I') await client.query('ROLLBACK').catch(() => undefined);
    throw failed.raised;
  }
  return (await after) as T;
}
