import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';
import { interruptCli, scratchDir } from './helpers.ts';

interface Interrupted {
  code: number | null;
  stderr: string;
  dataDir?: string;
  reportDir: string;
}

/** `verify` interrupted at a phase, with its report directory and its server's data directory. */
async function interrupt(args: string[], when: RegExp, signal: NodeJS.Signals, delayMs = 0): Promise<Interrupted> {
  const reportDir = scratchDir('ch-signal-report-');
  const { code, stderr } = await interruptCli(['verify', '--report', reportDir, ...args], when, signal, delayMs);
  return { code, stderr, reportDir, dataDir: /data directory (\S+)/.exec(stderr)?.[1] };
}

function leftovers(dataDir: string | undefined): string[] {
  if (!dataDir) return [];
  const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(dataDir) && !line.startsWith('ps '));
  return [...(existsSync(dataDir) ? [`directory ${dataDir}`] : []), ...processes.map((p) => `process ${p}`)];
}

describe('a clean stop on SIGINT and SIGTERM', () => {
  it.each([
    ['during start-up', ['--runs', '50'], /constraint-harness verify:/, 'SIGINT', 0],
    ['while templates are built', ['--runs', '50'], /data directory/, 'SIGTERM', 0],
    ['during a property', ['--runs', '500', '--group', 'migration', '--states', 'fresh,prod-drift'], /^\[1\] /m, 'SIGINT', 0],
    ['during a concurrent schedule and the live deploy', ['--runs', '500', '--group', 'concurrency', '--states', 'prod-drift', '--property', 'live-deploy-keeps-valid-writes'], /live-deploy-keeps-valid-writes \(concurrency\): started/, 'SIGTERM', 300],
  ] as const)('%s: exits 130/143 and leaves no server, directory or database behind', async (_label, args, when, signal, delay) => {
    const result = await interrupt([...args], when, signal, delay);
    expect(result.code, result.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(result.stderr).toContain(`${signal} received, cleaning up`);
    // give the killed server a moment to be reaped before looking for it
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leftovers(result.dataDir)).toEqual([]);
    if (/data directory/.test(result.stderr) && /^\[1\] /m.test(result.stderr)) {
      const report = JSON.parse(readFileSync(path.join(result.reportDir, 'report.json'), 'utf8'));
      expect(report).toMatchObject({ ok: false, interrupted: signal });
      expect(existsSync(path.join(result.reportDir, 'report.md'))).toBe(true);
      expect(existsSync(path.join(result.reportDir, 'junit.xml'))).toBe(true);
    }
  });
});

describe('a run killed outright (SIGKILL) cannot clean up', () => {
  it('the next embedded start stops the server it left and removes its directory', async () => {
    const killed = await interrupt(['--runs', '500', '--group', 'migration', '--states', 'fresh,prod-drift'], /data directory/, 'SIGKILL', 0);
    expect(killed.code, killed.stderr).toBeNull();
    // what SIGKILL leaves: the directory (in memory under /dev/shm), and the server, still running
    expect(leftovers(killed.dataDir).length, killed.stderr).toBeGreaterThan(0);
    const server = await new EmbeddedPostgresProvider().start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(leftovers(killed.dataDir)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
