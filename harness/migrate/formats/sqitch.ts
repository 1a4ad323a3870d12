import { createHash } from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import { SetupError } from '../../errors.ts';
import { parsedBody, type Migration } from '../migration-file.ts';
import { psqlUnits, step, type PlanUnit } from '../runner.ts';
import { readIfExists, stampByRecording, type SqlCommand, type VersionTable } from '../version-table.ts';
import type { DirectoryListing, FormatSpec } from './format.ts';
import { SQITCH_REGISTRY_SQL } from './sqitch-registry.ts';

const PLAN = 'sqitch.plan';
const DATE = String.raw`(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)`;
const PLANNER = String.raw`([^<]+?)\s+<([^>]+)>`;
const CHANGE_LINE = new RegExp(String.raw`^\s*([+-]?)([^\s\[@#]+)(?:\s+\[([^\]]*)\])?\s+${DATE}\s+${PLANNER}(?:\s+#\s?(.*))?\s*$`);
const TAG_LINE = new RegExp(String.raw`^\s*@(\S+)\s+${DATE}\s+${PLANNER}(?:\s+#\s?(.*))?\s*$`);

interface PlannedTag {
  tag_id: string;
  tag: string;
  note: string;
  planned_at: string;
  planner_name: string;
  planner_email: string;
}

/**
 * Sqitch (sqitchers/sqitch 1.3.1, lib/App/Sqitch/Plan.pm, Plan/Change.pm, Engine.pm,
 * Role/DBIEngine.pm, Engine/pg.pm):
 * - the order is `sqitch.plan`'s change lines; each change is `deploy/<change>.sql`;
 * - each deploy script is run by psql (`psql -q -X -A -t -v ON_ERROR_STOP=1 --file deploy/x.sql`,
 *   no `--single-transaction`): statement by statement, atomic only through the
 *   BEGIN/COMMIT that Sqitch's template writes into the script;
 * - then, in a transaction of its own, the registry rows: `sqitch.changes` (its id the SHA-1
 *   of the plan's text for it, its script_hash the SHA-1 of the file), `dependencies`,
 *   `tags`, `events` ('deploy'); the registry (`pg.sql`) and its `releases` and `projects`
 *   rows are created on the first deploy;
 * - what is deployed: the latest `changes` row by `committed_at`, and every change before it
 *   in the plan.
 * Not imitated: after a failure, Sqitch's default `--mode all` runs the revert scripts of the
 * changes this same deploy already made; the harness leaves them (one pending change, the usual
 * case, makes no difference), and the 'fail' event it logs.
 */
export const sqitch: FormatSpec = {
  name: 'sqitch',
  tool: 'Sqitch',
  proven: 'real tool',
  runners: ['sqitch'],
  async detect(listing) {
    return listing.files.includes(PLAN);
  },
  read: readPlan,
  versionTable: (migrations) => new SqitchRegistry(String(migrations[0]?.versionData?.project ?? ''), (migrations[0]?.versionData?.uri as string | null | undefined) ?? null),
  plan(migrations, _runner, versionTable, options) {
    const registry = versionTable as SqitchRegistry;
    const units: PlanUnit[] = [];
    if (options.record && migrations.length) units.push(...registry.prepare().map((command, i) => ({ migration: migrations[0]!, wrapped: false, steps: [step(migrations[0]!, i ? `prepare${i + 1}` : 'prepare', 'prepare' as const, command, [])] })));
    for (const migration of migrations) {
      units.push(...psqlUnits(migration, 'psql', []));
      if (options.record) units.push({ migration, wrapped: true, steps: registry.record(migration).map((command, i) => step(migration, i ? `record${i + 1}` : 'record', 'record', command, [])) });
    }
    return units;
  },
};

