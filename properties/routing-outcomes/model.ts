import type { Prediction, Row, RowWrite, View } from '../../harness/suite.ts';
import { CONSTRAINT_NAME, MODEL_OF, refuses, type DecisionRule, type OutcomeStatus, type Provider, type RuleInForce } from './domain.ts';
import type { ResolvedOperation } from './operations.ts';

export const OUTCOMES = 'routing_outcomes';
export const INFERENCES = 'inferences';

/** A decision as the domain sees it (and as it is read back: `completed` is `completed_at IS NOT NULL`). */
export interface Outcome {
  rule: DecisionRule;
  provider: Provider;
  model: string;
  inference: string | null;
  status: OutcomeStatus | null;
  override: string | null;
  attempts: number;
  completed: boolean;
}

export const REJECTED: Prediction = { expect: { kind: 'error', sqlstate: '23514', constraint: CONSTRAINT_NAME } };
const DUPLICATE: Prediction = { expect: { kind: 'error', sqlstate: '23505' } };
const NO_ROWS: Prediction = { expect: { kind: 'no-rows' } };
const MISSING_INFERENCE: Prediction = { expect: { kind: 'error', sqlstate: '23503' } };

export function newOutcome(rule: DecisionRule, provider: Provider, status: OutcomeStatus | null = null, completed = false): Outcome {
  return { rule, provider, model: MODEL_OF[provider], inference: null, status, override: null, attempts: 0, completed };
}

const facts = (o: Outcome) => ({ rule: o.rule, status: o.status, override: o.override, inferenceId: o.inference });

/**
 * The oracle: what an operation does, from the rule of SPEC §5 and what the database holds,
 * never from the SQL. A write whose result the rule in force refuses is rejected (23514) and
 * changes nothing; a guarded update of a decision that is not mid-flight touches no row; a
 * link to an inference that does not exist is refused (23503); a key that exists is a
 * duplicate (23505); anything else commits.
 */
export function predict(op: ResolvedOperation, view: View, rule: RuleInForce): Prediction {
  switch (op.kind) {
    case 'recordInference':
      if (view.get(INFERENCES, op.i.key)) return DUPLICATE;
      return commit({ table: INFERENCES, key: op.i.key, row: { provider: op.provider, status: op.status } });
    case 'insertDecision':
      return insert(view, op.d.key, newOutcome(op.rule, op.provider), rule);
    case 'insertCompleted':
      return insert(view, op.d.key, newOutcome(op.rule, op.provider, op.status, op.stamped), rule);
    case 'completeDecision':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, inference: op.i.key, status: 'success', completed: true }));
    case 'failProvider':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, inference: op.i.key, status: 'provider_error', completed: true }));
    case 'failover':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, provider: op.to, model: MODEL_OF[op.to], attempts: o.attempts + 1 }));
    case 'preDispatchFail':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, override: 'pre_dispatch_fail', status: 'pre_dispatch_fail', completed: true }));
    case 'completeUnlinked':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, status: 'success', completed: o.completed || op.stamped }));
    case 'failProviderUnlinked':
      return update(view, op.d.key, rule, true, (o) => ({ ...o, status: 'provider_error', completed: o.completed || op.stamped }));
    case 'unlinkInference':
      return update(view, op.d.key, rule, false, (o) => ({ ...o, inference: null }));
    case 'clearOverride':
      return update(view, op.d.key, rule, false, (o) => ({ ...o, override: null }));
    case 'overrideRule':
      return update(view, op.d.key, rule, false, (o) => ({ ...o, override: 'manual_override' }));
  }
}

function insert(view: View, key: string, outcome: Outcome, rule: RuleInForce): Prediction {
  // PostgreSQL checks CHECK constraints before it inserts into the primary key's index
  if (refuses(rule, facts(outcome))) return REJECTED;
  if (view.get(OUTCOMES, key)) return DUPLICATE;
  return commit({ table: OUTCOMES, key, row: outcome as unknown as Row });
}

/** An UPDATE of one decision; `midFlightOnly`: guarded by `WHERE outcome_status IS NULL`. */
function update(view: View, key: string, rule: RuleInForce, midFlightOnly: boolean, change: (current: Outcome) => Outcome): Prediction {
  const current = view.get(OUTCOMES, key) as Outcome | undefined;
  if (!current || (midFlightOnly && current.status !== null)) return NO_ROWS;
  const next = change(current);
  if (refuses(rule, facts(next))) return REJECTED;
  // the foreign key is checked after the row's CHECK constraints, and only for a new link
  if (next.inference !== null && next.inference !== current.inference && !view.get(INFERENCES, next.inference)) return MISSING_INFERENCE;
  return commit({ table: OUTCOMES, key, row: next as unknown as Row });
}

function commit(write: RowWrite): Prediction {
  return { expect: { kind: 'commit' }, writes: [write] };
}
