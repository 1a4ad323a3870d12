import pg from 'pg';
import { diffCatalogs, diffFingerprints, fingerprintContent, formatCatalogDiff, snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { errorMessage } from '../errors.ts';
import { BOOKKEEPING_TABLES, MigrationError, type Migrator } from '../migrate/index.ts';

export type MigrationOutcome = 'converged' | 'noop' | 'failed-atomically' | 'drift' | 'failed';

export interface MigrationFailure {
  message: string;
  sqlstate?: string;
  constraint?: string;
  table?: string;
  /** Rows that violate the constraint the migration tried to add (counted after the failure). */
  violatingRows?: number;
}

/** Everything observed when migrating one clone of a state to the target revision. */
export interface MigrationObservation {
  outcome: MigrationOutcome;
  applied: string[];
  failure?: MigrationFailure;
  /** Differences from the catalog reached from `fresh` (empty = converged). */
  catalogDiff: string[];
  /** Tables whose pre-existing rows changed or disappeared. */
  dataChanges: string[];
  /** After a failure: what changed anyway (empty = atomic). */
  leftovers: string[];
  /** Problems when the target revision is applied a second time (empty = idempotent). */
  reapplyProblems: string[];
}

/**
 * Migrates one state database to the target and records what happened: which revisions ran,
 * the catalog against the reference, the data against its fingerprint before, and on success
 * what a second application of the target revision changes.
 */
export async function observeMigration(
  client: pg.ClientBase,
  migrator: Migrator,
  to: string,
  reference: CatalogSnapshot,
  nested: boolean,
): Promise<MigrationObservation> {
  {
    const catalogBefore = await snapshotCatalog(client);
    // version tables are bookkeeping (ours, Alembic's…); every other row must be kept
    const userData = (catalog: CatalogSnapshot) => fingerprintContent(client, catalog, [migrator.versionTable, ...BOOKKEEPING_TABLES]);
    const dataBefore = await userData(catalogBefore);
    let applied: string[] = [];
    let failure: MigrationFailure | undefined;
    try {
      applied = (await migrator.migrate(client, to, { nested })).applied;
    } catch (error) {
      failure = await describeFailure(client, error, reference);
    }
    const catalogAfter = await snapshotCatalog(client);
    const dataChanges = diffFingerprints(dataBefore, await userData(catalogBefore));
    const catalogDiff = formatCatalogDiff(diffCatalogs(reference, catalogAfter));
    if (failure) {
      const leftovers = [...formatCatalogDiff(diffCatalogs(catalogBefore, catalogAfter)), ...dataChanges];
      return { outcome: leftovers.length === 0 ? 'failed-atomically' : 'failed', applied, failure, catalogDiff, dataChanges, leftovers, reapplyProblems: [] };
    }
    const outcome: MigrationOutcome = catalogDiff.length > 0 ? (applied.length === 0 ? 'drift' : 'failed') : applied.length === 0 ? 'noop' : 'converged';
    const reapplyProblems = outcome === 'converged' || outcome === 'noop' ? await reapply(client, migrator, to, catalogAfter, nested) : [];
    return { outcome, applied, catalogDiff, dataChanges, leftovers: [], reapplyProblems };
  }
}

/** Runs the target revision again, unrecorded: it must raise nothing and change nothing. */
async function reapply(client: pg.ClientBase, migrator: Migrator, to: string, catalog: CatalogSnapshot, nested: boolean): Promise<string[]> {
  const data = await fingerprintContent(client, catalog);
  try {
    await migrator.apply(client, migrator.target(to), { record: false, nested });
  } catch (error) {
    return [`applying ${migrator.target(to).revision} again raised: ${errorMessage(error)}`];
  }
  const after = await snapshotCatalog(client);
  return [...formatCatalogDiff(diffCatalogs(catalog, after)), ...diffFingerprints(data, await fingerprintContent(client, catalog))];
}

async function describeFailure(client: pg.ClientBase, error: unknown, reference: CatalogSnapshot): Promise<MigrationFailure> {
  if (!(error instanceof MigrationError)) return { message: errorMessage(error) };
  const failure: MigrationFailure = { message: error.message, sqlstate: error.sqlstate, constraint: error.constraint, table: error.table };
  if (error.sqlstate === '23514' && error.constraint && error.table) {
    failure.violatingRows = await countViolations(client, error.table, error.constraint, reference);
    if (failure.violatingRows !== undefined) {
      failure.message += `\n  ${failure.violatingRows} row(s) of ${error.table} violate ${error.constraint}`;
    }
  }
  return failure;
}

/**
 * Counts the rows that make a CHECK constraint fail, using the constraint's definition in the
 * reference catalog (PostgreSQL's error only says "violated by some row").
 */
async function countViolations(client: pg.ClientBase, table: string, constraint: string, reference: CatalogSnapshot): Promise<number | undefined> {
  const definition = reference.constraints.find((c) => c.name === constraint && (c.table === table || c.table.endsWith(`.${pg.escapeIdentifier(table)}`) || c.table.endsWith(`.${table}`)));
  const check = definition && /^CHECK \((.*)\)( NOT VALID)?$/s.exec(definition.definition);
  if (!definition || !check) return undefined;
  try {
    const result = await client.query<{ violating: number }>(`SELECT count(*)::int AS violating FROM ${definition.table} WHERE NOT (${check[1]})`);
    return result.rows[0]!.violating;
  } catch {
    return undefined;
  }
}
