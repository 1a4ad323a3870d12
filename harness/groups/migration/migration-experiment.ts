import type pg from 'pg';
import { BEFORE_AFTER, type ContentFingerprint, diffCatalogs, diffFingerprints, fingerprintContent, formatCatalogDiff, snapshotCatalog, tableMatches, type CatalogDifference, type CatalogSnapshot } from '../../catalog/index.ts';
import type { MigrationFailure, MigrationObservation, MigrationOutcome } from '../../check/migration-checks.ts';
import { BOOKKEEPING_TABLES, executePlan, type MigrationError, type Migrator, type PlanMode } from '../../migrate/index.ts';
import type { ServerError } from '../../sessions/index.ts';
import type { StateHistory } from '../../states/index.ts';
import { countViolations } from './violations.ts';
import { timed } from '../../run/phase-timer.ts';

export interface Experiment {
  migrator: Migrator;
  to: string;
  reference: CatalogSnapshot;
  mode: PlanMode;
  /**
   * What a state is before its migration, read on its first run: generated rows are data, so
   * the catalog and the recorded revisions are the same for every history of the state.
   */
  before?: { catalog: CatalogSnapshot; applied: Set<string> };
  /**
   * What a snapshot has outside the chain (the chain up to its recorded revision against it): a
   * difference from the target that is exactly one of these — same object, same change, same
   * definitions on both sides, so the chain did not touch it on the way to the target — is the
   * team's own drift left as it was, reported, not a failure to converge.
   */
  preexisting?: readonly CatalogDifference[];
}

/**
 * Migrates one copy of a state to the target, as the runner deploys it, and records what
 * happened: which revisions ran, the catalog against the reference, the data against its
 * fingerprint before, after a failure what changed anyway, and after a success what applying
 * the target revision a second time changes.
 */
export async function observeMigration(client: pg.ClientBase, experiment: Experiment, history: StateHistory): Promise<MigrationObservation> {
  const { migrator, to, reference, mode } = experiment;
  const exempt = [...migrator.chain.versionTable.tables, ...BOOKKEEPING_TABLES];
  experiment.before ??= await timed('catalog and revisions before (once per state)', async () => ({ catalog: await snapshotCatalog(client), applied: await migrator.applied(client) }));
  const { catalog: catalogBefore, applied: appliedBefore } = experiment.before;
  const dataBefore = await timed('rows fingerprinted', () => fingerprintContent(client, catalogBefore, exempt));
  const run = await timed('the migration (as the runner sends it)', () => executePlan(client, migrator.planTo(appliedBefore, to), mode));
  const catalogAfter = await timed('catalog read and compared', () => snapshotCatalog(client));
  const dataAfter = await timed('rows fingerprinted', () => fingerprintContent(client, catalogBefore, exempt, catalogAfter));
  const dataChanges = diffFingerprints(dataBefore, dataAfter);
  const { catalogDiff, kept } = await timed('catalog read and compared', async () => targetDifferences(reference, catalogAfter, experiment.preexisting));
  const generatedViolating = history.some((rows) => rows.violating !== undefined) ? history.reduce((sum, rows) => sum + (rows.violating ?? 0), 0) : undefined;
  const common = { applied: run.applied, catalogDiff, dataChanges, generatedViolating, ...(kept.length ? { keptDrift: formatCatalogDiff(kept) } : {}) };
  if (run.error) {
    const failure = await describeFailure(client, run.error, reference);
    // what the tool's bookkeeping now says (golang-migrate's dirty flag, Prisma's failed row): the next deploy meets it
    const left = await migrator.chain.versionTable.describe?.(client, migrator.chain.migrations);
    if (left) failure.message += `\n  ${left}`;
    const recorded = [...(await migrator.applied(client))].filter((revision) => !appliedBefore.has(revision));
    const leftovers = [
      ...formatCatalogDiff(diffCatalogs(catalogBefore, catalogAfter).filter((d) => !isBookkeepingCreation(d, exempt)), BEFORE_AFTER),
      ...dataChanges,
      ...(recorded.length ? [`recorded as applied although the deploy failed: ${recorded.join(', ')}`] : []),
    ];
    const outcome: MigrationOutcome = leftovers.length > 0 ? 'failed' : run.error.refused ? 'refused' : 'failed-atomically';
    return { ...common, outcome, failure, leftovers, reapplyProblems: [] };
  }
  const applied = run.applied.length > 0;
  const outcome: MigrationOutcome = catalogDiff.length > 0 ? (applied ? 'failed' : 'drift') : applied ? 'converged' : 'noop';
  // the rows as the migration left them, over the columns it left: the same query as `dataAfter` when it added or dropped none
  const sameColumns = JSON.stringify(catalogAfter.columns) === JSON.stringify(catalogBefore.columns) && JSON.stringify(catalogAfter.tables) === JSON.stringify(catalogBefore.tables);
  const again = outcome === 'converged' || outcome === 'noop' ? await timed('applied again (idempotency)', () => reapply(client, experiment, catalogAfter, exempt, sameColumns ? dataAfter : undefined)) : { problems: [] };
  return { ...common, outcome, leftovers: [], reapplyProblems: again.problems, ...(again.error ? { reapplyError: again.error } : {}) };
}

