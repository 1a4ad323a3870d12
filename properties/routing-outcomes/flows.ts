import fc from 'fast-check';
import type { CaseStep, ConcurrentCase } from '../../harness/suite.ts';
import { PROVIDERS, RULES, type DecisionRule, type Provider } from './domain.ts';
import { fresh, type DecisionRef, type RoutingOperation } from './operations.ts';

/**
 * What one session does in a concurrent case: a gateway flow from SPEC §6 on a decision of
 * its own, on one created before the schedule that other sessions may also act on, or on a
 * decision the state already held; in autocommit (the two-phase write) or in one transaction.
 */
const FLOW_KINDS = ['complete', 'failover', 'provider-error', 'pre-dispatch', 'complete-unlinked', 'buggy-unlinked', 'tamper-unlink', 'tamper-override', 'overridden-unlinked', 'duplicate-insert', 'buggy-insert-completed'] as const;
export type FlowKind = (typeof FLOW_KINDS)[number];

export type Target = { own: true } | { shared: 0 | 1 } | { existing: number; kind: 'in-flight' | 'final' };

export interface Flow {
  kind: FlowKind;
  target: Target;
  rule: DecisionRule;
  provider: Provider;
  transaction: boolean;
  rollback: boolean;
}

export const MAX_SESSIONS = 3;
/** The decisions created before the schedule (d90, d91) and the one two replicas both insert (d99). */
const SHARED = (k: 0 | 1) => fresh(90 + k);
const DUPLICATED = fresh(99);

/**
 * The operations of the k-th flow of session `session` (both 0-based); its own keys are
 * d<s><k+1>, and i<s><2k+1>, i<s><2k+2>, so that flows never share an inference.
 */
export function flowOperations(flow: Flow, session: number, k = 0): RoutingOperation[] {
  const own = fresh((session + 1) * 10 + k + 1);
  const d: DecisionRef = 'own' in flow.target ? own : 'shared' in flow.target ? SHARED(flow.target.shared) : { existing: flow.target.existing, kind: flow.target.kind };
  const [i1, i2] = [(session + 1) * 10 + 2 * k + 1, (session + 1) * 10 + 2 * k + 2];
  const { rule, provider } = flow;
  const other: Provider = provider === 'mistral' ? 'openai' : provider;
  const insert: RoutingOperation[] = 'own' in flow.target ? [{ kind: 'insertDecision', d, rule, provider: flow.kind === 'failover' ? 'mistral' : provider }] : [];
  switch (flow.kind) {
    case 'complete':
      return [...insert, { kind: 'recordInference', i: i1, provider, status: 'ok', httpStatus: 200 }, { kind: 'completeDecision', d, i: i1 }];
    case 'failover':
      return [
        ...insert,
        { kind: 'recordInference', i: i1, provider: 'mistral', status: 'error', httpStatus: 429 },
        { kind: 'failover', d, to: other },
        { kind: 'recordInference', i: i2, provider: other, status: 'ok', httpStatus: 200 },
        { kind: 'completeDecision', d, i: i2 },
      ];
    case 'provider-error':
      return [...insert, { kind: 'recordInference', i: i1, provider, status: 'error', httpStatus: 503 }, { kind: 'failProvider', d, i: i1 }];
    case 'pre-dispatch':
      return [...insert, { kind: 'preDispatchFail', d }];
    case 'complete-unlinked':
      return [...insert, { kind: 'completeUnlinked', d, stamped: true }];
    case 'buggy-unlinked':
      return [...insert, { kind: 'failProviderUnlinked', d, stamped: true }];
    case 'tamper-unlink':
      return [...insert, { kind: 'unlinkInference', d }];
    case 'tamper-override':
      return [...insert, { kind: 'overrideRule', d }, { kind: 'unlinkInference', d }];
    case 'overridden-unlinked':
      // an operator overrides the rule while the call is in flight; the override alone makes the unlinked ending valid
      return [...insert, { kind: 'overrideRule', d }, { kind: 'completeUnlinked', d, stamped: true }];
    case 'duplicate-insert': {
      // two gateway replicas handling the same request: one insert wins, the other gets 23505
      const request = 'own' in flow.target ? DUPLICATED : d;
      return [{ kind: 'insertDecision', d: request, rule, provider }, { kind: 'recordInference', i: i1, provider, status: 'ok', httpStatus: 200 }, { kind: 'completeDecision', d: request, i: i1 }];
    }
    case 'buggy-insert-completed':
      return [{ kind: 'insertCompleted', d, rule, provider, status: 'provider_error', stamped: true }];
  }
}

