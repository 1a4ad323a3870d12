import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError, errorMessage } from '../../errors.ts';
import type { Migration } from '../migration-file.ts';
import { loadSqlParser } from '../sql-statements.ts';
import { alembicChain } from './alembic.ts';

const REVISION = /^revision(?:\s*:[^=\n]+)?\s*=\s*['"]([^'"]+)['"]/m;
const DOWN_REVISION = /^down_revision(?:\s*:[^=\n]+)?\s*=\s*(?:['"]([^'"]*)['"]|None)/m;
const UPGRADE = /^def upgrade\(/m;

/**
 * An Alembic project, straight from its `alembic.ini`: the harness asks Alembic itself for the
 * offline SQL of each revision (`alembic -c alembic.ini upgrade A:B --sql`, as a user would
 * export it by hand), so nobody exports files. Each revision is reported at its .py file, at
 * its `def upgrade(` line.
 */
export async function exportAlembicProject(ini: string): Promise<Migration[]> {
  const iniText = await readFile(ini, 'utf8').catch((error) => {
    throw new SetupError(`--alembic-ini ${ini}: ${errorMessage(error)}`);
  });
  const here = path.dirname(path.resolve(ini));
  const location = /^script_location\s*=\s*(.+?)\s*$/m.exec(iniText)?.[1]?.replace(/%\(here\)s/g, here);
  if (!location) throw new SetupError(`--alembic-ini ${ini} has no script_location`);
  const versions = path.resolve(here, location, 'versions');
  const files = (await readdir(versions).catch((error) => {
    throw new SetupError(`--alembic-ini ${ini}: cannot read its versions folder ${versions}: ${errorMessage(error)}`);
  })).filter((name) => name.endsWith('.py'));
  const env = await readFile(path.resolve(here, location, 'env.py'), 'utf8').catch(() => '');
  const revisions = new Map<string, { file: string; down?: string; line: number; text: string }>();
  for (const name of files) {
    const text = await readFile(path.join(versions, name), 'utf8');
    const revision = REVISION.exec(text)?.[1];
    if (!revision) continue;
    const up = UPGRADE.exec(text);
    revisions.set(revision, { file: path.join(versions, name), down: DOWN_REVISION.exec(text)?.[1] || undefined, line: up ? text.slice(0, up.index).split('\n').length : 1, text });
  }
  if (revisions.size === 0) throw new SetupError(`--alembic-ini ${ini}: no revision files in ${versions}`);
  await loadSqlParser();
  const exported = await mapLimited([...revisions], 2, async ([revision, { file, down, text }]) => {
    const range = down ? `${down}:${revision}` : revision;
    // the derivation and the run each load the chain: Alembic runs once per revision as written (its file, env.py, the ini)
    const key = [path.resolve(ini), iniText, env, range, text].join('\u0000');
    let sql = printed.get(key);
    if (!sql) {
      sql = offlineSql(here, ini, range);
      printed.set(key, sql);
      sql.catch(() => printed.delete(key));
    }
    return { name: path.basename(file), file, text: await sql };
  });
  const chain = alembicChain(versions, exported);
  // the statements are lines of Alembic's offline SQL: point them at the revision's upgrade() instead
  return chain.map((migration) => {
    const line = revisions.get(migration.revision)!.line;
    return { ...migration, statements: migration.statements.map((s) => ({ ...s, line })), upLine: line };
  });
}

/** Alembic's offline SQL, by everything that decides it: a revision is exported once per process. */
const printed = new Map<string, Promise<string>>();

/** The ways to run Alembic, first that works: $ALEMBIC, `alembic` on PATH, then a Python that has it. */
const ALEMBIC_COMMANDS: readonly string[][] = [...(process.env.ALEMBIC ? [[process.env.ALEMBIC]] : []), ['alembic'], ['python3', '-m', 'alembic'], ['/usr/bin/python3', '-m', 'alembic']];
let working: string[] | undefined;

async function offlineSql(cwd: string, ini: string, range: string): Promise<string> {
  const args = ['-c', path.resolve(ini), 'upgrade', range, '--sql'];
  let last = '';
  for (const command of working ? [working] : ALEMBIC_COMMANDS) {
    const result = await run(command, args, cwd);
    if (result.ok) {
      working = command;
      return result.stdout;
    }
    // a command that is not there, or a Python without alembic: try the next; Alembic's own error: stop
    if (!result.missing && !/No module named alembic/.test(result.stderr)) throw new SetupError(`alembic upgrade ${range} --sql failed:\n${result.stderr.trim() || result.error}`);
    last = result.stderr.trim() || result.error;
  }
  throw new SetupError(`--alembic-ini needs Alembic: none of ${ALEMBIC_COMMANDS.map((c) => c.join(' ')).join(', ')} runs it (${last}); apt-get install alembic python3-alembic, or pip install alembic, or set ALEMBIC to its path`);
}

function run(command: string[], args: string[], cwd: string): Promise<{ ok: boolean; missing: boolean; stdout: string; stderr: string; error: string }> {
  return new Promise((resolve) => {
    // PYTHONDONTWRITEBYTECODE: importing the revisions must not leave __pycache__ in the user's project
    execFile(command[0]!, [...command.slice(1), ...args], { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }, (error, stdout, stderr) => {
      resolve({ ok: !error, missing: (error as NodeJS.ErrnoException | null)?.code === 'ENOENT', stdout, stderr, error: error ? errorMessage(error) : '' });
    });
  });
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  }));
  return results;
}
