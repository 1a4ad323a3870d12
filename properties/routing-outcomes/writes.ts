import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ExpectedOutcome } from '../../harness/sessions/step-outcome.ts';
import type { Operation, Statement, WriteRun, WriteScenario } from '../../harness/check/write-scenario.ts';
import { IS_ORPHAN_SQL, MODEL_OF } from './domain.ts';
import { RoutingModel, newDecision, type Change, type ModelDecision } from './model.ts';
import { operationSequence, type RoutingOperation } from './operations.ts';
import * as writePath from './write-path.ts';

/**
 * Fresh keys for one run: d1…d4 and i1…i4 become new UUIDs, so runs share one migrated
 * database without seeing each other's rows (no clone per run).
 */
export class RunKeys {
  private readonly decisions = new Map<number, string>();
  private readonly inferences = new Map<number, string>();
  readonly created: string[] = [];
  readonly tag = randomUUID().slice(0, 8);

  decision(n: number): string {
    return getOrCreate(this.decisions, n);
  }
  inference(n: number): string {
    return getOrCreate(this.inferences, n);
  }
  /** A decision that exists only for one insertCompleted. */
  newDecision(): string {
    const id = randomUUID();
    this.created.push(id);
    return id;
  }
  requestId(id: string): string {
    return `run-${this.tag}-${id.slice(0, 8)}`;
  }
  /** `d2`, `i1`, or `new` (an insertCompleted decision), for messages. */
  nameOf(id: string): string {
    for (const [n, key] of this.decisions) if (key === id) return `d${n}`;
    for (const [n, key] of this.inferences) if (key === id) return `i${n}`;
    return this.created.includes(id) ? 'new' : id;
  }
  allDecisions(): string[] {
    return [...this.decisions.values(), ...this.created];
  }
  allInferences(): string[] {
    return [...this.inferences.values()];
  }
}

function getOrCreate(map: Map<number, string>, n: number): string {
  let id = map.get(n);
  if (!id) map.set(n, (id = randomUUID()));
  return id;
}

/** The statement an operation sends and the change the domain says it makes. */
export function translate(op: RoutingOperation, keys: RunKeys): { statement: Statement; change: Change } {
  switch (op.kind) {
    case 'insertDecision': {
      const id = keys.decision(op.d);
      return { statement: writePath.insertDecision(id, keys.requestId(id), op.rule, op.provider), change: { kind: 'insert-decision', id, decision: newDecision(op.rule, op.provider) } };
    }
    case 'recordInference': {
      const id = keys.inference(op.i);
      return { statement: writePath.recordInference(id, op.provider, op.status, op.httpStatus), change: { kind: 'insert-inference', id } };
    }
    case 'completeDecision': {
      const [id, inferenceId] = [keys.decision(op.d), keys.inference(op.i)];
      return { statement: writePath.completeDecision(id, inferenceId), change: { kind: 'update-mid-flight', id, set: { inferenceId, status: 'success', completed: true } } };
    }
    case 'failProvider': {
      const [id, inferenceId] = [keys.decision(op.d), keys.inference(op.i)];
      return { statement: writePath.failProvider(id, inferenceId), change: { kind: 'update-mid-flight', id, set: { inferenceId, status: 'provider_error', completed: true } } };
    }
    case 'failover': {
      const id = keys.decision(op.d);
      return { statement: writePath.failover(id, op.to), change: { kind: 'update-mid-flight', id, set: { provider: op.to, model: MODEL_OF[op.to] }, attemptsPlusOne: true } };
    }
    case 'preDispatchFail': {
      const id = keys.decision(op.d);
      return { statement: writePath.preDispatchFail(id), change: { kind: 'update-mid-flight', id, set: { override: 'pre_dispatch_fail', status: 'pre_dispatch_fail', completed: true } } };
    }
    case 'completeUnlinked': {
      const id = keys.decision(op.d);
      return { statement: writePath.completeUnlinked(id, op.stamped), change: { kind: 'update-mid-flight', id, set: { status: 'success', completed: op.stamped } } };
    }
    case 'failProviderUnlinked': {
      const id = keys.decision(op.d);
      return { statement: writePath.failProviderUnlinked(id, op.stamped), change: { kind: 'update-mid-flight', id, set: { status: 'provider_error', completed: op.stamped } } };
    }
    case 'insertCompleted': {
      const id = keys.newDecision();
      return {
        statement: writePath.insertCompleted(id, keys.requestId(id), op.rule, op.provider, op.status, op.stamped),
        change: { kind: 'insert-decision', id, decision: { ...newDecision(op.rule, op.provider, op.status), completed: op.stamped } },
      };
    }
    case 'unlinkInference': {
      const id = keys.decision(op.d);
      return { statement: writePath.unlinkInference(id), change: { kind: 'update', id, set: { inferenceId: null } } };
    }
    case 'clearOverride': {
      const id = keys.decision(op.d);
      return { statement: writePath.clearOverride(id), change: { kind: 'update', id, set: { override: null } } };
    }
  }
}

