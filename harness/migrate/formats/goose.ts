import path from 'node:path';
import type pg from 'pg';
import { SetupError } from '../../errors.ts';
import { parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { autocommit, prepareUnits, step, type PlanStep, type PlanUnit } from '../runner.ts';
import type { SqlStatement } from '../sql-statements.ts';
import { normalise, readIfExists, stampByRecording, type SqlCommand, type VersionTable } from '../version-table.ts';
import { anyFileSays, type FormatSpec } from './format.ts';
import { NUMBERED, numberedFiles, sameNumber } from './numbered.ts';

const GOOSE_UP = /^--\s*\+goose\s+Up\b/im;

/**
 * goose (github.com/pressly/goose/v3): `<version>_<name>.sql` with `-- +goose Up` /
 * `-- +goose Down`, split into statements by goose's own parser
 * (internal/sqlparser/parser.go `ParseSQLMigration`): a statement ends at a line ending in
 * `;` (a trailing `--` comment aside), or at `-- +goose StatementEnd` after
 * `-- +goose StatementBegin`; comment lines before a statement are not sent, and the
 * statement is sent trimmed, its `;` kept. Each revision runs in
 * one transaction, its statements one by one, then its row in `goose_db_version`
 * (migration_sql.go `runSQLMigration`); `-- +goose NO TRANSACTION` sends them without one.
 */
export const goose: FormatSpec = {
  name: 'goose',
  tool: 'goose',
  proven: 'source and documentation',
  runners: ['goose'],
  detect: (listing) => anyFileSays(listing, numberedFiles(listing), GOOSE_UP),
  async read(listing) {
    const migrations: Migration[] = [];
    for (const name of numberedFiles(listing)) {
      const [, version, description] = NUMBERED.exec(name)!;
      const text = await listing.text(name);
      const parsed = parseGoose(text, name);
      const statements = parsed.messages.flatMap((m) => m.statements);
      migrations.push({ revision: version!, description: description!, file: path.join(listing.dir, name), ...parsedBody(parsed.upText, parsed.upLine), statements, messages: parsed.messages, transactional: parsed.useTx });
    }
    refuseDuplicates(migrations, sameNumber);
    return migrations;
  },
  versionTable: () => new GooseVersion(),
  plan(migrations, _runner, versionTable, options) {
    const units: PlanUnit[] = [...prepareUnits(migrations, versionTable, options)];
    for (const migration of migrations) {
      const body: PlanStep[] = (migration.messages ?? []).map((message, i) => step(migration, String(i + 1), 'statement', { sql: message.sql }, message.statements));
      const record = options.record ? versionTable.record(migration).map((command) => step(migration, 'record', 'record', command, [])) : [];
      units.push(...(migration.transactional ? [{ migration, wrapped: true, steps: [...body, ...record] }] : autocommit(migration, [...body, ...record])));
    }
    return units;
  },
};

/** goose's parser, for the up direction: the statements it sends, each with where it starts in the file. */
export function parseGoose(text: string, name: string): { messages: { sql: string; statements: SqlStatement[] }[]; useTx: boolean; upText: string; upLine: number } {
  const lines = text.split('\n');
  const messages: { sql: string; statements: SqlStatement[] }[] = [];
  let state: 'start' | 'up' | 'up-block' | 'down' = 'start';
  let useTx = true;
  let buffer: string[] = [];
  let bufferLine = 0;
  let upStart = -1;
  let upEnd = lines.length;
  // what goose sends: the statement's lines, trimmed (cleanupStatement), its `;` kept
  const flush = () => {
    const text = buffer.join('\n');
    const sql = text.trim();
    const leading = text.slice(0, text.length - text.trimStart().length).split('\n').length - 1;
    if (sql) messages.push({ sql, statements: parsedBody(sql, bufferLine + leading).statements });
    buffer = [];
  };
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    // an annotation: a `--` line that says +goose (parser.go: checked case-insensitively, no leading space)
    if (line.trim().startsWith('--') && line.includes('+goose')) {
      if (/^\s/.test(line)) throw new SetupError(`${name}:${i + 1}: a goose annotation must start the line`);
      const command = line.replaceAll('--', '').replace('+goose', '').trim().toLowerCase();
      switch (command) {
        case 'up':
          if (state !== 'start') throw new SetupError(`${name}:${i + 1}: '-- +goose Up' must come first, once`);
          state = 'up';
          upStart = i + 1;
          return;
        case 'down':
          if (state === 'start') throw new SetupError(`${name}: a goose migration must start with '-- +goose Up' annotation`);
          if (state === 'up-block' || buffer.join('\n').trim() !== '') throw new SetupError(`${name}:${i + 1}: unexpected unfinished SQL query before '-- +goose Down': missing semicolon?`);
          if (state === 'up') upEnd = i;
          buffer = [];
          state = 'down';
          return;
        case 'statementbegin':
          if (state === 'up') state = 'up-block';
          else if (state === 'start') throw new SetupError(`${name}: a goose migration must start with '-- +goose Up' annotation`);
          return;
        case 'statementend':
          if (state === 'up-block') {
            flush();
            state = 'up';
          } else if (state !== 'down') throw new SetupError(`${name}:${i + 1}: '-- +goose StatementEnd' without its StatementBegin`);
          return;
        case 'no transaction':
          useTx = false;
          return;
        case 'envsub on':
        case 'envsub off':
          if (state === 'up' || state === 'up-block') throw new SetupError(`${name}:${i + 1}: the harness does not substitute environment variables (-- +goose ENVSUB) in the Up part`);
          return;
        default:
          throw new SetupError(`${name}:${i + 1}: unknown goose annotation ${JSON.stringify(line.trim())}`);
      }
    }
    if (state === 'start' && line.trim() !== '' && !line.trim().startsWith('--')) throw new SetupError(`${name}:${i + 1}: SQL before '-- +goose Up' (goose refuses it: a migration must start with '-- +goose Up' annotation)`);
    if (state !== 'up' && state !== 'up-block') return;
    // before a statement starts, comments and empty lines are not sent; inside one, every line is
    if (buffer.length === 0 && (line === '' || line.trim().startsWith('--'))) return;
    if (buffer.length === 0) bufferLine = i;
    buffer.push(line);
    if (state === 'up' && endsWithSemicolon(line)) flush();
  });
  if (state === 'start') throw new SetupError(`${name}: no '-- +goose Up' annotation (goose refuses such a file)`);
  if (state === 'up-block') throw new SetupError(`${name}: '-- +goose StatementBegin' without its StatementEnd`);
  if (buffer.some((l) => l.trim() !== '')) throw new SetupError(`${name}: the Up part ends with a statement without a trailing semicolon (goose refuses it)`);
  return { messages, useTx, upText: lines.slice(upStart, upEnd).join('\n'), upLine: upStart };
}

