import type { Migration } from './migration-file.ts';
import type { SqlStatement } from './sql-statements.ts';
import type { SqlCommand, VersionTable } from './version-table.ts';

/**
 * How a deploy tool sends a chain's files to the server, which decides what is atomic. Each
 * format's file (`formats/`) says how its tool's runner sends a revision, citing the tool's
 * source; the psql runners serve plain SQL and Alembic's offline SQL:
 * - `psql-single-transaction`: `psql -X -1 -v ON_ERROR_STOP=1 -f file`: BEGIN, the file's
 *   statements one by one as written, COMMIT. A COMMIT inside the file ends that transaction
 *   and what follows runs on its own, as psql would run it.
 * - `psql`: `psql -X -v ON_ERROR_STOP=1 -f file`: each statement on its own unless the file
 *   opens a transaction itself (Alembic's offline SQL carries its own BEGIN/COMMIT).
 * Every runner stops at the first error; an open transaction is then rolled back, as it is
 * when the tool's connection ends.
 */
export const RUNNERS = [
  'psql-single-transaction',
  'psql',
  'dbmate',
  'prisma-migrate-deploy',
  'drizzle-migrate',
  'node-pg-migrate',
  'node-pg-migrate-no-single-transaction',
  'flyway',
  'golang-migrate',
  'goose',
  'sqitch',
] as const;
export type RunnerName = (typeof RUNNERS)[number];

/** One message a runner sends. */
export interface PlanStep extends SqlCommand {
  /** Short name for permutations: `0031-2`, `0031-begin`, `0031-record`. */
  name: string;
  migration: Migration;
  /**
   * `guard`: a read the tool makes before applying anything, which refuses the deploy when it
   * fails (golang-migrate's dirty flag, Prisma's failed migrations). `mark`: what the tool
   * records before a revision runs, which, left behind by a failure or a kill, makes the next
   * deploy refuse (golang-migrate's `dirty = true`, Prisma's row without `finished_at`).
   */
  role: 'prepare' | 'guard' | 'mark' | 'begin' | 'statement' | 'record' | 'commit';
  /** The file statements this message carries: one, or a whole up block sent as one query. */
  statements: SqlStatement[];
}

/** A stretch of a plan that the runner commits as a whole: one transaction (of one revision, or of several), or one autocommit message. */
export interface PlanUnit {
  /** The unit's first revision (a transaction over several revisions holds the others' steps too). */
  migration: Migration;
  /** The runner opens and commits a transaction around the steps. */
  wrapped: boolean;
  steps: PlanStep[];
}

/** What a runner sends to apply some revisions: every message, in order. */
export interface MigrationPlan {
  runner: RunnerName;
  migrations: Migration[];
  units: PlanUnit[];
}

export interface PlanOptions {
  /** Record each revision in the version table (false when re-running a revision to test idempotency). */
  record: boolean;
}

export function step(migration: Migration, suffix: string, role: PlanStep['role'], command: SqlCommand, statements: SqlStatement[]): PlanStep {
  return { ...command, name: `${migration.revision}-${suffix}`, migration, role, statements };
}

/** The version table's commands for a revision, as steps (none when not recording). */
export function recordSteps(migration: Migration, commands: readonly SqlCommand[], suffix = 'record'): PlanStep[] {
  return commands.map((command, i) => step(migration, i === 0 ? suffix : `${suffix}${i + 1}`, 'record', command, []));
}

/** The version table's `prepare` (creating it), once before anything, as its own autocommit units. */
export function prepareUnits(migrations: readonly Migration[], versionTable: VersionTable, options: PlanOptions): PlanUnit[] {
  if (!options.record || migrations.length === 0) return [];
  return versionTable.prepare().map((command, i) => ({ migration: migrations[0]!, wrapped: false, steps: [step(migrations[0]!, i === 0 ? 'prepare' : `prepare${i + 1}`, 'prepare', command, [])] }));
}

/** The version table created if needed, then the tool's check that refuses the deploy (a dirty flag, a failed row): autocommit messages before anything else. */
export function preparedAndGuarded(first: Migration, versionTable: VersionTable, guard: SqlCommand, guardName: string): PlanUnit[] {
  return [...prepareUnits([first], versionTable, { record: true }), ...autocommit(first, [step(first, guardName, 'guard', guard, [])])];
}

/** Each statement of a revision as its own message, as written. */
export function oneByOne(migration: Migration): PlanStep[] {
  return migration.statements.map((statement, i) => step(migration, String(i + 1), 'statement', { sql: statement.sql }, [statement]));
}

/** A revision's up part as ONE query (the simple query protocol: PostgreSQL runs it as one implicit transaction unless it controls transactions itself). */
export function asOneQuery(migration: Migration): PlanStep {
  return step(migration, 'up', 'statement', { sql: migration.upText }, migration.statements);
}

/** Autocommit units, one message each. */
export function autocommit(migration: Migration, steps: readonly PlanStep[]): PlanUnit[] {
  return steps.map((s) => ({ migration, wrapped: false, steps: [s] }));
}

/** The psql runners: each file as psql sends it with `-1` (one transaction) or without. */
export function psqlUnits(migration: Migration, runner: 'psql' | 'psql-single-transaction', record: PlanStep[]): PlanUnit[] {
  if (runner === 'psql-single-transaction') return [{ migration, wrapped: true, steps: [...oneByOne(migration), ...record] }];
  return autocommit(migration, [...oneByOne(migration), ...record]);
}

export function hasTransactionControl(migration: Migration): boolean {
  return migration.statements.some((s) => s.kind === 'TransactionStmt');
}

/**
 * The plan with the files' own transaction control left out (a BEGIN/COMMIT of Sqitch's or
 * Alembic's, inside a whole-file query too): NOT how the tool sends it, but what lets the
 * derivation ask "does the migration accept this row?" under a savepoint. Only that question:
 * every verdict runs the plan as the tool sends it.
 */
export function withoutTransactionControl(plan: MigrationPlan): MigrationPlan {
  const units = plan.units.map((unit) => ({
    ...unit,
    steps: unit.steps.flatMap((s) => {
      const kept = s.statements.filter((statement) => statement.kind !== 'TransactionStmt');
      if (kept.length === s.statements.length) return [s];
      if (kept.length === 0) return [];
      let sql = '';
      const statements = kept.map((statement) => {
        if (sql) sql += ';\n';
        const placed = { ...statement, offset: sql.length };
        sql += statement.sql.replace(/;\s*$/, '');
        return placed;
      });
      return [{ ...s, sql, statements }];
    }),
  }));
  return { ...plan, units };
}

/**
 * Whether a plan can run inside a transaction the caller opened (each unit under a savepoint,
 * which fails and rolls back exactly like the unit's own transaction): not when a file
 * controls transactions itself or has a statement PostgreSQL refuses inside a transaction.
 */
export function canNest(plan: MigrationPlan): boolean {
  return plan.units.every((unit) => unit.steps.every((s) => s.statements.every((statement) => statement.kind !== 'TransactionStmt' && !statement.outsideTransaction)));
}
