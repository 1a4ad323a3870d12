import { snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { SetupError, errorMessage } from '../errors.ts';
import { loadMigrations, Migrator } from '../migrate/index.ts';
import { connectClient, ScratchDatabases, type PostgresProvider, type PostgresServer } from '../postgres/index.ts';
import { StateTemplates, type StartingState } from '../states/index.ts';
import type { Suite } from './suite.ts';

export interface WorkbenchOptions {
  provider: PostgresProvider;
  migrationsDir: string;
  to?: string;
  states?: string[];
  log: (line: string) => void;
}

/** The catalog an empty database reaches through the chain, or why it cannot. */
export type Reference = { catalog: CatalogSnapshot } | { error: string };

/** Timings of the set-up phase, for the benchmark. */
export interface SetupTimings {
  serverMs: number;
  templatesMs: number;
}

/**
 * Everything a command needs before it checks anything: the chain, the selected states, a
 * running server, the state templates and the reference catalog. `close` drops every database
 * the run made and stops the server.
 */
export interface Workbench {
  server: PostgresServer;
  databases: ScratchDatabases;
  migrator: Migrator;
  to: string;
  states: StartingState[];
  templates: StateTemplates;
  reference: Reference;
  timings: SetupTimings;
  close(): Promise<void>;
}

/** Checks what needs no server (migrations, --to, states) so that mistakes fail fast. */
export async function prepareChain(suite: Suite, options: Pick<WorkbenchOptions, 'migrationsDir' | 'to' | 'states'>) {
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

export async function openWorkbench(suite: Suite, options: WorkbenchOptions): Promise<Workbench> {
  const { migrator, to, states } = await prepareChain(suite, options);
  let started = performance.now();
  const server = await options.provider.start();
  const databases = new ScratchDatabases(server);
  const close = async () => {
    await databases.close();
    await server.stop();
  };
  try {
    const timings: SetupTimings = { serverMs: Math.round(performance.now() - started), templatesMs: 0 };
    options.log(`PostgreSQL ${server.version} (${server.provider}) at ${server.describe()}${server.location ? `, ${server.location}` : ''}`);
    started = performance.now();
    const templates = new StateTemplates(databases, migrator);
    const [reference] = await Promise.all([referenceCatalog(databases, migrator, to), templates.buildAll(states)]);
    timings.templatesMs = Math.round(performance.now() - started);
    if ('error' in reference) options.log(`the chain does not apply to an empty database: ${reference.error}`);
    options.log(`built ${states.length} state template(s) and the reference catalog at ${to} in ${timings.templatesMs} ms`);
    return { server, databases, migrator, to, states, templates, reference, timings, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function referenceCatalog(databases: ScratchDatabases, migrator: Migrator, to: string): Promise<Reference> {
  const name = await databases.create('reference');
  const client = await connectClient(databases.server.connectionConfig(name));
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