function describeTarget(target: Target): string {
  if ('own' in target) return 'own decision';
  if ('shared' in target) return `shared d${90 + target.shared}`;
  return `the state's ${target.kind} decision #${target.existing}`;
}

export function flowLabel(flow: Flow): string {
  const how = flow.transaction ? ` in one transaction${flow.rollback ? ', rolled back' : ''}` : '';
  return `${flow.kind}(${describeTarget(flow.target)}, ${flow.rule}, ${flow.provider})${how}`;
}

/** A session's flows one after the other, each in autocommit or in its own transaction. */
function sessionSteps(flows: readonly Flow[], session: number): CaseStep<RoutingOperation>[] {
  return flows.flatMap((flow, k) => {
    const ops = flowOperations(flow, session, k).map((op): CaseStep<RoutingOperation> => ({ kind: 'op', op }));
    return flow.transaction ? [{ kind: 'begin' }, ...ops, { kind: flow.rollback ? 'rollback' : 'commit' }] : ops;
  });
}

/** Router-chosen decisions more often than not: that is where the constraint decides. */
const rule = fc.oneof({ weight: 3, arbitrary: fc.constant<DecisionRule>('cheapest_clearing_floor') }, { weight: 2, arbitrary: fc.constantFrom(...RULES) });
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ own: true as const }) },
  { weight: 3, arbitrary: fc.constantFrom<Target>({ shared: 0 }, { shared: 1 }) },
  { weight: 2, arbitrary: fc.record({ existing: fc.nat({ max: 4 }), kind: fc.constantFrom<'in-flight' | 'final'>('in-flight', 'final') }) },
);

export const flow: fc.Arbitrary<Flow> = fc.record({
  kind: fc.constantFrom(...FLOW_KINDS),
  target,
  rule,
  provider: fc.constantFrom(...PROVIDERS),
  transaction: fc.boolean(),
  rollback: fc.integer({ min: 0, max: 4 }).map((n) => n === 4),
});

/** One or two flows of one session. */
const sessionFlows = fc.array(flow, { minLength: 1, maxLength: 2 });
/**
 * Up to three sessions, two or three in two cases of three: two lists of up to two sessions
 * each, joined. Lists that may be empty let fast-check drop any session while shrinking (it
 * can only drop the last element of an array that is allowed to be empty).
 */
const sessionsOf = fc.tuple(fc.array(sessionFlows, { maxLength: 2 }), fc.array(sessionFlows, { maxLength: 2 })).map(([a, b]) => [...a, ...b].slice(0, MAX_SESSIONS));
/** Turns: a session and how many steps it takes in a row (bursts let one session, the deploy above all, run far ahead). */
const turns = fc.array(fc.tuple(fc.nat({ max: MAX_SESSIONS }), fc.integer({ min: 1, max: 6 })), { maxLength: 16, size: 'max' });

/**
 * Up to three sessions of one or two flows each, the decisions they share, and a schedule long
 * enough to interleave whole flows. Most cases put the first flows of two sessions on one
 * decision (`contend`, shrinking to off; a flow on a decision of its own is moved to the shared
 * one), so that sessions meet on a row, router-chosen more often than not.
 */
export const concurrentCase: fc.Arbitrary<ConcurrentCase<RoutingOperation>> = fc
  .record({
    slots: sessionsOf,
    shared: fc.tuple(fc.record({ rule, provider: fc.constantFrom(...PROVIDERS) }), fc.record({ rule, provider: fc.constantFrom(...PROVIDERS) })),
    contend: fc.integer({ min: 0, max: 5 }).map((n) => n > 0),
    turns,
  })
  .map(({ slots, shared, contend, turns }) => {
    const sessions = slots.map((flows) => [...flows]);
    if (contend && sessions.length >= 2) {
      const meet: Target = 'own' in sessions[0]![0]!.target ? { shared: 0 } : sessions[0]![0]!.target;
      sessions[0]![0] = { ...sessions[0]![0]!, target: meet };
      sessions[1]![0] = { ...sessions[1]![0]!, target: meet };
    }
    const used = ([0, 1] as const).filter((k) => sessions.some((flows) => flows.some((f) => 'shared' in f.target && f.target.shared === k)));
    return {
      setup: used.map((k): RoutingOperation => ({ kind: 'insertDecision', d: SHARED(k), rule: shared[k].rule, provider: shared[k].provider })),
      sessions: sessions.map(sessionSteps),
      labels: sessions.map((flows) => flows.map(flowLabel).join(', then ')),
      schedule: turns.flatMap(([session, count]) => Array.from({ length: count }, () => session)),
    };
  });
