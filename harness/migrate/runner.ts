import type { ChainFormat, Migration } from './migration-file.ts';
import type { SqlStatement } from './sql-statements.ts';
import type { SqlCommand, VersionTable } from './version-table.ts';

/**
 * How a deploy tool sends a migration file to the server, which decides what is atomic:
 * - `psql-single-transaction`: `psql -X -1 -v ON_ERROR_STOP=1 -f file`: BEGIN, the file's
 *   statements one by one as written, COMMIT. A COMMIT inside the file ends that transaction
 *   and what follows runs on its own, as psql would run it.
 * - `psql`: `psql -X -v ON_ERROR_STOP=1 -f file`: each statement on its own unless the file
 *   opens a transaction itself (Alembic's offline SQL carries its own BEGIN/COMMIT).
 * - `dbmate`: BEGIN, the up block as ONE query, the version row, COMMIT (dbmate's `tx.Exec`);
 *   `transaction:false` sends the block and the version row without BEGIN/COMMIT.
 * Every runner stops at the first error; an open transaction is then rolled back, as it is
 * when the tool's connection ends.
 */
export type RunnerName = 'psql-single-transaction' | 'psql' | 'dbmate';
export const RUNNERS: readonly RunnerName[] = ['psql-single-transaction', 'psql', 'dbmate'];

export function defaultRunner(format: ChainFormat): RunnerName {
  return format === 'dbmate' ? 'dbmate' : format === 'alembic' ? 'psql' : 'psql-single-transaction';
}

/** One message a runner sends. */
export interface PlanStep extends SqlCommand {
  /** Short name for permutations: `0031-2`, `0031-begin`, `0031-record`. */
  name: string;
  migration: Migration;
  role: 'prepare' | 'begin' | 'statement' | 'record' | 'commit';
  /** The file statements this message carries: one, or a whole up block sent as one query. */
  statements: SqlStatement[];
}

/** A stretch of a plan that the runner commits as a whole: one transaction, or one autocommit message. */
export interface PlanUnit {
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

export function planMigrations(migrations: readonly Migration[], runner: RunnerName, versionTable: VersionTable, options: PlanOptions): MigrationPlan {
  const units: PlanUnit[] = [];
  const prepare = options.record && migrations.length > 0 ? versionTable.prepare() : [];
  for (const command of prepare) units.push({ migration: migrations[0]!, wrapped: false, steps: [step(migrations[0]!, 'prepare', 'prepare', command, [])] });
  for (const migration of migrations) {
    const record = options.record ? versionTable.record(migration).map((command, i) => step(migration, i === 0 ? 'record' : `record${i + 1}`, 'record', command, [])) : [];
    units.push(...unitsOf(migration, runner, record));
  }
  return { runner, migrations: [...migrations], units };
}

function unitsOf(migration: Migration, runner: RunnerName, record: PlanStep[]): PlanUnit[] {
  const oneByOne = migration.statements.map((statement, i) => step(migration, String(i + 1), 'statement', { sql: statement.sql }, [statement]));
  const asOneQuery = step(migration, 'up', 'statement', { sql: migration.upText }, migration.statements);
  switch (runner) {
    case 'psql-single-transaction':
      return [{ migration, wrapped: true, steps: [...oneByOne, ...record] }];
    case 'psql':
      return [...oneByOne, ...record].map((s) => ({ migration, wrapped: false, steps: [s] }));
    case 'dbmate': {
      if (migration.statements.length === 0) return record.length ? [{ migration, wrapped: migration.transactional, steps: record }] : [];
      // inside dbmate's transaction, statements sent one by one behave exactly like one
      // multi-statement query unless the block controls transactions itself; then (and for
      // transaction:false) only the single query is faithful (it is one implicit block)
      const single = hasTransactionControl(migration) || (!migration.transactional && migration.statements.length > 1);
      const body = single ? [asOneQuery] : oneByOne;
      if (migration.transactional) return [{ migration, wrapped: true, steps: [...body, ...record] }];
      return [...body, ...record].map((s) => ({ migration, wrapped: false, steps: [s] }));
    }
  }
}

function step(migration: Migration, suffix: string, role: PlanStep['role'], command: SqlCommand, statements: SqlStatement[]): PlanStep {
  return { ...command, name: `${migration.revision}-${suffix}`, migration, role, statements };
}

export function hasTransactionControl(migration: Migration): boolean {
  return migration.statements.some((s) => s.kind === 'TransactionStmt');
}

/**
 * Whether a plan can run inside a transaction the caller opened (each unit under a savepoint,
 * which fails and rolls back exactly like the unit's own transaction): not when a file
 * controls transactions itself or has a statement PostgreSQL refuses inside a transaction.
 */
export function canNest(plan: MigrationPlan): boolean {
  return plan.units.every((unit) => unit.steps.every((s) => s.statements.every((statement) => statement.kind !== 'TransactionStmt' && !statement.outsideTransaction)));
}
