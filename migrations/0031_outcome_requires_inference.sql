-- AIN-300: a final outcome of a router-chosen model must be linked to its inference.
-- PROD already has a constraint of this name with an older predicate (hand-applied during
-- the repair), which breaks the two-phase write because a CHECK cannot be DEFERRABLE.
-- Drop it if present, then add the W1 predicate with the mid-flight escape
-- (outcome_status IS NULL). On a fresh database the DROP IF EXISTS is a no-op.
ALTER TABLE routing_outcomes
  DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;

ALTER TABLE routing_outcomes
  ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (
    outcome_status IS NULL
    OR decision_rule_override IS NOT NULL
    OR decision_rule <> 'cheapest_clearing_floor'
    OR inference_id IS NOT NULL
  );
