import type pg from 'pg';
import { connectClient } from '../postgres/connect.ts';
import { outcomeOf, outcomeOfError, type StepOutcome } from './step-outcome.ts';
import type { SessionStep, StepEvent } from './session-step.ts';

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
  started: number;
  blocked: boolean;
  blockedBy: Set<number>;
  settled?: { outcome: StepOutcome; at: number };
  timedOut: boolean;
  promise: Promise<void>;
}

/**
 * Runs one program per session following a schedule (a list of session indices), the way
 * PostgreSQL's isolation tester does: one step runs at a time; a step that waits on a lock
 * held by another session (pg_isolation_test_session_is_blocked, asked on a separate control
 * connection) stays pending while the schedule moves on; a deadlock is just an outcome
 * (40P01); a step past its timeout is cancelled. After the schedule, the remaining steps run
 * round-robin until every program is done. Completion order is recorded as observed, with the
 * running step always collected before the waiters it released.
 */
export class InterleavingExecutor {
  private pids: number[] = [];

  private constructor(
    private readonly sessions: pg.Client[],
    private readonly control: pg.Client,
    private readonly options: ExecutorOptions,
  ) {}

  static async connect(config: pg.ClientConfig, sessionCount: number, options: Partial<ExecutorOptions> = {}): Promise<InterleavingExecutor> {
    const [control, ...sessions] = await Promise.all(Array.from({ length: sessionCount + 1 }, () => connectClient(config)));
    const executor = new InterleavingExecutor(sessions, control!, { ...DEFAULT_EXECUTOR_OPTIONS, ...options });
    executor.pids = await Promise.all(sessions.map(async (client) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    // make deadlocks cheap to detect (allowed for superusers; elsewhere the server default stays)
    await Promise.all(sessions.map((client) => client.query("SET deadlock_timeout = '50ms'").catch(() => undefined)));
    return executor;
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  /** Runs the programs; returns every step's event in completion order. */
  async run(programs: readonly (readonly SessionStep[])[], schedule: readonly number[]): Promise<StepEvent[]> {
    if (programs.length > this.sessions.length) throw new Error(`${programs.length} programs for ${this.sessions.length} sessions`);
    const next = programs.map(() => 0);
    const waiting: Pending[] = [];
    const events: StepEvent[] = [];
    let issued = 0;
    const collect = (pending: Pending) => {
      events.push({
        session: pending.session, index: pending.index, step: pending.step, issued: pending.issued, completed: events.length,
        blocked: pending.blocked, blockedBy: [...pending.blockedBy], ms: pending.settled!.at - pending.started, timedOut: pending.timedOut, outcome: pending.settled!.outcome,
      });
    };
    const collectWaiters = () => {
      for (const pending of [...waiting]) {
        if (pending.settled) {
          waiting.splice(waiting.indexOf(pending), 1);
          collect(pending);
        }
      }
    };
    const ready = (session: number) => next[session]! < programs[session]!.length && !waiting.some((p) => p.session === session);

    const take = async (session: number) => {
      const pending = this.issue(session, next[session]!, programs[session]![next[session]!]!, issued++);
      next[session]!++;
      const done = await this.settleOrBlock(pending);
      if (done) collect(pending);
      else waiting.push(pending);
      collectWaiters();
    };

    for (const entry of schedule) {
      const session = entry % programs.length;
      if (ready(session)) await take(session);
    }
    // drain: every program runs to its end, round-robin, whatever the schedule said
    for (;;) {
      const session = next.findIndex((_, s) => ready(s));
      if (session >= 0) {
        await take(session);
        continue;
      }
      if (waiting.length === 0) break;
      // everything left is blocked: wait for the server (deadlock detection) or the timeouts
      await Promise.race(waiting.map((p) => p.promise));
      collectWaiters();
    }
    return events;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions, this.control].map((client) => client.end().catch(() => undefined)));
  }

  private issue(session: number, index: number, step: SessionStep, issued: number): Pending {
    const pending: Pending = { session, index, step, issued, started: performance.now(), blocked: false, blockedBy: new Set(), timedOut: false, promise: Promise.resolve() };
    const client = this.sessions[session]!;
    const timer = setTimeout(() => {
      pending.timedOut = true;
      void this.control.query('SELECT pg_cancel_backend($1)', [this.pids[session]]).catch(() => undefined);
    }, this.options.stepTimeoutMs);
    pending.promise = client
      .query(step.parameters?.length ? { text: step.sql, values: step.parameters as unknown[] } : step.sql)
      .then(outcomeOf, outcomeOfError)
      .then((outcome) => {
        clearTimeout(timer);
        pending.settled = { outcome, at: performance.now() };
      });
    return pending;
  }

  /** Waits until the step completes (true) or is seen waiting on another session's lock (false). */
  private async settleOrBlock(pending: Pending): Promise<boolean> {
    for (;;) {
      await Promise.race([pending.promise, delay(this.options.pollMs)]);
      if (pending.settled) return true;
      const others = this.pids.filter((_, s) => s !== pending.session);
      const result = await this.control.query<{ blocked: boolean; blockers: number[] }>(
        'SELECT pg_isolation_test_session_is_blocked($1, $2) AS blocked, pg_blocking_pids($1) AS blockers',
        [this.pids[pending.session], this.pids],
      );
      if (pending.settled) return true;
      const row = result.rows[0]!;
      if (row.blocked) {
        pending.blocked = true;
        for (const pid of row.blockers) if (others.includes(pid)) pending.blockedBy.add(this.pids.indexOf(pid));
        return false;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
