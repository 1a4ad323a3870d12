import { describe, expect, it } from 'vitest';
import { formatExpected } from '../../harness/sessions/step-outcome.ts';
import { label, type RoutingOperation, type Unlabelled } from './operations.ts';
import { RoutingWriteRun } from './writes.ts';


/** Predictions of the oracle for hand-written sequences, straight from the domain rule. */
function predictions(ops: Unlabelled[]): string[] {
  const run = new RoutingWriteRun();
  return ops.map((op) => {
    const operation = { ...op, label: label(op) } as RoutingOperation;
    run.statement(operation);
    return `${operation.label} -> ${formatExpected(run.predict(operation))}`;
  });
}

const ccf = 'cheapest_clearing_floor' as const;

describe('the oracle (RoutingModel)', () => {
  it('lets the two-phase write through: mid-flight first, linked later', () => {
    expect(predictions([
      { kind: 'insertDecision', d: 1, rule: ccf, provider: 'mistral' },
      { kind: 'recordInference', i: 1, provider: 'mistral', status: 'error', httpStatus: 429 },
      { kind: 'failover', d: 1, to: 'openai' },
      { kind: 'recordInference', i: 2, provider: 'openai', status: 'ok', httpStatus: 200 },
      { kind: 'completeDecision', d: 1, i: 2 },
      { kind: 'completeDecision', d: 1, i: 2 },
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
      { kind: 'insertDecision', d: 1, rule: ccf, provider: 'mistral' },
      { kind: 'failProviderUnlinked', d: 1, stamped: false },
      { kind: 'completeUnlinked', d: 1, stamped: true },
      { kind: 'insertCompleted', rule: ccf, provider: 'openai', status: 'provider_error', stamped: true },
      { kind: 'insertDecision', d: 2, rule: 'passthrough', provider: 'anthropic' },
      { kind: 'completeUnlinked', d: 2, stamped: false },
      { kind: 'preDispatchFail', d: 1 },
      { kind: 'clearOverride', d: 1 },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'failProviderUnlinked(d1, no completed_at) -> 23514 outcome_requires_inference_when_model_chosen',
      'completeUnlinked(d1) -> 23514 outcome_requires_inference_when_model_chosen',
      'insertCompleted(new, cheapest_clearing_floor, openai, provider_error) -> 23514 outcome_requires_inference_when_model_chosen',
      'insertDecision(d2, passthrough, anthropic) -> commit',
      'completeUnlinked(d2, no completed_at) -> commit',
      'preDispatchFail(d1) -> commit',
      'clearOverride(d1) -> 23514 outcome_requires_inference_when_model_chosen',
    ]);
  });

  it('refuses a link to a missing inference, and unlinking a final outcome', () => {
    expect(predictions([
      { kind: 'insertDecision', d: 1, rule: ccf, provider: 'mistral' },
      { kind: 'failProvider', d: 1, i: 3 },
      { kind: 'unlinkInference', d: 1 },
      { kind: 'recordInference', i: 3, provider: 'mistral', status: 'error', httpStatus: 503 },
      { kind: 'failProvider', d: 1, i: 3 },
      { kind: 'unlinkInference', d: 1 },
      { kind: 'completeDecision', d: 4, i: 3 },
    ])).toEqual([
      'insertDecision(d1, cheapest_clearing_floor, mistral) -> commit',
      'failProvider(d1, i3) -> 23503',
      'unlinkInference(d1) -> commit',
      'recordInference(i3, mistral, error, 503) -> commit',
      'failProvider(d1, i3) -> commit',
      'unlinkInference(d1) -> 23514 outcome_requires_inference_when_model_chosen',
      'completeDecision(d4, i3) -> 0 rows',
    ]);
  });
});
