import pg from 'pg';
import type { HistoryVerdict } from '../../check/linearizability.ts';
import type { GroupContext } from '../../run/group-context.ts';
import { outcomeOfError, type ServerError } from '../../sessions/index.ts';
import type { StartingState } from '../../states/index.ts';
import type { TableSpec } from '../../suite.ts';
import { readUserTriggers, sequencesReset, tablesParentsFirst, withTriggersOff, type BaseRows } from './table-rows.ts';
import { WriteTarget } from './write-target.ts';

/** The reference refused the rows a migrated state holds: the state accepted rows the chain from an empty database does not. */
export class ReferenceRefusal extends Error {
  override readonly name = 'ReferenceRefusal';
  constructor(
    readonly table: string,
    readonly error: ServerError,
  ) {
    super(`the reference (the chain applied to an empty database) refuses the rows of ${table} this state holds after its migration: ${error.sqlstate}${error.constraint ? ` ${error.constraint}` : ''} ${error.message}${error.detail ? ` (${error.detail})` : ''}`);
  }
}

/**
 * The state differential's reference for a migrated state: the chain applied to an empty
 * database up to the revision under test, with the state's rows (as its migration left them)
 * then written into it, parents before children. The two databases differ only in how they got
 * their schema, never in their data.
 */
export function openReference<Op>(context: GroupContext<Op>, of: WriteTarget): Promise<WriteTarget> {
  return WriteTarget.open(context, referenceState(context.bench.to), [], { migrate: false, label: `reference_${of.state.name}`, fill: (client) => writeRows(client, context.suite.tables, of.base) });
}

/** The reference as a state: the chain from an empty database up to `to` (one template, whoever clones it). */
export function referenceState(to: string): StartingState {
  return { name: 'reference', story: `the chain from an empty database up to ${to}`, expect: 'converge', steps: [{ kind: 'migrate', to }] };
}

/** The verdict of a run whose reference refuses the rows it was to hold. */
export function refusalVerdict(refusal: ReferenceRefusal, expected: string): HistoryVerdict {
  return { ok: false, explored: 0, order: [], inconclusive: false, mismatches: [{ where: 'the reference', expected, actual: refusal.message, error: refusal.error }] };
}

/**
 * Writes a state's rows (every column, as `to_jsonb` printed them) into the same tables of
 * another database, as a data copy does: one transaction, parents before children, foreign keys
 * and every other constraint checked, but the tables' own triggers off while the rows go in (an
 * audit trigger would otherwise add rows the state never had, and its sequence's keys would
 * collide with the audit rows copied next); then every sequence the state has is set where the
 * state's stood, so that the next insert gets the key it gets on the state.
 */
export async function writeRows(client: pg.ClientBase, tables: readonly TableSpec[], base: BaseRows): Promise<void> {
  const ordered = await tablesParentsFirst(client, tables);
  const inserts = [];
  for (const table of ordered) {
    const full = base.full.get(table.name);
    if (!full) continue;
    const columns = await client.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`, [table.name]);
    const list = columns.rows.map((c) => pg.escapeIdentifier(c.name)).join(', ');
    inserts.push({ table: table.name, text: `INSERT INTO ${table.name} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM jsonb_populate_recordset(NULL::${table.name}, $1::jsonb)`, values: [full.rows] });
  }
  const sequences = sequencesReset(base.sequences);
  await client.query('BEGIN');
  try {
    for (const statement of withTriggersOff(await readUserTriggers(client, ordered), inserts)) {
      try {
        await client.query(statement);
      } catch (error) {
        if (typeof statement === 'string') throw error;
        throw new ReferenceRefusal(statement.table, outcomeOfError(error) as ServerError);
      }
    }
    if (sequences) await client.query(sequences);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}


/** A state's reference, opened on first use and kept for every run of the state; `close` drops it. */
export class ReferenceDatabase<Op> {
  private opened: Promise<WriteTarget> | undefined;
  /** The state's starting rows the reference was filled with. */
  private filledWith: BaseRows | undefined;

  constructor(
    private readonly context: GroupContext<Op>,
    private readonly of: WriteTarget,
  ) {}

  /**
   * The reference, ready for a run (its rows as they were when it was opened; opened again when
   * the state was built again since, its starting rows read anew); for `runWrites`, which puts
   * them back itself, on the run's own round trip.
   */
  async target(forWrites = false): Promise<WriteTarget> {
    if (this.opened && this.filledWith !== this.of.base) await this.close();
    this.filledWith = this.of.base;
    this.opened ??= openReference(this.context, this.of);
    const target = await this.opened;
    if (!forWrites) await target.ready();
    return target;
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    await opened?.then((target) => target.close(), () => undefined);
  }
}

/** The reference ready for a run, or the verdict of every run when it refuses the state's rows. */
export async function openedReference<Op>(reference: ReferenceDatabase<Op>, forWrites = false): Promise<{ opened: WriteTarget } | { refused: HistoryVerdict }> {
  try {
    return { opened: await reference.target(forWrites) };
  } catch (error) {
    if (!(error instanceof ReferenceRefusal)) throw error;
    return { refused: refusalVerdict(error, 'the reference to hold the rows the migrated state holds') };
  }
}
