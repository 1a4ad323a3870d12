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
  | { kind: 'completeUnlinked'; d: number; stamped: boolean }
  | { kind: 'failProviderUnlinked'; d: number; stamped: boolean }
  | { kind: 'insertCompleted'; rule: DecisionRule; provider: Provider; status: 'success' | 'provider_error'; stamped: boolean }
  | { kind: 'unlinkInference'; d: number }
  | { kind: 'clearOverride'; d: number }
);

export const DECISIONS = 4;
export const INFERENCES = 4;

const decision = fc.integer({ min: 1, max: DECISIONS });
const inference = fc.integer({ min: 1, max: INFERENCES });
const rule = fc.constantFrom(...RULES);
const provider = fc.constantFrom(...PROVIDERS);
/** Whether a final write also stamps completed_at (shrinks to yes: the gateway's usual write). */
const stamped = fc.boolean().map((forgot) => !forgot);

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
      return `insertCompleted(new, ${op.rule}, ${op.provider}, ${op.status}${op.stamped ? '' : ', no completed_at'})`;
    case 'completeUnlinked':
    case 'failProviderUnlinked':
      return `${op.kind}(d${op.d}${op.stamped ? '' : ', no completed_at'})`;
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
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('completeUnlinked' as const), d: decision, stamped }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failProviderUnlinked' as const), d: decision, stamped }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('insertCompleted' as const), rule, provider, status: fc.constantFrom('success' as const, 'provider_error' as const), stamped }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlinkInference' as const), d: decision }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clearOverride' as const), d: decision }) },
  ),
);

/** An operation with its label. */
export const op = (unlabelled: Unlabelled): RoutingOperation => ({ ...unlabelled, label: label(unlabelled) }) as RoutingOperation;

type Ending = 'none' | 'completeDecision' | 'failProvider' | 'preDispatchFail' | 'completeUnlinked' | 'failProviderUnlinked';
type Aftermath = 'none' | 'unlinkInference' | 'clearOverride' | 'completeDecision';

/**
 * One decision's life as the gateway lives it: created mid-flight, failed over after 429s,
 * an inference recorded (or not), then how it ends (validly or as a pre-fix bug) and maybe a
 * later write that tampers with it. Every part shrinks away when it is not needed.
 */
const lifecycle = fc.record({
  rule,
  provider,
  failovers: fc.array(provider, { maxLength: 2 }),
  inference: fc.option(fc.constantFrom({ status: 'ok' as const, httpStatus: 200 }, { status: 'error' as const, httpStatus: 503 }), { nil: undefined }),
  // shrinking tries earlier endings first: the direct (unlinked) endings are the shortest
  // way to a final row, so a failure found on a longer path can still shrink to them
  ending: fc.constantFrom<Ending>('none', 'completeUnlinked', 'failProviderUnlinked', 'completeDecision', 'failProvider', 'preDispatchFail'),
  aftermath: fc.constantFrom<Aftermath>('none', 'unlinkInference', 'clearOverride', 'completeDecision'),
  stamped,
});
type Lifecycle = typeof lifecycle extends fc.Arbitrary<infer T> ? T : never;

/** The writes of decision `d`'s life; its inferences are i<d>0 (the answer) and i<d>1… (the 429s). */
function livedBy(d: number, life: Lifecycle): RoutingOperation[] {
  const main = d * 10;
  const ops: RoutingOperation[] = [op({ kind: 'insertDecision', d, rule: life.rule, provider: life.provider })];
  let current = life.provider;
  life.failovers.forEach((to, k) => {
    ops.push(op({ kind: 'recordInference', i: main + k + 1, provider: current, status: 'error', httpStatus: 429 }), op({ kind: 'failover', d, to }));
    current = to;
  });
  if (life.inference) ops.push(op({ kind: 'recordInference', i: main, provider: current, ...life.inference }));
  const { ending, aftermath } = life;
  if (ending === 'completeDecision' || ending === 'failProvider') ops.push(op({ kind: ending, d, i: main }));
  else if (ending === 'completeUnlinked' || ending === 'failProviderUnlinked') ops.push(op({ kind: ending, d, stamped: life.stamped }));
  else if (ending === 'preDispatchFail') ops.push(op({ kind: 'preDispatchFail', d }));
  if (aftermath === 'completeDecision') ops.push(op({ kind: 'completeDecision', d, i: main }));
  else if (aftermath !== 'none') ops.push(op({ kind: aftermath, d }));
  return ops;
}

/** Up to three decisions' lives one after the other, then a few unrelated writes. */
const lifecycles: fc.Arbitrary<RoutingOperation[]> = fc
  .tuple(fc.array(lifecycle, { minLength: 1, maxLength: 3 }), fc.array(operation, { maxLength: 4 }))
  .map(([lives, noise]) => [...lives.flatMap((life, i) => livedBy(i + 1, life)), ...noise]);

/**
 * Operation sequences: half are decisions' lifecycles (deep paths on one decision, like a
 * failover followed by an unlinked provider error), half are free mixes of single writes
 * (odd orders, writes on decisions that do not exist).
 */
export const operationSequence: fc.Arbitrary<RoutingOperation[]> = fc.oneof(lifecycles, fc.array(operation, { minLength: 1, maxLength: 16 }));