/** The last word before a `--` comment ends in `;` (goose's endsWithSemicolon). */
function endsWithSemicolon(line: string): boolean {
  let previous = '';
  for (const word of line.split(/\s+/).filter(Boolean)) {
    if (word.startsWith('--')) break;
    previous = word;
  }
  return previous.endsWith(';');
}

export class GooseVersion implements VersionTable {
  readonly name = 'goose_db_version';
  readonly tables = ['goose_db_version'];
  readonly stampCovers = 'revision';

  /** internal/dialect/dialectquery/postgres.go `CreateTable`, then the initial version 0 (goose `EnsureDBVersion`). */
  prepare(): SqlCommand[] {
    return [
      {
        sql: `DO $goose$ BEGIN IF to_regclass('goose_db_version') IS NULL THEN CREATE TABLE goose_db_version (
		id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp timestamp NOT NULL DEFAULT now()
	); INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true); END IF; END $goose$`,
      },
    ];
  }

  record(migration: Migration): SqlCommand[] {
    return [{ sql: 'INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, $2)', parameters: [normalise(migration.revision), true] }];
  }

  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    return stampByRecording(this, revision, chain);
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    // up.go listAllDBVersions: every row's version counts as applied, is_applied ignored
    const rows = await readIfExists<{ version_id: string }>(client, this.name, 'SELECT version_id::text FROM goose_db_version ORDER BY id DESC');
    const versions = new Set(rows.map((row) => row.version_id));
    return new Set(chain.filter((m) => versions.has(normalise(m.revision))).map((m) => m.revision));
  }
}
