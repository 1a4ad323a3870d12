import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT, runCli, SEED } from './helpers.ts';

/**
 * `--suite auto` on chains in other tools' layouts, as a reviewer wrote them: what each tool's
 * way of writing SQL asks of the derivation (Prisma's quoted names, Sqitch's BEGIN/COMMIT around
 * a backfill, a dedupe before a UNIQUE, a foreign key the target adds).
 */
const FIXTURES = path.join(ROOT, 'test/fixtures/formats');
const url = () => inject('databaseUrl');

interface Report {
  ok: boolean;
  migrations: { format: string };
  states: { name: string; expect: string; migration: string; setupError?: string; properties: { name: string; ok: boolean; counterexample?: { actual: string } }[] }[];
}

async function verifyAuto(fixture: string, extra: string[] = []): Promise<{ code: number; report: Report; stderr: string }> {
  const result = await runCli(['verify', '--suite', 'auto', '--migrations', path.join(FIXTURES, fixture), '--url', url(), '--seed', String(SEED), '--json', ...extra]);
  try {
    return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
  } catch {
    throw new Error(`no JSON (exit ${result.code}):\n${result.stderr}`);
  }
}

const failures = (report: Report) => report.states.flatMap((s) => [...(s.setupError ? [`${s.name}: ${s.setupError}`] : []), ...s.properties.filter((p) => !p.ok).map((p) => `${s.name}/${p.name}: ${p.counterexample?.actual}`)]);

describe(`--suite auto on other tools' chains (seed ${SEED})`, () => {
  it('goose, a dedupe then a guarded UNIQUE: passes, the hand-applied UNIQUE standing over the rows it accepts', async () => {
    const { code, report, stderr } = await verifyAuto('goose-dedupe-unique', ['--runs', '5']);
    expect(failures(report), stderr).toEqual([]);
    expect(code).toBe(0);
    expect(report.migrations.format).toBe('goose');
    expect(report.states.find((s) => s.name === 'hand-applied-accounts-email-key')?.migration).toBe('converged');
  });

  it("Prisma's quoted names: its unique index and foreign key each get a violating state, and the migration fails on each as it must", async () => {
    const { report, stderr } = await verifyAuto('prisma-quoted', ['--group', 'migration', '--runs', '3']);
    expect(report.migrations.format).toBe('prisma');
    for (const name of ['violates-user-email-key', 'violates-post-authorid-fkey']) {
      const state = report.states.find((s) => s.name === name);
      expect(state, `${name} in ${report.states.map((s) => s.name).join(', ')}\n${stderr}`).toBeDefined();
      expect(state!.migration).toBe('failed-atomically');
      // the violating rows counted after the failure are the ones the state holds: a child whose parent the state has is not one
      expect(state!.properties.filter((p) => !p.ok).map((p) => `${p.name}: ${p.counterexample?.actual}`)).toEqual([]);
    }
  });

  it('Sqitch, a backfill inside the file’s own BEGIN/COMMIT: the rows it repairs are not taken for violators, and it passes', async () => {
    const { code, report, stderr } = await verifyAuto('sqitch-backfill', ['--runs', '5']);
    expect(failures(report), stderr).toEqual([]);
    expect(code).toBe(0);
    expect(report.migrations.format).toBe('sqitch');
    expect(report.states.map((s) => s.name)).not.toContain('violates-items-qty-nonneg');
    expect(stderr).toMatch(/each row tried with the pending migration/);
  });
});
