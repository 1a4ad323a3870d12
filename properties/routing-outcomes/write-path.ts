import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type CompiledQuery } from 'kysely';
import type { DecisionRule, Provider } from './domain.ts';
import { MODEL_OF } from './domain.ts';
import type { Database } from './schema.ts';

/**
 * The gateway's write path (the fixed W1 code, and the pre-fix behaviours it must never
 * regress to), written with Kysely as the gateway writes it. Each function returns the
 * compiled statement instead of executing it, so that the harness decides when and on which
 * session it runs (Kysely's documented "query builder only" set-up: a dummy driver).
 */
export const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * Compiles a write once, with marker arguments, and afterwards only fills in parameters: the
 * SQL text of each write never depends on its values, so Kysely need not rebuild it for every
 * one of the thousands of statements a run sends. The first call checks that every argument
 * became exactly one parameter.
 */
function compiledOnce<Args extends unknown[]>(build: (...args: Args) => CompiledQuery): (...args: Args) => CompiledQuery {
  let cached: { sql: string; slots: ({ arg: number } | { value: unknown })[]; query: CompiledQuery } | undefined;
  return (...args: Args) => {
    if (!cached) {
      const markers = args.map((_, index) => `\u0000arg${index}\u0000`) as Args;
      const query = build(...markers);
      const slots = query.parameters.map((value) => {
        const arg = markers.indexOf(value);
        return arg >= 0 ? { arg } : { value };
      });
      if (markers.some((marker) => !query.parameters.includes(marker)) || query.sql.includes('\u0000')) {
        throw new Error(`write-path template does not take every argument as a parameter: ${query.sql}`);
      }
      cached = { sql: query.sql, slots, query };
    }
    const parameters = cached.slots.map((slot) => ('arg' in slot ? args[slot.arg] : slot.value));
    return { ...cached.query, sql: cached.sql, parameters };
  };
}

const midFlight = (id: string) => db.updateTable('routing_outcomes').where('id', '=', id).where('outcome_status', 'is', null);

// ---- valid: the fixed W1 code ----

/** Phase one of the two-phase write: the decision, mid-flight (no status, no inference yet). */
export function insertDecision(id: string, requestId: string, rule: DecisionRule, provider: Provider): CompiledQuery {
  return insertDecisionQuery(id, requestId, rule, MODEL_OF[provider], provider);
}
const insertDecisionQuery = compiledOnce((id: string, requestId: string, rule: DecisionRule, model: string, provider: string) =>
  db.insertInto('routing_outcomes').values({ id, request_id: requestId, decision_rule: rule, chosen_model: model, chosen_provider: provider }).compile(),
);

/** A provider call (429 is a rate limit). */
export function recordInference(id: string, provider: Provider, status: 'ok' | 'error', httpStatus: number): CompiledQuery {
  return recordInferenceQuery(id, provider, MODEL_OF[provider], status, httpStatus);
}
const recordInferenceQuery = compiledOnce((id: string, provider: string, model: string, status: 'ok' | 'error', httpStatus: number) =>
  db.insertInto('inferences').values({ id, provider, model, status, http_status: httpStatus }).compile(),
);

/** Phase two: link the inference and mark the outcome final; only a mid-flight row qualifies. */
export const completeDecision = compiledOnce((id: string, inferenceId: string) =>
  midFlight(id).set({ inference_id: inferenceId, outcome_status: 'success', completed_at: sql`now()` }).compile(),
);

/** A provider error with no failover left: final, linked to the failed inference. */
export const failProvider = compiledOnce((id: string, failedInferenceId: string) =>
  midFlight(id).set({ inference_id: failedInferenceId, outcome_status: 'provider_error', completed_at: sql`now()` }).compile(),
);

/** After a 429: switch provider, count the attempt; the row stays mid-flight. */
export function failover(id: string, toProvider: Provider): CompiledQuery {
  return failoverQuery(id, toProvider, MODEL_OF[toProvider]);
}
const failoverQuery = compiledOnce((id: string, provider: string, model: string) =>
  midFlight(id)
    .set((eb) => ({ chosen_provider: provider, chosen_model: model, attempts: eb('attempts', '+', 1) }))
    .compile(),
);

/** The request failed before any provider was called: the override records why. */
export const preDispatchFail = compiledOnce((id: string) =>
  midFlight(id).set({ decision_rule_override: 'pre_dispatch_fail', outcome_status: 'pre_dispatch_fail', completed_at: sql`now()` }).compile(),
);

/** Final without an inference: legal for rules other than cheapest_clearing_floor. */
export function completeUnlinked(id: string, stamped = true): CompiledQuery {
  return stamped ? completeUnlinkedStamped(id) : completeUnlinkedUnstamped(id);
}
const completeUnlinkedStamped = compiledOnce((id: string) => midFlight(id).set({ outcome_status: 'success', completed_at: sql`now()` }).compile());
const completeUnlinkedUnstamped = compiledOnce((id: string) => midFlight(id).set({ outcome_status: 'success' }).compile());

// ---- orphan-producing: the pre-fix behaviours and plausible regressions ----

/** AIN-300 itself: the provider error written without its inference. */
export function failProviderUnlinked(id: string, stamped = true): CompiledQuery {
  return stamped ? failProviderUnlinkedStamped(id) : failProviderUnlinkedUnstamped(id);
}
const failProviderUnlinkedStamped = compiledOnce((id: string) => midFlight(id).set({ outcome_status: 'provider_error', completed_at: sql`now()` }).compile());
/** The pre-fix error path also forgot to stamp completed_at. */
const failProviderUnlinkedUnstamped = compiledOnce((id: string) => midFlight(id).set({ outcome_status: 'provider_error' }).compile());

/** One INSERT that is already final and has no inference. */
export function insertCompleted(id: string, requestId: string, rule: DecisionRule, provider: Provider, status: 'success' | 'provider_error', stamped = true): CompiledQuery {
  return (stamped ? insertCompletedQuery : insertCompletedUnstampedQuery)(id, requestId, rule, MODEL_OF[provider], provider, status);
}
const insertCompletedUnstampedQuery = compiledOnce((id: string, requestId: string, rule: DecisionRule, model: string, provider: string, status: 'success' | 'provider_error') =>
  db.insertInto('routing_outcomes').values({ id, request_id: requestId, decision_rule: rule, chosen_model: model, chosen_provider: provider, outcome_status: status }).compile(),
);
const insertCompletedQuery = compiledOnce((id: string, requestId: string, rule: DecisionRule, model: string, provider: string, status: 'success' | 'provider_error') =>
  db
    .insertInto('routing_outcomes')
    .values({ id, request_id: requestId, decision_rule: rule, chosen_model: model, chosen_provider: provider, outcome_status: status, completed_at: sql`now()` })
    .compile(),
);

/** Drops the link of an outcome to its inference. */
export const unlinkInference = compiledOnce((id: string) => db.updateTable('routing_outcomes').set({ inference_id: null }).where('id', '=', id).compile());

/** Removes the override from a pre-dispatch-failed outcome. */
export const clearOverride = compiledOnce((id: string) => db.updateTable('routing_outcomes').set({ decision_rule_override: null }).where('id', '=', id).compile());

/** An operator overrides the rule on a decision, whatever its status (the override alone then makes an unlinked final row valid). */
export const overrideRule = compiledOnce((id: string, reason: string) => db.updateTable('routing_outcomes').set({ decision_rule_override: reason }).where('id', '=', id).compile());
