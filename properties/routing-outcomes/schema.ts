import type { ColumnType, Generated } from 'kysely';
import type { DecisionRule, OutcomeStatus } from './domain.ts';

/** The gateway's tables as Kysely sees them (migrations 0001, 0002, 0030). */
export interface Database {
  inferences: InferencesTable;
  routing_outcomes: RoutingOutcomesTable;
}

export interface InferencesTable {
  id: string;
  provider: string;
  model: string;
  status: 'ok' | 'error';
  http_status: number | null;
  created_at: Generated<Date>;
}

export interface RoutingOutcomesTable {
  id: string;
  request_id: string;
  decision_rule: DecisionRule;
  chosen_model: string | null;
  chosen_provider: string | null;
  inference_id: string | null;
  outcome_status: OutcomeStatus | null;
  attempts: Generated<number>;
  created_at: Generated<Date>;
  completed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  decision_rule_override: string | null;
}
