import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { connectClient } from '../postgres/index.ts';
import type { Suite } from '../suite.ts';
import { ActivityMonitor, type ActivitySample } from '../sessions/activity-monitor.ts';
import { flowSource, runWriter, type WriteTiming, type WriterCase } from './gateway-writers.ts';
import { deployWithRetries, type Deployment, type DeployRun } from './retrying-deploy.ts';

export interface LoadOptions {
  writers: number;
  /** Flows per second, per writer. */
  rate: number;
  /** Writing before the deploy starts, and after it ended. */
  beforeMs: number;
  afterMs: number;
  /** A session holding ACCESS SHARE on `readerTables` for this long when the deploy starts. */
  longReaderMs?: number;
  readerTables: readonly string[];
  lockTimeoutMs?: number;
  retries: number;
  seed: number;
  /** Sample pg_stat_activity and pg_blocking_pids (off only to measure what sampling costs). */
  monitor: boolean;
  /** Deploy the pending revisions (off: the writers alone, for the overhead benchmark). */
  deploy: boolean;
}

/** Who was where, on the run's clock (ms from the writers' start). */
export interface LoadRun {
  pids: { writers: number[]; migration: number; reader?: number };
  deploy?: DeployRun;
  deployStart?: number;
  deployEnd?: number;
  reader?: { start: number; end: number };
  end: number;
  cases: WriterCase[];
  timings: WriteTiming[];
  samples: ActivitySample[];
}

/**
 * The deploy as PROD would see it: `writers` gateway sessions writing the suite's flows at a
 * steady rate; after `beforeMs`, optionally a long reader taking ACCESS SHARE on the tables
 * the migration locks, then the deploy on a session of its own (with lock_timeout and retries
 * when asked); writing goes on for `afterMs` after the deploy ended. A monitor samples who
 * waits on whom all along. Everything is timed on one clock.
 */
export async function deployUnderLoad<Op>(suite: Suite<Op>, deployment: Deployment, config: pg.ClientConfig, options: LoadOptions): Promise<LoadRun> {
  const origin = performance.now();
  const clock = () => performance.now() - origin;
  const clients: pg.Client[] = [];
  const connect = async () => {
    const client = await connectClient(config);
    clients.push(client);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return { client, pid };
  };
  try {
    const writers = await Promise.all(Array.from({ length: options.writers }, connect));
    const migration = await connect();
    const reader = options.longReaderMs !== undefined && options.deploy ? await connect() : undefined;
    const monitor = options.monitor ? new ActivityMonitor((await connect()).client, clock) : undefined;
    monitor?.start();
    let stop = false;
    const running = writers.map((w, i) => runWriter(w.client, w.pid, suite, flowSource(suite, options.seed, i), { writer: i, rate: options.rate, clock, stopped: () => stop }));
    const run: Partial<LoadRun> = {};
    try {
      await sleep(options.beforeMs);
      if (options.deploy) {
        const holding = reader ? holdAccessShare(reader.client, options.readerTables, options.longReaderMs!, clock) : undefined;
        if (holding) await holding.locked;
        run.deployStart = clock();
        let seed = options.seed;
        const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        run.deploy = await deployWithRetries(migration.client, deployment, { lockTimeoutMs: options.lockTimeoutMs, retries: options.retries, random, clock });
        run.deployEnd = clock();
        await sleep(options.afterMs);
        run.reader = await holding?.done;
      }
    } finally {
      stop = true;
    }
    const settled = await Promise.allSettled(running);
    const samples = (await monitor?.stop()) ?? [];
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const done = settled.map((s) => (s as PromiseFulfilledResult<Awaited<(typeof running)[number]>>).value);
    return {
      ...run,
      pids: { writers: writers.map((w) => w.pid), migration: migration.pid, ...(reader ? { reader: reader.pid } : {}) },
      end: clock(),
      cases: done.flatMap((d) => d.cases),
      timings: done.flatMap((d) => d.timings),
      samples,
    };
  } finally {
    await Promise.allSettled(clients.map((client) => client.end()));
  }
}

/**
 * A report or a `pg_dump`: one transaction that reads each table (taking ACCESS SHARE) and
 * then keeps going for `ms`. `locked` resolves once it holds its locks; `done` when it commits.
 */
function holdAccessShare(client: pg.ClientBase, tables: readonly string[], ms: number, clock: () => number): { locked: Promise<void>; done: Promise<{ start: number; end: number }> } {
  let locked!: () => void;
  const lockedPromise = new Promise<void>((resolve) => (locked = resolve));
  const done = (async () => {
    await client.query('BEGIN');
    for (const table of tables) await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
    const start = clock();
    locked();
    await client.query(`SELECT pg_sleep(${Math.max(0, ms) / 1000})`);
    await client.query('COMMIT');
    return { start, end: clock() };
  })();
  done.catch(() => locked());
  return { locked: lockedPromise, done };
}

