-- One row per routing decision, linked to the provider call that served it.
CREATE TABLE routing_outcomes (
  id              uuid PRIMARY KEY,
  request_id      text NOT NULL,
  decision_rule   text NOT NULL,
  chosen_model    text,
  chosen_provider text,
  inference_id    uuid REFERENCES inferences (id),
  outcome_status  text CHECK (outcome_status IN ('success', 'provider_error', 'pre_dispatch_fail')),
  attempts        int NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz
);
