import type { ClientConfig } from 'pg';

export type ProviderName = 'embedded' | 'container' | 'url';

/** A running PostgreSQL server the harness may create scratch databases on. */
export interface PostgresServer {
  readonly provider: ProviderName;
  /** `server_version` as PostgreSQL reports it, e.g. `18.4`. */
  readonly version: string;
  /** `server_version_num`, e.g. 180004. */
  readonly versionNum: number;
  /** Where the server lives, for logs: a data directory, a container. */
  readonly location?: string;
  /** The database the harness connects to when creating and dropping its own. */
  readonly maintenanceDatabase: string;
  connectionConfig(database: string): ClientConfig;
  /** A connection URI with the password replaced by `***`, safe to print. */
  describe(database?: string): string;
  /** A connection URI with the password, for a user's own psql. Never printed by the harness. */
  connectionUri(database: string): string;
  stop(): Promise<void>;
}

/** One way of getting a PostgreSQL server (Kysely's `Dialect` is the model: one per backend). */
export interface PostgresProvider {
  readonly name: ProviderName;
  start(): Promise<PostgresServer>;
}

export function postgresUri(config: { user: string; password: string; host: string; port: number }, database: string): string {
  const user = encodeURIComponent(config.user);
  const password = encodeURIComponent(config.password);
  return `postgres://${user}:${password}@${config.host}:${config.port}/${encodeURIComponent(database)}`;
}

export function redactedUri(config: { user: string; host: string; port: number }, database: string): string {
  return `postgres://${encodeURIComponent(config.user)}:***@${config.host}:${config.port}/${encodeURIComponent(database)}`;
}

/** Removes a password from any connection URI inside a piece of text. */
export function redactPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]*@/g, '$1***@');
}
