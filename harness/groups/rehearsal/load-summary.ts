import { lockWaits, sampledWaiting, type ActivitySample } from './activity-monitor.ts';
import type { LoadRun } from './deploy-under-load.ts';
import type { WriteTiming } from './gateway-writers.ts';
import { blocksWriters, modeName, strength } from './lock-modes.ts';

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
  /** Locks the deploy held that writers cannot get past, from the samples: relation, mode, ms. */
  holds: { relation: string; mode: string; ms: number }[];
  timeline: TimelineBar[];
}

export function summariseLoad(run: LoadRun): LoadSummary {
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
    holds: sampledHolds(run),
    timeline: timeline(run),
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

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Per relation, the strongest writer-blocking lock the deploy was seen holding, from first sighting to the end of its attempt. */
function sampledHolds(run: LoadRun): LoadSummary['holds'] {
  const attempts = run.deploy?.attempts ?? [];
  const holds = new Map<string, { relation: string; mode: string; ms: number }>();
  for (const attempt of attempts) {
    const seen = new Map<string, number>();
    for (const sample of run.samples) {
      if (sample.t < attempt.start || sample.t > attempt.end) continue;
      for (const lock of sample.backends.find((b) => b.pid === run.pids.migration)?.locks ?? []) {
        if (lock.granted && blocksWriters(lock.mode) && !seen.has(`${lock.relation}/${lock.mode}`)) seen.set(`${lock.relation}/${lock.mode}`, sample.t);
      }
    }
    for (const [key, since] of seen) {
      const [relation, mode] = key.split('/') as [string, string];
      const current = holds.get(relation);
      const ms = round(attempt.end - since);
      if (!current || strength(mode) > strength(current.mode) || (mode === current.mode && ms > current.ms)) holds.set(relation, { relation, mode, ms });
    }
  }
  return [...holds.values()];
}

function timeline(run: LoadRun): TimelineBar[] {
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
    const held = firstHeld(run.samples, run.pids.migration, attempt.start, attempt.end);
    if (held) bars.push({ session: 'migration', label: `${name}holds ${modeName(held.mode)} on ${held.relation}`, start: held.t, end: attempt.end, kind: 'hold' });
  });
  run.pids.writers.forEach((pid, i) => {
    const stalls = lockWaits(run.samples, pid).sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 6).sort((a, b) => a.start - b.start);
    for (const stall of stalls) bars.push({ session: `writer ${i + 1}`, label: 'blocked', start: stall.start, end: Math.max(stall.end, stall.start + 1), kind: 'stall' });
  });
  return bars.map((bar) => ({ ...bar, start: round(bar.start), end: round(bar.end) }));
}

function firstHeld(samples: readonly ActivitySample[], pid: number, start: number, end: number): { t: number; relation: string; mode: string } | undefined {
  for (const sample of samples) {
    if (sample.t < start || sample.t > end) continue;
    const lock = (sample.backends.find((b) => b.pid === pid)?.locks ?? []).filter((l) => l.granted && blocksWriters(l.mode)).sort((a, b) => strength(b.mode) - strength(a.mode))[0];
    if (lock) return { t: sample.t, ...lock };
  }
  return undefined;
}

const round = (ms: number) => Math.round(ms * 10) / 10;
