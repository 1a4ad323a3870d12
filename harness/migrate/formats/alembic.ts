import path from 'node:path';
import { SetupError } from '../../errors.ts';
import { parsedBody, type Migration } from '../migration-file.ts';
import { prepareUnits, psqlUnits } from '../runner.ts';
import { AlembicVersion } from '../version-table.ts';
import { anyFileSays, type DirectoryListing, type FormatSpec } from './format.ts';

const ALEMBIC_WRITE = /\b(insert\s+into|update)\s+("?\w+"?\.)?"?alembic_version"?/i;
const ALEMBIC_VERSION = /version_num\s*=\s*'([^']+)'|\(version_num\)\s*VALUES\s*\('([^']+)'\)/gi;
const ALEMBIC_STEP = /^--\s*Running upgrade\s+(\S*)\s*->\s*(\S+)\s*$/gm;

/**
 * Alembic's offline SQL: what `alembic upgrade A:B --sql` prints, one file per revision (by
 * hand, or by the harness itself from `--alembic-ini`). Each file keeps `alembic_version`
 * itself and carries its own BEGIN/COMMIT; psql sends it. Revision ids come from the file,
 * not its name; the `-- Running upgrade A -> B` comments link them into one chain.
 */
export const alembic: FormatSpec = {
  name: 'alembic',
  tool: 'Alembic',
  proven: 'real tool',
  runners: ['psql', 'psql-single-transaction'],
  detect: (listing) => anyFileSays(listing, sqlFiles(listing), ALEMBIC_WRITE),
  async read(listing) {
    const texts = await Promise.all(sqlFiles(listing).map(async (name) => ({ name, file: path.join(listing.dir, name), text: await listing.text(name) })));
    return alembicChain(listing.dir, texts);
  },
  versionTable: () => new AlembicVersion(),
  plan(migrations, runner, versionTable, options) {
    // the offline SQL writes alembic_version itself: nothing is recorded besides it
    return [...prepareUnits(migrations, versionTable, options), ...migrations.flatMap((m) => psqlUnits(m, runner === 'psql-single-transaction' ? 'psql-single-transaction' : 'psql', []))];
  },
};

function sqlFiles(listing: DirectoryListing): string[] {
  return listing.files.filter((file) => !file.includes('/') && file.endsWith('.sql'));
}

/**
 * The offline SQL of Alembic revisions, in chain order by the links of their `-- Running
 * upgrade A -> B` comments, whatever the files are called. `file` is where a revision is
 * reported (the offline SQL, or the revision's .py file when the harness exported it).
 */
export function alembicChain(dir: string, texts: readonly { name: string; file: string; text: string }[]): Migration[] {
  const byRevision = new Map<string, Migration>();
  for (const { name, file, text } of texts) {
    const steps = [...text.matchAll(ALEMBIC_STEP)];
    const written = [...text.matchAll(ALEMBIC_VERSION)].map((match) => match[1] ?? match[2]!);
    if (steps.length > 1) {
      throw new SetupError(`${name} holds ${steps.length} Alembic revisions (${steps.map((s) => s[2]).join(', ')}): write one file per revision, e.g. alembic upgrade ${steps[0]![1] || 'base'}:${steps[0]![2]} --sql`);
    }
    const revision = steps[0]?.[2] ?? written.at(-1);
    if (!revision) throw new SetupError(`${name} does not look like Alembic offline SQL: it neither says "-- Running upgrade A -> B" nor writes alembic_version`);
    if (byRevision.has(revision)) throw new SetupError(`two migration files are Alembic revision ${revision}: ${path.basename(byRevision.get(revision)!.file)} and ${name}`);
    const down = steps[0]?.[1] || undefined;
    byRevision.set(revision, { revision, description: name.replace(/\.(sql|py)$/, ''), file, ...parsedBody(text, 0), transactional: true, downRevision: down });
  }
  const ordered: Migration[] = [];
  let next = [...byRevision.values()].filter((m) => m.downRevision === undefined || !byRevision.has(m.downRevision));
  if (next.length !== 1) throw new SetupError(`the Alembic revisions in ${dir} do not form one chain: ${next.length === 0 ? 'every revision has a parent' : `${next.map((m) => m.revision).join(', ')} all start it`}`);
  while (next.length === 1) {
    ordered.push(next[0]!);
    const parent = next[0]!.revision;
    next = [...byRevision.values()].filter((m) => m.downRevision === parent);
    if (next.length > 1) throw new SetupError(`Alembic revision ${parent} has ${next.length} children (${next.map((m) => m.revision).join(', ')}): the harness verifies one linear chain`);
  }
  if (ordered.length !== byRevision.size) throw new SetupError(`some Alembic revisions in ${dir} are not linked to the chain: ${[...byRevision.keys()].filter((r) => !ordered.some((m) => m.revision === r)).join(', ')}`);
  return ordered;
}
