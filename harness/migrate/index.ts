export { loadMigrations, compareRevisions, type Migration } from './migration-file.ts';
export { Migrator, MigrationError, DEFAULT_VERSION_TABLE, BOOKKEEPING_TABLES, type MigrateResult, type ApplyOptions } from './migrator.ts';
export { splitStatements, loadSqlParser, type SqlStatement } from './sql-statements.ts';
