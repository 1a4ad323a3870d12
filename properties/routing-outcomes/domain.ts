/**
 * The AIN-300 domain, written from the business rule rather than from any SQL:
 * a routing decision's outcome is an orphan when it is final, the router chose the model
 * (cheapest_clearing_floor), nothing overrode the rule, and no inference is linked.
 */

export const CONSTRAINT_NAME = 'outcome_requires_inference_when_model_chosen';

export const RULES = ['cheapest_clearing_floor', 'explicit_model', 'passthrough'] as const;
export type DecisionRule = (typeof RULES)[number];

export const PROVIDERS = ['mistral', 'openai', 'anthropic'] as const;
export type Provider = (typeof PROVIDERS)[number];

export type OutcomeStatus = 'success' | 'provider_error' | 'pre_dispatch_fail';

export const MODEL_OF: Record<Provider, string> = {
  mistral: 'mistral-large',
  openai: 'gpt-4o',
  anthropic: 'claude-sonnet',
};

/** The facts of an outcome the rule speaks about. */
export interface OutcomeFacts {
  rule: DecisionRule;
  status: OutcomeStatus | null;
  override: string | null;
  inferenceId: string | null;
}

export function isOrphan(outcome: OutcomeFacts): boolean {
  return outcome.status !== null && outcome.rule === 'cheapest_clearing_floor' && outcome.override === null && outcome.inferenceId === null;
}

/**
 * What the constraint hand-applied on PROD before the fix allowed: a router-chosen decision
 * must always carry an inference, even mid-flight (which is why it breaks the two-phase write).
 */
export function allowedByOldPredicate(outcome: OutcomeFacts): boolean {
  return outcome.rule !== 'cheapest_clearing_floor' || outcome.inferenceId !== null;
}

/** The old predicate as PROD has it (a fixture of the starting states, not a migration). */
export const OLD_PREDICATE_SQL = `ALTER TABLE routing_outcomes
  ADD CONSTRAINT ${CONSTRAINT_NAME} CHECK (decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`;

/** Migration 0031's constraint, for a restored backup whose version table predates it. */
export const NEW_PREDICATE_SQL = `ALTER TABLE routing_outcomes
  ADD CONSTRAINT ${CONSTRAINT_NAME} CHECK (outcome_status IS NULL OR decision_rule_override IS NOT NULL
    OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`;

/** What a database refuses, by which constraint is in force. */
export type RuleInForce = 'orphans-refused' | 'old-predicate' | 'none';

/** Whether the rule in force refuses an outcome. */
export function refuses(rule: RuleInForce, outcome: OutcomeFacts): boolean {
  if (rule === 'orphans-refused') return isOrphan(outcome);
  if (rule === 'old-predicate') return !allowedByOldPredicate(outcome);
  return false;
}

/**
 * What each starting state enforces before the migration (its story in states.ts): PROD with
 * the old predicate hand-applied (NOT VALID still checks new writes), a restored backup that
 * already has 0031's constraint, or no constraint at all.
 */
export const RULE_BEFORE: Record<string, RuleInForce> = {
  fresh: 'none',
  'prod-drift': 'old-predicate',
  'prod-drift-inflight': 'old-predicate',
  staging: 'none',
  'already-migrated': 'orphans-refused',
  'schema-ahead': 'orphans-refused',
  'unrepaired-orphans': 'none',
  'prod-drift-not-valid': 'old-predicate',
  'stamped-not-run': 'old-predicate',
};
