import type pg from 'pg';
import { planProgram, type MigrationPlan, type MigrationStepMeta } from '../migrate/index.ts';
import { outcomeOf, outcomeOfError, queryOf, statusAfter, transactionStatus, type SessionStep, type StepOutcome } from '../sessions/index.ts';
import { blocksReaders, blocksWriters, modeName, strength } from '../catalog/lock-modes.ts';
import { catalogProbe, type CatalogProbe, type LockRef } from '../catalog/session-probe.ts';
import { round } from './numbers.ts';

export type { LockRef } from '../catalog/session-probe.ts';

/** What one message of the deploy did, traced on its own session. */
export interface LedgerEntry {
  step: string;
  revision: string;
  role: MigrationStepMeta['role'];
  sql: string;
  /** Where the statement starts in its file. */
  line?: number;
  ms: number;
  /**
   * `transaction`: inside the runner's (or the file's) transaction; `autocommit`: a statement
   * of its own, traced inside a BEGIN/COMMIT of the ledger's (it holds its locks for its own
   * duration only); `outside`: a statement PostgreSQL runs outside any transaction, whose
   * locks cannot be read after it.
   */
  transaction: 'transaction' | 'autocommit' | 'outside';
  /** The table locks the session holds right after it (pg_locks of its own pid, granted). */
  locks: LockRef[];
  /** It rewrote a table: the relations whose data file it replaced (relfilenode changed). */
  rewrite: boolean;
  rewritten: string[];
  /** It validated a constraint (a scan of the table): `table.constraint`. */
  validated: boolean;
  constraints: string[];
  error?: string;
}

/** A lock from the statement that took it to the end of its transaction. */
export interface LockHold extends LockRef {
  fromStep: string;
  heldMs: number;
  blocksWriters: boolean;
  blocksReaders: boolean;
}

/** A pattern that defeats the deploy's own precautions. */
export interface LedgerFlag {
  kind: 'validate-in-same-transaction';
  constraint: string;
  added: string;
  validated: string;
  message: string;
}

export interface LockLedger {
  entries: LedgerEntry[];
  holds: LockHold[];
  flags: LedgerFlag[];
  /** Time in the deploy's own messages (the ledger's probes between them excluded). */
  totalMs: number;
  error?: string;
}

interface OpenTransaction {
  locks: Map<string, LockHold & { at: number }>;
  /** Constraints added NOT VALID in this transaction, by oid, with the step that added them. */
  notValid: Map<number, string>;
}

/**
 * Runs a plan as its runner sends it, and after every message reads, on the same session, the
 * table locks it holds, the tables' data files and the constraints' validation flags. A
 * statement the runner sends on its own (autocommit) is traced inside a BEGIN/COMMIT of the
 * ledger's, which changes nothing for a single statement PostgreSQL accepts in a transaction
 * and lets its locks be read before they go. The probes' own time is not counted: `ms` and
 * `heldMs` are the deploy's messages alone.
 */
