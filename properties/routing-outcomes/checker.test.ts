import { describe, expect, it } from 'vitest';
import type { HistoryEvent, WriterAction } from '../../harness/check/model.ts';
import { World } from '../../harness/check/world.ts';
import { checkRun } from '../../harness/groups/writes/run-history.ts';
import { FreshKeys } from '../../harness/groups/writes/run-keys.ts';
import type { MigrationStepMeta } from '../../harness/migrate/index.ts';
import type { StepOutcome } from '../../harness/sessions/index.ts';
import { bindOperation } from './bind.ts';
import { fresh, type RoutingOperation } from './operations.ts';
import suite from './suite.ts';

const ok = (rows: number): StepOutcome => ({ kind: 'ok', rows });
const refused: StepOutcome = { kind: 'error', sqlstate: '23514', constraint: 'outcome_requires_inference_when_model_chosen', message: 'check constraint violated' };

/**
 * The false alarm a release sign-off once raised (seed 42, run 250 of prod-drift's live deploy):
 * s1's UPDATE and s2's INSERT of one decision both waited on the migration's lock and were
 * released by its COMMIT. PostgreSQL ran the INSERT first, so the UPDATE found the row; the
 * harness happened to see the UPDATE's result first. A checker that replays the order it
 * noticed expects "0 rows"; one that admits every order consistent with real time does not.
 */
describe('the live-deploy history of seed 42, rebuilt step by step', () => {
  const keys = new FreshKeys();
  const run = { keys, base: World.empty() };
  const writer = (session: number, index: number, op: RoutingOperation | WriterAction, start: number, end: number, outcome: StepOutcome, blocked = false): HistoryEvent => {
    const action: WriterAction = 'kind' in op && (op.kind === 'begin' || op.kind === 'commit' || op.kind === 'rollback') ? (op as WriterAction) : { kind: 'op', op: bindOperation(op as RoutingOperation, run) };
    const label = action.kind === 'op' ? action.op.label : action.kind;
    return { session, index, step: { name: label, sql: label, meta: { kind: 'writer', action, label } }, issued: 0, completed: 0, start, end, blocked, blockedBy: blocked ? [2] : [], timedOut: false, outcome, txStatus: 'I' };
  };
  const migration = (index: number, role: MigrationStepMeta['role'], start: number, end: number, txStatus: 'I' | 'T'): HistoryEvent => ({
    session: 2, index, step: { name: `0031-${role}`, sql: role, meta: { kind: 'migration', migration: undefined as never, role, statements: [], unit: 0 } },
    issued: 0, completed: 0, start, end, blocked: false, blockedBy: [], timedOut: false, outcome: ok(0), txStatus,
  });
  const d9 = fresh(9);
  const history = [
    writer(0, 0, { kind: 'insertDecision', d: d9, rule: 'cheapest_clearing_floor', provider: 'mistral' }, 0, 1, refused), // the old predicate still holds
    migration(0, 'begin', 2, 3, 'T'),
    writer(0, 1, { kind: 'recordInference', i: 11, provider: 'mistral', status: 'ok', httpStatus: 200 }, 4, 5, ok(1)),
    migration(1, 'statement', 6, 7, 'T'), // DROP … IF EXISTS: ACCESS EXCLUSIVE from here to COMMIT
    writer(0, 2, { kind: 'completeDecision', d: d9, i: 11 }, 8, 30, ok(1), true), // waits; found the row s2 inserted
    writer(1, 0, { kind: 'insertDecision', d: d9, rule: 'cheapest_clearing_floor', provider: 'mistral' }, 9, 31, ok(1), true), // waits
    migration(2, 'statement', 10, 11, 'T'),
    migration(3, 'record', 12, 13, 'T'),
    migration(4, 'commit', 14, 29, 'I'), // releases both; the harness saw s1's result first
  ];
  const check = (actual: World) => checkRun({ state: 'prod-drift', events: history, base: World.empty(), writers: 2, schema: 'before', migration: { session: 2, statementSteps: [1, 2] }, actual, keys, invariant: suite.invariant });
  const decision = { rule: 'cheapest_clearing_floor', provider: 'mistral', model: 'mistral-large', status: 'success', override: null, attempts: 0, completed: true, inference: keys.fresh('i11') };

  it('is explained: the INSERT took effect before the UPDATE, as PostgreSQL ran them', () => {
    const actual = World.of([{ table: 'inferences', key: keys.fresh('i11'), row: { provider: 'mistral', status: 'ok' } }, { table: 'routing_outcomes', key: keys.fresh('d9'), row: decision }]);
    const verdict = check(actual);
    expect(verdict.mismatches).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.order.map((e) => e.step.name).slice(-2)).toEqual(['insertDecision(d9, cheapest_clearing_floor, mistral)', 'completeDecision(d9, i11)']);
  });

  it('is still refuted when no order explains it: the same steps, but the row was never completed', () => {
    const actual = World.of([{ table: 'inferences', key: keys.fresh('i11'), row: { provider: 'mistral', status: 'ok' } }, { table: 'routing_outcomes', key: keys.fresh('d9'), row: { ...decision, status: null, completed: false, inference: null } }]);
    expect(check(actual).ok).toBe(false);
  });
});
