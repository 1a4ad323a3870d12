import { lockWaits, sampledWaiting } from '../sessions/activity-monitor.ts';
import type { LockHold } from './lock-ledger.ts';
import type { LoadRun } from './deploy-under-load.ts';
import type { WriteTiming } from './gateway-writers.ts';
import { blocksWriters, modeName, strength } from '../catalog/lock-modes.ts';
import { percentile, round } from './numbers.ts';

/** What the writers felt in one phase. */
export interface PhaseStats {
  writes: number;
  p50Ms: number;
  p99Ms: number;
  /** The longest a write waited (from when it was due). */
  maxStallMs: number;
  /** Writes the monitor saw waiting on a lock. */
  blocked: number;
}

export interface PileUp {
  /** The most sessions queued behind the migration at once (pg_blocking_pids naming it). */
  maxQueue: number;
  /** The longest a write waited on a lock. */
  maxStallMs: number;
  /** How long the migration itself waited for its locks, over every attempt. */
  migrationWaitMs: number;
}

/** A bar of the deploy's timeline: one row per session. */
export interface TimelineBar {
  session: string;
  label: string;
  start: number;
  end: number;
  kind: 'hold' | 'wait' | 'stall' | 'failed';
}

export interface LoadSummary {
  phases: { before: PhaseStats; during: PhaseStats; after: PhaseStats };
  pileUp: PileUp;
  /** The writer-blocking locks the deploy held in the attempt that applied: relation, mode, ms. */
  holds: { relation: string; mode: string; ms: number }[];
  timeline: TimelineBar[];
}

/** The load run's numbers; `ledgerHolds` (the deploy's traced ledger) says which message takes which lock. */
export function summariseLoad(run: LoadRun, ledgerHolds: readonly LockHold[]): LoadSummary {
  const held = heldLocks(run, ledgerHolds);
  const during = (t: WriteTiming) => run.deployStart !== undefined && t.end >= run.deployStart && t.due <= run.deployEnd!;
  const phase = (t: WriteTiming) => (during(t) ? 'during' : run.deployStart === undefined || t.due < run.deployStart ? 'before' : 'after');
  const blocked = (t: WriteTiming) => sampledWaiting(run.samples, t.pid, t.start, t.end);
  const stats = (name: string): PhaseStats => phaseStats(run.timings.filter((t) => phase(t) === name), blocked);
  const waitedOnLock = run.timings.filter(blocked);
  return {
    phases: { before: stats('before'), during: stats('during'), after: stats('after') },
    pileUp: {
      maxQueue: Math.max(0, ...run.samples.map((s) => s.backends.filter((b) => b.blockers.includes(run.pids.migration)).length)),
      maxStallMs: round(Math.max(0, ...waitedOnLock.map((t) => t.latencyMs))),
      migrationWaitMs: round(lockWaits(run.samples, run.pids.migration).reduce((sum, w) => sum + (w.end - w.start), 0)),
    },
    holds: held.map((h) => ({ relation: h.relation, mode: h.mode, ms: round(h.end - h.start) })),
    timeline: timeline(run, held),
  };
}

function phaseStats(timings: readonly WriteTiming[], blocked: (t: WriteTiming) => boolean): PhaseStats {
  const latencies = timings.map((t) => t.latencyMs).sort((a, b) => a - b);
  return {
    writes: timings.length,
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxStallMs: round(latencies.at(-1) ?? 0),
    blocked: timings.filter(blocked).length,
  };
}


/**
 * When each writer-blocking lock of the ledger was held in the attempt that applied: from the
 * message that takes it (once the monitor no longer saw the session waiting in it) to the end
 * of its transaction. The ledger says which message takes which lock; the load run says when.
 */
function heldLocks(run: LoadRun, ledgerHolds: readonly LockHold[]): { relation: string; mode: string; start: number; end: number }[] {
  const attempt = run.deploy?.attempts.find((a) => a.ok);
  if (!attempt) return [];
  const waits = lockWaits(run.samples, run.pids.migration);
  const strongest = new Map<string, LockHold>();
  for (const hold of ledgerHolds.filter((h) => blocksWriters(h.mode))) {
    const current = strongest.get(hold.relation);
    if (!current || strength(hold.mode) > strength(current.mode)) strongest.set(hold.relation, hold);
  }
  return [...strongest.values()].flatMap((hold) => {
    const index = attempt.events.findIndex((e) => e.step.name === hold.fromStep);
    const taken = attempt.events[index];
    if (!taken) return [];
    const ended = attempt.events.slice(index).find((e) => e.txStatus === 'I') ?? attempt.events.at(-1)!;
    const waited = waits.filter((w) => w.start <= taken.end && w.end >= taken.start).map((w) => w.end);
    return [{ relation: hold.relation, mode: hold.mode, start: Math.max(taken.start, ...waited), end: ended.end }];
  });
}

function timeline(run: LoadRun, held: ReturnType<typeof heldLocks>): TimelineBar[] {
  const bars: TimelineBar[] = [];
  if (run.reader) bars.push({ session: 'long reader', label: 'holds ACCESS SHARE', start: run.reader.start, end: run.reader.end, kind: 'hold' });
  const waits = lockWaits(run.samples, run.pids.migration);
  (run.deploy?.attempts ?? []).forEach((attempt, i) => {
    const name = run.deploy!.attempts.length > 1 ? `attempt ${i + 1}: ` : '';
    if (!attempt.ok) {
      bars.push({ session: 'migration', label: `${name}${attempt.sqlstate === '55P03' ? 'waits for its lock, times out (55P03)' : `fails (${attempt.sqlstate ?? 'error'})`}`, start: attempt.start, end: attempt.end, kind: 'failed' });
      return;
    }
    for (const wait of waits.filter((w) => w.end >= attempt.start && w.start <= attempt.end)) bars.push({ session: 'migration', label: `${name}waits for its lock`, start: Math.max(wait.start, attempt.start), end: Math.min(wait.end, attempt.end), kind: 'wait' });
    for (const lock of held) bars.push({ session: 'migration', label: `${name}holds ${modeName(lock.mode)} on ${lock.relation}`, start: lock.start, end: lock.end, kind: 'hold' });
  });
  run.pids.writers.forEach((pid, i) => {
    const stalls = lockWaits(run.samples, pid).sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 6).sort((a, b) => a.start - b.start);
    for (const stall of stalls) bars.push({ session: `writer ${i + 1}`, label: 'blocked', start: stall.start, end: Math.max(stall.end, stall.start + 1), kind: 'stall' });
  });
  return bars.map((bar) => ({ ...bar, start: round(bar.start), end: round(bar.end) }));
}

