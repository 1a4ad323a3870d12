import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** One backend at one instant: what it waits on, and who blocks it. */
export interface BackendSample {
  pid: number;
  /** pg_stat_activity.wait_event_type: `Lock` while it queues for a lock. */
  wait: string | null;
  /** pg_blocking_pids: the sessions it waits for, holding a conflicting lock or queued ahead of it. */
  blockers: number[];
}

export interface ActivitySample {
  /** When it was taken (the midpoint of the query), on the run's clock. */
  t: number;
  backends: BackendSample[];
}

/**
 * Samples pg_stat_activity every `intervalMs` on a connection of its own, with
 * pg_blocking_pids of each backend that waits on a lock: the pile-up behind a migration, seen
 * the way PostgreSQL sees it. Only the database under test is sampled. pg_blocking_pids takes
 * the lock manager's shared state for a moment, so it is asked only of a waiting backend (one
 * that does not wait has no blockers): the writers, who take locks all the time, do not queue
 * behind the monitor. (The locks the migration holds come from the lock ledger, not from here.)
 */
export class ActivityMonitor {
  readonly samples: ActivitySample[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly clock: () => number,
    private readonly intervalMs = 10,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<ActivitySample[]> {
    this.stopped = true;
    await this.running;
    return this.samples;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = this.clock();
      const result = await this.client.query<BackendSample>({ name: 'ch_activity_sample', text: SAMPLE_SQL });
      this.samples.push({ t: (started + this.clock()) / 2, backends: result.rows });
      const wait = started + this.intervalMs - this.clock();
      if (wait > 0) await sleep(wait);
    }
  }
}

const SAMPLE_SQL = `SELECT a.pid, a.wait_event_type AS wait,
  CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) ELSE '{}'::int[] END AS blockers
FROM pg_stat_activity a WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()`;

/** Intervals during which a backend was seen waiting on a lock, from consecutive samples. */
export function lockWaits(samples: readonly ActivitySample[], pid: number): { start: number; end: number }[] {
  const intervals: { start: number; end: number }[] = [];
  let open: { start: number; end: number } | undefined;
  for (const sample of samples) {
    const waiting = sample.backends.some((b) => b.pid === pid && b.wait === 'Lock');
    if (waiting) {
      if (!open) intervals.push((open = { start: sample.t, end: sample.t }));
      else open.end = sample.t;
    } else open = undefined;
  }
  return intervals;
}

/** Whether the backend was seen waiting on a lock at some instant within [start, end]. */
export function sampledWaiting(samples: readonly ActivitySample[], pid: number, start: number, end: number): boolean {
  return samples.some((s) => s.t >= start && s.t <= end && s.backends.some((b) => b.pid === pid && b.wait === 'Lock'));
}
