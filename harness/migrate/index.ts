export { Chain, target, beforeTarget, describeRevisionRef, type ChainSource, type RevisionRef } from './chain.ts';
export { type Migration, compareNumbered } from './migration-file.ts';
export { FORMATS, FORMAT_NAMES, defaultRunner, formatSpec, planMigrations, readMigrationDirectory, type ChainFormat, type FormatSpec } from './formats/index.ts';
export { Migrator } from './migrator.ts';
export { MigrationError, executePlan, migrationError, planProgram, summarisePlanRun, type MigrationEvent, type MigrationStepMeta, type PlanMode, type PlanRun } from './migration-executor.ts';
export { RUNNERS, canNest, hasTransactionControl, type MigrationPlan, type PlanStep, type PlanUnit, type RunnerName } from './runner.ts';
export { BOOKKEEPING_TABLES, readIfExists, type SqlCommand, type VersionTable } from './version-table.ts';
export { loadSqlParser, oneLine, splitStatements, type SqlStatement } from './sql-statements.ts';
export { interruptionPoints, openAfter, type InterruptionPoint } from './interruptions.ts';
