/**
 * The rows a model speaks about, as plain values: a table's rows by key, each row a record of
 * the columns the suite reads back (`completed` may stand for `completed_at IS NOT NULL`).
 */
export type Value = string | number | boolean | null;
export type Row = Readonly<Record<string, Value>>;

/** A change a statement makes: a row written (inserted or updated) or deleted (`null`). */
export interface RowWrite {
  table: string;
  key: string;
  row: Row | null;
}

/** What a statement sees: rows by table and key. */
export interface View {
  get(table: string, key: string): Row | undefined;
  /** Every row of a table, ordered by key (for rules over several rows, such as uniqueness). */
  rows(table: string): [string, Row][];
}

const SEPARATOR = '\u0000';

/** Rows by table and key, never changed in place: `with` returns a new world. */
export class World implements View {
  private constructor(private readonly entries: ReadonlyMap<string, Row>) {}

  static empty(): World {
    return new World(new Map());
  }

  static of(rows: Iterable<RowWrite>): World {
    return World.empty().with(rows);
  }

  get(table: string, key: string): Row | undefined {
    return this.entries.get(table + SEPARATOR + key);
  }

  rows(table: string): [string, Row][] {
    const prefix = table + SEPARATOR;
    return [...this.entries]
      .filter(([id]) => id.startsWith(prefix))
      .map(([id, row]): [string, Row] => [id.slice(prefix.length), row])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every row with its table and key. */
  all(): RowWrite[] {
    return [...this.entries].map(([id, row]) => {
      const [table, key] = id.split(SEPARATOR) as [string, string];
      return { table, key, row };
    });
  }

  with(writes: Iterable<RowWrite>): World {
    const next = new Map(this.entries);
    for (const write of writes) {
      const id = write.table + SEPARATOR + write.key;
      if (write.row === null) next.delete(id);
      else next.set(id, write.row);
    }
    return new World(next);
  }

  get size(): number {
    return this.entries.size;
  }

  /** A canonical text of the world, for remembering states already explored. */
  fingerprint(): string {
    return JSON.stringify([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/** A world seen through a session's uncommitted writes (READ COMMITTED: the committed rows plus its own). */
export class OverlayView implements View {
  constructor(
    private readonly base: View,
    private readonly own: ReadonlyMap<string, RowWrite>,
  ) {}

  get(table: string, key: string): Row | undefined {
    const write = this.own.get(table + SEPARATOR + key);
    return write ? (write.row ?? undefined) : this.base.get(table, key);
  }

  rows(table: string): [string, Row][] {
    const merged = new Map(this.base.rows(table));
    for (const write of this.own.values()) {
      if (write.table !== table) continue;
      if (write.row === null) merged.delete(write.key);
      else merged.set(write.key, write.row);
    }
    return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

export function writeId(write: Pick<RowWrite, 'table' | 'key'>): string {
  return write.table + SEPARATOR + write.key;
}

/** The columns on which two rows differ. */
export function differingColumns(expected: Row, actual: Row): string[] {
  return [...new Set([...Object.keys(expected), ...Object.keys(actual)])].filter((column) => expected[column] !== actual[column]);
}
