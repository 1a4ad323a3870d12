import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError, errorMessage } from '../errors.ts';
import type { DirectoryListing } from './formats/format.ts';
import { leadingBlankLines, splitStatements, SqlSyntaxError, type SqlStatement } from './sql-statements.ts';


/** One revision of the chain, as written. */
export interface Migration {
  revision: string;
  description: string;
  file: string;
  /** How messages name the file: its path in the chain's directory when the name alone says little (`deploy/x.sql`, `<timestamp>_x/migration.sql`); else its name. */
  shownAs?: string;
  /** The up part as written: transaction-control statements included, never stripped. */
  statements: SqlStatement[];
  /** The up part as one text (tools that send a file as one query send this), its first line, and where it starts in the file. */
  upText: string;
  upLine: number;
  upOffset: number;
  /** False when the file says it runs outside a transaction (dbmate `transaction:false`, goose `NO TRANSACTION`, Flyway `executeInTransaction=false`). */
  transactional: boolean;
  /** Alembic: the revision this one upgrades from (undefined for the first). */
  downRevision?: string;
  /** Flyway: a repeatable (`R__`) migration, applied after the versioned ones whenever its checksum changed. */
  repeatable?: boolean;
  /**
   * The messages the tool sends for the up part, when it splits the file itself (goose's
   * statements, Drizzle's breakpoints): each text with the parsed statements it holds.
   * Otherwise the runner sends the parsed statements one by one, or the whole up part at once.
   */
  messages?: readonly { sql: string; statements: SqlStatement[] }[];
  /** What the tool writes into its version table for this revision besides its name (checksum, hash, timestamps from the plan). */
  versionData?: Readonly<Record<string, string | number | null>>;
}

/** The file of a revision as messages name it. */
export function shownName(migration: Migration): string {
  return migration.shownAs ?? path.basename(migration.file);
}

/** Numbered revisions compare as numbers, so `30` and `0030` are the same revision. */
export function compareNumbered(a: string, b: string): number {
  const diff = BigInt(a) - BigInt(b);
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

/** A directory's files, two levels deep (Prisma keeps one folder per revision, Drizzle its journal in `meta/`). */
export async function listDirectory(dir: string): Promise<DirectoryListing> {
  let top: import('node:fs').Dirent[];
  try {
    top = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SetupError(`migrations directory ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new SetupError(`migrations path ${dir} is not a directory`);
    throw new SetupError(`cannot read migrations directory ${dir}: ${errorMessage(error)}`);
  }
  const files: string[] = [];
  for (const entry of top) {
    // a folder named like a migration file is listed as one, so that reading it fails as it would for the tool
    if (entry.isFile() || entry.isSymbolicLink() || (entry.isDirectory() && entry.name.endsWith('.sql'))) files.push(entry.name);
    else if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') {
      for (const inner of await readdir(path.join(dir, entry.name), { withFileTypes: true }).catch(() => [])) {
        if (inner.isFile() || inner.isSymbolicLink()) files.push(`${entry.name}/${inner.name}`);
      }
    }
  }
  files.sort();
  const texts = new Map<string, Promise<string>>();
  return { dir, files, text: (file) => texts.get(file) ?? texts.set(file, readText(path.join(dir, file))).get(file)! };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SetupError(`cannot read migration ${file}: ${errorMessage(error)}`);
  }
}

/**
 * The statements of a migration's up part, with the lines they start on in the file. A text
 * the parser rejects is a faulty migration, not a usage error: it is kept whole, so that
 * applying it fails with the server's own SQLSTATE and position.
 */
export function parsedBody(body: string, lineOffset: number, upOffset = 0): Pick<Migration, 'statements' | 'upText' | 'upLine' | 'upOffset'> {
  let statements: SqlStatement[];
  try {
    statements = splitStatements(body, lineOffset);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    statements = [{ sql: body.trim(), line: lineOffset + 1 + leadingBlankLines(body), offset: body.length - body.trimStart().length, kind: 'Unparsed', outsideTransaction: false }];
  }
  return { statements, upText: body, upLine: lineOffset + 1, upOffset };
}

/** The lines before `index` in `text`: where a part starting there begins, as a line offset. */
export function linesBefore(text: string, index: number): number {
  return text.slice(0, index).split('\n').length - 1;
}

/** Two revisions with one name are a mistake the tool would refuse too. */
export function refuseDuplicates(migrations: readonly Migration[], same: (a: string, b: string) => boolean = (a, b) => a === b): void {
  for (let i = 0; i < migrations.length; i++) {
    for (let j = i + 1; j < migrations.length; j++) {
      if (same(migrations[i]!.revision, migrations[j]!.revision)) {
        throw new SetupError(`two migration files have revision ${migrations[j]!.revision}: ${path.basename(migrations[i]!.file)} and ${path.basename(migrations[j]!.file)}`);
      }
    }
  }
}
