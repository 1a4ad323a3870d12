import fc from 'fast-check';
import type pg from 'pg';
import type { Migrator, PlanMode } from '../migrate/index.ts';
import { withClient, type ScratchDatabases } from '../postgres/index.ts';
import { perCloneSteps, templateSteps, type StartingState, type StateHistory, type StateStep } from './starting-state.ts';
import { liveTarget, runStateSteps, StateBuildError } from './state-steps.ts';

/** A database cloned from a state's template, with its generated history applied. */
export interface StateDatabase {
  name: string;
  state: StartingState;
  history: StateHistory;
  drop(): Promise<void>;
}

/** A template, or why the state could not be built. */
export type TemplateResult = { template: string } | { error: StateBuildError };

/**
 * Builds each starting state once into a template database, then hands out clones
 * (`CREATE DATABASE … TEMPLATE`), each completed with its own generated history.
 */
export class StateTemplates {
  private readonly templates = new Map<string, Promise<TemplateResult>>();
  private readonly workingSets = new Map<string, Promise<TemplateResult>>();

  constructor(
    readonly databases: ScratchDatabases,
    readonly migrator: Migrator,
    /** The revision the states' relative revisions are resolved against (see `Plan.anchor`). */
    readonly anchor: string,
  ) {}

  /**
   * Builds the templates of all states on a few connections at once; every build has finished
   * (or failed) when this resolves, so nothing is still being created when a caller cleans up.
   */
  async buildAll(states: readonly StartingState[], parallel = 3): Promise<Map<string, TemplateResult>> {
    const queue = [...states];
    const worker = async () => {
      for (let state = queue.shift(); state; state = queue.shift()) await this.build(state);
    };
    await Promise.allSettled(Array.from({ length: Math.min(parallel, states.length) }, worker));
    return new Map(await Promise.all(states.map(async (state) => [state.name, await this.build(state)] as const)));
  }

  /** The state's template, built once; a build that fails says why instead of throwing. */
  build(state: StartingState): Promise<TemplateResult> {
    let result = this.templates.get(state.name);
    if (!result) this.templates.set(state.name, (result = this.buildNow(state)));
    return result;
  }

  private async buildNow(state: StartingState): Promise<TemplateResult> {
    const name = await this.databases.create(`tpl_${state.name}`);
    try {
      await withClient(this.connectionConfig(name), (client) => runStateSteps(state, templateSteps(state), [], this.migrator, this.anchor, liveTarget(client, this.migrator)));
      return { template: name };
    } catch (error) {
      await this.databases.drop(name).catch(() => undefined);
      if (error instanceof StateBuildError) return { error };
      throw error;
    }
  }

  /**
   * The template the write groups clone: the state's own, or, for a state too large to read
   * back after every run (see `StartingState.workingSet`), a second template holding a part
   * of its rows, made once from a copy of the first.
   */
  buildWorkingSet(state: StartingState): Promise<TemplateResult> {
    let result = this.workingSets.get(state.name);
    if (!result) this.workingSets.set(state.name, (result = this.buildWorkingSetNow(state)));
    return result;
  }

  private async buildWorkingSetNow(state: StartingState): Promise<TemplateResult> {
    const whole = await this.build(state);
    const make = 'error' in whole ? undefined : state.workingSet?.();
    if ('error' in whole || !make) return whole;
    // the rows are read from a copy: nobody may be connected to a template others are cloning
    const source = await this.databases.create(`ws_from_${state.name}`, whole.template);
    try {
      const name = await this.databases.create(`tpl_${state.name}_ws`, whole.template);
      try {
        await withClient(this.connectionConfig(source), (from) => withClient(this.connectionConfig(name), (to) => make(from, to)));
        return { template: name };
      } catch (error) {
        await this.databases.drop(name).catch(() => undefined);
        throw error;
      }
    } finally {
      await this.databases.drop(source).catch(() => undefined);
    }
  }

  /** The arbitrary of a state's history: one GeneratedRows per `rows` step. */
  historyArbitrary(state: StartingState): fc.Arbitrary<StateHistory> {
    const rowsSteps = state.steps.filter((step): step is Extract<StateStep, { kind: 'rows' }> => step.kind === 'rows');
    return rowsSteps.length === 0 ? fc.constant([]) : fc.tuple(...rowsSteps.map((step) => step.rows));
  }

  /** The history a seed picks for a state (the one every group of a run uses). */
  historyFor(state: StartingState, seed: number): StateHistory {
    return fc.sample(this.historyArbitrary(state), { seed, numRuns: 1 })[0]!;
  }

  /** A fresh copy of the state with the given history, ready to be migrated: what the write groups run on (a working set, when the state has one). */
  async clone(state: StartingState, history: StateHistory, label = state.name): Promise<StateDatabase> {
    const database = await this.cloneWithoutHistory(state, label, 'working-set');
    try {
      await withClient(this.connectionConfig(database.name), (client) => this.completeState(client, state, history));
    } catch (error) {
      await database.drop();
      throw error;
    }
    return { ...database, history };
  }

  /** A copy of the template alone (or of its working set); `completeState` adds a history later (e.g. inside a transaction). */
  async cloneWithoutHistory(state: StartingState, label = state.name, of: 'whole' | 'working-set' = 'whole'): Promise<StateDatabase> {
    const built = await (of === 'whole' ? this.build(state) : this.buildWorkingSet(state));
    if ('error' in built) throw built.error;
    const name = await this.databases.create(label, built.template);
    return { name, state, history: [], drop: () => this.databases.drop(name) };
  }

  /** Runs the steps a template leaves out: the generated rows and whatever follows them. */
  completeState(client: pg.ClientBase, state: StartingState, history: StateHistory, mode: PlanMode = 'deploy'): Promise<void> {
    return runStateSteps(state, perCloneSteps(state), history, this.migrator, this.anchor, liveTarget(client, this.migrator, mode));
  }

  connectionConfig(database: string): pg.ClientConfig {
    return this.databases.server.connectionConfig(database);
  }
}
