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