export async function traceLocks(client: pg.ClientBase, plan: MigrationPlan): Promise<LockLedger> {
  const entries: LedgerEntry[] = [];
  const holds: LockHold[] = [];
  const flags: LedgerFlag[] = [];
  let clock = 0;
  let catalog = await catalogProbe(client);
  let tx: OpenTransaction | undefined;
  const closeTransaction = () => {
    for (const hold of tx?.locks.values() ?? []) holds.push({ ...withoutAt(hold), heldMs: round(clock - hold.at) });
    tx = undefined;
  };
  const timed = async (step: Pick<SessionStep, 'sql' | 'parameters' | 'prepare'>): Promise<{ outcome: StepOutcome; ms: number }> => {
    const started = performance.now();
    let outcome: StepOutcome;
    try {
      outcome = outcomeOf(await client.query(queryOf(step)));
    } catch (error) {
      outcome = outcomeOfError(error);
    }
    const ms = performance.now() - started;
    clock += ms;
    return { outcome, ms };
  };

  for (const step of planProgram(plan, 'deploy').steps) {
    const meta = step.meta!;
    const own = transactionStatus(client) === 'I' && meta.role !== 'begin' && meta.role !== 'commit' && meta.statements.every((s) => s.kind !== 'TransactionStmt' && !s.outsideTransaction);
    const outside = transactionStatus(client) === 'I' && !own && meta.statements.some((s) => s.outsideTransaction);
    if (own) await timed({ sql: 'BEGIN' });
    const startedAt = clock;
    const { outcome, ms } = await timed(step);
    const status = await statusAfter(client);
    const statement = meta.statements.length === 1 ? meta.statements[0] : undefined;
    const entry: LedgerEntry = {
      step: step.name,
      revision: meta.migration.revision,
      role: meta.role,
      sql: statement?.sql ?? step.sql,
      ...(statement ? { line: statement.line } : {}),
      ms: round(ms),
      transaction: own ? 'autocommit' : outside ? 'outside' : status === 'I' && meta.role !== 'commit' && !meta.statements.some((s) => s.kind === 'TransactionStmt') ? 'autocommit' : 'transaction',
      locks: [],
      rewrite: false,
      rewritten: [],
      validated: false,
      constraints: [],
    };
    entries.push(entry);
    if (outcome.kind === 'error') {
      entry.error = `${outcome.sqlstate} ${outcome.message}`;
      if (status !== 'I') await timed({ sql: 'ROLLBACK' });
      closeTransaction();
      return { entries, holds, flags, totalMs: round(clock), error: `${step.name}: ${entry.error}` };
    }
    if (status === 'T') {
      tx ??= { locks: new Map(), notValid: new Map() };
      const probe = await catalogProbe(client);
      entry.locks = probe.locks;
      for (const lock of probe.locks) {
        const key = `${lock.relation}/${lock.mode}`;
        if (!tx.locks.has(key)) tx.locks.set(key, { ...lock, fromStep: step.name, heldMs: 0, at: startedAt, blocksWriters: blocksWriters(lock.mode), blocksReaders: blocksReaders(lock.mode) });
      }
      observeCatalog(entry, catalog, probe, tx, flags);
      catalog = probe;
    }
    if (own) {
      const { outcome: committed } = await timed({ sql: 'COMMIT' });
      if (committed.kind === 'error') entry.error = `COMMIT: ${committed.sqlstate} ${committed.message}`;
    }
    if (transactionStatus(client) === 'I') {
      closeTransaction();
      // after a commit the catalog is what the next transaction starts from
      if (status === 'I' || own) {
        const probe = await catalogProbe(client);
        if (!own) observeCatalog(entry, catalog, probe, undefined, flags);
        catalog = probe;
      }
    }
  }
  closeTransaction();
  return { entries, holds, flags, totalMs: round(clock) };
}

/** What changed in the catalog between two probes: tables rewritten, constraints validated (and VALIDATEs in the transaction of their ADD … NOT VALID). */
function observeCatalog(entry: LedgerEntry, before: CatalogProbe, after: CatalogProbe, tx: OpenTransaction | undefined, flags: LedgerFlag[]): void {
  const files = new Map(before.files.map((f) => [f.oid, f.filenode]));
  entry.rewritten.push(...after.files.filter((f) => files.has(f.oid) && files.get(f.oid) !== f.filenode).map((f) => f.relation));
  entry.rewrite = entry.rewritten.length > 0;
  const constraints = new Map(before.constraints.map((c) => [c.oid, c]));
  for (const constraint of after.constraints) {
    const earlier = constraints.get(constraint.oid);
    const name = `${constraint.relation}.${constraint.name}`;
    if (!constraint.validated && !earlier) tx?.notValid.set(constraint.oid, entry.step);
    if (!constraint.validated || earlier?.validated) continue;
    entry.constraints.push(name);
    entry.validated = true;
    const added = tx?.notValid.get(constraint.oid);
    if (added) {
      flags.push({
        kind: 'validate-in-same-transaction',
        constraint: name,
        added,
        validated: entry.step,
        message: `${name} is added NOT VALID (${added}) and validated (${entry.step}) in the same transaction: the ADD's ACCESS EXCLUSIVE lock is held through the VALIDATE's scan, so NOT VALID buys nothing; commit between them`,
      });
    }
  }
}

function withoutAt(hold: LockHold & { at: number }): LockHold {
  const { at: _at, ...rest } = hold;
  return rest;
}


/** The strongest lock a ledger holds on each relation, longest first: what the summary says. */
export function strongestHolds(ledger: Pick<LockLedger, 'holds'>): LockHold[] {
  const best = new Map<string, LockHold>();
  for (const hold of ledger.holds) {
    const current = best.get(hold.relation);
    if (!current || strength(hold.mode) > strength(current.mode) || (hold.mode === current.mode && hold.heldMs > current.heldMs)) best.set(hold.relation, hold);
  }
  return [...best.values()].sort((a, b) => strength(b.mode) - strength(a.mode) || b.heldMs - a.heldMs);
}

/** e.g. `ACCESS EXCLUSIVE on items`: the mode as PostgreSQL names it, then the relation. */
export function describeLock(lock: LockRef): string {
  return `${modeName(lock.mode)} on ${lock.relation}`;
}
