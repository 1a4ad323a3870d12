import { timed } from '../../run/phase-timer.ts';
import pg from 'pg';
import { CATALOG_CHANGED, catalogDigest, catalogDigestGuard, catalogRevert, schemaDigest, fingerprintContent, snapshotCatalog, type CatalogRevert, type CatalogSnapshot, type ContentFingerprint } from '../../catalog/index.ts';
import { inOneTransaction, InterleavingExecutor, outcomeOfError, transactionStatus, withPipeline } from '../../sessions/index.ts';
import { readIfExists } from '../../migrate/index.ts';
import type { ScratchDatabases } from '../../postgres/index.ts';
import type { WriteTarget } from '../writes/write-target.ts';
import { firstAccepted, type ReadBack } from '../writes/table-rows.ts';

/** The copy as it was before its first deploy, in every respect the next run could notice. */
interface Pristine {
  catalog: CatalogSnapshot;
  digest: string;
  content: string;
  versionRows: Record<string, string>;
}

/**
 * The database a live deploy runs on: a copy of the state as PROD has it (not yet migrated),
 * with its sessions connected. After each run it is put back as it was: the migration's
 * constraints and indexes reverted, the run's rows deleted and the starting rows restored,
 * the version table restored, the sequences set back (see putBackFrom), the sessions' settings reset. It is used again
 * only if a digest of its whole schema, a fingerprint of every table's content and every
 * sequence's state equal those it had before its first run; otherwise (a migration that added a column, a function…) it is dropped and a
 * fresh copy of the state is made. A run never meets what another run left behind.
 */
export class DeployCopy {
  private current: Promise<{ name: string; executor: InterleavingExecutor }> | undefined;
  private pristine: Pristine | undefined;
  /** The revert planned after the last run, and the digest of the catalog it was planned from. */
  private lastPlan: { digest: string; plan: CatalogRevert } | undefined;
  /** Runs, and copies made for them, for the report's notes and the bench. */
  readonly counts = { runs: 0, copies: 0 };

  constructor(
    private readonly databases: ScratchDatabases,
    /** The database copied (its name), the rows it starts with, and how its rows are read back. */
    private readonly target: Pick<WriteTarget, 'name' | 'readBack' | 'putBackAfter' | 'putBackAfterLastRun'>,
    /** The tool's bookkeeping tables, parents first. */
    private readonly versionTables: readonly string[],
    private readonly sessions: number,
  ) {}

  /** The copy's executor, for the next run. */
  async executor(): Promise<InterleavingExecutor> {
    this.current ??= this.make();
    return (await this.current).executor;
  }

  /**
   * After a run: put the copy back, or drop it so that the next run gets a fresh one. The rows
   * are put back from the target's last read-back (the live deploy's), or from `readBack`'s,
   * read on the copy now (a copy the target never read).
   */
  async putBack(readBack?: (client: pg.Client) => Promise<ReadBack>): Promise<void> {
    const current = await this.current!;
    const control = current.executor.control;
    this.counts.runs++;
    try {
      // the writers' sessions are reset on their own connections while the control connection reverts
      const [restored] = await Promise.all([this.revert(control, readBack), timed("put back: the sessions' settings reset (at the same time)", () => current.executor.resetSessions())]);
      if (restored) return;
    } catch {
      // anything that cannot be put back is thrown away with its copy
    }
    this.current = undefined;
    await this.dispose(current);
  }

  /**
   * `work` on `count` of the copy's sessions (a serial replay that sends its statements itself),
   * each with a statement timeout; the copy is then put back from a read-back of its rows, also
   * when `work` failed.
   */
  async onSessions<T>(count: number, work: (clients: pg.Client[]) => Promise<T>): Promise<T> {
    const executor = await this.executor();
    const clients = Array.from({ length: count }, (_, i) => executor.session(i));
    try {
      await Promise.all(clients.map((client) => client.query("SET statement_timeout = '10s'")));
      return await work(clients);
    } finally {
      await Promise.all(clients.map((client) => (transactionStatus(client) === 'I' ? undefined : client.query('ROLLBACK').catch(() => undefined))));
      await this.putBack((client) => this.target.readBack(client));
    }
  }

  async close(): Promise<void> {
    const current = await this.current?.catch(() => undefined);
    this.current = undefined;
    if (current) await this.dispose(current);
  }

  private async make(): Promise<{ name: string; executor: InterleavingExecutor }> {
    const name = await this.databases.create('deploy', this.target.name);
    this.counts.copies++;
    try {
      const executor = await InterleavingExecutor.connect(this.databases.server.connectionConfig(name), this.sessions);
      this.pristine ??= await this.capture(executor.control);
      return { name, executor };
    } catch (error) {
      await this.databases.drop(name).catch(() => undefined);
      throw error;
    }
  }

