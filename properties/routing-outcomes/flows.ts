import fc from 'fast-check';
import type { ConcurrentCase } from '../../harness/check/concurrency-scenario.ts';
import { PROVIDERS, RULES, type DecisionRule, type Provider } from './domain.ts';
import { op, type RoutingOperation } from './operations.ts';

/**
 * What one session does in a concurrent case: a gateway flow from SPEC §6, either as
 * autocommit statements (the two-phase write) or inside one transaction.
 */
export type FlowKind = 'two-phase' | 'failover' | 'provider-error' | 'pre-dispatch' | 'race-complete' | 'duplicate-decision' | 'buggy-unlinked' | 'buggy-insert-completed';

export interface Flow {
  label: string;
  kind: FlowKind;
  rule: DecisionRule;
  provider: Provider;
  transaction: boolean;
}

/** The decision every race-complete flow completes (created before the schedule). */
export const SHARED_DECISION = 0;
/** The decision every duplicate-decision flow inserts (one request handled twice). */
export const DUPLICATED_DECISION = 9;


/** The operations of a flow run by session `session` (0-based); keys are d<session+1>1, i<session+1>1… */
export function flowOperations(flow: Flow, session: number): RoutingOperation[] {
  const d = (session + 1) * 10 + 1;
  const i1 = (session + 1) * 10 + 1;
  const i2 = i1 + 1;
  const { rule, provider } = flow;
  switch (flow.kind) {
    case 'two-phase':
      return [op({ kind: 'insertDecision', d, rule, provider }), op({ kind: 'recordInference', i: i1, provider, status: 'ok', httpStatus: 200 }), op({ kind: 'completeDecision', d, i: i1 })];
    case 'failover':
      return [
        op({ kind: 'insertDecision', d, rule, provider: 'mistral' }),
        op({ kind: 'recordInference', i: i1, provider: 'mistral', status: 'error', httpStatus: 429 }),
        op({ kind: 'failover', d, to: provider === 'mistral' ? 'openai' : provider }),
        op({ kind: 'recordInference', i: i2, provider: provider === 'mistral' ? 'openai' : provider, status: 'ok', httpStatus: 200 }),
        op({ kind: 'completeDecision', d, i: i2 }),
      ];
    case 'provider-error':
      return [op({ kind: 'insertDecision', d, rule, provider }), op({ kind: 'recordInference', i: i1, provider, status: 'error', httpStatus: 503 }), op({ kind: 'failProvider', d, i: i1 })];
    case 'pre-dispatch':
      return [op({ kind: 'insertDecision', d, rule, provider }), op({ kind: 'preDispatchFail', d })];
    case 'duplicate-decision':
      // two gateway replicas handling the same request: one insert wins, the other gets 23505
      return [
        op({ kind: 'insertDecision', d: DUPLICATED_DECISION, rule, provider }),
        op({ kind: 'recordInference', i: i1, provider, status: 'ok', httpStatus: 200 }),
        op({ kind: 'completeDecision', d: DUPLICATED_DECISION, i: i1 }),
      ];
    case 'race-complete':
      return [op({ kind: 'recordInference', i: i1, provider, status: 'ok', httpStatus: 200 }), op({ kind: 'completeDecision', d: SHARED_DECISION, i: i1 })];
    case 'buggy-unlinked':
      return [op({ kind: 'insertDecision', d, rule, provider }), op({ kind: 'failProviderUnlinked', d, stamped: true })];
    case 'buggy-insert-completed':
      return [op({ kind: 'insertCompleted', rule, provider, status: 'provider_error', stamped: true })];
  }
}

const FLOW_KINDS: readonly FlowKind[] = ['two-phase', 'failover', 'provider-error', 'pre-dispatch', 'race-complete', 'duplicate-decision', 'buggy-unlinked', 'buggy-insert-completed'];

export const flow: fc.Arbitrary<Flow> = fc
  .record({ kind: fc.constantFrom(...FLOW_KINDS), rule: fc.constantFrom(...RULES), provider: fc.constantFrom(...PROVIDERS), transaction: fc.boolean() })
  .map((f) => ({ ...f, label: `${f.kind}(${f.rule}, ${f.provider})${f.transaction ? ' in one transaction' : ''}` }));

export const MAX_SESSIONS = 3;

/** One to three flows and a schedule; both shrink (fewer flows, a shorter schedule). */
export const concurrentCase: fc.Arbitrary<ConcurrentCase<Flow>> = fc.record({
  flows: fc.array(flow, { minLength: 1, maxLength: MAX_SESSIONS }),
  schedule: fc.array(fc.nat({ max: MAX_SESSIONS }), { maxLength: 30 }),
});
