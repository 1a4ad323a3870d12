import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SetupError } from '../errors.ts';
import { registerCleanup, type CleanupHandle } from '../shutdown.ts';
import type { PostgresServer } from './postgres-server.ts';

/**
 * The databases one run creates. Every name starts with a prefix unique to the run
 * (`ch_<random>_`), and only names this object created can be dropped, so pointing the
 * harness at a shared server (`--url`) never touches anything else.
 */
export class ScratchDatabases {
  readonly prefix: string;
  private readonly created = new Set<string>();
  /** A few admin connections: CREATE DATABASE … STRATEGY FILE_COPY runs well in parallel. */
  private admin: pg.Pool | undefined;
  private counter = 0;
  private readonly cleanup: CleanupHandle;

  constructor(readonly server: PostgresServer) {
    this.prefix = `ch_${randomBytes(4).toString('hex')}_`;
    this.cleanup = registerCleanup(`scratch databases ${this.prefix}*`, () => this.dropAllNow());
  }

  /** A unique name under the run's prefix, readable in server logs. */
  newName(label: string): string {
    const safe = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30);
    return `${this.prefix}${safe}_${++this.counter}`;
  }

  /** Creates an empty database, or a copy of `template` (which must have no open connections). */
  async create(label: string, template?: string): Promise<string> {
    const name = this.newName(label);
    let sql = `CREATE DATABASE ${pg.escapeIdentifier(name)}`;
    if (template) {
      this.assertOwned(template);
      sql += ` TEMPLATE ${pg.escapeIdentifier(template)}`;
    }
    // FILE_COPY (the only strategy before 15) copies files; for small databases it is several
    // times faster than 15's default WAL_LOG, which writes every page to the WAL.
    if (this.server.versionNum >= 150000) sql += ' STRATEGY FILE_COPY';
    this.created.add(name);
    try {
      await this.adminQuery(sql);
    } catch (error) {
      this.created.delete(name);
      if ((error as { code?: string }).code === '42501') {
        throw new SetupError(`cannot create databases on ${this.server.describe()}: ${(error as Error).message} (the harness needs a role with CREATEDB)`);
      }
      throw error;
    }
    return name;
  }

  async drop(name: string): Promise<void> {
    this.assertOwned(name);
    const force = this.server.versionNum >= 130000 ? ' WITH (FORCE)' : '';
    await this.adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}${force}`);
    this.created.delete(name);
  }

  owns(name: string): boolean {
    return this.created.has(name);
  }

  /** Drops every database of this run and closes the admin connection. */
  close(): Promise<void> {
    return this.cleanup.run();
  }

  private async dropAllNow(): Promise<void> {
    try {
      for (const name of [...this.created].reverse()) await this.drop(name);
    } finally {
      await this.admin?.end().catch(() => undefined);
      this.admin = undefined;
    }
  }

  private assertOwned(name: string): void {
    if (!this.created.has(name)) {
      throw new Error(`refusing to touch database "${name}": it was not created by this run (prefix ${this.prefix})`);
    }
  }

  private adminQuery(sql: string): Promise<unknown> {
    if (!this.admin) {
      this.admin = new pg.Pool({ ...this.server.connectionConfig(this.server.maintenanceDatabase), max: 3 });
      this.admin.on('error', () => undefined);
    }
    return this.admin.query(sql);
  }
}
