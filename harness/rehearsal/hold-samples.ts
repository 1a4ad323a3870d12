import type pg from 'pg';
import { planProgram, type MigrationPlan } from '../migrate/index.ts';
import { runSequentially } from '../sessions/index.ts';
import type { LedgerEntry, LockHold } from './lock-ledger.ts';

/**
 * How long each message of a plan takes, the plan run nested (each unit under a SAVEPOINT)
 * inside the caller's transaction and rolled back: a measurement that can be repeated on one
 * copy of the state, many times in a few seconds, where tracing it again would need a fresh
 * copy each time. Undefined when the plan failed.
 */
export async function timeNested(client: pg.ClientBase, plan: MigrationPlan): Promise<Map<string, number> | undefined> {
  await client.query('SAVEPOINT ch_repeat');
  const events = await runSequentially(client, planProgram(plan, 'nested'));
  await client.query('ROLLBACK TO SAVEPOINT ch_repeat');
  if (events.some((e) => e.outcome.kind === 'error')) return undefined;
  return new Map(events.map((e) => [e.step.name, e.end - e.start]));
}

/**
 * A hold's duration in one run: the times of the messages from the one that took the lock to
 * the end of its transaction, in the order the ledger traced them (the COMMIT's own time from
 * the ledger, a nested run having none).
 */
export function holdFrom(hold: Pick<LockHold, 'fromStep'>, entries: readonly LedgerEntry[], times: ReadonlyMap<string, number>): number {
  let total = 0;
  for (let i = entries.findIndex((e) => e.step === hold.fromStep); i >= 0 && i < entries.length; i++) {
    const entry = entries[i]!;
    total += entry.role === 'commit' ? entry.ms : (times.get(entry.step) ?? entry.ms);
    if (entry.role === 'commit' || entry.transaction !== 'transaction') break;
  }
  return total;
}
