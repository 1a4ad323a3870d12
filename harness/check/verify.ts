import pg from 'pg';
import { snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { SetupError, errorMessage } from '../errors.ts';
import { loadMigrations, Migrator } from '../migrate/index.ts';
import { ScratchDatabases, type PostgresProvider } from '../postgres/index.ts';
import type { StateReport, VerifyReport } from '../report/verify-report.ts';
import { StateTemplates, type StartingState } from '../states/index.ts';
import { checkStateMigration } from './migration-properties.ts';
import { checkWrites, prepareWriteTarget, type WriteContext } from './write-properties.ts';
import type { PropertyGroup, PropertyResult } from './property-result.ts';
import type { Suite } from './suite.ts';

export interface VerifyOptions {
  provider: PostgresProvider;
  migrationsDir: string;
  to?: string;
  states?: string[];
  groups: PropertyGroup[];
  runs: number;
  seed: number;
  path?: string;
  /** Builds the command that replays one failure, for counterexamples. */
  replayCommand: (state: StartingState, group: PropertyGroup, seed: number, path: string) => string;
  log: (line: string) => void;
}

/** Timings of the set-up phase, for the benchmark and the console. */
export interface SetupTimings {
  serverMs: number;
  templatesMs: number;
}

/** Checks the options that need no server (states, migrations, --to) so mistakes fail fast. */
export async function prepareVerify(suite: Suite, options: Pick<VerifyOptions, 'migrationsDir' | 'to' | 'states'>) {
  const migrator = new Migrator(await loadMigrations(options.migrationsDir));
  const to = migrator.target(options.to ?? suite.target).revision;
  const states = selectStates(suite.states, options.states);
  return { migrator, to, states };
}

export function selectStates(all: readonly StartingState[], names?: readonly string[]): StartingState[] {
  if (!names || names.length === 0) return [...all];
  return names.map((name) => {
    const state = all.find((candidate) => candidate.name === name);
    if (!state) throw new SetupError(`unknown state "${name}" (states: ${all.map((s) => s.name).join(', ')})`);
    return state;
  });
}

/** Runs the selected groups over the selected states on a server the provider starts. */
export async function verify(suite: Suite, options: VerifyOptions, timings?: SetupTimings): Promise<VerifyReport> {
  const { migrator, to, states } = await prepareVerify(suite, options);
  let started = performance.now();
  const server = await options.provider.start();
  const databases = new ScratchDatabases(server);
  try {
    if (timings) timings.serverMs = Math.round(performance.now() - started);
    options.log(`PostgreSQL ${server.version} (${server.provider}) at ${server.describe()}`);
    started = performance.now();
    const templates = new StateTemplates(databases, migrator);
    const [reference] = await Promise.all([referenceCatalog(databases, migrator, to), templates.buildAll(states)]);
    if ('error' in reference) options.log(`the chain does not apply to an empty database: ${reference.error}`);
    if (timings) timings.templatesMs = Math.round(performance.now() - started);
    options.log(`built ${states.length} state template(s) and the reference catalog at ${to}`);

    const reports: StateReport[] = [];
    for (const state of states) {
      const report: StateReport = { name: state.name, story: state.story, expect: state.expect, migration: 'not-run', properties: [] };
      if (options.groups.includes('migration') && 'error' in reference) {
        report.migration = 'failed';
        report.error = reference.error;
        report.properties.push(referenceFailure(reference.error, to, options.seed));
      } else if (options.groups.includes('migration') && 'catalog' in reference) {
        const result = await checkStateMigration(state, {
          templates, migrator, to, reference: reference.catalog, runs: options.runs, seed: options.seed, path: options.path,
          replayCommand: (s, seed, path) => options.replayCommand(s, 'migration', seed, path),
        });
        report.migration = result.outcome;
        if (result.error) report.error = result.error;
        if (result.catalogDiff.length) report.catalogDiff = result.catalogDiff;
        report.properties.push(...result.properties);
      }
      if (options.groups.includes('writes') && suite.writes?.length) {
        await runWrites(suite, state, report, {
          templates, migrator, to, reference: 'catalog' in reference ? reference.catalog : undefined,
          runs: options.runs, seed: options.seed, path: options.path,
          replayCommand: (s, seed, path) => options.replayCommand(s, 'writes', seed, path),
        });
      }
      options.log(`${state.name}: ${report.properties.every((p) => p.ok) ? 'ok' : 'FAILED'}`);
      reports.push(report);
    }
    return {
      ok: reports.every((report) => report.properties.every((property) => property.ok)),
      postgres: { version: server.version, provider: server.provider },
      migrations: { dir: options.migrationsDir, to },
      seed: options.seed,
      states: reports,
    };
  } finally {
    await databases.close();
    await server.stop();
  }
}

/** The writes group for one state: one migrated database, every scenario on fresh keys. */
async function runWrites(suite: Suite, state: StartingState, report: StateReport, context: WriteContext): Promise<void> {
  const target = await prepareWriteTarget(state, context);
  if ('skipped' in target) {
    report.skipped = [...(report.skipped ?? []), `writes: ${target.skipped}`];
    return;
  }
  try {
    for (const scenario of suite.writes ?? []) {
      report.properties.push((await checkWrites(state, scenario, target.database, context)).property);
    }
  } finally {
    await target.database.drop();
  }
}

/** The catalog an empty database reaches through the chain: what every state must converge to. */
async function referenceCatalog(databases: ScratchDatabases, migrator: Migrator, to: string): Promise<{ catalog: CatalogSnapshot } | { error: string }> {
  const name = await databases.create('reference');
  const client = new pg.Client(databases.server.connectionConfig(name));
  client.on('error', () => undefined);
  await client.connect();
  try {
    await migrator.migrate(client, to);
    return { catalog: await snapshotCatalog(client) };
  } catch (error) {
    return { error: errorMessage(error) };
  } finally {
    await client.end();
    await databases.drop(name);
  }
}

/** Without a reference catalog no state can be judged: every state reports why. */
function referenceFailure(error: string, to: string, seed: number): PropertyResult {
  return {
    name: 'chain-applies-to-empty-database',
    group: 'migration',
    ok: false,
    runs: 1,
    ms: 0,
    seed,
    counterexample: { steps: ['empty database', `migrate to ${to}`], expected: `the chain up to ${to} applies`, actual: error },
  };
}