/** How a migrated catalog differs from the target's, less the snapshot's own drift the chain never touched (see `Experiment.preexisting`). */
export function targetDifferences(reference: CatalogSnapshot, after: CatalogSnapshot, preexisting?: readonly CatalogDifference[]): { catalogDiff: string[]; kept: CatalogDifference[] } {
  const differences = diffCatalogs(reference, after);
  const kept = differences.filter((d) => preexisting?.some((p) => p.kind === d.kind && p.object === d.object && p.change === d.change && p.expected === d.expected && p.actual === d.actual));
  return { catalogDiff: formatCatalogDiff(differences.filter((d) => !kept.includes(d))), kept };
}

/** Runs the target revision again, unrecorded, as the runner would: it must raise nothing and change nothing. */
async function reapply(client: pg.ClientBase, experiment: Experiment, catalog: CatalogSnapshot, exempt: string[], known?: ContentFingerprint): Promise<{ problems: string[]; error?: ServerError }> {
  const target = experiment.migrator.chain.get(experiment.to);
  const data = known ?? (await fingerprintContent(client, catalog, exempt));
  const run = await executePlan(client, experiment.migrator.plan([target], false), experiment.mode);
  if (run.error) return { problems: [`applying ${target.revision} again raised: ${run.error.message}`], error: run.error.outcome };
  const after = await snapshotCatalog(client);
  return { problems: [...formatCatalogDiff(diffCatalogs(catalog, after), BEFORE_AFTER), ...diffFingerprints(data, await fingerprintContent(client, catalog, exempt, after))] };
}

/** The failure as reported, with the rows that stand in the way counted. */
async function describeFailure(client: pg.ClientBase, error: MigrationError, reference: CatalogSnapshot): Promise<MigrationFailure> {
  const failure: MigrationFailure = { message: error.message, sqlstate: error.sqlstate, constraint: error.constraint, table: error.table, column: error.outcome.column, server: error.outcome };
  if (['23514', '23505', '23503', '23502'].includes(error.sqlstate)) {
    const found = await countViolations(client, error.outcome, reference);
    const what = error.constraint ?? error.outcome.column;
    if (found) {
      failure.violatingRows = found.count;
      failure.violatingKeys = found.keys;
      failure.selectViolating = found.selectAll;
      failure.message += `\n  ${found.count} row(s) of ${error.table} violate ${what}`;
    }
  }
  return failure;
}

/** A version table the runner creates before it applies anything is not a leftover of the failed migration. */
function isBookkeepingCreation(difference: CatalogDifference, exempt: readonly string[]): boolean {
  const table = difference.object.split('.').slice(0, 2).join('.');
  return difference.change === 'unexpected' && exempt.some((name) => tableMatches(difference.kind === 'table' ? difference.object : table, name));
}
