-- The W1 gateway code records why a decision was overridden (pre-dispatch failures).
ALTER TABLE routing_outcomes ADD COLUMN decision_rule_override text;
