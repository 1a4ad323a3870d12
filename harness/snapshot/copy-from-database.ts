import pg from 'pg';
import { diffCatalogs, formatCatalogDiff, snapshotCatalog, type CatalogDifference, type CatalogSnapshot, type DiffWords } from '../catalog/index.ts';
import { SetupError } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { copyRows, copySequences, type TableCopy } from './copy-rows.ts';
import type { SourceDatabase } from './source-database.ts';

/** How the copy was made, for the report. */
export interface CopySummary {
  /** The newest revision the source records, which the chain was applied up to; none for a dump. */
  revision?: string;
  /** What the source has that the chain does not make, applied to the copy as the source prints it (a hand-applied hotfix). */
  outsideChain: string[];
  /** What differs from the chain's schema and is not copied: privileges and comments (the source's roles), extension versions. */
  notCopied: string[];
  tables: TableCopy[];
  /** Rows copied in all. */
  rows: number;
}

const SOURCE_COPY: DiffWords = { missing: 'on the source, not made by the chain', unexpected: 'made by the chain, not on the source', expected: 'source', actual: 'chain' };
/** The kinds of object the copy takes from the source as PostgreSQL prints them; a difference in any other kind is not copied. */
const COPIED_KINDS = new Set<CatalogDifference['kind']>(['constraint', 'index', 'trigger', 'function']);
/**
 * Not copied, and said so: privileges and comments (the grantees are roles of the source's
 * cluster, which the harness's server does not have; neither changes what a migration does to
 * rows), and an extension's version (what the harness's server ships).
 */
const NOT_COPIED_KINDS = new Set<CatalogDifference['kind']>(['privileges', 'comment', 'extension']);

/**
 * The source's schema and rows in the copy, read only from the source: the chain is applied up
 * to the newest revision the source's version table records (as its tool applies it), what the
 * source has outside the chain (a constraint, an index, a trigger or a function hand-applied,
 * or dropped) is done on the copy from the source's own definitions, then every row is copied
 * and the copy's catalog compared with the source's: any difference left is an error (exit 2)
 * that names it, never a snapshot that is not the source. Constraints, indexes and triggers the
 * source has are made after the rows, as pg_dump orders them (a NOT VALID constraint over old
 * violating rows, an index built once).
 */
export async function copyFromDatabase(source: SourceDatabase, target: pg.ClientBase, migrator: Migrator, sample?: number): Promise<CopySummary> {
  const applied = await migrator.applied(source.client).catch((error: unknown) => {
    throw new SetupError(`cannot read the source's ${migrator.chain.versionTable.name}: ${(error as Error).message}`);
  });
  const revision = migrator.chain.migrations.filter((m) => applied.has(m.revision)).at(-1)?.revision;
  if (revision) {
    const run = await migrator.migrateTo(target, revision);
    if (run.error) throw new SetupError(`the chain up to ${revision}, the source's newest recorded revision, does not apply to an empty database: ${run.error.message}`);
  }
  const wanted = await snapshotCatalog(source.client);
  const made = await snapshotCatalog(target);
  const all = diffCatalogs(wanted, made);
  const differences = all.filter((d) => !NOT_COPIED_KINDS.has(d.kind));
  const uncopied = differences.filter((d) => !COPIED_KINDS.has(d.kind) || (d.kind === 'trigger' && / \((disabled|enabled replica|enabled always)\)$/.test(d.expected ?? '')));
  if (uncopied.length > 0) throw notReproduced(source, revision, uncopied);
  await removeWhatTheSourceLacks(target, differences, wanted, made);
  await target.query(`SET session_replication_role = replica`).catch(() => {
    throw new SetupError(`copying a snapshot needs a superuser on the harness's server (to load rows without firing triggers, as pg_restore --disable-triggers does)`);
  });
  const tables = wanted.tables.length ? await truncateThenCopy(source, target, wanted, sample) : [];
  await addWhatTheSourceHas(target, differences, wanted);
  await copySequences(source.client, target, wanted);
  await target.query(`RESET session_replication_role`);
  await target.query('ANALYZE');
  const left = diffCatalogs(wanted, await snapshotCatalog(target)).filter((d) => !NOT_COPIED_KINDS.has(d.kind));
  if (left.length > 0) throw notReproduced(source, revision, left);
  const notCopied = formatCatalogDiff(all.filter((d) => NOT_COPIED_KINDS.has(d.kind)), SOURCE_COPY);
  return { ...(revision ? { revision } : {}), outsideChain: formatCatalogDiff(differences, SOURCE_COPY), notCopied, tables, rows: tables.reduce((sum, t) => sum + t.rows, 0) };
}

