import pg from 'pg';
import { catalogDigest } from '../catalog/index.ts';
import { SetupError, errorMessage } from '../errors.ts';
import { connectClient, redactPasswords } from '../postgres/index.ts';

/** How the harness's sessions on a source call themselves (pg_stat_activity.application_name). */
export const SOURCE_APPLICATION = 'constraint-harness snapshot (read only)';

/**
 * A real database the harness copies from, never writes: one session, one transaction at
 * REPEATABLE READ, READ ONLY (PostgreSQL itself refuses any write in it, whatever the harness
 * sends), with `default_transaction_read_only` set on the session too. Everything the copy
 * reads, catalog and rows, comes from that one transaction's snapshot. The password appears
 * nowhere: `describe` is the URL with it starred.
 */
export class SourceDatabase {
  private constructor(
    readonly client: pg.Client,
    readonly url: string,
    /** `server_version_num`, e.g. 140013, and its major, 14. */
    readonly versionNum: number,
    readonly version: string,
    /** The catalog digest when the transaction began. */
    readonly digestBefore: string,
  ) {}

  get major(): number {
    return Math.floor(this.versionNum / 10000);
  }

  get describe(): string {
    return describeSource(this.url);
  }

  static async open(url: string): Promise<SourceDatabase> {
    let client: pg.Client | undefined;
    try {
      client = await connectClient({ connectionString: url, application_name: SOURCE_APPLICATION, options: '-c default_transaction_read_only=on' });
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ num: string; version: string }>(`SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`);
      const digest = await catalogDigest(client);
      return new SourceDatabase(client, url, Number(rows[0]!.num), rows[0]!.version.split(' ')[0]!, digest);
    } catch (error) {
      await client?.end().catch(() => undefined);
      throw new SetupError(`cannot read the source database ${describeSource(url)}: ${redactPasswords(errorMessage(error)) || (error as { code?: string }).code || 'connection failed'}`);
    }
  }

  /**
   * Ends the transaction and the session, then checks from a short session of its own that
   * the source's catalog is as it was and that no session of the harness is left on it.
   */
  async close(): Promise<{ unchanged: boolean; sessionsLeft: number }> {
    await this.client.query('ROLLBACK').catch(() => undefined);
    await this.client.end().catch(() => undefined);
    const check = await connectClient({ connectionString: this.url, application_name: `${SOURCE_APPLICATION} check`, options: '-c default_transaction_read_only=on' });
    try {
      const digest = await catalogDigest(check);
      const { rows } = await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [SOURCE_APPLICATION]);
      return { unchanged: digest === this.digestBefore, sessionsLeft: rows[0]!.n };
    } finally {
      await check.end().catch(() => undefined);
    }
  }
}

/** A source URL as the harness prints it: the password starred, the rest as given. */
export function describeSource(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return redactPasswords(parsed.toString());
  } catch {
    return 'the source URL (not a valid postgres:// URL)';
  }
}
