import fc from 'fast-check';
import pg from 'pg';
import { SetupError, errorMessage } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { withClient, type ScratchDatabases } from '../postgres/index.ts';
import { perCloneSteps, templateSteps, type GeneratedRows, type StartingState, type StateStep } from './starting-state.ts';

/** The generated rows of one clone, one entry per `rows` step of the state. */
export type StateHistory = GeneratedRows[];

/** A database cloned from a state's template, with its generated history applied. */
export interface StateDatabase {
  name: string;
  state: StartingState;
  history: StateHistory;
  drop(): Promise<void>;
}

/**
 * Builds each starting state once into a template database, then hands out clones
 * (`CREATE DATABASE … TEMPLATE`), each completed with its own generated history.
 */
export class StateTemplates {
  private readonly templates = new Map<string, string>();

  constructor(
    private readonly databases: ScratchDatabases,
    private readonly migrator: Migrator,
  ) {}

  /** Builds the templates of all states, in parallel on a few connections. */
  async buildAll(states: readonly StartingState[], parallel = 3): Promise<void> {
    const queue = [...states];
    const worker = async () => {
      for (let state = queue.shift(); state; state = queue.shift()) await this.build(state);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, states.length) }, worker));
  }

  async build(state: StartingState): Promise<string> {
    const existing = this.templates.get(state.name);
    if (existing) return existing;
    const name = await this.databases.create(`tpl_${state.name}`);
    await this.withClient(name, async (client) => {
      for (const step of templateSteps(state)) await this.runStep(client, state, step, undefined);
    });
    this.templates.set(state.name, name);
    return name;
  }

  /** The arbitrary of a state's history: one GeneratedRows per `rows` step. */
  historyArbitrary(state: StartingState): fc.Arbitrary<StateHistory> {
    const rowsSteps = state.steps.filter((step): step is Extract<StateStep, { kind: 'rows' }> => step.kind === 'rows');
    return rowsSteps.length === 0 ? fc.constant([]) : fc.tuple(...rowsSteps.map((step) => step.rows));
  }

  /** A fresh copy of the state with the given history, ready to be migrated. */
  async clone(state: StartingState, history: StateHistory, label = state.name): Promise<StateDatabase> {
    const database = await this.cloneWithoutHistory(state, label);
    try {
      await this.withClient(database.name, (client) => this.completeState(client, state, history, false));
    } catch (error) {
      await database.drop();
      throw error;
    }
    return { ...database, history };
  }

  /** A copy of the template alone; `completeState` adds a history later (e.g. inside a transaction). */
  async cloneWithoutHistory(state: StartingState, label = state.name): Promise<StateDatabase> {
    const template = await this.build(state);
    const name = await this.databases.create(label, template);
    return { name, state, history: [], drop: () => this.databases.drop(name) };
  }

  /**
   * Runs the steps a template leaves out: the generated rows and whatever follows them.
   * `nested`: the client is inside a transaction the caller will roll back.
   */
  async completeState(client: pg.ClientBase, state: StartingState, history: StateHistory, nested: boolean): Promise<void> {
    let rowsIndex = 0;
    for (const step of perCloneSteps(state)) {
      await this.runStep(client, state, step, step.kind === 'rows' ? history[rowsIndex++] : undefined, nested);
    }
  }

  connectionConfig(database: string): pg.ClientConfig {
    return this.databases.server.connectionConfig(database);
  }

  private async runStep(client: pg.ClientBase, state: StartingState, step: StateStep, rows: GeneratedRows | undefined, nested = false): Promise<void> {
    const where = `state ${state.name}, step ${describeStep(step)}`;
    try {
      switch (step.kind) {
        case 'migrate':
          await this.migrator.migrate(client, step.to, { nested });
          return;
        case 'sql':
          await client.query(step.sql);
          return;
        case 'stamp':
          this.migrator.chainTo(step.revision);
          await this.migrator.stamp(client, step.revision);
          return;
        case 'rows':
          for (const sql of rows?.sql ?? []) await client.query(sql);
          return;
      }
    } catch (error) {
      if (error instanceof SetupError) throw new SetupError(`${where}: ${error.message}`);
      throw new SetupError(`cannot build ${where}: ${errorMessage(error)}`);
    }
  }

  private withClient<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    return withClient(this.connectionConfig(database), work);
  }
}

export function describeStep(step: StateStep): string {
  switch (step.kind) {
    case 'migrate':
      return `migrate to ${step.to}`;
    case 'sql':
      return step.label;
    case 'rows':
      return step.label;
    case 'stamp':
      return `stamp version ${step.revision}`;
  }
}
