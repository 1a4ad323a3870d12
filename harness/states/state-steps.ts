import type pg from 'pg';
import { SetupError, errorMessage } from '../errors.ts';
import { migrationError, planProgram, type MigrationError, type Migrator, type PlanMode } from '../migrate/index.ts';
import { openAfter } from '../migrate/interruptions.ts';
import { runSequentially, runStatements, transactionStatus } from '../sessions/sequential-runner.ts';
import { stepSql } from '../sessions/sql-text.ts';
import { describeStep, type GeneratedRows, type StartingState, type StateHistory, type StateStep } from './starting-state.ts';

/** Where a state's steps go: a live database, or the lines of a SQL script. */
export interface StateTarget {
  migrate(to: string): Promise<void>;
  sql(sql: string): Promise<void>;
  /** The rows of a `rows` step (`step`, for a target that writes them its own way, e.g. at scale). */
  rows(rows: GeneratedRows, step: Extract<StateStep, { kind: 'rows' }>): Promise<void>;
  stamp(revision: string): Promise<void>;
  /** The deploy up to `to`, killed after its `after`-th message. */
  interrupted(to: string, after: number): Promise<void>;
  /** A database loaded from outside (a snapshot). */
  load(step: Extract<StateStep, { kind: 'load' }>): Promise<void>;
}

/** A state could not be built: which state, which step, and the cause (a failed migration, a failed statement). */
export class StateBuildError extends Error {
  override readonly name = 'StateBuildError';
  constructor(
    readonly state: StartingState,
    readonly step: StateStep,
    readonly cause: unknown,
  ) {
    super(`state ${state.name}, step "${describeStep(step)}": ${errorMessage(cause)}`);
  }
  /** The migration error, when the step that failed was a migration. */
  get migrationError(): MigrationError | undefined {
    return this.step.kind === 'migrate' && this.cause instanceof Error && this.cause.name === 'MigrationError' ? (this.cause as MigrationError) : undefined;
  }
}

/**
 * The one interpreter of state steps. `history` holds one GeneratedRows per `rows` step among
 * `steps`, in order; relative revisions are resolved against `anchor`.
 */
export async function runStateSteps(state: StartingState, steps: readonly StateStep[], history: StateHistory, migrator: Migrator, anchor: string, target: StateTarget): Promise<void> {
  let rowsIndex = 0;
  for (const step of steps) {
    try {
      switch (step.kind) {
        case 'migrate':
          await target.migrate(migrator.chain.resolve(step.to, anchor));
          break;
        case 'sql':
          await target.sql(step.sql);
          break;
        case 'rows':
          await target.rows(history[rowsIndex++] ?? { sql: [], summary: [] }, step);
          break;
        case 'stamp':
          await target.stamp(migrator.chain.resolve(step.revision, anchor));
          break;
        case 'interrupted':
          await target.interrupted(migrator.chain.resolve(step.to, anchor), step.after);
          break;
        case 'load':
          await target.load(step);
          break;
      }
    } catch (error) {
      if (error instanceof StateBuildError) throw error;
      if (error instanceof SetupError) throw new SetupError(`state ${state.name}, step "${describeStep(step)}": ${error.message}`);
      // a failed migration or a statement the server refused says something about the chain
      if (isServerError(error)) throw new StateBuildError(state, step, error);
      throw error;
    }
  }
}

/** Steps run on a connection: migrations through the chain's runner (nested under savepoints, or as deployed). */
export function liveTarget(client: pg.ClientBase, migrator: Migrator, mode: PlanMode = 'deploy'): StateTarget {
  return {
    async migrate(to) {
      const run = await migrator.migrateTo(client, to, mode);
      if (run.error) throw run.error;
    },
    async sql(sql) {
      await client.query(sql);
    },
    async rows(rows) {
      // inside the migration group's transaction, one round trip for the whole history
      await runStatements(client, rows.sql);
    },
    stamp: (revision) => migrator.stamp(client, revision),
    load: (step) => step.load(client),
    async interrupted(to, after) {
      const program = planProgram(migrator.planTo(await migrator.applied(client), to), 'deploy');
      const events = await runSequentially(client, { steps: program.steps.slice(0, after), stopOnError: true });
      const failed = events.find((event) => event.outcome.kind === 'error');
      if (failed) throw migrationError(failed);
      if (transactionStatus(client) !== 'I') await client.query('ROLLBACK');
    },
  };
}

/**
 * Steps written as a SQL script for psql: the same plans the runner sends (its BEGIN/COMMIT,
 * the files' statements as written, the version rows), the fixtures and the rows.
 */
export class ScriptTarget implements StateTarget {
  readonly lines: string[] = [];
  private readonly applied = new Set<string>();

  constructor(private readonly migrator: Migrator) {}

  async migrate(to: string): Promise<void> {
    const plan = this.migrator.planTo(this.applied, to);
    if (plan.migrations.length === 0) this.lines.push('-- (nothing to apply: every revision is recorded)');
    let current: unknown;
    for (const step of planProgram(plan, 'deploy').steps) {
      const migration = step.meta!.migration;
      if (migration !== current && step.meta!.role !== 'prepare') this.lines.push(`-- revision ${migration.revision} (${this.migrator.chain.fileName(migration)}), as ${this.migrator.runner} sends it`);
      current = step.meta!.role === 'prepare' ? current : migration;
      this.lines.push(stepSql(step));
    }
    for (const migration of plan.migrations) this.applied.add(migration.revision);
  }

  async sql(sql: string): Promise<void> {
    this.lines.push(stepSql({ sql }));
  }

  async rows(rows: GeneratedRows): Promise<void> {
    this.lines.push(...rows.sql.map((sql) => stepSql({ sql })));
  }

  async interrupted(to: string, after: number): Promise<void> {
    const plan = this.migrator.planTo(this.applied, to);
    const steps = planProgram(plan, 'deploy').steps.slice(0, after);
    this.lines.push(`-- the deploy up to ${to}, as ${this.migrator.runner} sends it, killed after message ${after}`, ...steps.map((step) => stepSql(step)));
    if (openAfter(steps.map((step) => step.meta!))) this.lines.push('ROLLBACK; -- the connection ends: what was not committed is undone');
  }

  async load(step: Extract<StateStep, { kind: 'load' }>): Promise<void> {
    this.lines.push(`-- ${step.label}: not written into this script (the rows are the source's); build that database first, e.g. pg_dump SOURCE | psql`);
  }

  async stamp(revision: string): Promise<void> {
    for (const command of this.migrator.chain.versionTable.stamp(revision, this.migrator.chain.migrations)) this.lines.push(stepSql(command));
    for (const migration of this.migrator.chain.stamped(revision)) this.applied.add(migration.revision);
  }
}

/** A whole state as script lines, each step headed by a comment; the target can go on (e.g. with the migration). */
export async function stateScript(state: StartingState, history: StateHistory, migrator: Migrator, anchor: string): Promise<ScriptTarget> {
  const target = new ScriptTarget(migrator);
  let rowsIndex = 0;
  for (const step of state.steps) {
    target.lines.push(`-- ${describeStep(step)}`);
    const rows = step.kind === 'rows' ? [history[rowsIndex++] ?? { sql: [], summary: [] }] : [];
    await runStateSteps(state, [step], rows, migrator, anchor, target);
  }
  return target;
}

function isServerError(error: unknown): boolean {
  if (error instanceof Error && error.name === 'MigrationError') return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
