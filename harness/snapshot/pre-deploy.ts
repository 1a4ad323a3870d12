import pg from 'pg';
import { diffCatalogs, findViolations, guardedQuery, notNullRows, snapshotCatalog, violatingRows, type CatalogDifference, type CatalogSnapshot, type ViolatingRows } from '../catalog/index.ts';
import type { Migrator } from '../migrate/index.ts';
import { withClient, type ScratchDatabases } from '../postgres/index.ts';

/** One constraint the pending revisions add (or replace, or validate), and what the snapshot's rows say of it today. */
export interface PendingConstraint {
  kind: ViolatingRows['kind'];
  table: string;
  name: string;
  /** As the target prints it. */
  definition: string;
  /** Added NOT VALID: existing rows are not checked by the migration, but every UPDATE of one is. */
  notValid: boolean;
  /** Rows that violate it now (for UNIQUE: the rows beyond the first of each key). */
  violating?: number;
  /** The first violating rows' keys. */
  keys?: string[];
  /** For UNIQUE: the first duplicate groups, each key with its row count. */
  groups?: string[];
  /** The SELECT that lists every violating row (run it on the source). */
  select?: string;
  /** Why it could not be counted before the migration (its table or column comes with it). */
  uncounted?: string;
  /** For NOT VALID: which statements PostgreSQL would refuse on the violating rows. */
  refused?: string;
}

export interface PreDeployReport {
  /** The revisions the snapshot records, and those the deploy would apply. */
  recorded?: string;
  pending: string[];
  constraints: PendingConstraint[];
  /** What the snapshot has that the chain up to its recorded revision does not make (a hotfix, an index by hand): kept as it is by a migration that does not touch it. */
  outsideChain: CatalogDifference[];
}

/**
 * "Is it safe to run this on PROD right now", answered without running the migration: for each
 * constraint the pending revisions add, replace or validate (the target's catalog against the
 * snapshot's), the snapshot's rows that violate it now; for UNIQUE the duplicate groups, for a
 * FOREIGN KEY the orphans, for NOT NULL the NULLs; for one added NOT VALID, the old rows that
 * could no longer be updated without being fixed. Read on the snapshot's template, and on a
 * scratch database holding the chain up to the snapshot's recorded revision (what the snapshot
 * has outside the chain).
 */
export async function preDeployReport(databases: ScratchDatabases, template: string, migrator: Migrator, to: string, reference: CatalogSnapshot): Promise<PreDeployReport> {
  const { catalog, applied, constraints } = await withClient(databases.server.connectionConfig(template), async (client) => {
    const catalog = await snapshotCatalog(client);
    const applied = await migrator.applied(client);
    const constraints = await Promise.all(pendingConstraints(reference, catalog).map((pending) => countNow(client, pending, catalog)));
    return { catalog, applied, constraints: constraints.map((c) => c.pending) };
  });
  const recorded = migrator.chain.migrations.filter((m) => applied.has(m.revision)).at(-1)?.revision;
  const pending = migrator.chain.pending(applied, to).map((m) => m.revision);
  return { ...(recorded ? { recorded } : {}), pending, constraints, outsideChain: await outsideChain(databases, migrator, recorded, catalog) };
}

/** The target's constraints the snapshot does not have as the target defines them, and its new NOT NULLs. */
function pendingConstraints(reference: CatalogSnapshot, catalog: CatalogSnapshot): { pending: PendingConstraint; rows: ViolatingRows | undefined }[] {
  const found: { pending: PendingConstraint; rows: ViolatingRows | undefined }[] = [];
  for (const c of reference.constraints) {
    const now = catalog.constraints.find((x) => x.table === c.table && x.name === c.name);
    if (now && now.definition === c.definition && (now.validated || !c.validated)) continue;
    const rows = violatingRows(c.table, c.name, c.definition.replace(/ NOT VALID$/, ''), reference);
    if (rows) found.push({ pending: { kind: rows.kind, table: c.table, name: c.name, definition: c.definition, notValid: !c.validated }, rows });
  }
  for (const index of reference.indexes.filter((i) => /^CREATE UNIQUE INDEX/.test(i.definition))) {
    if (catalog.indexes.some((x) => x.table === index.table && x.name === index.name && x.definition === index.definition && x.valid)) continue;
    if (reference.constraints.some((c) => c.table === index.table && c.name === index.name)) continue;
    const rows = violatingRows(index.table, index.name, index.definition, reference);
    if (rows) found.push({ pending: { kind: 'unique', table: index.table, name: index.name, definition: index.definition, notValid: false }, rows });
  }
  for (const column of reference.columns.filter((c) => c.notNull)) {
    const now = catalog.columns.find((x) => x.table === column.table && x.name === column.name);
    if (!now || now.notNull) continue;
    const rows = notNullRows(column.table, pg.escapeIdentifier(column.name), reference);
    found.push({ pending: { kind: 'not null', table: column.table, name: column.name, definition: `${column.name} NOT NULL`, notValid: false }, rows });
  }
  return found;
}

