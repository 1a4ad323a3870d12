import fc from 'fast-check';
import { PROVIDERS, RULES, type DecisionRule } from './domain.ts';
import { fresh, type DecisionRef, type RoutingOperation } from './operations.ts';

const rule = fc.constantFrom(...RULES);
/** Router-chosen decisions more often than not: that is where the constraint decides (shrinks to it, it comes first). */
const lifeRule = fc.constantFrom<DecisionRule>('cheapest_clearing_floor', 'cheapest_clearing_floor', 'cheapest_clearing_floor', 'explicit_model', 'passthrough');
const provider = fc.constantFrom(...PROVIDERS);
/** Whether a final write also stamps completed_at (shrinks to yes: the gateway's usual write). */
const stamped = fc.boolean().map((forgot) => !forgot);
const existing = (kind: 'in-flight' | 'final'): fc.Arbitrary<DecisionRef> => fc.nat({ max: 7 }).map((n) => ({ existing: n, kind }));
/** Mostly decisions of this run, sometimes ones the state started with; shrinks towards the run's own. */
const decision: fc.Arbitrary<DecisionRef> = fc.oneof(
  { withCrossShrink: true },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }).map(fresh) },
  { weight: 1, arbitrary: existing('in-flight') },
  { weight: 1, arbitrary: existing('final') },
);
const inference = fc.integer({ min: 1, max: 4 });

/** One operation, valid ones more often than orphan-producing ones; insertDecision shrinks first. */
export const operation: fc.Arbitrary<RoutingOperation> = fc.oneof(
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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insertCompleted' as const), d: fc.integer({ min: 5, max: 8 }).map(fresh), rule, provider, status: fc.constantFrom('success' as const, 'provider_error' as const), stamped }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlinkInference' as const), d: decision }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clearOverride' as const), d: decision }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('overrideRule' as const), d: decision }) },
);

type Ending = 'none' | 'completeDecision' | 'failProvider' | 'preDispatchFail' | 'completeUnlinked' | 'failProviderUnlinked';
type Aftermath = 'none' | 'unlinkInference' | 'clearOverride' | 'overrideRule' | 'completeDecision' | 'overrideThenUnlink';

/**
 * One decision's life as the gateway lives it: created mid-flight (or already in flight in the
 * state the deploy met), failed over after 429s, an inference recorded (or not), then how it
 * ends (validly or as a pre-fix bug) and maybe a later write that tampers with it. Every part
 * shrinks away when it is not needed.
 */
/**
 * Like constantFrom, but a shrink also tries the values in between: constantFrom shrinks
 * straight to its first value and nowhere else, so a failure met on a late ending could never
 * reach an earlier one that fails too.
 */
function shrinkingFrom<T>(...values: T[]): fc.Arbitrary<T> {
  return fc.integer({ min: 0, max: values.length - 1 }).map((i) => values[i]!);
}

const lifecycle = fc.record({
  rule: lifeRule,
  provider,
  failovers: fc.array(provider, { maxLength: 2 }),
  inference: fc.option(fc.constantFrom({ status: 'ok' as const, httpStatus: 200 }, { status: 'error' as const, httpStatus: 503 }), { nil: undefined, freq: 4 }),
  // an operator's override while the decision is in flight (about one life in four; shrinks
  // away): the override alone then makes any ending valid, the unlinked ones included, which
  // is the only way a final success or provider error without an inference may commit
  overridden: fc.integer({ min: 0, max: 3 }).map((n) => n === 3),
  // shrinking tries earlier endings first: the direct (unlinked) endings are the shortest
  // way to a final row, so a failure found on a longer path can still shrink to them
  // (the endings that link an inference count twice: most decisions end that way)
  ending: shrinkingFrom<Ending>('none', 'completeUnlinked', 'failProviderUnlinked', 'completeDecision', 'failProvider', 'preDispatchFail', 'completeDecision', 'failProvider'),
  // every disjunct of the rule alone, in some case: an override put on a row of any status, then
  // the link removed, leaves the override as the only reason the row is valid. (Repeated values
  // weigh more; shrinking goes towards the first, 'none', so an aftermath always shrinks away.)
  aftermath: shrinkingFrom<Aftermath>('none', 'none', 'none', 'unlinkInference', 'clearOverride', 'overrideRule', 'completeDecision', 'overrideThenUnlink', 'overrideThenUnlink'),
  stamped,
});
type Lifecycle = typeof lifecycle extends fc.Arbitrary<infer T> ? T : never;