/** One run of the writes property: its keys, its model, and the final comparison. */
export class RoutingWriteRun implements WriteRun {
  readonly keys = new RunKeys();
  readonly model = new RoutingModel();
  private readonly pending = new Map<Operation, Change>();

  statement(operation: Operation): Statement {
    const { statement, change } = translate(operation as RoutingOperation, this.keys);
    this.pending.set(operation, change);
    return statement;
  }

  predict(operation: Operation): ExpectedOutcome {
    const change = this.pending.get(operation) ?? translate(operation as RoutingOperation, this.keys).change;
    this.pending.delete(operation);
    return this.model.predict(change);
  }

  finalProblems(client: pg.ClientBase): Promise<string[]> {
    return compareWithModel(client, this.model, this.keys);
  }
}

interface OutcomeRow {
  id: string;
  decision_rule: ModelDecision['rule'];
  chosen_provider: ModelDecision['provider'];
  chosen_model: string;
  inference_id: string | null;
  outcome_status: ModelDecision['status'];
  decision_rule_override: string | null;
  attempts: number;
  completed: boolean;
  orphan: boolean;
}

/**
 * The run's inferences (counted) and its rows with their orphan status (the domain rule as
 * SQL, not the constraint), in one round trip: one row even when the run left no outcome.
 */
const RUN_STATE = {
  name: 'ch_routing_run_state',
  text: `SELECT c.inferences, o.*
         FROM (SELECT count(*)::int AS inferences FROM inferences WHERE id = ANY($2::uuid[])) c
         LEFT JOIN LATERAL (
           SELECT id, decision_rule, chosen_provider, chosen_model, inference_id, outcome_status, decision_rule_override, attempts,
                  completed_at IS NOT NULL AS completed, ${IS_ORPHAN_SQL} AS orphan
           FROM routing_outcomes WHERE id = ANY($1::uuid[])) o ON true`,
};

/** The rows of this run, row for row against the model, and none of them an orphan. */
export async function compareWithModel(client: pg.ClientBase, model: RoutingModel, keys: RunKeys): Promise<string[]> {
  const problems: string[] = [];
  const rows = (await client.query<{ inferences: number } & (OutcomeRow | { [K in keyof OutcomeRow]: null })>({ ...RUN_STATE, values: [keys.allDecisions(), keys.allInferences()] })).rows;
  const inferences = rows[0]!.inferences;
  const outcomes = rows.filter((row): row is { inferences: number } & OutcomeRow => row.id !== null);
  const seen = new Set<string>();
  for (const row of outcomes) {
    seen.add(row.id);
    const expected = model.decisions.get(row.id);
    const actual: ModelDecision = {
      rule: row.decision_rule, provider: row.chosen_provider, model: row.chosen_model, inferenceId: row.inference_id,
      status: row.outcome_status, override: row.decision_rule_override, attempts: row.attempts, completed: row.completed,
    };
    if (!expected) problems.push(`row ${keys.nameOf(row.id)} exists but the model has no such decision: ${JSON.stringify(actual)}`);
    else {
      const fields = (Object.keys(expected) as (keyof ModelDecision)[]).filter((field) => actual[field] !== expected[field]);
      if (fields.length) problems.push(`${keys.nameOf(row.id)}: ${fields.map((f) => `${f} is ${String(actual[f])}, model says ${String(expected[f])}`).join(', ')}`);
    }
  }
  for (const id of model.decisions.keys()) if (!seen.has(id)) problems.push(`${keys.nameOf(id)} is in the model but not in the table`);
  if (inferences !== model.inferences.size) problems.push(`${inferences} inferences in the table, ${model.inferences.size} in the model`);
  const orphans = outcomes.filter((row) => row.orphan).map((row) => keys.nameOf(row.id));
  if (orphans.length > 0) problems.push(`orphan committed: ${orphans.join(', ')}`);
  return problems;
}

/** The writes group of the suite. */
export const writeScenarios: WriteScenario[] = [
  {
    name: 'write-path-agrees-with-model',
    operations: operationSequence,
    begin: () => new RoutingWriteRun(),
  },
];