  private async capture(client: pg.ClientBase): Promise<Pristine> {
    const catalog = await snapshotCatalog(client);
    const [digest, content, versionRows] = await withPipeline(client, () => Promise.all([catalogDigest(client), contentOf(client, catalog), this.versionRows(client)]));
    return { catalog, digest, content, versionRows };
  }

  /**
   * Drops what the migration added, resets the rows and the version table, adds back what it
   * dropped: one transaction, with the check that the copy is as it was (schema digest, every
   * table's rows) right behind it, in the same round trip. True when it is. The plan comes from
   * the catalog as the run left it; a run that leaves the catalog as the last one did (the same
   * digest) reuses the last plan without reading the catalog, behind a guard that makes the
   * transaction do nothing if the digest is not that one (then the catalog is read).
   */
  private async revert(client: pg.Client, readBack?: (client: pg.Client) => Promise<ReadBack>): Promise<boolean> {
    // the rows as the run's read-back left them, put back (deleted, inserted, written back) once the migration's constraints are gone
    const putBack = readBack ? this.target.putBackAfter(await readBack(client)) : this.target.putBackAfterLastRun();
    if (!putBack) return false;
    const reused = this.lastPlan;
    if (reused) {
      try {
        const guarded = (rows: (pg.QueryConfig | string)[]) =>
          this.revertWith(client, reused.plan, rows, catalogDigestGuard(reused.digest)).catch((error: unknown) => {
            // another catalog: no other way of putting the rows back is tried with this plan
            throw String((error as Error).message).includes(CATALOG_CHANGED) ? new CatalogChanged() : error;
          });
        if (await firstAccepted(putBack, guarded)) return true;
      } catch (error) {
        if (!(error instanceof CatalogChanged)) outcomeOfError(error); // refused: planned afresh below
      }
      this.lastPlan = undefined;
    }
    const [now, digest] = await timed("put back: the deploy's catalog read", () => withPipeline(client, () => Promise.all([snapshotCatalog(client), schemaDigest(client)])));
    const plan = catalogRevert(now, this.pristine!.catalog);
    if (!plan) return false;
    const restored = await firstAccepted(putBack, (rows) => this.revertWith(client, plan, rows));
    if (restored) this.lastPlan = { digest, plan };
    return restored;
  }

  /** One round trip: the revert transaction (behind `guard`, if given), then the unchanged check; a statement that fails leaves the rest undone and the transaction rolled back (thrown). */
  private revertWith(client: pg.Client, plan: CatalogRevert, rows: (pg.QueryConfig | string)[], guard?: pg.QueryConfig): Promise<boolean> {
    const kept = Object.entries(this.pristine!.versionRows);
    return timed('put back: migration reverted, rows and version table reset (one transaction), then digest and rows compared with the pristine copy', () => inOneTransaction(client, [
      ...(guard ? [guard] : []),
      ...plan.drop,
      ...rows,
      ...[...kept].reverse().map(([table]) => `DELETE FROM ${table}`),
      ...kept.map(([table, rows]) => ({ text: `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, values: [rows] })),
      ...plan.add,
    ], () => this.unchanged(client)));
  }

  private async unchanged(client: pg.ClientBase): Promise<boolean> {
    // the digest covers every sequence's value too (see catalogDigest)
    const [digest, content] = await withPipeline(client, () => Promise.all([catalogDigest(client), contentOf(client, this.pristine!.catalog)]));
    return digest === this.pristine!.digest && content === this.pristine!.content;
  }

  /** The rows of each bookkeeping table the copy has (as SQL names it), parents first. */
  private async versionRows(client: pg.ClientBase): Promise<Record<string, string>> {
    const rows: Record<string, string> = {};
    for (const name of this.versionTables) {
      const table = name.split('.').map((part) => pg.escapeIdentifier(part)).join('.');
      const [found] = await readIfExists<{ rows: string }>(client, table, `SELECT coalesce(json_agg(v), '[]')::text AS rows FROM ${table} AS v`);
      if (found) rows[table] = found.rows;
    }
    return rows;
  }

  private async dispose(copy: { name: string; executor: InterleavingExecutor }): Promise<void> {
    await copy.executor.close();
    await this.databases.drop(copy.name).catch(() => undefined);
  }
}

async function contentOf(client: pg.ClientBase, catalog: CatalogSnapshot): Promise<string> {
  const fingerprint: ContentFingerprint = await fingerprintContent(client, catalog);
  return JSON.stringify(Object.entries(fingerprint).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The catalog is not the one the reused revert plan was made from (see catalogDigestGuard). */
class CatalogChanged extends Error {
  constructor() {
    super('the catalog differs from the one the revert was planned from');
  }
}
