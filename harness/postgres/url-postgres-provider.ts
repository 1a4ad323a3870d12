import type pg from 'pg';
import { SetupError, errorMessage } from '../errors.ts';
import { postgresUri, redactedUri, type PostgresProvider, type PostgresServer } from './postgres-server.ts';
import { readServerInfo } from './server-info.ts';

interface UrlParts {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * An existing server, given by URL. The harness never owns it: it only creates databases under
 * its own prefix (see ScratchDatabases) and `stop` leaves the server running.
 */
export class UrlPostgresProvider implements PostgresProvider {
  readonly name = 'url' as const;
  constructor(private readonly url: string) {}

  async start(): Promise<PostgresServer> {
    const parts = parseUrl(this.url);
    const safe = redactedUri(parts, parts.database);
    try {
      const info = await readServerInfo(toConfig(parts, parts.database));
      return new UrlPostgresServer(parts, info.version, info.versionNum);
    } catch (error) {
      throw new SetupError(`cannot reach PostgreSQL at ${safe}: ${errorMessage(error) || (error as { code?: string }).code || 'connection failed'}`);
    }
  }
}

class UrlPostgresServer implements PostgresServer {
  readonly provider = 'url' as const;
  constructor(
    private readonly parts: UrlParts,
    readonly version: string,
    readonly versionNum: number,
  ) {}

  get maintenanceDatabase(): string {
    return this.parts.database;
  }

  connectionConfig(database: string): pg.ClientConfig {
    return toConfig(this.parts, database);
  }

  describe(database = this.parts.database): string {
    return redactedUri(this.parts, database);
  }

  connectionUri(database: string): string {
    return postgresUri(this.parts, database);
  }

  async stop(): Promise<void> {
    // not ours to stop
  }
}

function parseUrl(url: string): UrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SetupError('--url is not a valid connection URL (expected postgres://user:password@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SetupError(`--url must start with postgres:// or postgresql:// (got ${parsed.protocol}//…)`);
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
  };
}

function toConfig(parts: UrlParts, database: string): pg.ClientConfig {
  return { host: parts.host, port: parts.port, user: parts.user, password: parts.password, database, connectionTimeoutMillis: 10_000 };
}
