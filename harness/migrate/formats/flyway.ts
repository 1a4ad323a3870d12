import path from 'node:path';
import { crc32 } from 'node:zlib';
import type pg from 'pg';
import { SetupError } from '../../errors.ts';
import { parsedBody, type Migration } from '../migration-file.ts';
import { autocommit, oneByOne, prepareUnits, step, type PlanStep, type PlanUnit } from '../runner.ts';
import { readIfExists, stampByRecording, type SqlCommand, type VersionTable } from '../version-table.ts';
import type { FormatSpec } from './format.ts';

/**
 * Flyway (community edition, PostgreSQL), from flyway/flyway's source (flyway-core, and
 * flyway-database-postgresql; FC = flyway-core/src/main/java/org/flywaydb/core):
 * - `V<version>__<description>.sql` and `R__<description>.sql` (FC/internal/resource/ResourceNameParser.java),
 *   in subfolders too; versions compare as numbers part by part, `_` read as `.`, trailing zero
 *   parts dropped, so `1.10` > `1.9` and `1.0` = `1` (FC/api/MigrationVersion.java);
 * - repeatables come after every versioned migration, by description, and run again whenever
 *   their checksum differs from their latest row (FC/internal/info/MigrationInfoServiceImpl.java);
 * - the checksum: CRC32 of the file's lines without their line breaks, as a signed int
 *   (FC/internal/resolver/ChecksumCalculator.java);
 * - each migration in its own transaction (`executeInTransaction` defaults to true), its
 *   statements one by one, trimmed, without their `;`; a migration whose statements are all
 *   non-transactional (CREATE INDEX CONCURRENTLY…) runs without one, and one that mixes both is
 *   refused (FC/internal/sqlscript/ParserSqlScript.java); `<script>.sql.conf` with
 *   `executeInTransaction=false` turns it off (FC/internal/sqlscript/SqlScriptMetadata.java),
 *   as does the inline `-- flyway:executeInTransaction=false` of Redgate's documentation;
 * - the history row is written on Flyway's other connection, committed after the migration's
 *   own COMMIT (FC/internal/command/DbMigrate.java, flyway-database-postgresql
 *   PostgreSQLDatabase.useSingleConnection): a kill in between leaves the migration applied but
 *   not recorded. A failed migration leaves no row.
 */
export const flyway: FormatSpec = {
  name: 'flyway',
  tool: 'Flyway',
  proven: 'source and documentation',
  runners: ['flyway'],
  async detect(listing) {
    return listing.files.some((file) => VERSIONED.test(path.posix.basename(file)));
  },
  async read(listing) {
    const migrations: Migration[] = [];
    for (const file of listing.files) {
      const name = path.posix.basename(file);
      const versioned = VERSIONED.exec(name);
      const repeatable = REPEATABLE.exec(name);
      if (!versioned && !repeatable) continue;
      const raw = await listing.text(file);
      const text = withPlaceholders(raw, file);
      const conf = listing.files.includes(`${file}.conf`) ? await listing.text(`${file}.conf`) : '';
      const parsed = parsedBody(text, 0);
      const inTransaction = executeInTransaction(conf, text, parsed.statements, file);
      const version = versioned ? versioned[1]!.replace(/_/g, '.') : undefined;
      const description = (versioned ? versioned[2]! : repeatable![1]!).replace(/_/g, ' ');
      migrations.push({
        revision: version ?? `R__${repeatable![1]}`,
        description,
        file: path.join(listing.dir, file),
        shownAs: file,
        ...parsed,
        transactional: inTransaction,
        ...(versioned ? {} : { repeatable: true }),
        versionData: { version: version ?? null, description, script: file, checksum: flywayChecksum(repeatable ? text : raw) },
      });
    }
    const versioned = migrations.filter((m) => !m.repeatable).sort((a, b) => compareFlywayVersions(a.revision, b.revision));
    for (let i = 1; i < versioned.length; i++) {
      if (compareFlywayVersions(versioned[i - 1]!.revision, versioned[i]!.revision) === 0) throw new SetupError(`Found more than one migration with version ${versioned[i]!.revision} (${path.basename(versioned[i - 1]!.file)}, ${path.basename(versioned[i]!.file)}): Flyway refuses the chain`);
    }
    const repeatables = migrations.filter((m) => m.repeatable).sort((a, b) => (a.description < b.description ? -1 : a.description > b.description ? 1 : 0));
    return [...versioned, ...repeatables];
  },
  versionTable: () => new FlywayHistory(),
  plan(migrations, _runner, versionTable, options) {
    const table = versionTable as FlywayHistory;
    const units: PlanUnit[] = [...prepareUnits(migrations, versionTable, options)];
    for (const migration of migrations) {
      const body: PlanStep[] = oneByOne(migration).map((s) => ({ ...s, sql: s.sql.replace(/;\s*$/, '') }));
      const record = options.record ? [step(migration, 'record', 'record', table.record(migration)[0]!, [])] : [];
      units.push(...(migration.transactional && body.length ? [{ migration, wrapped: true, steps: body }] : autocommit(migration, body)), ...autocommit(migration, record));
    }
    return units;
  },
};