async function truncateThenCopy(source: SourceDatabase, target: pg.ClientBase, wanted: CatalogSnapshot, sample?: number): Promise<TableCopy[]> {
  // the chain's own version rows make way for the source's, which are copied like every other row
  await target.query(`TRUNCATE ${wanted.tables.join(', ')}`);
  return copyRows(source.client, target, wanted, sample);
}

/** Drops what the chain made and the source does not have (or has otherwise): foreign keys first, then other constraints, indexes, triggers. */
async function removeWhatTheSourceLacks(target: pg.ClientBase, differences: CatalogDifference[], wanted: CatalogSnapshot, made: CatalogSnapshot): Promise<void> {
  const gone = differences.filter((d) => d.change !== 'missing');
  const constraints = gone.flatMap((d) => made.constraints.filter((c) => d.kind === 'constraint' && `${c.table}.${c.name}` === d.object));
  for (const c of constraints.sort((a, b) => Number(!a.definition.startsWith('FOREIGN KEY')) - Number(!b.definition.startsWith('FOREIGN KEY')))) {
    await target.query(`ALTER TABLE ${c.table} DROP CONSTRAINT IF EXISTS ${pg.escapeIdentifier(c.name)}`);
  }
  for (const index of gone.flatMap((d) => made.indexes.filter((i) => d.kind === 'index' && `${i.table}.${i.name}` === d.object))) {
    await target.query(`DROP INDEX IF EXISTS ${schemaOf(index.table)}.${pg.escapeIdentifier(index.name)}`);
  }
  for (const d of gone.filter((d) => d.kind === 'trigger')) {
    const [table, name] = splitMember(d.object);
    await target.query(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
  }
  // a function the source defines otherwise is replaced before any constraint can call it
  for (const d of differences.filter((d) => d.kind === 'function' && d.change !== 'unexpected')) {
    const definition = wanted.objects.find((o) => o.kind === 'function' && o.name === d.object)!.definition;
    await target.query(definition);
  }
  for (const d of differences.filter((d) => d.kind === 'function' && d.change === 'unexpected')) await target.query(`DROP FUNCTION ${d.object}`);
}

/** Adds, after the rows, what the source has and the chain did not make: constraints (NOT VALID as on the source), indexes, triggers. */
async function addWhatTheSourceHas(target: pg.ClientBase, differences: CatalogDifference[], wanted: CatalogSnapshot): Promise<void> {
  const added = differences.filter((d) => d.change !== 'unexpected');
  const constraints = added.filter((d) => d.kind === 'constraint').sort((a, b) => Number(/FOREIGN KEY/.test(a.expected ?? '')) - Number(/FOREIGN KEY/.test(b.expected ?? '')));
  for (const d of constraints) {
    const constraint = wanted.constraints.find((c) => `${c.table}.${c.name}` === d.object)!;
    await target.query(`ALTER TABLE ${constraint.table} ADD CONSTRAINT ${pg.escapeIdentifier(constraint.name)} ${constraint.definition}`);
  }
  const present = await snapshotCatalog(target);
  for (const d of added.filter((d) => d.kind === 'index')) {
    const index = wanted.indexes.find((i) => `${i.table}.${i.name}` === d.object)!;
    if (!present.indexes.some((i) => i.table === index.table && i.name === index.name)) await target.query(index.definition);
  }
  for (const d of added.filter((d) => d.kind === 'trigger')) await target.query(wanted.objects.find((o) => o.kind === 'trigger' && o.name === d.object)!.definition);
}

function notReproduced(source: SourceDatabase, revision: string | undefined, differences: CatalogDifference[]): SetupError {
  const lines = formatCatalogDiff(differences, SOURCE_COPY);
  const shown = lines.slice(0, 5).join('; ') + (lines.length > 5 ? `; and ${lines.length - 5} more` : '');
  const base = revision ? `the chain up to ${revision} (the newest revision it records)` : 'the chain (the source records no revision of it)';
  return new SetupError(`cannot copy ${source.describe} from its catalog: ${base} does not make its schema, and these differ: ${shown}. Dump it with pg_dump (plain or -Fc) and pass --from-dump FILE`);
}

/** `schema.table.name` → [`schema.table`, `name`]. */
function splitMember(object: string): [string, string] {
  const parts = object.match(/"(?:[^"]|"")*"|[^.]+/g)!;
  return [parts.slice(0, -1).join('.'), parts.at(-1)!];
}

function schemaOf(object: string): string {
  return object.match(/"(?:[^"]|"")*"|[^.]+/g)![0]!;
}