async function readPlan(listing: DirectoryListing): Promise<Migration[]> {
  const text = await listing.text(PLAN);
  const pragmas = new Map<string, string>();
  const migrations: Migration[] = [];
  let inHeader = true;
  let previousId: string | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (inHeader) {
      const pragma = /^\s*%\s*([\w-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (pragma) {
        pragmas.set(pragma[1]!, pragma[2]!);
        continue;
      }
      if (line.trim() === '') {
        inHeader = false;
        continue;
      }
      inHeader = false;
    }
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const project = pragmas.get('project');
    if (!project) throw new SetupError(`Missing %project pragma in ${path.join(listing.dir, PLAN)}`);
    const uri = pragmas.get('uri');
    const tag = TAG_LINE.exec(line);
    if (tag) {
      const last = migrations.at(-1);
      if (!last) throw new SetupError(`${PLAN}:${i + 1}: a tag before any change`);
      const [, name, date, planner, email, note] = tag;
      const info = [`project ${project}`, ...(uri ? [`uri ${uri}`] : []), `tag @${name}`, `change ${last.versionData!.change_id}`, `planner ${planner!.trim()} <${email}>`, `date ${date}`, ...(note ? ['', unescape(note.trim())] : [])].join('\n');
      const tags = JSON.parse(String(last.versionData!.tags)) as PlannedTag[];
      tags.push({ tag_id: gitHash('tag', info), tag: `@${name}`, note: unescape(note?.trim() ?? ''), planned_at: date!, planner_name: planner!.trim(), planner_email: email! });
      last.versionData = { ...last.versionData, tags: JSON.stringify(tags) };
      continue;
    }
    const change = CHANGE_LINE.exec(line);
    if (!change) throw new SetupError(`${path.join(listing.dir, PLAN)}:${i + 1}: not a Sqitch change or tag line: ${line}`);
    const [, operator, name, deps, date, planner, email, note] = change;
    if (operator === '-') throw new SetupError(`${PLAN}:${i + 1}: a revert line (-${name}) in the plan: the harness verifies plans that only deploy`);
    if (migrations.some((m) => m.revision === name)) throw new SetupError(`${PLAN}:${i + 1}: ${name} is reworked (planned twice): the harness does not read reworked Sqitch changes yet`);
    const dependencies = (deps ?? '').split(/\s+/).filter(Boolean);
    const requires = dependencies.filter((d) => !d.startsWith('!'));
    const conflicts = dependencies.filter((d) => d.startsWith('!')).map((d) => d.slice(1));
    const plannerName = planner!.trim();
    const noteText = unescape(note?.trim() ?? '');
    const info = [
      `project ${project}`,
      ...(uri ? [`uri ${uri}`] : []),
      `change ${name}`,
      ...(previousId ? [`parent ${previousId}`] : []),
      `planner ${plannerName} <${email}>`,
      `date ${date}`,
      ...(requires.length ? [`requires\n  + ${requires.join('\n  + ')}`] : []),
      ...(conflicts.length ? [`conflicts\n  - ${conflicts.join('\n  - ')}`] : []),
      ...(noteText ? ['', noteText] : []),
    ].join('\n');
    const changeId = gitHash('change', info);
    previousId = changeId;
    const file = `deploy/${name}.sql`;
    if (!listing.files.includes(file)) throw new SetupError(`${PLAN} plans ${name}, but ${path.join(listing.dir, file)} does not exist`);
    const script = await listing.text(file);
    const dependencyIds = requires.map((dep) => {
      const found = migrations.find((m) => m.revision === dep);
      if (!found) throw new SetupError(`${PLAN}:${i + 1}: Unknown change "${dep}" required by change "${name}" (the harness reads one project's plan)`);
      return String(found.versionData!.change_id);
    });
    migrations.push({
      revision: name!,
      description: noteText || name!,
      file: path.join(listing.dir, file),
      shownAs: file,
      ...parsedBody(script, 0),
      transactional: true,
      versionData: {
        project,
        uri: uri ?? null,
        change_id: changeId,
        script_hash: createHash('sha1').update(Buffer.from(script, 'utf8')).digest('hex'),
        note: noteText,
        planned_at: date!,
        planner_name: plannerName,
        planner_email: email!,
        requires: JSON.stringify(requires),
        requires_ids: JSON.stringify(dependencyIds),
        conflicts: JSON.stringify(conflicts),
        tags: '[]',
      },
    });
  }
  return migrations;
}

/** Plan notes escape `\n`, `\r` and `\\`. */
function unescape(note: string): string {
  return note.replace(/\\([nr\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** Sqitch's ids: the SHA-1 of `<kind> <byte length>\0<info>`, as git hashes an object. */
function gitHash(kind: string, info: string): string {
  const content = Buffer.from(info, 'utf8');
  return createHash('sha1').update(Buffer.concat([Buffer.from(`${kind} ${content.length}\0`), content])).digest('hex');
}

/** Who Sqitch says deployed: SQITCH_FULLNAME and SQITCH_EMAIL, as Sqitch reads them. */
function committer(): [string, string] {
  return [process.env.SQITCH_FULLNAME || 'constraint-harness', process.env.SQITCH_EMAIL || 'constraint-harness@localhost'];
}

export class SqitchRegistry implements VersionTable {
  readonly name = 'sqitch.changes';
  readonly tables = ['sqitch.releases', 'sqitch.projects', 'sqitch.changes', 'sqitch.tags', 'sqitch.dependencies', 'sqitch.events'];
  readonly stampCovers = 'ancestors';

  constructor(
    private readonly project: string,
    private readonly uri: string | null,
  ) {}

  /** The registry (pg.sql) and its release row when missing, then the project's row (Engine.pm `initialize`, `register_project`). */
  prepare(): SqlCommand[] {
    const [name, email] = committer();
    return [
      { sql: `DO $sqitch$ BEGIN IF to_regclass('sqitch.changes') IS NULL THEN\n${SQITCH_REGISTRY_SQL}\nINSERT INTO sqitch.releases (version, installed_at, installer_name, installer_email) VALUES (1.1, clock_timestamp(), ${lit(name)}, ${lit(email)});\nEND IF; END $sqitch$` },
      { sql: 'INSERT INTO sqitch.projects (project, uri, creator_name, creator_email, created_at) VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT (project) DO NOTHING', parameters: [this.project, this.uri, name, email] },
    ];
  }

  /** Role/DBIEngine.pm `log_deploy_change`: the change, its dependencies, its tags, the 'deploy' event. */
  record(migration: Migration): SqlCommand[] {
    const d = migration.versionData!;
    const [name, email] = committer();
    const requires = JSON.parse(String(d.requires)) as string[];
    const requiresIds = JSON.parse(String(d.requires_ids)) as string[];
    const conflicts = JSON.parse(String(d.conflicts)) as string[];
    const tags = JSON.parse(String(d.tags)) as PlannedTag[];
    return [
      {
        sql: 'INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committer_name, committer_email, planned_at, planner_name, planner_email, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())',
        parameters: [d.change_id, d.script_hash, migration.revision, d.project, d.note, name, email, d.planned_at, d.planner_name, d.planner_email],
      },
      ...requires.map((dependency, i) => ({ sql: 'INSERT INTO sqitch.dependencies (change_id, type, dependency, dependency_id) VALUES ($1, $2, $3, $4)', parameters: [d.change_id, 'require', dependency, requiresIds[i]] })),
      ...conflicts.map((dependency) => ({ sql: 'INSERT INTO sqitch.dependencies (change_id, type, dependency, dependency_id) VALUES ($1, $2, $3, NULL)', parameters: [d.change_id, 'conflict', dependency] })),
      ...tags.map((tag) => ({
        sql: 'INSERT INTO sqitch.tags (tag_id, tag, project, change_id, note, committer_name, committer_email, planned_at, planner_name, planner_email, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())',
        parameters: [tag.tag_id, tag.tag, d.project, d.change_id, tag.note, name, email, tag.planned_at, tag.planner_name, tag.planner_email],
      })),
      {
        sql: 'INSERT INTO sqitch.events (event, change_id, change, project, note, tags, requires, conflicts, committer_name, committer_email, planned_at, planner_name, planner_email, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, clock_timestamp())',
        parameters: ['deploy', d.change_id, migration.revision, d.project, d.note, tags.map((t) => t.tag), requires, conflicts, name, email, d.planned_at, d.planner_name, d.planner_email],
      },
    ];
  }

  /** `sqitch deploy --log-only`: the registry rows, the script not run. */
  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    return stampByRecording(this, revision, chain);
  }

  /** Engine.pm `_sync_plan`: the latest change by committed_at, and every change before it in the plan. */
  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const latest = (await readIfExists<{ change_id: string }>(client, 'sqitch.changes', `SELECT change_id FROM sqitch.changes WHERE project = ${lit(this.project)} ORDER BY committed_at DESC LIMIT 1`))[0];
    if (!latest) return new Set();
    const index = chain.findIndex((m) => m.versionData?.change_id === latest.change_id);
    return new Set(chain.slice(0, index + 1).map((m) => m.revision));
  }
}

function lit(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