const VERSIONED = /^V([0-9][0-9._]*?)__(.*)\.sql$/i;
const REPEATABLE = /^R__(.*)\.sql$/i;

/** Flyway's version order (FC/api/MigrationVersion.java): numeric parts, missing ones 0. */
export function compareFlywayVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/\.(?=\d)/).map((p) => BigInt(p));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0n) - (y[i] ?? 0n);
    if (diff !== 0n) return diff < 0n ? -1 : 1;
  }
  return 0;
}

/** ChecksumCalculator: CRC32 over the lines, BOM and line breaks left out, as a signed 32-bit int. */
export function flywayChecksum(text: string): number {
  return crc32(Buffer.from(text.replace(/^\uFEFF/, '').replace(/[\r\n]/g, ''), 'utf8')) | 0;
}

/** Placeholder replacement is on by default: Flyway's own `${flyway:…}` are known; any other `${name}` must be configured, else Flyway refuses the file. */
function withPlaceholders(text: string, file: string): string {
  const known: Record<string, string> = { 'flyway:defaultschema': 'public', 'flyway:table': 'flyway_schema_history', 'flyway:filename': path.posix.basename(file) };
  return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
    const value = known[name.toLowerCase()];
    if (value === undefined) throw new SetupError(`${file}: No value provided for placeholder: ${whole} (Flyway replaces placeholders in every migration; the harness knows only \${flyway:defaultSchema}, \${flyway:table} and \${flyway:filename})`);
    return value;
  });
}

/** Whether Flyway runs the migration in a transaction (FC/internal/sqlscript/ParserSqlScript.java `executeInTransaction`). */
function executeInTransaction(conf: string, text: string, statements: Migration['statements'], file: string): boolean {
  const setting = /^\s*executeInTransaction\s*=\s*(\w+)\s*$/im.exec(conf)?.[1] ?? /^--\s*flyway:executeInTransaction\s*=\s*(\w+)\s*$/im.exec(text)?.[1];
  if (setting !== undefined) return setting.toLowerCase() !== 'false';
  const outside = statements.filter((s) => s.outsideTransaction);
  if (outside.length === 0) return true;
  if (outside.length === statements.length) return false;
  throw new SetupError(`${file}: Detected both transactional and non-transactional statements within the same migration (even though mixed is false). Offending statement found at line ${outside[0]!.line}: Flyway refuses it`);
}

const TABLE = '"public"."flyway_schema_history"';

export class FlywayHistory implements VersionTable {
  readonly name = 'flyway_schema_history';
  readonly tables = ['flyway_schema_history'];
  readonly stampCovers = 'revision';

  /** flyway-database-postgresql PostgreSQLDatabase.getRawCreateScript, sent as its three statements when the table is missing. */
  prepare(): SqlCommand[] {
    return [
      {
        sql: `DO $flyway$ BEGIN IF to_regclass('public.flyway_schema_history') IS NULL THEN
CREATE TABLE ${TABLE} (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE ${TABLE} ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON ${TABLE} ("success");
END IF; END $flyway$`,
      },
    ];
  }

  /** JdbcTableSchemaHistory.addAppliedMigration: the next rank, type SQL, the checksum, current_user; execution_time is Flyway's stopwatch (0 here). */
  record(migration: Migration): SqlCommand[] {
    const data = migration.versionData!;
    return [
      {
        sql: `INSERT INTO ${TABLE} ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success") VALUES ((SELECT coalesce(max("installed_rank"), 0) + 1 FROM ${TABLE}), $1, $2, 'SQL', $3, $4, current_user, 0, true)`,
        parameters: [data.version, data.description, data.script, data.checksum],
      },
    ];
  }

  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    return stampByRecording(this, revision, chain);
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const rows = await readIfExists<{ version: string | null; description: string; checksum: number | null; success: boolean }>(client, 'public.flyway_schema_history', `SELECT "version", "description", "checksum", "success" FROM ${TABLE} ORDER BY "installed_rank"`);
    const applied = new Set<string>();
    const latestRepeatable = new Map<string, number | null>();
    for (const row of rows) {
      if (!row.success) continue;
      if (row.version === null) latestRepeatable.set(row.description, row.checksum);
      else for (const m of chain) if (!m.repeatable && compareFlywayVersions(m.revision, row.version) === 0) applied.add(m.revision);
    }
    for (const m of chain) if (m.repeatable && latestRepeatable.get(m.description) === m.versionData!.checksum) applied.add(m.revision);
    return applied;
  }
}
