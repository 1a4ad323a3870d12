import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError, errorMessage } from '../errors.ts';
import { loadSqlParser, splitStatements, SqlSyntaxError, type SqlStatement } from './sql-statements.ts';

/** One revision of the chain: a file `NNNN_description.sql`. */
export interface Migration {
  revision: string;
  description: string;
  file: string;
  /** The statements of the up part, without BEGIN/COMMIT (the migrator wraps each revision itself). */
  up: SqlStatement[];
  /** False when the file says `-- migrate:up transaction:false` (dbmate), e.g. for CREATE INDEX CONCURRENTLY. */
  transactional: boolean;
}

const FILE_NAME = /^(\d+)_(.+)\.sql$/;
const UP_MARKER = /^--\s*migrate:up\b(.*)$/m;
const DOWN_MARKER = /^--\s*migrate:down\b.*$/m;

/**
 * Reads a migration directory: every `NNNN_description.sql`, in revision order. A file with
 * dbmate markers contributes its `-- migrate:up` part; a file without markers is all up (what
 * `alembic upgrade A:B --sql` prints). Each problem is reported with the file it is in.
 */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SetupError(`migrations directory ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new SetupError(`migrations path ${dir} is not a directory`);
    throw new SetupError(`cannot read migrations directory ${dir}: ${errorMessage(error)}`);
  }
  const files = names.filter((name) => FILE_NAME.test(name));
  if (files.length === 0) {
    throw new SetupError(`migrations directory ${dir} has no migration files (expected NNNN_description.sql)`);
  }
  await loadSqlParser();
  const migrations = await Promise.all(files.map((name) => readMigration(dir, name)));
  migrations.sort((a, b) => compareRevisions(a.revision, b.revision));
  for (let i = 1; i < migrations.length; i++) {
    if (compareRevisions(migrations[i - 1]!.revision, migrations[i]!.revision) === 0) {
      throw new SetupError(
        `two migration files have revision ${migrations[i]!.revision}: ${path.basename(migrations[i - 1]!.file)} and ${path.basename(migrations[i]!.file)}`,
      );
    }
  }
  return migrations;
}

/** Revisions compare as numbers, so `30` and `0030` are the same revision. */
export function compareRevisions(a: string, b: string): number {
  const diff = BigInt(a) - BigInt(b);
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

async function readMigration(dir: string, name: string): Promise<Migration> {
  const file = path.join(dir, name);
  const [, revision, description] = FILE_NAME.exec(name)!;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SetupError(`cannot read migration ${file}: ${errorMessage(error)}`);
  }
  const { body, lineOffset, options } = upPart(text);
  let statements: SqlStatement[];
  try {
    statements = splitStatements(body, lineOffset);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    // A file the parser rejects is a faulty migration, not a usage error: send it to the
    // server as it is, so that applying it fails with the server's own SQLSTATE and position.
    statements = [{ sql: body.trim(), line: lineOffset + 1 + leadingBlankLines(body), kind: 'Unparsed' }];
  }
  return {
    revision: revision!,
    description: description!,
    file,
    up: statements.filter((statement) => statement.kind !== 'TransactionStmt'),
    transactional: !/\btransaction:false\b/.test(options),
  };
}

function leadingBlankLines(text: string): number {
  return /^\s*/.exec(text)![0].split('\n').length - 1;
}

function upPart(text: string): { body: string; lineOffset: number; options: string } {
  const up = UP_MARKER.exec(text);
  if (!up) return { body: text, lineOffset: 0, options: '' };
  const start = up.index + up[0].length;
  const rest = text.slice(start);
  const down = DOWN_MARKER.exec(rest);
  const body = down ? rest.slice(0, down.index) : rest;
  return { body, lineOffset: text.slice(0, start).split('\n').length - 1, options: up[1] ?? '' };
}
