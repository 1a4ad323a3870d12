import type pg from 'pg';
import type { Program, StepEvent, TransactionStatus } from './session-step.ts';
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

/**
 * `runSequentially`'s events, with the statements pipelined: on a client opened with
 * `pipeline: true`, every step is written before the first result is read, each with its own
 * Sync, so the server runs them one after another, each in its own implicit transaction (or in
 * the session's open one), exactly as if each had waited for the one before; only the round
 * trips between them are saved. `before` is sent ahead of the first step and `then` right
 * behind the last, on the same connection (what puts back the last run's rows, the read-back
 * of this one): one write to the socket for all of it. A step whose prepared statement this connection has not
 * parsed yet, sent a second time, waits for the first (a Parse that fails would otherwise make
 * the second's Bind fail with "prepared statement does not exist"). A program that stops on
 * error, or a client not in pipeline mode, runs sequentially. Each event's start is when the
 * server could begin it: its send, or the end of the step before, whichever is later.
 */
export async function runPipelined<Meta, T, B = undefined>(client: pg.Client, program: Program<Meta>, then: () => Promise<T>, options: { session?: number; clock?: Clock; before?: () => Promise<B> } = {}): Promise<{ events: StepEvent<Meta>[]; after: T; before: B }> {
  if (program.stopOnError || !client.pipeline) {
    const before = (await options.before?.()) as B;
    const events = await runSequentially(client, program, options);
    return { events, after: await then(), before };
  }
  const clock = options.clock ?? (() => performance.now());
  const session = options.session ?? 0;
  const connection = (client as unknown as { connection: PipelineConnection }).connection;
  const statuses: TransactionStatus[] = [];
  const onReady = (message: { status: string }) => statuses.push(message.status === 'T' || message.status === 'E' ? message.status : 'I');
  connection.on('readyForQuery', onReady);
  const sent: { start: number; settled: Promise<{ outcome: StepOutcome; end: number } | { failure: unknown }> }[] = [];
  const settled = () => Promise.all(sent.map((s) => s.settled));
  let followUp: Promise<T> | undefined;
  let ahead: Promise<B> | undefined;
  try {
    const steps = program.steps;
    let index = 0;
    while (index < steps.length || !ahead) {
      connection.stream.cork?.();
      try {
        if (!ahead) {
          ahead = options.before ? options.before() : Promise.resolve(undefined as B);
          ahead.catch(() => undefined); // awaited below
        }
        for (; index < steps.length; index++) {
          const query = queryOf(steps[index]!);
          const name = typeof query === 'object' ? query.name : undefined;
          if (name && connection.parsedStatements[name] === undefined && connection.submittedNamedStatements[name] !== undefined) break;
          const start = clock();
          sent.push({
            start,
            settled: client.query(query).then(
              (result) => ({ outcome: outcomeOf(result), end: clock() }),
              (error) => {
                try {
                  return { outcome: outcomeOfError(error), end: clock() };
                } catch (failure) {
                  return { failure };
                }
              },
            ),
          });
        }
        if (index === steps.length) {
          followUp = then();
          followUp.catch(() => undefined); // awaited below; handled now, so a failure while the steps settle is not an unhandled rejection
        }
      } finally {
        connection.stream.uncork?.();
      }
      if (index < steps.length) await settled();
    }
    followUp ??= then(); // a program of no step
    const results = await settled();
    const before = await ahead!;
    // an error settles before the ReadyForQuery that carries the session's status after it
    for (let waited = 0; statuses.length < results.length && waited < 10_000; waited++) await new Promise((resolve) => setImmediate(resolve));
    const failed = results.find((r): r is { failure: unknown } => 'failure' in r);
    if (failed) throw failed.failure;
    let previousEnd = -Infinity;
    const events = results.map((result, i): StepEvent<Meta> => {
      const { outcome, end } = result as { outcome: StepOutcome; end: number };
      const start = Math.max(sent[i]!.start, previousEnd);
      previousEnd = end;
      return { session, index: i, step: steps[i]!, issued: i, completed: i, start, end: Math.max(end, start), blocked: false, blockedBy: [], timedOut: false, outcome, txStatus: statuses[i] ?? transactionStatus(client) };
    });
    return { events, after: await followUp!, before };
  } catch (error) {
    await settled();
    await followUp?.catch(() => undefined);
    await ahead?.catch(() => undefined);
    throw error;
  } finally {
    connection.off('readyForQuery', onReady);
  }
}
