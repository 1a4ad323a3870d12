import { describe, expect, it } from 'vitest';
import { World } from '../../harness/check/world.ts';
import { FreshKeys } from '../../harness/groups/writes/run-keys.ts';
import { formatExpected } from '../../harness/sessions/index.ts';
import type { SchemaPhase } from '../../harness/suite.ts';
import { bindOperation } from './bind.ts';
import { fresh, type RoutingOperation } from './operations.ts';

/** What the oracle predicts for a hand-written sequence, one autocommit statement after the other. */
function predictions(ops: RoutingOperation[], state = 'staging', schema: SchemaPhase = 'after'): string[] {
  const run = { keys: new FreshKeys(), base: World.empty() };
  let world = World.empty();
  return ops.map((op) => {
    const bound = bindOperation(op, run);
    const predicted = bound.predict!(world, { state, schema });
    const [first] = Array.isArray(predicted) ? predicted : [predicted];
    world = world.with(first!.writes ?? []);
    return `${bound.label} -> ${(Array.isArray(predicted) ? predicted : [predicted]).map((p) => formatExpected(p.expect)).join(' | ')}`;
  });
}

const ccf = 'cheapest_clearing_floor' as const;
const d = fresh;

describe('the oracle, from the domain rule', () => {
  it('lets the two-phase write through: mid-flight first, linked later', () => {
    expect(predictions([
      { kind: 'insertDecision', d: d(1), rule: ccf, provider: 'mistral' },
      { kind: 'recordInference', i: 1, provider: 'mistral', status: 'error', httpStatus: 429 },
      { kind: 'failover', d: d(1), to: 'openai' },
      { kind: 'recordInference', i: 2, provider: 'openai', status: 'ok', httpStatus: 200 },
      { kind: 'completeDecision', d: d(1), i: 2 },
      { kind: 'completeDecision', d: d(1), i: 2 },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'recordInference(i1, mistral, error, 429) -> commit',
      'failover(d1, openai) -> commit',
      'recordInference(i2, openai, ok, 200) -> commit',
      'completeDecision(d1, i2) -> commit',
      'completeDecision(d1, i2) -> 0 rows',
    ]);
  });

  it('rejects every way of producing an orphan, and only those', () => {
    expect(predictions([
      { kind: 'insertDecision', d: d(1), rule: ccf, provider: 'mistral' },
      { kind: 'failProviderUnlinked', d: d(1), stamped: false },
      { kind: 'completeUnlinked', d: d(1), stamped: true },
      { kind: 'insertCompleted', d: d(5), rule: ccf, provider: 'openai', status: 'provider_error', stamped: true },
      { kind: 'insertDecision', d: d(2), rule: 'passthrough', provider: 'anthropic' },
      { kind: 'completeUnlinked', d: d(2), stamped: false },
      { kind: 'preDispatchFail', d: d(1) },
      { kind: 'clearOverride', d: d(1) },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'failProviderUnlinked(d1, no completed_at) -> 23514 outcome_requires_inference_when_model_chosen',
      'completeUnlinked(d1) -> 23514 outcome_requires_inference_when_model_chosen',
      'insertCompleted(d5, cheapest_clearing_floor, openai, provider_error) -> 23514 outcome_requires_inference_when_model_chosen',
      'insertDecision(d2, passthrough, anthropic) -> commit',
      'completeUnlinked(d2, no completed_at) -> commit',
      'preDispatchFail(d1) -> commit',
      'clearOverride(d1) -> 23514 outcome_requires_inference_when_model_chosen',
    ]);
  });

  it('accepts an override as the only reason a final unlinked outcome is valid, on any status', () => {
    expect(predictions([
      { kind: 'insertDecision', d: d(1), rule: ccf, provider: 'mistral' },
      { kind: 'recordInference', i: 1, provider: 'mistral', status: 'ok', httpStatus: 200 },
      { kind: 'completeDecision', d: d(1), i: 1 },
      { kind: 'unlinkInference', d: d(1) },
      { kind: 'overrideRule', d: d(1) },
      { kind: 'unlinkInference', d: d(1) },
      { kind: 'clearOverride', d: d(1) },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'recordInference(i1, mistral, ok, 200) -> commit',
      'completeDecision(d1, i1) -> commit',
      'unlinkInference(d1) -> 23514 outcome_requires_inference_when_model_chosen',
      'overrideRule(d1) -> commit',
      'unlinkInference(d1) -> commit',
      'clearOverride(d1) -> 23514 outcome_requires_inference_when_model_chosen',
    ]);
  });

  it('refuses a link to a missing inference, and unlinking a final outcome', () => {
    expect(predictions([
      { kind: 'insertDecision', d: d(1), rule: ccf, provider: 'mistral' },
      { kind: 'failProvider', d: d(1), i: 3 },
      { kind: 'recordInference', i: 3, provider: 'mistral', status: 'error', httpStatus: 503 },
      { kind: 'failProvider', d: d(1), i: 3 },
      { kind: 'unlinkInference', d: d(1) },
      { kind: 'completeDecision', d: d(4), i: 3 },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'failProvider(d1, i3) -> 23503',
      'recordInference(i3, mistral, error, 503) -> commit',
      'failProvider(d1, i3) -> commit',
      'unlinkInference(d1) -> 23514 outcome_requires_inference_when_model_chosen',
      'completeDecision(d4, i3) -> 0 rows',
    ]);
  });

  it('before the migration, follows the rule the starting state has; in between, admits any', () => {
    const op: RoutingOperation = { kind: 'insertDecision', d: d(1), rule: ccf, provider: 'mistral' };
    expect(predictions([op], 'prod-drift', 'before')).toEqual(['insertDecision(d1, cheapest_clearing_floor, mistral) -> 23514 outcome_requires_inference_when_model_chosen']);
    expect(predictions([op], 'staging', 'before')).toEqual(['insertDecision(d1, cheapest_clearing_floor, mistral) -> commit']);
    expect(predictions([op], 'prod-drift', 'partial')).toEqual(['insertDecision(d1, cheapest_clearing_floor, mistral) -> 23514 outcome_requires_inference_when_model_chosen | commit']);
  });
});
