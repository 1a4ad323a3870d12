import type { HistoryEvent, Mismatch, StartContext } from './model.ts';
import { stateKey, transition, type MigrationSession, type ModelState } from './transactional-model.ts';
import type { World } from './world.ts';

/** How many model steps one history may cost before the checker gives up (and says so). */
export const SEARCH_BOUND = 100_000;

export interface HistoryCheck {
  /** The starting state and what it enforced before the migration, passed to the model. */
  start: StartContext;
  events: readonly HistoryEvent[];
  initial: ModelState;
  migration?: MigrationSession;
  /** What is wrong with the database after a complete order ended in `committed` (empty: nothing). */
  final(committed: World): Mismatch[];
  bound?: number;
}

export interface HistoryVerdict {
  ok: boolean;
  /** Model steps the search took. */
  explored: number;
  /** The order that explains the history, or (on failure) the longest order the model accepted. */
  order: HistoryEvent[];
  /** Why no admissible order explains the history. */
  mismatches: Mismatch[];
  /** The bound was reached before an answer. */
  inconclusive: boolean;
}

/**
 * Is there an order of the history's steps, consistent with real time, in which the model
 * predicts every outcome PostgreSQL reported and ends in the table PostgreSQL holds? Steps
 * whose executions overlapped (one sent before the other's result arrived, e.g. two writers
 * released by the same COMMIT) may take effect in either order; a step that finished before
 * another was sent comes first. This is the linearizability check of Wing & Gong as Knossos
 * and Porcupine do it: a depth-first search over the admissible orders, remembering
 * (steps taken, model state) pairs already explored, bounded by `bound` model steps.
 */
export function checkHistory(check: HistoryCheck): HistoryVerdict {
  const events = [...check.events].sort((a, b) => a.end - b.end || a.start - b.start);
  const predecessors = events.map((event) => events.flatMap((other, i) => (precedes(other, event) || releases(events, other, event) ? [i] : [])));
  const bound = check.bound ?? SEARCH_BOUND;
  const done = new Uint8Array(events.length);
  const order: number[] = [];
  const seen = new Set<string>();
  let explored = 0;
  let deepest: { order: number[]; mismatches: Mismatch[] } = { order: [], mismatches: [] };
  let finalFailure: { order: number[]; mismatches: Mismatch[] } | undefined;
  // one session's steps have one order: the search is a single path (branching only where the
  // model allows several outcomes), so explored pairs are not remembered; printing the model
  // state for the key was most of such a check's cost. The bound still applies.
  const oneSession = events.every((event) => event.session === events[0]!.session);

  const note = (mismatches: Mismatch[]) => {
    if (order.length > deepest.order.length || deepest.mismatches.length === 0) deepest = { order: [...order], mismatches };
  };
  const search = (state: ModelState): boolean | 'bound' => {
    if (order.length === events.length) {
      const problems = check.final(state.committed);
      if (problems.length === 0) return true;
      finalFailure ??= { order: [...order], mismatches: problems };
      return false;
    }
    if (!oneSession) {
      const key = `${done.join('')}#${stateKey(state)}`;
      if (seen.has(key)) return false;
      seen.add(key);
    }
    for (let i = 0; i < events.length; i++) {
      if (done[i] || predecessors[i]!.some((p) => !done[p])) continue;
      if (++explored > bound) return 'bound';
      const step = transition(check.start, state, events[i]!, check.migration);
      if ('mismatch' in step) {
        note([step.mismatch]);
        continue;
      }
      done[i] = 1;
      order.push(i);
      for (const next of step.next) {
        const found = search(next);
        if (found !== false) return found;
      }
      order.pop();
      done[i] = 0;
    }
    return false;
  };

  const found = search(check.initial);
  const toEvents = (indices: number[]) => indices.map((i) => events[i]!);
  if (found === true) return { ok: true, explored, order: toEvents(order), mismatches: [], inconclusive: false };
  if (found === 'bound') {
    return { ok: false, explored, order: toEvents(deepest.order), inconclusive: true, mismatches: [{ where: 'the checker', expected: `an admissible order within ${bound} model steps`, actual: 'search bound reached: the history is neither explained nor refuted (inconclusive)' }] };
  }
  // every outcome explained in some order, but no such order ends in the table PostgreSQL holds
  const failure = finalFailure ?? deepest;
  return { ok: false, explored, order: toEvents(failure.order), mismatches: failure.mismatches, inconclusive: false };
}

/** `a` took effect before `b` in every admissible order: same session and earlier, or finished before `b` was sent. */
function precedes(a: HistoryEvent, b: HistoryEvent): boolean {
  if (a === b) return false;
  if (a.session === b.session) return a.index < b.index;
  return a.end < b.start;
}

/**
 * `a` released the lock `b` waited for, so `b` took effect after it: `b` was seen blocked by
 * a's session (pg_blocking_pids), and `a` is the step that ended the transaction of that
 * session which was open when `b` was sent: its first step finishing after b was sent that
 * left it idle (COMMIT, ROLLBACK, an autocommit statement) or aborted (an error ends a
 * transaction's locks at once, before the ROLLBACK that follows). PostgreSQL runs a waiting
 * statement only once it is granted the lock, under the catalog and rows committed then.
 * A release that real time contradicts (b finished before a was sent) is not one.
 */
function releases(events: readonly HistoryEvent[], a: HistoryEvent, b: HistoryEvent): boolean {
  if (!b.blocked || a.session === b.session || !b.blockedBy.includes(a.session) || a.end <= b.start || b.end < a.start) return false;
  // a's session was itself waiting while b waited: b queued behind a waiter (pg_blocking_pids
  // names the sessions ahead in a lock's queue, and the one holding a row's tuple lock while it
  // waits for the row's transaction). Once that transaction ends, both go after the row's newest
  // version, and either may get it first: no order follows.
  if (events.some((w) => w.session === a.session && w.blocked && w.start < b.end && w.end > b.start)) return false;
  const release = events.filter((e) => e.session === a.session && e.end > b.start && e.txStatus !== 'T').reduce<HistoryEvent | undefined>((first, e) => (!first || e.index < first.index ? e : first), undefined);
  return release === a;
}
