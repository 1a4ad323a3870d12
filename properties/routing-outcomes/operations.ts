import fc from 'fast-check';
import { PROVIDERS, RULES, type DecisionRule, type Provider } from './domain.ts';

/**
 * The operations of SPEC §5 as data. Decisions and inferences are named by small numbers
 * (d1…d4, i1…i4) that every run maps to fresh keys, so generated sequences mostly act on rows
 * they created and sometimes on ones that do not exist.
 */
export type RoutingOperation = { readonly label: string } & (
  | { kind: 'insertDecision'; d: number; rule: DecisionRule; provider: Provider }
  | { kind: 'recordInference'; i: number; provider: Provider; status: 'ok' | 'error'; httpStatus: number }
  | { kind: 'completeDecision'; d: number; i: number }
  | { kind: 'failProvider'; d: number; i: number }
  | { kind: 'failover'; d: number; to: Provider }
  | { kind: 'preDispatchFail'; d: number }
  | { kind: 'completeUnlinked'; d: number }
  | { kind: 'failProviderUnlinked'; d: number }
  | { kind: 'insertCompleted'; rule: DecisionRule; provider: Provider; status: 'success' | 'provider_error' }
  | { kind: 'unlinkInference'; d: number }
  | { kind: 'clearOverride'; d: number }
);

export const DECISIONS = 4;
export const INFERENCES = 4;

const decision = fc.integer({ min: 1, max: DECISIONS });
const inference = fc.integer({ min: 1, max: INFERENCES });
const rule = fc.constantFrom(...RULES);
const provider = fc.constantFrom(...PROVIDERS);

export type Unlabelled = RoutingOperation extends infer Op ? (Op extends { label: string } ? Omit<Op, 'label'> : never) : never;

export function label(op: Unlabelled): string {
  switch (op.kind) {
    case 'insertDecision':
      return `insertDecision(d${op.d}, ${op.rule}, ${op.provider})`;
    case 'recordInference':
      return `recordInference(i${op.i}, ${op.provider}, ${op.status}, ${op.httpStatus})`;
    case 'completeDecision':
    case 'failProvider':
      return `${op.kind}(d${op.d}, i${op.i})`;
    case 'failover':
      return `failover(d${op.d}, ${op.to})`;
    case 'insertCompleted':
      return `insertCompleted(new, ${op.rule}, ${op.provider}, ${op.status})`;
    default:
      return `${op.kind}(d${op.d})`;
  }
}

const labelled = (arbitrary: fc.Arbitrary<Unlabelled>): fc.Arbitrary<RoutingOperation> => arbitrary.map((op) => ({ ...op, label: label(op) }) as RoutingOperation);

/** One operation, valid ones more often than orphan-producing ones; insertDecision shrinks first. */
export const operation: fc.Arbitrary<RoutingOperation> = labelled(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('insertDecision' as const), d: decision, rule, provider }) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.record({ kind: fc.constant('recordInference' as const), i: inference, provider, status: fc.constant('ok' as const), httpStatus: fc.constant(200) }),
        fc.record({ kind: fc.constant('recordInference' as const), i: inference, provider, status: fc.constant('error' as const), httpStatus: fc.constantFrom(429, 500, 503) }),
      ),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('completeDecision' as const), d: decision, i: inference }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('failProvider' as const), d: decision, i: inference }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('failover' as const), d: decision, to: provider }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('preDispatchFail' as const), d: decision }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('completeUnlinked' as const), d: decision }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failProviderUnlinked' as const), d: decision }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('insertCompleted' as const), rule, provider, status: fc.constantFrom('success' as const, 'provider_error' as const) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlinkInference' as const), d: decision }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clearOverride' as const), d: decision }) },
  ),
);

export const operationSequence: fc.Arbitrary<RoutingOperation[]> = fc.array(operation, { minLength: 1, maxLength: 16 });
