export { Chain, target, beforeTarget, describeRevisionRef, type RevisionRef } from './chain.ts';
export { type ChainFormat, type Migration, compareNumbered } from './migration-file.ts';
export { Migrator } from './migrator.ts';
export { MigrationError, executePlan, migrationError, planProgram, summarisePlanRun, type MigrationEvent, type MigrationStepMeta, type PlanMode, type PlanRun } from './migration-executor.ts';
export { RUNNERS, canNest, defaultRunner, hasTransactionControl, planMigrations, type MigrationPlan, type PlanStep, type PlanUnit, type RunnerName } from './runner.ts';
export { BOOKKEEPING_TABLES, versionTableFor, type SqlCommand, type VersionTable } from './version-table.ts';
export { loadSqlParser, oneLine, splitStatements, type SqlStatement } from './sql-statements.ts';
export { interruptionPoints, openAfter, type InterruptionPoint } from './interruptions.ts';
