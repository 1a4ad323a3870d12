import { snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { SetupError } from '../errors.ts';
import { Chain, defaultRunner, Migrator } from '../migrate/index.ts';
import { chooseProvider, withClient, ScratchDatabases, type PostgresServer } from '../postgres/index.ts';
import { interruptedStates } from '../states/interrupted-states.ts';
import { handAppliedStates } from '../states/hand-applied-states.ts';
import { StateTemplates, type StartingState, type TemplateResult } from '../states/index.ts';
import type { ServerError } from '../sessions/index.ts';
import type { Suite } from '../suite.ts';
import { Snapshot } from '../snapshot/snapshot.ts';
import type { RunConfig } from './run-config.ts';

/** The catalog an empty database reaches through the chain, or why it cannot. */
export type Reference = { catalog: CatalogSnapshot } | { error: string; server?: ServerError };

/** Timings of the set-up phase, for the benchmark. */
export interface SetupTimings {
  serverMs: number;
  templatesMs: number;
}

/** What needs no server: the chain, the revisions, the runner and the selected states. */
export interface Plan {
  migrator: Migrator;
  /** The revision the chain is deployed up to (`--to`, else the suite's target, else the chain's last). */
  to: string;
  /**
   * The revision the states are built around ("the revision before the target"): the suite's
   * target when the chain has it, else `to`. So `--to 0030` deploys the chain without 0031 onto
   * the states as they were before 0031 (the self-check), while a chain named by another tool
   * (dbmate timestamps, Alembic ids) anchors its states at the revision it verifies.
   */
  anchor: string;
  states: StartingState[];
  /** The state copied from a real database or a dump, when one is given. */
  snapshot?: Snapshot;
}

/**
 * Everything a command needs before it checks anything: the chain, the selected states, a
 * running server, the state templates and the reference catalog. `close` drops every database
 * the run made and stops the server.
 */
export interface Workbench extends Plan {
  server: PostgresServer;
  databases: ScratchDatabases;
  templates: StateTemplates;
  /** Each selected state's template, or why it could not be built. */
  built: Map<string, TemplateResult>;
  reference: Reference;
  timings: SetupTimings;
  close(): Promise<void>;
}

/** Checks what needs no server (migrations, --to, --runner, states) so that mistakes fail fast. */
export async function planRun<Op>(suite: Suite<Op>, config: RunConfig): Promise<Plan> {
  const chain = await Chain.load(config.migrationsDir, { format: config.format, alembicIni: config.alembicIni });
  const suiteTarget = suite.target !== undefined && chain.has(suite.target) ? chain.get(suite.target).revision : undefined;
  const to = config.to !== undefined ? chain.get(config.to).revision : (suiteTarget ?? chain.last.revision);
  const migrator = new Migrator(chain, config.runner ?? defaultRunner(chain.format));
  const anchor = suiteTarget ?? to;
  // where the runner leaves part of a deploy committed, the deploy killed there is a state too
  // and so is the target's constraint hand-applied NOT VALID beforehand (when the target is what is deployed)
  const derived = [...interruptedStates(suite.states, migrator, anchor, to), ...(to === anchor ? handAppliedStates(suite.states, migrator, anchor) : [])];
  const snapshot = config.snapshot && (config.snapshot.fromDb || config.snapshot.fromDump) ? new Snapshot(config.snapshot, migrator, config.seed) : undefined;
  const states = selectStates([...suite.states, ...derived, ...(snapshot ? [snapshot.state()] : [])], config.states);
  return { migrator, to, anchor, states, ...(snapshot && states.some((state) => state.name === snapshot.state().name) ? { snapshot } : {}) };
}

export function selectStates(all: readonly StartingState[], names?: readonly string[]): StartingState[] {
  if (!names || names.length === 0) return [...all];
  return names.map((name) => {
    const state = all.find((candidate) => candidate.name === name);
    if (!state) throw new SetupError(`unknown state "${name}" (states: ${all.map((s) => s.name).join(', ')})`);
    return state;
  });
}

/**
 * Starts the server and builds, one after the other, the reference (the chain from an empty
 * database) and the templates. A build that fails is a fact about the chain, kept for the
 * verdict; nothing is still being built when this returns or throws.
 */
export async function openWorkbench<Op>(suite: Suite<Op>, config: RunConfig, log: (line: string) => void = () => undefined, plan?: Plan, shared?: PostgresServer): Promise<Workbench> {
  const { migrator, to, anchor, states, snapshot } = plan ?? (await planRun(suite, config));
  let started = performance.now();
  // a server shared by several runs (mutation testing) is its owner's to stop
  const server = shared ?? (await chooseProvider(config.provider).start());
  const databases = new ScratchDatabases(server);
  const close = async () => {
    try {
      await databases.close();
    } finally {
      if (!shared) await server.stop();
    }
  };
  try {
    const timings: SetupTimings = { serverMs: Math.round(performance.now() - started), templatesMs: 0 };
    log(`PostgreSQL ${server.version} (${server.provider}) at ${server.describe()}${server.location ? `, ${server.location}` : ''}`);
    started = performance.now();
    const templates = new StateTemplates(databases, migrator, anchor);
    const [reference, built] = await Promise.all([referenceCatalog(databases, migrator, to), templates.buildAll(states)]);
    timings.templatesMs = Math.round(performance.now() - started);
    if ('error' in reference) log(`the chain does not apply to an empty database: ${reference.error}`);
    for (const [name, result] of built) if ('error' in result) log(`state ${name} cannot be built: ${result.error.message}`);
    log(`built ${states.length} state template(s) and the reference catalog at ${to} in ${timings.templatesMs} ms (runner ${migrator.runner}, ${migrator.chain.format} chain)`);
    return { server, databases, migrator, to, anchor, states, templates, built, reference, timings, close, ...(snapshot ? { snapshot } : {}) };
  } catch (error) {
    await close();
    throw error;
  }
}

async function referenceCatalog(databases: ScratchDatabases, migrator: Migrator, to: string): Promise<Reference> {
  const name = await databases.create('reference');
  try {
    return await withClient(databases.server.connectionConfig(name), async (client) => {
      const run = await migrator.migrateTo(client, to);
      if (run.error) return { error: run.error.message, server: run.error.outcome };
      return { catalog: await snapshotCatalog(client) };
    });
  } finally {
    await databases.drop(name).catch(() => undefined);
  }
}
