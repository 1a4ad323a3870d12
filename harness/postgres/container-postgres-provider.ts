import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SetupError, errorMessage } from '../errors.ts';
import { registerCleanup, type CleanupHandle } from '../shutdown.ts';
import { postgresUri, redactedUri, type PostgresProvider, type PostgresServer } from './postgres-server.ts';
import { readServerInfo } from './server-info.ts';

/** The PostgreSQL major the container provider starts when none is asked for. */
export const DEFAULT_CONTAINER_MAJOR = '18';

export interface ContainerPostgresOptions {
  /** An image; default: the official `postgres:<major>`. */
  image?: string;
  pgVersion?: string;
}

const TEST_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200', 'autovacuum=off'];
const USER = 'postgres';

/** PostgreSQL in a container started through Testcontainers (`@testcontainers/postgresql`). */
export class ContainerPostgresProvider implements PostgresProvider {
  readonly name = 'container' as const;
  constructor(private readonly options: ContainerPostgresOptions = {}) {}

  get image(): string {
    return this.options.image ?? `postgres:${this.options.pgVersion ?? DEFAULT_CONTAINER_MAJOR}`;
  }

  async start(): Promise<PostgresServer> {
    const { getContainerRuntimeClient } = await import('testcontainers');
    try {
      await getContainerRuntimeClient();
    } catch (error) {
      throw new SetupError(`--provider container needs a container runtime, and none was found (${oneLine(errorMessage(error))}); --provider embedded works without Docker`);
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const password = randomBytes(18).toString('base64url');
    let started;
    try {
      started = await new PostgreSqlContainer(this.image)
        .withUsername(USER)
        .withPassword(password)
        .withDatabase('postgres')
        .withCommand(['postgres', ...TEST_SETTINGS.flatMap((setting) => ['-c', setting])])
        .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
        .start();
    } catch (error) {
      const reason = oneLine(errorMessage(error));
      const hint = /pull|manifest|not found|no such image|registry|resolve/i.test(reason)
        ? ` (no registry reachable? build a local image with .ci/postgres-image/build.sh and pass --image constraint-harness/postgres:15)`
        : '';
      throw new SetupError(`could not start PostgreSQL container ${this.image}: ${reason}${hint}`);
    }
    const stop = async () => {
      await started.stop({ timeout: 5_000 }).catch(() => undefined);
    };
    const cleanup = registerCleanup(`container ${this.image}`, stop);
    try {
      const config = { host: started.getHost(), port: started.getPort(), user: USER, password, database: 'postgres' };
      const info = await readServerInfo(config, { newPassword: password });
      return new ContainerPostgresServer(config, info.version, info.versionNum, cleanup, `container ${started.getId().slice(0, 12)} (${this.image})`);
    } catch (error) {
      await cleanup.run();
      throw new SetupError(`PostgreSQL container ${this.image} started but cannot be reached: ${errorMessage(error)}`);
    }
  }
}

interface Address {
  host: string;
  port: number;
  user: string;
  password: string;
}

class ContainerPostgresServer implements PostgresServer {
  readonly provider = 'container' as const;
  readonly maintenanceDatabase = 'postgres';
  constructor(
    private readonly address: Address,
    readonly version: string,
    readonly versionNum: number,
    private readonly cleanup: CleanupHandle,
    readonly location: string,
  ) {}

  connectionConfig(database: string): pg.ClientConfig {
    return { ...this.address, database };
  }

  describe(database = this.maintenanceDatabase): string {
    return redactedUri(this.address, database);
  }

  connectionUri(database: string): string {
    return postgresUri(this.address, database);
  }

  stop(): Promise<void> {
    return this.cleanup.run();
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
