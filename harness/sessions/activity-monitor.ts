import type pg from 'pg';

/** One backend at one instant: what it waits on, who blocks it, and (for the sessions watched closely) its table locks. */
export interface BackendSample {
  pid: number;
  /** pg_stat_activity.wait_event_type: `Lock` while it queues for a lock. */
  wait: string | null;
  /** pg_blocking_pids: the sessions it waits for, holding a conflicting lock or queued ahead of it. */
  blockers: number[];
  locks?: { relation: string; mode: string; granted: boolean }[];
}

export interface ActivitySample {
  /** When it was taken (the midpoint of the query), on the run's clock. */
  t: number;
  backends: BackendSample[];
}

/**
 * Samples pg_stat_activity and pg_blocking_pids every `intervalMs` on a connection of its
 * own, and the table locks (granted or queued) of the sessions in `watched` (the migration,
 * the long reader): the pile-up behind a migration, seen the way PostgreSQL sees it. Only the
 * database under test is sampled, and only user tables (oid ≥ 16384) are listed.
 */
export class ActivityMonitor {
  readonly samples: ActivitySample[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly watched: readonly number[],
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
      const result = await this.client.query<BackendSample>({ name: 'ch_activity_sample', text: SAMPLE_SQL, values: [this.watched] });
      this.samples.push({ t: (started + this.clock()) / 2, backends: result.rows });
      const wait = started + this.intervalMs - this.clock();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

const SAMPLE_SQL = `SELECT a.pid, a.wait_event_type AS wait, pg_blocking_pids(a.pid) AS blockers,
  CASE WHEN a.pid = ANY($1::int[]) THEN
    (SELECT coalesce(json_agg(json_build_object('relation', l.relation::regclass::text, 'mode', l.mode, 'granted', l.granted)), '[]')
       FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.relation >= 16384
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
  END AS locks
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
