import type pg from 'pg';
import { runProgram, runSequentially, type Clock } from '../sessions/sequential-runner.ts';
import type { Program, SessionStep, StepEvent } from '../sessions/session-step.ts';
import type { StepOutcome } from '../sessions/step-outcome.ts';
import { shownName, type Migration } from './migration-file.ts';
import type { MigrationPlan, PlanStep } from './runner.ts';
import { oneLine, type SqlStatement } from './sql-statements.ts';

/**
 * `deploy`: the plan as the runner sends it (BEGIN/COMMIT of its own, transaction control of
 * the files as written). `nested`: inside a transaction the caller opened and will roll back,
 * each unit under a savepoint, which fails and rolls back exactly like the unit's own
 * transaction (only for plans that `canNest`).
 */
export type PlanMode = 'deploy' | 'nested';

/** What a migration session's step stands for: a message of the plan, or the runner's BEGIN/COMMIT. */
export interface MigrationStepMeta {
  kind: 'migration';
  migration: Migration;
  role: PlanStep['role'] | 'savepoint' | 'release';
  statements: readonly SqlStatement[];
  /** The plan unit the message belongs to. */
  unit: number;
}

export type MigrationEvent = StepEvent<MigrationStepMeta>;

/** The one program a plan becomes, whoever sends it: a deploy, a nested run, the live-deploy session, a repro. */
export function planProgram(plan: MigrationPlan, mode: PlanMode): Program<MigrationStepMeta> {
  const steps: SessionStep<MigrationStepMeta>[] = [];
  plan.units.forEach((unit, u) => {
    const meta = (role: MigrationStepMeta['role'], statements: readonly SqlStatement[] = [], migration = unit.migration): MigrationStepMeta => ({ kind: 'migration', migration, role, statements, unit: u });
    const savepoint = `ch_unit_${u + 1}`;
    const recovery = mode === 'nested' ? `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}` : 'ROLLBACK';
    const body = unit.steps.map((step): SessionStep<MigrationStepMeta> => ({ name: step.name, sql: step.sql, parameters: step.parameters, recovery, meta: meta(step.role, step.statements, step.migration) }));
    const revision = unit.migration.revision;
    if (mode === 'nested') {
      steps.push({ name: `${revision}-savepoint`, sql: `SAVEPOINT ${savepoint}`, recovery, meta: meta('savepoint') }, ...body, { name: `${revision}-release`, sql: `RELEASE SAVEPOINT ${savepoint}`, recovery, meta: meta('release') });
    } else if (unit.wrapped) {
      steps.push({ name: `${revision}-begin`, sql: 'BEGIN', recovery, meta: meta('begin') }, ...body, { name: `${revision}-commit`, sql: 'COMMIT', recovery, meta: meta('commit') });
    } else {
      steps.push(...body);
    }
  });
  return { steps, stopOnError: true };
}

/** A statement of a migration failed: everything a user needs to find it. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    readonly migration: Migration,
    /** The failing statement and its line, when it is known. */
    readonly statement: Pick<SqlStatement, 'sql' | 'line'> | undefined,
    readonly outcome: Extract<StepOutcome, { kind: 'error' }>,
    /** The tool's own check refused to apply anything (golang-migrate's dirty database, Prisma's failed migration). */
    readonly refused = false,
  ) {
    const where = statement ? `${shownName(migration)}:${statement.line}` : shownName(migration);
    const what = refused ? "the tool's own check before applying anything: it refuses to deploy" : statement ? oneLine(statement.sql) : 'its up block, sent as one query';
    super(`${where}: ${outcome.sqlstate} ${outcome.message}\n  statement: ${what}`);
  }
  get sqlstate(): string {
    return this.outcome.sqlstate;
  }
  get constraint(): string | undefined {
    return this.outcome.constraint;
  }
  get table(): string | undefined {
    return this.outcome.table;
  }
}

export interface PlanRun {
  events: MigrationEvent[];
  /** Revisions whose every message succeeded. */
  applied: string[];
  error?: MigrationError;
}

/** Sends a plan on one connection, as its runner would, and says what happened. */
export async function executePlan(client: pg.ClientBase, plan: MigrationPlan, mode: PlanMode, clock?: Clock): Promise<PlanRun> {
  // pipelined where that cannot change what the server does (see runProgram); a caller timing the steps gets each on its own
  const program = planProgram(plan, mode);
  const events = !clock && 'connection' in client ? await runProgram(client as pg.Client, program) : await runSequentially(client, program, { clock });
  return summarisePlanRun(plan, events);
}

/**
 * Which revisions a plan's events applied, and the error that stopped it: those before the
 * failing one, but none of a transaction the failure rolled back (Drizzle's and
 * node-pg-migrate's runners send every pending revision in one).
 */
export function summarisePlanRun(plan: MigrationPlan, events: readonly MigrationEvent[]): PlanRun {
  const failed = events.find((event) => event.outcome.kind === 'error');
  const error = failed ? migrationError(failed) : undefined;
  const stoppedAt = failed ? plan.migrations.indexOf(failed.step.meta!.migration) : plan.migrations.length;
  const unit = failed ? plan.units[failed.step.meta!.unit] : undefined;
  const rolledBack = new Set(unit?.wrapped ? unit.steps.map((s) => s.migration) : []);
  const applied = plan.migrations.slice(0, stoppedAt).filter((m) => !rolledBack.has(m)).map((m) => m.revision);
  return { events: [...events], applied, error };
}

/** The error of a failed migration step, pointing at the statement (and line) that failed. */
export function migrationError(event: MigrationEvent): MigrationError {
  const outcome = event.outcome as Extract<StepOutcome, { kind: 'error' }>;
  const { migration, statements, role } = event.step.meta!;
  return new MigrationError(migration, role === 'guard' ? undefined : failingStatement(statements, outcome.position), outcome, role === 'guard');
}

function failingStatement(statements: readonly SqlStatement[], position: number | undefined): Pick<SqlStatement, 'sql' | 'line'> | undefined {
  if (statements.length === 1) return atPosition(statements[0]!, position === undefined ? undefined : position - 1);
  if (position === undefined) return undefined;
  // one query carrying a whole block: the position counts from the start of the block
  const index = statements.findLastIndex((s) => s.offset <= position - 1);
  const statement = statements[index];
  return statement ? atPosition(statement, position - 1 - statement.offset) : undefined;
}

/** With a position inside the statement (syntax errors), the line of that position. */
function atPosition(statement: SqlStatement, offset: number | undefined): Pick<SqlStatement, 'sql' | 'line'> {
  if (offset === undefined || offset < 0) return statement;
  return { sql: statement.sql, line: statement.line + statement.sql.slice(0, offset).split('\n').length - 1 };
}