/** The writes of one decision's life; its inferences are i<n>0 (the answer) and i<n>1… (the 429s). */
function livedBy(d: DecisionRef, n: number, life: Lifecycle, insert: boolean): RoutingOperation[] {
  const main = n * 10;
  const ops: RoutingOperation[] = insert ? [{ kind: 'insertDecision', d, rule: life.rule, provider: life.provider }] : [];
  let current = life.provider;
  life.failovers.forEach((to, k) => {
    ops.push({ kind: 'recordInference', i: main + k + 1, provider: current, status: 'error', httpStatus: 429 }, { kind: 'failover', d, to });
    current = to;
  });
  if (life.inference) ops.push({ kind: 'recordInference', i: main, provider: current, ...life.inference });
  if (life.overridden) ops.push({ kind: 'overrideRule', d });
  const { ending, aftermath } = life;
  if (ending === 'completeDecision' || ending === 'failProvider') ops.push({ kind: ending, d, i: main });
  else if (ending === 'completeUnlinked' || ending === 'failProviderUnlinked') ops.push({ kind: ending, d, stamped: life.stamped });
  else if (ending === 'preDispatchFail') ops.push({ kind: 'preDispatchFail', d });
  if (aftermath === 'completeDecision') ops.push({ kind: 'completeDecision', d, i: main });
  else if (aftermath === 'overrideThenUnlink') ops.push({ kind: 'overrideRule', d }, { kind: 'unlinkInference', d });
  else if (aftermath !== 'none') ops.push({ kind: aftermath, d });
  return ops;
}

/** Up to three decisions' lives one after the other, then a few unrelated writes. */
const freshLives: fc.Arbitrary<RoutingOperation[]> = fc
  .tuple(fc.array(lifecycle, { maxLength: 3 }), fc.array(operation, { maxLength: 4 }))
  .map(([lives, noise]) => [...lives.flatMap((life, i) => livedBy(fresh(i + 1), i + 1, life, true)), ...noise]);

/** The rest of the life of decisions the state already held: in flight when the deploy came, or final before it. */
const existingLives: fc.Arbitrary<RoutingOperation[]> = fc
  .array(fc.tuple(fc.constantFrom<'in-flight' | 'final'>('in-flight', 'final'), fc.nat({ max: 7 }), lifecycle), { maxLength: 3 })
  .map((lives) => lives.flatMap(([kind, n, life], i) => livedBy({ existing: n, kind }, i + 5, life, false)));

/**
 * Arrays here may be empty: fast-check shrinks an array by dropping a prefix or by shrinking
 * the rest after its first element, so only an array allowed to be empty can lose its last
 * element (with a minimum length of one, `[a, b, c]` never shrinks to `[a, b]`).
 *
 * Operation sequences: decisions' lifecycles (deep paths on one decision, like a failover
 * followed by an unlinked provider error), the lives of the decisions the state started with,
 * and free mixes of single writes (odd orders, writes on decisions that do not exist).
 * Shrinking may cross to the first kind, the one with the shortest counterexamples.
 */
export const operationSequence: fc.Arbitrary<RoutingOperation[]> = fc.oneof(
  { withCrossShrink: true },
  { weight: 2, arbitrary: freshLives },
  { weight: 1, arbitrary: existingLives },
  { weight: 2, arbitrary: fc.array(operation, { maxLength: 16 }) },
);
