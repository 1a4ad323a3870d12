import fc from 'fast-check';
import pg from 'pg';
import type { GeneratedRows } from '../../harness/suite.ts';
import { MODEL_OF, PROVIDERS, RULES, allowedByOldPredicate, isOrphan, type DecisionRule, type OutcomeStatus, type Provider } from './domain.ts';

/**
 * Pre-existing history for the starting states: routing outcomes as the gateway wrote them
 * over time, each with the inference that served it where there was one.
 */

type Shape = 'success' | 'provider-error' | 'pre-dispatch-fail' | 'in-flight' | 'in-flight-after-attempt' | 'final-unlinked';
const SHAPES: readonly Shape[] = ['success', 'provider-error', 'pre-dispatch-fail', 'in-flight', 'in-flight-after-attempt', 'final-unlinked'];

interface HistoricalOutcome {
  rule: DecisionRule;
  provider: Provider;
  shape: Shape;
  finalStatus: 'success' | 'provider_error';
  httpStatus: number;
  attempts: number;
}

interface HistoryRow {
  rule: DecisionRule;
  provider: Provider;
  status: OutcomeStatus | null;
  override: string | null;
  inference: { status: 'ok' | 'error'; httpStatus: number } | null;
  attempts: number;
}

const outcome: fc.Arbitrary<HistoricalOutcome> = fc.record({
  rule: fc.constantFrom(...RULES),
  provider: fc.constantFrom(...PROVIDERS),
  shape: fc.constantFrom(...SHAPES),
  finalStatus: fc.constantFrom('success' as const, 'provider_error' as const),
  httpStatus: fc.constantFrom(429, 500, 503),
  attempts: fc.integer({ min: 0, max: 3 }),
});

function toRow(generated: HistoricalOutcome): HistoryRow {
  const base = { rule: generated.rule, provider: generated.provider, attempts: generated.attempts };
  switch (generated.shape) {
    case 'success':
      return { ...base, status: 'success', override: null, inference: { status: 'ok', httpStatus: 200 } };
    case 'provider-error':
      return { ...base, status: 'provider_error', override: null, inference: { status: 'error', httpStatus: generated.httpStatus } };
    case 'pre-dispatch-fail':
      return { ...base, status: 'pre_dispatch_fail', override: 'pre_dispatch_fail', inference: null };
    case 'in-flight':
      return { ...base, status: null, override: null, inference: null };
    case 'in-flight-after-attempt':
      return { ...base, status: null, override: null, inference: { status: 'error', httpStatus: generated.httpStatus }, attempts: Math.max(1, generated.attempts) };
    case 'final-unlinked':
      return { ...base, status: generated.finalStatus, override: null, inference: null };
  }
}

const facts = (row: HistoryRow) => ({ rule: row.rule, status: row.status, override: row.override, inferenceId: row.inference ? 'linked' : null });

function rows(filter: (row: HistoryRow) => boolean, minLength: number, maxLength: number): fc.Arbitrary<HistoryRow[]> {
  return fc.array(outcome.map(toRow).filter(filter), { minLength, maxLength });
}

const orphanRow: fc.Arbitrary<HistoryRow> = fc
  .record({ provider: fc.constantFrom(...PROVIDERS), status: fc.constantFrom('success' as const, 'provider_error' as const), attempts: fc.integer({ min: 0, max: 3 }) })
  .map(({ provider, status, attempts }) => ({ rule: 'cheapest_clearing_floor' as const, provider, status, override: null, inference: null, attempts }));

const finalRow = (row: HistoryRow) => row.status !== null;
const inFlightRow = (row: HistoryRow) => row.status === null;
const validUnderOld = (row: HistoryRow) => allowedByOldPredicate(facts(row));
const notOrphan = (row: HistoryRow) => !isOrphan(facts(row));

/** Final outcomes the old predicate accepts (PROD after the data repair). */
export const validUnderOldPredicate = toGenerated(rows((row) => finalRow(row) && validUnderOld(row), 0, 12));

