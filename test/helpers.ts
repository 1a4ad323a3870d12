import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { ScratchDatabases, UrlPostgresProvider, type PostgresServer } from '../harness/postgres/index.ts';
import { runConfig, type RunConfig } from '../harness/run/run-config.ts';
import type { Suite } from '../harness/suite.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// The command line runs its sources through tsx when the build is older than them (a developer
// between edits): tsx would keep a cache in the temporary directory, which npm test leaves empty
process.env.TSX_DISABLE_CACHE ??= '1';
export const MIGRATIONS = path.join(ROOT, 'migrations');

/** One seed per test run (TEST_SEED replays one); every property title prints it. */
export const SEED = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Runs per property in `npm test` (TEST_RUNS overrides). */
export function testRuns(byDefault: number): number {
  return Number(process.env.TEST_RUNS ?? byDefault);
}

/** A run of `suite` against the test run's shared server, with the test run's seed. */
export function testConfig<Op>(suite: Suite<Op>, overrides: Partial<RunConfig> = {}): RunConfig {
  const migrationsFlag = overrides.migrationsDir && overrides.migrationsDir !== suite.migrationsDir ? overrides.migrationsDir : undefined;
  return runConfig({ migrationsDir: suite.migrationsDir, migrationsFlag, seed: SEED, provider: { url: inject('databaseUrl') }, workers: 2, ...overrides });
}

/** The shared test server, reached like any existing server (the URL provider). */
export async function sharedServer(): Promise<{ server: PostgresServer; databases: ScratchDatabases; url: string }> {
  const url = inject('databaseUrl');
  const server = await new UrlPostgresProvider(url).start();
  return { server, databases: new ScratchDatabases(server), url };
}

/** How the tests start the command line: as its shebang and the npm scripts do (see bin/constraint-harness.js). */
export const CLI: readonly string[] = ['--liftoff-only', path.join(ROOT, 'bin/constraint-harness.js')];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real command line, as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts the command line, sends `signal` once its stderr matches `when` (plus `delayMs`), and
 * waits for its exit: an interruption at a chosen phase.
 */
export function interruptCli(args: string[], when: RegExp, signal: NodeJS.Signals, delayMs = 0): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!sent && when.test(stderr)) {
      sent = true;
      setTimeout(() => child.kill(signal), delayMs);
    }
  });
  child.stdout.resume();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

/**
 * Runs the command line on a machine without a container runtime. Where Docker is running
 * (a developer's machine, CI after it set Docker up), its socket is hidden from the command
 * in a private mount namespace (`unshare -m`, needs root), which is what "no Docker" looks like.
 */
export function runCliWithoutDocker(args: string[]): Promise<CliResult> {
  const env = { ...process.env, DOCKER_HOST: '', TESTCONTAINERS_RYUK_DISABLED: 'true' };
  if (!existsSync('/var/run/docker.sock') && !existsSync('/run/docker.sock')) return runCli(args, env);
  return new Promise((resolve) => {
    const script = 'mount -t tmpfs none /run && exec "$@"';
    execFile('unshare', ['-m', 'sh', '-c', script, 'sh', process.execPath, ...CLI, ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A new temporary folder under the test run's scratch folder (removed when the run ends). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(inject('scratchRoot'), prefix));
}

/** A temporary migrations directory holding the given files. */
export function migrationsDir(files: Record<string, string>): string {
  const dir = scratchDir('ch-migrations-');
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** The repo's own chain with some files replaced or added (by file name; a null removes one). */
export function chainWith(changes: Record<string, string | null>): string {
  const files: Record<string, string> = {};
  for (const name of readdirSync(MIGRATIONS)) files[name] = readFileSync(path.join(MIGRATIONS, name), 'utf8');
  for (const [name, content] of Object.entries(changes)) {
    if (content === null) delete files[name];
    else files[name] = content;
  }
  return migrationsDir(files);
}
