import type pg from 'pg';
import type { Clock } from '../sessions/sequential-runner.ts';
import type { Chain } from './chain.ts';
import { executePlan, type PlanMode, type PlanRun } from './migration-executor.ts';
import type { Migration } from './migration-file.ts';
import { planMigrations } from './formats/index.ts';
import { canNest, withoutTransactionControl, type MigrationPlan, type RunnerName } from './runner.ts';

/** A chain and the runner that deploys it: what to send to bring a database to a revision. */
export class Migrator {
  constructor(
    readonly chain: Chain,
    readonly runner: RunnerName,
  ) {}

  /** The revisions the database's version table lists as applied. */
  applied(client: pg.ClientBase): Promise<Set<string>> {
    return this.chain.versionTable.applied(client, this.chain.migrations);
  }

  /** What the runner sends to apply these revisions (and record them, unless told not to). */
  plan(migrations: readonly Migration[], record = true): MigrationPlan {
    return planMigrations(this.chain.format, migrations, this.runner, this.chain.versionTable, { record });
  }

  /** The plan that brings a database with these applied revisions up to `to`. */
  planTo(applied: ReadonlySet<string>, to: string): MigrationPlan {
    return this.plan(this.chain.pending(applied, to));
  }

  /** Whether every plan up to `to` can run nested in a transaction the caller rolls back. */
  canNestTo(to: string): boolean {
    return canNest(this.plan(this.chain.upTo(to)));
  }

  /**
   * Whether rows can be judged by the pending migration under a savepoint once the files' own
   * BEGIN/COMMIT are left out (no statement that must run outside a transaction).
   */
  canJudgeNestedTo(to: string): boolean {
    return canNest(withoutTransactionControl(this.plan(this.chain.upTo(to))));
  }

  /** The pending revisions run under savepoints, their own BEGIN/COMMIT left out: whether the migration accepts the database's rows (undone by the caller). Never a verdict. */
  async judgeTo(client: pg.ClientBase, to: string): Promise<PlanRun> {
    return executePlan(client, withoutTransactionControl(this.planTo(await this.applied(client), to)), 'nested');
  }

  /** Applies every pending revision up to `to`. */
  async migrateTo(client: pg.ClientBase, to: string, mode: PlanMode = 'deploy', clock?: Clock): Promise<PlanRun> {
    return executePlan(client, this.planTo(await this.applied(client), to), mode, clock);
  }

  /** Records a revision as applied without running it, as the chain's tool stamps. */
  async stamp(client: pg.ClientBase, revision: string): Promise<void> {
    for (const command of this.chain.versionTable.stamp(this.chain.get(revision, 'stamp').revision, this.chain.migrations)) {
      await client.query(command.sql, command.parameters as unknown[] | undefined);
    }
  }
}