/** PROD after the repair, plus decisions mid-flight that the old predicate lets through. */
export const validUnderOldWithInFlight = toGenerated(
  fc.tuple(rows((row) => finalRow(row) && validUnderOld(row), 0, 10), rows((row) => inFlightRow(row) && validUnderOld(row), 1, 5)).map(([a, b]) => [...a, ...b]),
);

/** Any history without orphans, mid-flight rows included (no constraint at all). */
export const withoutOrphans = toGenerated(rows(notOrphan, 0, 12));

/** History before the repair: at least one orphan among otherwise ordinary rows. */
export const withOrphans = toGenerated(
  fc.tuple(rows(notOrphan, 0, 8), fc.array(orphanRow, { minLength: 1, maxLength: 4 }), fc.nat()).map(([ordinary, orphans, at]) => {
    const all = [...ordinary];
    orphans.forEach((orphan, i) => all.splice((at + i) % (all.length + 1), 0, orphan));
    return all;
  }),
);

/** The rows as SQL, a line per row, and how many are orphans (the rows 0031's constraint must refuse). */
function toGenerated(history: fc.Arbitrary<HistoryRow[]>): fc.Arbitrary<GeneratedRows> {
  return history.map((list) => ({ sql: insertSql(list), summary: list.map(describeRow), violating: list.filter((row) => isOrphan(facts(row))).length }));
}

/** Fixed key spaces for history rows, disjoint from the random keys the write path uses. */
export const historyOutcomeId = (index: number) => `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
export const historyInferenceId = (index: number) => `00000000-0000-4000-9000-${index.toString(16).padStart(12, '0')}`;

/** The history row a key belongs to (`h3` in messages), if it is one. */
export function historyIndexOf(key: string): number | undefined {
  const match = /^00000000-0000-4000-8000-([0-9a-f]{12})$/.exec(key);
  return match ? parseInt(match[1]!, 16) : undefined;
}

function insertSql(list: readonly HistoryRow[]): string[] {
  if (list.length === 0) return [];
  const literal = (value: string | number | null) => (value === null ? 'NULL' : typeof value === 'number' ? String(value) : pg.escapeLiteral(value));
  const inferences: string[] = [];
  const outcomes: string[] = [];
  list.forEach((row, index) => {
    const model = MODEL_OF[row.provider];
    let inferenceId: string | null = null;
    if (row.inference) {
      inferenceId = historyInferenceId(index);
      inferences.push(`(${[inferenceId, row.provider, model, row.inference.status, row.inference.httpStatus].map(literal).join(', ')})`);
    }
    const completedAt = row.status === null ? 'NULL' : `now()`;
    outcomes.push(
      `(${[historyOutcomeId(index), `req-h${index}`, row.rule, model, row.provider, inferenceId, row.status, row.override, row.attempts].map(literal).join(', ')}, ${completedAt})`,
    );
  });
  const statements: string[] = [];
  if (inferences.length > 0) {
    statements.push(`INSERT INTO inferences (id, provider, model, status, http_status) VALUES\n  ${inferences.join(',\n  ')}`);
  }
  statements.push(
    `INSERT INTO routing_outcomes (id, request_id, decision_rule, chosen_model, chosen_provider, inference_id, outcome_status, decision_rule_override, attempts, completed_at) VALUES\n  ${outcomes.join(',\n  ')}`,
  );
  return statements;
}

function describeRow(row: HistoryRow, index: number): string {
  const inference = row.inference ? `inference ${row.inference.status} ${row.inference.httpStatus}` : 'no inference';
  const override = row.override ? `, override ${row.override}` : '';
  const orphan = isOrphan(facts(row)) ? ' (orphan)' : '';
  return `h${index}: ${row.rule} via ${row.provider}, ${row.status ?? 'mid-flight'}, ${inference}${override}${orphan}`;
}
