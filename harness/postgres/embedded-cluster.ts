import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import type { EmbeddedBinaries } from './embedded-binaries.ts';

export const SUPERUSER = 'postgres';

/** The unprivileged user PostgreSQL runs as when the harness runs as root. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

export function unprivilegedUser(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isInteger(uid) && uid !== 0) return { uid, gid, name };
    } catch {
      continue;
    }
  }
  throw new SetupError('running as root, PostgreSQL needs an unprivileged user: neither "postgres" nor "nobody" exists (useradd --system postgres)');
}

/**
 * Where a server's temporary directory goes: `CONSTRAINT_HARNESS_TMPDIR` if set, else memory
 * (/dev/shm) when it has room for a long run (2 GiB), else the system's temporary directory. A
 * throwaway cluster gains nothing from a disk: measured here, copying a cluster took 0.1 s in
 * /dev/shm and 0.3 to 1.1 s on the disk, and every CREATE DATABASE writes files too.
 */
export function scratchParent(): string {
  if (process.env.CONSTRAINT_HARNESS_TMPDIR) return process.env.CONSTRAINT_HARNESS_TMPDIR;
  try {
    accessSync('/dev/shm', constants.W_OK);
    const space = statfsSync('/dev/shm');
    if (space.bavail * space.bsize >= 2 * 1024 ** 3) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return os.tmpdir();
}

const INITDB_OPTIONS = ['--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions', '--wal-segsize=1'];

/**
 * A data directory for a new server in `root`, and the superuser password it accepts. initdb
 * takes a second; its result is the same every time for the same binaries, so it is made once
 * per PostgreSQL version into node_modules/.cache/constraint-harness/ and copied from there
 * (about a tenth of that). The caller replaces the password at start-up, so no two servers
 * share one. `CONSTRAINT_HARNESS_CLUSTER_CACHE=0` initdb's every time.
 */
export function prepareCluster(binaries: EmbeddedBinaries, root: string, runAs: RunAs | undefined): { dataDir: string; password: string } {
  const dataDir = path.join(root, 'data');
  const cache = process.env.CONSTRAINT_HARNESS_CLUSTER_CACHE === '0' ? undefined : cacheDirectory(binaries);
  if (!cache) {
    const password = randomBytes(18).toString('base64url');
    initdb(binaries, root, dataDir, password, runAs);
    return { dataDir, password };
  }
  if (!existsSync(path.join(cache, 'ready'))) buildCache(binaries, cache, runAs);
  copyDirectory(path.join(cache, 'data'), dataDir);
  return { dataDir, password: readFileSync(path.join(cache, 'password'), 'utf8').trim() };
}

/** node_modules/.cache/constraint-harness/<major>-<version>: beside the binaries it was made with. */
function cacheDirectory(binaries: EmbeddedBinaries): string | undefined {
  const modules = binaries.initdb.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  if (modules < 0) return undefined;
  const key = `cluster-${binaries.packageName.replace(/[^a-z0-9]+/gi, '_')}-${binaries.version}-${process.getuid?.() ?? 'user'}`;
  return path.join(binaries.initdb.slice(0, modules), 'node_modules', '.cache', 'constraint-harness', key);
}

/** initdb into a directory of its own, then renamed into place: two runs building at once never see half a cache. */
function buildCache(binaries: EmbeddedBinaries, cache: string, runAs: RunAs | undefined): void {
  mkdirSync(path.dirname(cache), { recursive: true });
  const building = mkdtempSync(`${cache}.building-`);
  try {
    if (runAs) chownSync(building, runAs.uid, runAs.gid);
    const password = randomBytes(18).toString('base64url');
    initdb(binaries, building, path.join(building, 'data'), password, runAs);
    writeFileSync(path.join(building, 'password'), password + '\n', { mode: 0o600 });
    writeFileSync(path.join(building, 'ready'), new Date().toISOString());
    try {
      renameSync(building, cache);
    } catch (error) {
      if (!existsSync(path.join(cache, 'ready'))) throw error; // another run finished first: use theirs
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/** `cp -a` keeps owners and modes (the data directory must stay the server user's, 0700). */
function copyDirectory(from: string, to: string): void {
  try {
    execFileSync('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    cpSync(from, to, { recursive: true, preserveTimestamps: true });
  }
}

function initdb(binaries: EmbeddedBinaries, root: string, dataDir: string, password: string, runAs: RunAs | undefined): void {
  const passwordFile = path.join(root, 'pwfile');
  writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
  try {
    execFileSync(binaries.initdb, [`--pgdata=${dataDir}`, `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`, ...INITDB_OPTIONS], {
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').filter(Boolean).pop();
    throw new SetupError(`initdb failed (${binaries.initdb}): ${stderr ?? (error as Error).message}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}
