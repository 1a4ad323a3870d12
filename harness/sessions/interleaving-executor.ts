import type pg from 'pg';
import { connectClient } from '../postgres/connect.ts';
import { statusAfter, transactionStatus, type Clock } from './sequential-runner.ts';
import type { Program, SessionStep, StepEvent } from './session-step.ts';
import { outcomeOf, outcomeOfError, queryOf, type StepOutcome } from './step-outcome.ts';

export interface ExecutorOptions {
  /** A step still running after this many ms is cancelled and reported as timed out. */
  stepTimeoutMs: number;
  /** How long a step may run before the control connection asks whether it is blocked. */
  pollMs: number;
}

export const DEFAULT_EXECUTOR_OPTIONS: ExecutorOptions = { stepTimeoutMs: 5000, pollMs: 2 };

interface Pending {
  session: number;
  index: number;
  step: SessionStep;
  issued: number;
  start: number;
  blocked: boolean;
  blockedBy: Set<number>;
  settled?: { outcome: StepOutcome; at: number; txStatus: StepEvent['txStatus'] };
  timedOut: boolean;
  promise: Promise<void>;
}

/**
 * Runs one program per session following a schedule (a list of session indices), the way
 * PostgreSQL's isolation tester does: one step runs at a time; a step that waits on a lock
 * held by another session (pg_isolation_test_session_is_blocked, asked on a separate control
 * connection) stays pending while the schedule moves on; a deadlock is just an outcome
 * (40P01); a step past its timeout is cancelled. After the schedule, the remaining steps run
 * round-robin until every program is done. Each event records when its step was sent and
 * when its result arrived, so a checker knows which steps overlapped in time.
 */
export class InterleavingExecutor {
  private pids: number[] = [];

  private constructor(
    private readonly sessions: pg.Client[],
    /** The connection that watches the sessions; between runs, free for a caller's own statements (setup, reading back). */
    readonly control: pg.Client,
    private readonly options: ExecutorOptions,
  ) {}