async function countNow(client: pg.ClientBase, item: { pending: PendingConstraint; rows: ViolatingRows | undefined }, catalog: CatalogSnapshot): Promise<{ pending: PendingConstraint }> {
  const { pending, rows } = item;
  const found = rows && (await findViolations(client, rows, catalog));
  if (!rows || !found) return { pending: { ...pending, uncounted: 'its table or columns come with the migration: there is nothing to count before it' } };
  const counted: PendingConstraint = { ...pending, violating: found.count, keys: found.keys, select: rows.selectAll };
  if (rows.groups && found.count > 0) {
    const groups = await guardedQuery<Record<string, unknown>>(client, `${rows.groups} LIMIT 20`);
    counted.groups = (groups ?? []).map((g) => `${Object.entries(g).filter(([k]) => k !== 'rows').map(([, v]) => String(v)).join(', ')} (${String(g.rows)} rows)`);
  }
  if (pending.notValid && found.count > 0) counted.refused = refusedStatements(pending, catalog);
  return { pending: counted };
}

/** Which writes PostgreSQL refuses on a row that breaks a constraint added NOT VALID. */
function refusedStatements(pending: PendingConstraint, catalog: CatalogSnapshot): string {
  const read = catalog.columns.filter((c) => c.table === pending.table && new RegExp(`\\b${c.name}\\b`).test(pending.definition)).map((c) => c.name);
  if (pending.kind === 'foreign key') {
    return `an UPDATE that changes their key (${read.join(', ')}) to a value with no parent row, and any INSERT of such a row; an UPDATE that keeps the key passes (PostgreSQL checks a foreign key on UPDATE only when the key changes)`;
  }
  return `every UPDATE of one of them, whatever columns it sets, unless the new row satisfies the constraint (PostgreSQL checks a NOT VALID CHECK on every updated row; it reads ${read.join(', ') || 'the row'})`;
}

/** What the snapshot has that the chain up to its recorded revision does not make. */
async function outsideChain(databases: ScratchDatabases, migrator: Migrator, recorded: string | undefined, catalog: CatalogSnapshot): Promise<CatalogDifference[]> {
  const name = await databases.create('chain_at_snapshot');
  try {
    return await withClient(databases.server.connectionConfig(name), async (client) => {
      if (recorded) {
        const run = await migrator.migrateTo(client, recorded);
        if (run.error) return [];
      }
      return diffCatalogs(await snapshotCatalog(client), catalog);
    });
  } finally {
    await databases.drop(name).catch(() => undefined);
  }
}

/** The report as lines a person reads, printed before anything is migrated. */
export function formatPreDeploy(report: PreDeployReport): string[] {
  const lines = [`pre-deploy report (nothing migrated): the snapshot records ${report.recorded ?? 'no revision of the chain'}; the deploy would apply ${report.pending.join(', ') || 'nothing'}`];
  if (report.constraints.length === 0) lines.push('  the pending revisions add no constraint the snapshot lacks');
  for (const c of report.constraints) {
    const what = `${c.kind.toUpperCase()} ${c.name} on ${c.table}${c.notValid ? ' (added NOT VALID)' : ''}`;
    if (c.uncounted) {
      lines.push(`  ${what}: not counted: ${c.uncounted}`);
      continue;
    }
    const noun = c.kind === 'unique' ? 'duplicate row(s)' : c.kind === 'foreign key' ? 'orphan row(s)' : c.kind === 'not null' ? 'row(s) holding NULL' : 'row(s) violate it';
    lines.push(`  ${what}: ${c.violating} ${noun} now`);
    if (!c.violating) continue;
    if (c.notValid) lines.push(`    the migration does not check them, but ${c.violating} existing row(s) could no longer be updated without fixing them: refused is ${c.refused}`);
    if (c.groups?.length) lines.push(`    duplicate groups: ${c.groups.join('; ')}`);
    lines.push(`    ${c.keys!.length < c.violating! ? `the first ${c.keys!.length} keys` : 'keys'}: ${c.keys!.join(', ')}`, `    list them all on the source: ${c.select}`);
  }
  if (report.outsideChain.length) lines.push(`  outside the chain (kept as it is where the migration does not touch it): ${report.outsideChain.length} difference(s) from the chain up to ${report.recorded ?? 'nothing'}`);
  return lines;
}
