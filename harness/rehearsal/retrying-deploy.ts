import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { HistoryEvent } from '../check/model.ts';
import type { MigrationSession } from '../check/transactional-model.ts';
import { planProgram, summarisePlanRun, type MigrationPlan, type Migrator } from '../migrate/index.ts';
import { runSequentially } from '../sessions/index.ts';

/** One try of the deploy: its messages, and why it stopped if it did not finish. */
export interface DeployAttempt {
  start: number;
  end: number;
  ok: boolean;
  /** `55P03 canceling statement due to lock timeout`, or the migration error. */
  error?: string;
  sqlstate?: string;
  events: HistoryEvent[];
}

/** What is deployed: the pending revisions as the runner sends them (or a rewrite of them). */
export interface Deployment {
  applied(client: pg.ClientBase): Promise<ReadonlySet<string>>;
  planFor(applied: ReadonlySet<string>): MigrationPlan;
}

/** The chain's own deploy up to `to`. */
export function chainDeployment(migrator: Migrator, to: string): Deployment {
  return { applied: (client) => migrator.applied(client), planFor: (applied) => migrator.planTo(applied, to) };
}

export interface DeployOptions {
  /** `SET lock_timeout` for the deploying session, in ms (none: wait as long as it takes). */
  lockTimeoutMs?: number;
  /** Further tries after a lock timeout (55P03). */
  retries: number;
  /** First back-off, doubled after each timeout, with jitter from `random` (0..1). */
  backoffMs?: number;
  random: () => number;
  clock: () => number;
}

export interface DeployRun {
  attempts: DeployAttempt[];
  converged: boolean;
  error?: string;
}

/**
 * Deploys the pending revisions as the runner sends them, on one session. With a lock timeout,
 * a statement that waits longer for its lock fails with 55P03, the runner's transaction rolls
 * back, and after a back-off (doubling, with jitter) the deploy starts again from what the
 * version table then says is applied: what a deploy job that retries does. Any other error
 * ends the deploy.
 */
export async function deployWithRetries(client: pg.ClientBase, deployment: Deployment, options: DeployOptions): Promise<DeployRun> {
  const attempts: DeployAttempt[] = [];
  if (options.lockTimeoutMs !== undefined) await client.query(`SET lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs))}`);
  try {
    for (let attempt = 0; ; attempt++) {
      const plan: MigrationPlan = deployment.planFor(await deployment.applied(client));
      if (plan.migrations.length === 0) return { attempts, converged: true };
      const start = options.clock();
      const events = (await runSequentially(client, planProgram(plan, 'deploy'), { session: 1, clock: options.clock })) as HistoryEvent[];
      const run = summarisePlanRun(plan, events as Parameters<typeof summarisePlanRun>[1]);
      const failure = run.error;
      attempts.push({ start, end: options.clock(), ok: !failure, events, ...(failure ? { error: failure.message.split('\n')[0], sqlstate: failure.sqlstate } : {}) });
      if (!failure) return { attempts, converged: true };
      if (failure.sqlstate !== '55P03' || options.lockTimeoutMs === undefined) return { attempts, converged: false, error: failure.message };
      if (attempt >= options.retries) return { attempts, converged: false, error: `still timing out on its lock after ${attempts.length} attempt(s): ${failure.message}` };
      const backoff = (options.backoffMs ?? 100) * 2 ** attempt * (0.5 + options.random() / 2);
      await sleep(Math.min(backoff, 5_000));
    }
  } finally {
    if (options.lockTimeoutMs !== undefined) await client.query('RESET lock_timeout').catch(() => undefined);
  }
}

/**
 * The deploy as one session of the writers' histories (session 1): every attempt's messages
 * in order. What the model needs to know is when the target's schema became durable: the
 * statements of the runner's transactions that committed, and the statements that ran on their
 * own and succeeded. A rolled-back attempt changes nothing; a deploy that gave up leaves the
 * schema partial at most.
 */
export function deploySession(run: DeployRun): { events: HistoryEvent[]; migration: MigrationSession } {
  const events: HistoryEvent[] = [];
  const durable: number[] = [];
  for (const attempt of run.attempts) {
    let pending: number[] = [];
    for (const event of attempt.events) {
      const index = events.length;
      events.push({ ...event, session: 1, index });
      const meta = event.step.meta;
      if (meta?.kind !== 'migration' || event.outcome.kind === 'error') continue;
      if (meta.role === 'statement') pending.push(index);
      if (event.txStatus === 'I') {
        durable.push(...pending);
        pending = [];
      }
    }
  }
  // a deploy that never finished never reaches the target's schema, however much of it is durable
  if (!run.converged) durable.push(Number.MAX_SAFE_INTEGER);
  return { events, migration: { session: 1, statementSteps: durable } };
}
