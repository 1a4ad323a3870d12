import { randomUUID } from 'node:crypto';
import type { RunKeys } from '../../suite.ts';

/** Fresh keys for one run: the same name gives the same new UUID within the run. */
export class FreshKeys implements RunKeys {
  private readonly keys = new Map<string, string>();
  readonly tag = randomUUID().slice(0, 8);

  fresh(name: string): string {
    let key = this.keys.get(name);
    if (!key) this.keys.set(name, (key = randomUUID()));
    return key;
  }

  /** Every key handed out, for reading the run's rows back. */
  all(): string[] {
    return [...this.keys.values()];
  }

  /** The name a key was handed out for (`d1`), for messages; the key itself otherwise. */
  nameOf(key: string): string {
    for (const [name, value] of this.keys) if (value === key) return name;
    return key;
  }
}