  static async connect(config: pg.ClientConfig, sessionCount: number, options: Partial<ExecutorOptions> = {}): Promise<InterleavingExecutor> {
    const clients = await Promise.allSettled(Array.from({ length: sessionCount + 1 }, () => connectClient(config)));
    const connected = clients.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const failed = clients.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) {
      await Promise.all(connected.map((client) => client.end().catch(() => undefined)));
      throw failed.reason;
    }
    const [control, ...sessions] = connected;
    const executor = new InterleavingExecutor(sessions, control!, { ...DEFAULT_EXECUTOR_OPTIONS, ...options });
    executor.pids = await Promise.all(sessions.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    // make deadlocks cheap to detect (allowed for superusers; elsewhere the server default stays)
    await Promise.all(sessions.map((client) => client.query("SET deadlock_timeout = '50ms'").catch(() => undefined)));
    return executor;
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  /** Session `i`'s connection, for a caller that sends statements on it itself between runs (a serial replay). */
  session(i: number): pg.Client {
    const client = this.sessions[i];
    if (!client) throw new Error(`no session ${i} (${this.sessions.length} sessions)`);
    return client;
  }

  /** The backend pid of each session, for a caller that watches them (locks, waits). */
  get backendPids(): readonly number[] {
    return this.pids;
  }

  /** Runs the programs; returns every step's event, in the order results arrived. */
  async run<Meta>(programs: readonly Program<Meta>[], schedule: readonly number[], clock: Clock = () => performance.now()): Promise<StepEvent<Meta>[]> {
    if (programs.length > this.sessions.length) throw new Error(`${programs.length} programs for ${this.sessions.length} sessions`);
    if (programs.length === 0) return [];
    const next = programs.map(() => 0);
    const stopped = programs.map(() => false);
    const waiting: Pending[] = [];
    const events: StepEvent<Meta>[] = [];
    let issued = 0;
    const collect = async (pending: Pending) => {
      const { outcome, at, txStatus } = pending.settled!;
      events.push({
        session: pending.session, index: pending.index, step: pending.step as SessionStep<Meta>, issued: pending.issued, completed: events.length,
        start: pending.start, end: at, blocked: pending.blocked, blockedBy: [...pending.blockedBy], timedOut: pending.timedOut, outcome, txStatus,
      });
      const program = programs[pending.session]!;
      if (outcome.kind === 'error' && program.stopOnError) {
        stopped[pending.session] = true;
        if (pending.step.recovery && txStatus !== 'I') await this.sessions[pending.session]!.query(pending.step.recovery).catch(() => undefined);
      }
    };
    const collectWaiters = async () => {
      for (const pending of [...waiting]) {
        if (!pending.settled) continue;
        waiting.splice(waiting.indexOf(pending), 1);
        await collect(pending);
      }
    };
    const ready = (session: number) => !stopped[session] && next[session]! < programs[session]!.steps.length && !waiting.some((p) => p.session === session);
    const take = async (session: number) => {
      const pending = this.issue(session, next[session]!, programs[session]!.steps[next[session]!]!, issued++, clock);
      next[session]!++;
      if (await this.settleOrBlock(pending)) await collect(pending);
      else waiting.push(pending);
      await collectWaiters();
    };

    let last = -1;
    for (const entry of schedule) {
      const session = entry % programs.length;
      if (ready(session)) await take((last = session));
    }
    // drain: every program runs to its end, round-robin from where the schedule stopped
    for (;;) {
      const order = programs.map((_, k) => (last + 1 + k) % programs.length);
      const session = order.find(ready);
      if (session !== undefined) {
        await take((last = session));
        continue;
      }
      if (waiting.length === 0) break;
      // everything left is blocked: wait for the server (deadlock detection) or the timeouts
      await Promise.race(waiting.map((p) => p.promise));
      await collectWaiters();
    }
    await this.endOpenTransactions();
    return events;
  }

  /**
   * Between runs on the same database: every session's settings back to their defaults (a
   * migration may have run `SET lock_timeout`), prepared statements kept, deadlocks still
   * detected quickly.
   */
  async resetSessions(): Promise<void> {
    await Promise.all(this.sessions.map((client) => client.query("RESET ALL; SET deadlock_timeout = '50ms'").catch(() => undefined)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions, this.control].map((client) => client.end().catch(() => undefined)));
  }

  /** A program that ended inside a transaction (a flow without COMMIT) leaves nothing open for the next run. */
  private async endOpenTransactions(): Promise<void> {
    await Promise.all(this.sessions.map((client) => (transactionStatus(client) === 'I' ? undefined : client.query('ROLLBACK').catch(() => undefined))));
  }

  private issue(session: number, index: number, step: SessionStep, issued: number, clock: Clock): Pending {
    const pending: Pending = { session, index, step, issued, start: clock(), blocked: false, blockedBy: new Set(), timedOut: false, promise: Promise.resolve() };
    const client = this.sessions[session]!;
    const timer = setTimeout(() => {
      pending.timedOut = true;
      void this.control.query('SELECT pg_cancel_backend($1)', [this.pids[session]]).catch(() => undefined);
    }, this.options.stepTimeoutMs);
    pending.promise = client
      .query(queryOf(step))
      .then(outcomeOf, outcomeOfError)
      .then(async (outcome) => {
        clearTimeout(timer);
        const at = clock();
        pending.settled = { outcome, at, txStatus: await statusAfter(client) };
      });
    return pending;
  }

  /** Waits until the step completes (true) or is seen waiting on another session's lock (false). */
  private async settleOrBlock(pending: Pending): Promise<boolean> {
    for (;;) {
      await Promise.race([pending.promise, delay(this.options.pollMs)]);
      if (pending.settled) return true;
      const result = await this.control.query<{ blocked: boolean; blockers: number[] }>(
        'SELECT pg_isolation_test_session_is_blocked($1, $2) AS blocked, pg_blocking_pids($1) AS blockers',
        [this.pids[pending.session], this.pids],
      );
      if (pending.settled) return true;
      const row = result.rows[0]!;
      if (row.blocked) {
        pending.blocked = true;
        for (const pid of row.blockers) {
          const blocker = this.pids.indexOf(pid);
          if (blocker >= 0 && blocker !== pending.session) pending.blockedBy.add(blocker);
        }
        return false;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
