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

const midFlight = (id: string) => db.updateTable('routing_outcomes').where('id', '=', id).where('outcome_status', 'is', null);

// ---- valid: the fixed W1 code ----

/** Phase one of the two-phase write: the decision, mid-flight (no status, no inference yet). */
export function insertDecision(id: string, requestId: string, rule: DecisionRule, provider: Provider): CompiledQuery {
  return db
    .insertInto('routing_outcomes')
    .values({ id, request_id: requestId, decision_rule: rule, chosen_model: MODEL_OF[provider], chosen_provider: provider })
    .compile();
}

/** A provider call (429 is a rate limit). */
export function recordInference(id: string, provider: Provider, status: 'ok' | 'error', httpStatus: number): CompiledQuery {
  return db.insertInto('inferences').values({ id, provider, model: MODEL_OF[provider], status, http_status: httpStatus }).compile();
}

/** Phase two: link the inference and mark the outcome final; only a mid-flight row qualifies. */
export function completeDecision(id: string, inferenceId: string): CompiledQuery {
  return midFlight(id).set({ inference_id: inferenceId, outcome_status: 'success', completed_at: sql`now()` }).compile();
}

/** A provider error with no failover left: final, linked to the failed inference. */
export function failProvider(id: string, failedInferenceId: string): CompiledQuery {
  return midFlight(id).set({ inference_id: failedInferenceId, outcome_status: 'provider_error', completed_at: sql`now()` }).compile();
}

/** After a 429: switch provider, count the attempt; the row stays mid-flight. */
export function failover(id: string, toProvider: Provider): CompiledQuery {
  return midFlight(id)
    .set((eb) => ({ chosen_provider: toProvider, chosen_model: MODEL_OF[toProvider], attempts: eb('attempts', '+', 1) }))
    .compile();
}

/** The request failed before any provider was called: the override records why. */
export function preDispatchFail(id: string): CompiledQuery {
  return midFlight(id).set({ decision_rule_override: 'pre_dispatch_fail', outcome_status: 'pre_dispatch_fail', completed_at: sql`now()` }).compile();
}

/** Final without an inference: legal for rules other than cheapest_clearing_floor. */
export function completeUnlinked(id: string): CompiledQuery {
  return midFlight(id).set({ outcome_status: 'success', completed_at: sql`now()` }).compile();
}

// ---- orphan-producing: the pre-fix behaviours and plausible regressions ----

/** AIN-300 itself: the provider error written without its inference. */
export function failProviderUnlinked(id: string): CompiledQuery {
  return midFlight(id).set({ outcome_status: 'provider_error', completed_at: sql`now()` }).compile();
}

/** One INSERT that is already final and has no inference. */
export function insertCompleted(id: string, requestId: string, rule: DecisionRule, provider: Provider, status: 'success' | 'provider_error'): CompiledQuery {
  return db
    .insertInto('routing_outcomes')
    .values({ id, request_id: requestId, decision_rule: rule, chosen_model: MODEL_OF[provider], chosen_provider: provider, outcome_status: status, completed_at: sql`now()` })
    .compile();
}

/** Drops the link of an outcome to its inference. */
export function unlinkInference(id: string): CompiledQuery {
  return db.updateTable('routing_outcomes').set({ inference_id: null }).where('id', '=', id).compile();
}

/** Removes the override from a pre-dispatch-failed outcome. */
export function clearOverride(id: string): CompiledQuery {
  return db.updateTable('routing_outcomes').set({ decision_rule_override: null }).where('id', '=', id).compile();
}
