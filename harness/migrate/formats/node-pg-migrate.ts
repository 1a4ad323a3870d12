import path from 'node:path';
import type pg from 'pg';
import { compareNumbered, linesBefore, parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { asOneQuery, prepareUnits, step, type PlanStep, type PlanUnit } from '../runner.ts';
import { readIfExists, stampByRecording, type SqlCommand, type VersionTable } from '../version-table.ts';
import { anyFileSays, type FormatSpec } from './format.ts';
import { numberedFiles } from './numbered.ts';

/** sqlMigration.ts `createMigrationCommentRegex`: `-- Up Migration` / `-- Down Migration`, any case. */
const marker = (direction: 'up' | 'down') => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, 'im');
const FILE = /^(\d+)[-_](.*)\.sql$/;

/**
 * node-pg-migrate's SQL migrations (salsita/node-pg-migrate: src/sqlMigration.ts,
 * src/migration.ts, src/runner.ts):
 * - `<timestamp>_<name>.sql`, in name order; the up part runs from `-- Up Migration` to
 *   `-- Down Migration`, the Up marker line included, and is sent as ONE query (`pgm.sql(up)`,
 *   which appends `;` when the text does not end with one);
 * - `pgmigrations(id serial, name varchar(255), run_on timestamp)`, a row per migration,
 *   named by the file name without `.sql`;
 * - by default (`--single-transaction`, the CLI's default) every pending migration runs in ONE
 *   transaction, each followed by its row; `--no-single-transaction` gives each migration its
 *   own transaction (runner `node-pg-migrate-no-single-transaction`).
 */
export const nodePgMigrate: FormatSpec = {
  name: 'node-pg-migrate',
  tool: 'node-pg-migrate',
  proven: 'real tool',
  runners: ['node-pg-migrate', 'node-pg-migrate-no-single-transaction'],
  detect: (listing) => anyFileSays(listing, numberedFiles(listing, FILE), marker('up')),
  async read(listing) {
    const migrations: Migration[] = [];
    for (const file of numberedFiles(listing, FILE)) {
      const text = await listing.text(file);
      const up = upPart(text);
      const name = file.replace(/\.sql$/, '');
      // operations/sql.ts: `pgm.sql(text)` appends `;` when the text does not end with one
      const body = up.body.endsWith(';') ? up.body : `${up.body};`;
      migrations.push({ revision: name, description: FILE.exec(file)![2]!, file: path.join(listing.dir, file), ...parsedBody(body, linesBefore(text, up.offset), up.offset), transactional: true });
    }
    refuseDuplicates(migrations);
    // utils/comparators.ts compareMigrationFileNames: the numeric prefix, then the name
    return migrations.sort((a, b) => compareNumbered(FILE.exec(path.basename(a.file))![1]!, FILE.exec(path.basename(b.file))![1]!) || a.revision.localeCompare(b.revision, undefined, { numeric: true, ignorePunctuation: true }));
  },
  versionTable: () => new PgMigrations(),
  plan(migrations, runner, versionTable, options) {
    const perMigration = (migration: Migration): PlanStep[] => [
      ...(migration.statements.length ? [asOneQuery(migration)] : []),
      ...(options.record ? versionTable.record(migration).map((command) => step(migration, 'record', 'record', command, [])) : []),
    ];
    const units: PlanUnit[] = runner === 'node-pg-migrate-no-single-transaction'
      ? migrations.map((migration) => ({ migration, wrapped: true, steps: perMigration(migration) }))
      : migrations.length ? [{ migration: migrations[0]!, wrapped: true, steps: migrations.flatMap(perMigration) }] : [];
    return [...prepareUnits(migrations, versionTable, options), ...units.filter((unit) => unit.steps.length > 0)];
  },
};

/** The up part: from the Up marker to the Down marker (or the whole file without markers). */
function upPart(text: string): { body: string; offset: number } {
  const upStart = text.search(marker('up'));
  const downStart = text.search(marker('down'));
  // sqlMigration.ts: without an Up marker the whole file is the up migration, a Down part included
  if (upStart < 0) return { body: text, offset: 0 };
  return { body: text.slice(upStart, downStart > upStart ? downStart : undefined), offset: upStart };
}

const TABLE = '"public"."pgmigrations"';

export class PgMigrations implements VersionTable {
  readonly name = 'pgmigrations';
  readonly tables = ['pgmigrations'];
  readonly stampCovers = 'revision';

  /** runner.ts `ensureMigrationsTable`: created when missing. */
  prepare(): SqlCommand[] {
    return [{ sql: `CREATE TABLE IF NOT EXISTS ${TABLE} ( id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)` }];
  }

  record(migration: Migration): SqlCommand[] {
    return [{ sql: `INSERT INTO ${TABLE} (name, run_on) VALUES ($1, NOW());`, parameters: [migration.revision] }];
  }

  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    return stampByRecording(this, revision, chain);
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const rows = await readIfExists<{ name: string }>(client, 'public.pgmigrations', `SELECT name FROM ${TABLE} ORDER BY run_on, id`);
    const names = new Set(rows.map((row) => row.name));
    return new Set(chain.filter((m) => names.has(m.revision)).map((m) => m.revision));
  }
}
