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
 * its `def upgrade(` line. The command is `$ALEMBIC` if set, else `alembic` on PATH.
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
  const revisions = new Map<string, { file: string; down?: string; line: number }>();
  for (const name of files) {
    const text = await readFile(path.join(versions, name), 'utf8');
    const revision = REVISION.exec(text)?.[1];
    if (!revision) continue;
    const up = UPGRADE.exec(text);
    revisions.set(revision, { file: path.join(versions, name), down: DOWN_REVISION.exec(text)?.[1] || undefined, line: up ? text.slice(0, up.index).split('\n').length : 1 });
  }
  if (revisions.size === 0) throw new SetupError(`--alembic-ini ${ini}: no revision files in ${versions}`);
  await loadSqlParser();
  const exported = await mapLimited([...revisions], 2, async ([revision, { file, down }]) => ({ name: path.basename(file), file, text: await offlineSql(here, ini, down ? `${down}:${revision}` : revision) }));
  const chain = alembicChain(versions, exported);
  // the statements are lines of Alembic's offline SQL: point them at the revision's upgrade() instead
  return chain.map((migration) => {
    const line = revisions.get(migration.revision)!.line;
    return { ...migration, statements: migration.statements.map((s) => ({ ...s, line })), upLine: line };
  });
}

function offlineSql(cwd: string, ini: string, range: string): Promise<string> {
  const command = process.env.ALEMBIC || 'alembic';
  return new Promise((resolve, reject) => {
    execFile(command, ['-c', path.resolve(ini), 'upgrade', range, '--sql'], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new SetupError(missing ? `--alembic-ini needs Alembic: ${command} is not on PATH (pip install alembic, or apt-get install python3-alembic; or set ALEMBIC to its path)` : `alembic upgrade ${range} --sql failed:\n${stderr.trim() || errorMessage(error)}`));
      } else resolve(stdout);
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
