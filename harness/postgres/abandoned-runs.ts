import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A run killed outright (SIGKILL, the OOM killer, a CI job cancelled hard) cannot clean up: its
 * temporary directory stays, in memory when it is under /dev/shm, and its PostgreSQL keeps
 * running without it. Every embedded server's directory names its owner; the next start sweeps
 * the directories whose owner is gone, stopping their server first. A directory without an
 * owner file, or whose owner still runs, is never touched.
 */
const PREFIX = 'constraint-harness-';
const OWNER = 'owner.json';

/** Marks `root` as this process's, for the sweeps of later runs. */
export function claimDirectory(root: string): void {
  writeFileSync(path.join(root, OWNER), JSON.stringify({ pid: process.pid }));
}

/** Removes the directories under `parent` of runs that died; returns what was removed. */
export async function sweepAbandonedRuns(parent: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((name) => name.startsWith(PREFIX));
  } catch {
    return removed;
  }
  for (const name of entries) {
    const root = path.join(parent, name);
    const owner = readPid(path.join(root, OWNER), (text) => JSON.parse(text).pid);
    if (owner === undefined || owner === process.pid || alive(owner)) continue;
    // the server may have outlived its owner: stop it (immediate shutdown) if it is this directory's
    const postmaster = readPid(path.join(root, 'data', 'postmaster.pid'), (text) => Number(text.split('\n')[0]));
    if (postmaster !== undefined && alive(postmaster)) {
      if (!servesFrom(postmaster, root) || !signal(postmaster, 'SIGQUIT')) continue;
      if (!(await exited(postmaster, 5000))) signal(postmaster, 'SIGKILL');
      if (!(await exited(postmaster, 5000))) continue;
    }
    rmSync(root, { recursive: true, force: true });
    removed.push(root);
  }
  return removed;
}

function readPid(file: string, parse: (text: string) => unknown): number | undefined {
  try {
    const pid = parse(readFileSync(file, 'utf8'));
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** Whether process `pid` is a postgres whose data directory is under `root` (Linux: its command line). */
function servesFrom(pid: number, root: string): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return false;
  return readFileSync(cmdline, 'utf8').split('\0').includes(path.join(root, 'data'));
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await sleep(25);
  }
  return !alive(pid);
}
