import type { GeneratedRows, RowSlice } from '../../harness/suite.ts';

/**
 * The histories of the starting states at any size, written set-based (one INSERT … SELECT …
 * generate_series per table and slice), for the deploy rehearsal: a million rows in seconds.
 * Row g's shape is decided by g % 20 (and, for orphans, g % 100), so the shares are exact
 * whatever the slices, and the rows follow the same story as the generated histories: valid
 * under the old predicate, the same share of decisions in flight, orphans where the story has
 * them. Outcome g is served by inference g, so a slice's rows never reference another slice's.
 */
type Story = 'valid-under-old' | 'valid-under-old-in-flight' | 'without-orphans' | 'with-orphans';

interface Shape {
  /** Which rows: a condition on g (`g % 20 < 10`), tried in order. */
  when: string;
  rule: string;
  status: string | null;
  override: string | null;
  inference: 'ok' | 'error' | null;
}

const FINAL_LINKED: Shape[] = [
  { when: 'g % 20 < 10', rule: 'cheapest_clearing_floor', status: 'success', override: null, inference: 'ok' },
  { when: 'g % 20 < 14', rule: 'cheapest_clearing_floor', status: 'provider_error', override: null, inference: 'error' },
  { when: 'g % 20 < 17', rule: 'explicit_model', status: 'success', override: null, inference: null },
];
const SHAPES: Record<Story, Shape[]> = {
  // PROD after the repair: every row final and valid under the old predicate
  'valid-under-old': [...FINAL_LINKED, { when: 'true', rule: 'passthrough', status: 'pre_dispatch_fail', override: 'pre_dispatch_fail', inference: null }],
  // … plus decisions in flight the old predicate lets through (an attempt recorded, or not router-chosen)
  'valid-under-old-in-flight': [
    ...FINAL_LINKED,
    { when: 'g % 20 < 19', rule: 'cheapest_clearing_floor', status: null, override: null, inference: 'error' },
    { when: 'true', rule: 'explicit_model', status: null, override: null, inference: null },
  ],
  // staging, no constraint: pre-dispatch failures and router-chosen decisions in flight without an inference
  'without-orphans': [
    ...FINAL_LINKED,
    { when: 'g % 20 < 18', rule: 'cheapest_clearing_floor', status: 'pre_dispatch_fail', override: 'pre_dispatch_fail', inference: null },
    { when: 'true', rule: 'cheapest_clearing_floor', status: null, override: null, inference: null },
  ],
  // before the repair: one row in a hundred an orphan
  'with-orphans': [
    { when: 'g % 100 = 99', rule: 'cheapest_clearing_floor', status: 'provider_error', override: null, inference: null },
    ...FINAL_LINKED,
    { when: 'true', rule: 'cheapest_clearing_floor', status: null, override: null, inference: null },
  ],
};

const literal = (value: string | null) => (value === null ? 'NULL::text' : `'${value}'`);
const key = (space: string) => `('00000000-0000-4000-${space}-' || lpad(to_hex(g), 12, '0'))::uuid`;

/** Each row of the slice with its shape's columns (`s.rule`, `s.status`…), the shape chosen once per row. */
function shapedRows(shapes: readonly Shape[], slice: RowSlice): string {
  const values = shapes.map((s, i) => `(${i}, ${literal(s.rule)}, ${literal(s.status)}, ${literal(s.override)}, ${literal(s.inference)})`).join(', ');
  const which = `CASE ${shapes.map((s, i) => `WHEN ${s.when} THEN ${i}`).join(' ')} END`;
  return `generate_series(${slice.from}, ${slice.to - 1}) AS g JOIN (VALUES ${values}) AS s(shape, rule, status, override, inference) ON s.shape = ${which}`;
}

export function historyAtScale(story: Story): (slice: RowSlice) => GeneratedRows {
  return (slice) => {
    const rows = shapedRows(SHAPES[story], slice);
    const orphans = story === 'with-orphans' ? Math.floor((slice.to + 1) / 100) - Math.floor((slice.from + 1) / 100) : 0;
    return {
      sql: [
        `INSERT INTO inferences (id, provider, model, status, http_status)
         SELECT ${key('9000')}, 'mistral', 'mistral-large', s.inference, CASE WHEN s.inference = 'ok' THEN 200 ELSE 503 END
         FROM ${rows} WHERE s.inference IS NOT NULL`,
        `INSERT INTO routing_outcomes (id, request_id, decision_rule, chosen_model, chosen_provider, inference_id, outcome_status, decision_rule_override, attempts, completed_at)
         SELECT ${key('8000')}, 'req-h' || g, s.rule, 'mistral-large', 'mistral', CASE WHEN s.inference IS NOT NULL THEN ${key('9000')} END,
                s.status, s.override, g % 3, CASE WHEN s.status IS NOT NULL THEN now() END
         FROM ${rows}`,
      ],
      summary: [`rows ${slice.from}–${slice.to - 1}, shaped by g % 20${story === 'with-orphans' ? ` (${orphans} orphans: g % 100 = 99)` : ''}`],
      violating: orphans,
    };
  };
}
