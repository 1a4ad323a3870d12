import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError, errorMessage } from '../errors.ts';
import { leadingBlankLines, loadSqlParser, splitStatements, SqlSyntaxError, type SqlStatement } from './sql-statements.ts';

/**
 * How a chain is written, which decides how revisions are named and recorded:
 * - `plain`: `NNNN_description.sql`, the whole file is the up migration;
 * - `dbmate`: `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down` blocks;
 * - `alembic`: the offline SQL `alembic upgrade A:B --sql` prints, one file per revision,
 *   which keeps `alembic_version` itself; revision ids come from the file, not its name.
 */
export type ChainFormat = 'plain' | 'dbmate' | 'alembic';

/** One revision of the chain, as written. */
export interface Migration {
  revision: string;
  description: string;
  file: string;
  /** The up part as written: transaction-control statements included, never stripped. */
  statements: SqlStatement[];
  /** The up part as one text (dbmate sends it to the server as one query), its first line, and where it starts in the file. */
  upText: string;
  upLine: number;
  upOffset: number;
  /** False when the file says `-- migrate:up transaction:false` (dbmate). */
  transactional: boolean;
  /** Alembic: the revision this one upgrades from (undefined for the first). */
  downRevision?: string;
}

const NUMBERED = /^(\d+)_?(.*)\.sql$/;
const UP_MARKER = /^--\s*migrate:up(\s*$|\s+\S+.*$)/m;
const DOWN_MARKER = /^--\s*migrate:down\b.*$/m;
const ALEMBIC_WRITE = /\b(insert\s+into|update)\s+("?\w+"?\.)?"?alembic_version"?/i;
const ALEMBIC_VERSION = /version_num\s*=\s*'([^']+)'|\(version_num\)\s*VALUES\s*\('([^']+)'\)/gi;
const ALEMBIC_STEP = /^--\s*Running upgrade\s+(\S*)\s*->\s*(\S+)\s*$/gm;

/** Reads a migration directory: every revision, in chain order, with the chain's format. */
export async function readMigrationDirectory(dir: string): Promise<{ format: ChainFormat; migrations: Migration[] }> {
  const files = await sqlFiles(dir);
  await loadSqlParser();
  const texts = await Promise.all(files.map(async (name) => ({ name, text: await readText(path.join(dir, name)) })));
  if (texts.some(({ text }) => ALEMBIC_WRITE.test(text))) return { format: 'alembic', migrations: alembicChain(dir, texts) };
  const numbered = texts.filter(({ name }) => NUMBERED.test(name));
  if (numbered.length === 0) throw new SetupError(`migrations directory ${dir} has no migration files (expected NNNN_description.sql, dbmate's <version>_<name>.sql, or Alembic's offline SQL)`);
  const format: ChainFormat = numbered.some(({ text }) => UP_MARKER.test(text)) ? 'dbmate' : 'plain';
  const migrations = numbered.map(({ name, text }) => numberedMigration(dir, name, text));
  migrations.sort((a, b) => compareNumbered(a.revision, b.revision));
  for (let i = 1; i < migrations.length; i++) {
    if (compareNumbered(migrations[i - 1]!.revision, migrations[i]!.revision) === 0) {
      throw new SetupError(`two migration files have revision ${migrations[i]!.revision}: ${path.basename(migrations[i - 1]!.file)} and ${path.basename(migrations[i]!.file)}`);
    }
  }
  return { format, migrations };
}

/** Numbered revisions compare as numbers, so `30` and `0030` are the same revision. */
export function compareNumbered(a: string, b: string): number {
  const diff = BigInt(a) - BigInt(b);
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

async function sqlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SetupError(`migrations directory ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new SetupError(`migrations path ${dir} is not a directory`);
    throw new SetupError(`cannot read migrations directory ${dir}: ${errorMessage(error)}`);
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SetupError(`cannot read migration ${file}: ${errorMessage(error)}`);
  }
}

function numberedMigration(dir: string, name: string, text: string): Migration {
  const [, revision, description] = NUMBERED.exec(name)!;
  const up = upPart(text, name);
  return { revision: revision!, description: description!, file: path.join(dir, name), ...parsed(up.body, up.line, up.offset), transactional: !/\btransaction:false\b/.test(up.options) };
}

/**
 * The offline SQL of one Alembic revision: its id is the version it writes into
 * `alembic_version`; its parent is named by the `-- Running upgrade A -> B` comment.
 * Revisions are put in chain order by those links, whatever the files are called.
 */
function alembicChain(dir: string, texts: { name: string; text: string }[]): Migration[] {
  const byRevision = new Map<string, Migration>();
  for (const { name, text } of texts) {
    const steps = [...text.matchAll(ALEMBIC_STEP)];
    const written = [...text.matchAll(ALEMBIC_VERSION)].map((match) => match[1] ?? match[2]!);
    if (steps.length > 1) {
      throw new SetupError(`${name} holds ${steps.length} Alembic revisions (${steps.map((s) => s[2]).join(', ')}): write one file per revision, e.g. alembic upgrade ${steps[0]![1] || 'base'}:${steps[0]![2]} --sql`);
    }
    const revision = steps[0]?.[2] ?? written.at(-1);
    if (!revision) throw new SetupError(`${name} does not look like Alembic offline SQL: it neither says "-- Running upgrade A -> B" nor writes alembic_version`);
    if (byRevision.has(revision)) throw new SetupError(`two migration files are Alembic revision ${revision}: ${path.basename(byRevision.get(revision)!.file)} and ${name}`);
    const down = steps[0]?.[1] || undefined;
    byRevision.set(revision, { revision, description: name.replace(/\.sql$/, ''), file: path.join(dir, name), ...parsed(text, 0), transactional: true, downRevision: down });
  }
  const ordered: Migration[] = [];
  let next = [...byRevision.values()].filter((m) => m.downRevision === undefined || !byRevision.has(m.downRevision));
  if (next.length !== 1) throw new SetupError(`the Alembic revisions in ${dir} do not form one chain: ${next.length === 0 ? 'every revision has a parent' : `${next.map((m) => m.revision).join(', ')} all start it`}`);
  while (next.length === 1) {
    ordered.push(next[0]!);
    const parent = next[0]!.revision;
    next = [...byRevision.values()].filter((m) => m.downRevision === parent);
    if (next.length > 1) throw new SetupError(`Alembic revision ${parent} has ${next.length} children (${next.map((m) => m.revision).join(', ')}): the harness verifies one linear chain`);
  }
  if (ordered.length !== byRevision.size) throw new SetupError(`some Alembic revisions in ${dir} are not linked to the chain: ${[...byRevision.keys()].filter((r) => !ordered.some((m) => m.revision === r)).join(', ')}`);
  return ordered;
}

function parsed(body: string, lineOffset: number, upOffset = 0): Pick<Migration, 'statements' | 'upText' | 'upLine' | 'upOffset'> {
  let statements: SqlStatement[];
  try {
    statements = splitStatements(body, lineOffset);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    // A file the parser rejects is a faulty migration, not a usage error: send it to the
    // server as it is, so that applying it fails with the server's own SQLSTATE and position.
    statements = [{ sql: body.trim(), line: lineOffset + 1 + leadingBlankLines(body), offset: body.length - body.trimStart().length, kind: 'Unparsed', outsideTransaction: false }];
  }
  return { statements, upText: body, upLine: lineOffset + 1, upOffset };
}

/** The `-- migrate:up` block of a dbmate file (the marker line included, as dbmate sends it). */
function upPart(text: string, name: string): { body: string; line: number; offset: number; options: string } {
  const up = UP_MARKER.exec(text);
  if (!up) return { body: text, line: 0, offset: 0, options: '' };
  if (DOWN_MARKER.exec(text) && DOWN_MARKER.exec(text)!.index < up.index) throw new SetupError(`${name}: '-- migrate:down' comes before '-- migrate:up'`);
  const rest = text.slice(up.index);
  const down = DOWN_MARKER.exec(rest);
  return { body: down ? rest.slice(0, down.index) : rest, line: text.slice(0, up.index).split('\n').length - 1, offset: up.index, options: up[1] ?? '' };
}
