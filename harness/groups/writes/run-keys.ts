import { randomUUID } from 'node:crypto';
import type { RunKeys } from '../../suite.ts';
import type { KeyType } from './table-rows.ts';

/**
 * Fresh keys for one run: the same name (and table) gives the same key within the run. A key
 * for a table is of its key column's type, read from the catalog: integers above every key the
 * state holds, UUIDs, or text unique to the run; without a table, a UUID.
 */
export class FreshKeys implements RunKeys {
  private readonly keys = new Map<string, string>();
  private readonly next = new Map<string, bigint>();
  readonly tag = randomUUID().slice(0, 8);

  constructor(private readonly types: ReadonlyMap<string, KeyType> = new Map()) {}

  fresh(name: string, table?: string): string {
    const id = table === undefined ? name : `${table}\u0000${name}`;
    let key = this.keys.get(id);
    if (!key) this.keys.set(id, (key = this.make(name, table)));
    return key;
  }

  private make(name: string, table: string | undefined): string {
    const type = table === undefined ? undefined : this.types.get(table);
    if (table !== undefined && !type) throw new Error(`run.keys.fresh(${JSON.stringify(name)}, ${JSON.stringify(table)}): ${table} is not one of the suite's tables (${[...this.types.keys()].join(', ')})`);
    if (type?.kind === 'integer') {
      const value = this.next.get(table!) ?? type.max + 1n;
      this.next.set(table!, value + 1n);
      return String(value);
    }
    if (type?.kind === 'text') return `${name}-${this.tag}`;
    return randomUUID();
  }

  /** Every key handed out, for reading the run's rows back. */
  all(): string[] {
    return [...this.keys.values()];
  }

  /** The name a key was handed out for (`d1`), for messages; the key itself otherwise. */
  nameOf(key: string): string {
    for (const [id, value] of this.keys) if (value === key) return id.split('\u0000').at(-1)!;
    return key;
  }
}
