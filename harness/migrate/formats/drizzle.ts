import { createHash } from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import { SetupError } from '../../errors.ts';
import { parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { prepareUnits, step, type PlanStep, type PlanUnit } from '../runner.ts';
import { readIfExists, stampByRecording, type SqlCommand, type VersionTable } from '../version-table.ts';
import type { FormatSpec } from './format.ts';

const JOURNAL = 'meta/_journal.json';
const BREAKPOINT = '--> statement-breakpoint';

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
  breakpoints?: boolean;
}

/**
 * Drizzle Kit's SQL migrations, applied by drizzle-orm's node-postgres migrator
 * (drizzle-orm/src/migrator.ts `readMigrationFiles`, drizzle-orm/src/pg-core/dialect.ts
 * `PgDialect.migrate`):
 * - the order is `meta/_journal.json`'s entries; each is `<tag>.sql`, split at
 *   `--> statement-breakpoint`, its hash the SHA-256 of the whole file, its `created_at` the
 *   entry's `when`;
 * - `drizzle.__drizzle_migrations(id serial, hash text, created_at bigint)`; a revision is
 *   pending when its `when` is after the last row's `created_at`;
 * - every pending revision runs in ONE transaction: each part as its own query, then its row.
 */
export const drizzle: FormatSpec = {
  name: 'drizzle',
  tool: 'Drizzle Kit (drizzle-orm migrate)',
  proven: 'real tool',
  runners: ['drizzle-migrate'],
  async detect(listing) {
    return listing.files.includes(JOURNAL);
  },
  async read(listing) {
    let entries: JournalEntry[];
    try {
      entries = (JSON.parse(await listing.text(JOURNAL)) as { entries: JournalEntry[] }).entries;
    } catch (error) {
      throw new SetupError(`${path.join(listing.dir, JOURNAL)} is not Drizzle Kit's journal: ${error instanceof Error ? error.message : String(error)}`);
    }
    const migrations: Migration[] = [];
    for (const entry of entries) {
      const name = `${entry.tag}.sql`;
      if (!listing.files.includes(name)) throw new SetupError(`${JOURNAL} lists ${entry.tag}, but ${path.join(listing.dir, name)} does not exist (drizzle-orm's migrator stops there too: "No file ${name} found")`);
      const text = await listing.text(name);
      let offset = 0;
      const messages = text.split(BREAKPOINT).map((part) => {
        const line = text.slice(0, offset).split('\n').length - 1;
        const message = { sql: part, statements: parsedBody(part, line).statements };
        offset += part.length + BREAKPOINT.length;
        return message;
      });
      migrations.push({
        revision: entry.tag,
        description: entry.tag.replace(/^\d+_/, ''),
        file: path.join(listing.dir, name),
        ...parsedBody(text, 0),
        // every part is sent, an empty one too (it does nothing)
        messages,
        transactional: true,
        versionData: { hash: createHash('sha256').update(text).digest('hex'), created_at: entry.when },
      });
    }
    refuseDuplicates(migrations);
    return migrations;
  },
  versionTable: () => new DrizzleMigrations(),
  plan(migrations, _runner, versionTable, options) {
    if (migrations.length === 0) return [];
    // PgDialect.migrate: `session.transaction(async (tx) => { for each pending migration: each part, then its row })`
    const steps: PlanStep[] = migrations.flatMap((migration) => [
      ...(migration.messages ?? []).map((message, i) => step(migration, String(i + 1), 'statement', { sql: message.sql }, message.statements)),
      ...(options.record ? versionTable.record(migration).map((command) => step(migration, 'record', 'record', command, [])) : []),
    ]);
    const unit: PlanUnit = { migration: migrations[0]!, wrapped: true, steps };
    return [...prepareUnits(migrations, versionTable, options), ...(steps.length ? [unit] : [])];
  },
};

const TABLE = '"drizzle"."__drizzle_migrations"';

export class DrizzleMigrations implements VersionTable {
  readonly name = TABLE;
  readonly tables = ['drizzle.__drizzle_migrations'];
  readonly stampCovers = 'ancestors';

  prepare(): SqlCommand[] {
    return [{ sql: 'CREATE SCHEMA IF NOT EXISTS "drizzle"' }, { sql: `CREATE TABLE IF NOT EXISTS ${TABLE} (\n\t\t\tid SERIAL PRIMARY KEY,\n\t\t\thash text NOT NULL,\n\t\t\tcreated_at bigint\n\t\t)` }];
  }

  record(migration: Migration): SqlCommand[] {
    return [{ sql: `insert into ${TABLE} ("hash", "created_at") values($1, $2)`, parameters: [migration.versionData!.hash, migration.versionData!.created_at] }];
  }

  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    return stampByRecording(this, revision, chain);
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const last = (await readIfExists<{ created_at: string | null }>(client, 'drizzle.__drizzle_migrations', `SELECT created_at::text FROM ${TABLE} ORDER BY created_at DESC LIMIT 1`))[0];
    if (!last || last.created_at === null) return new Set();
    return new Set(chain.filter((m) => Number(m.versionData!.created_at) <= Number(last.created_at)).map((m) => m.revision));
  }
}
