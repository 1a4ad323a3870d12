import { describe, expect, it } from 'vitest';
import { checkAgainstReference, sameInstant } from '../harness/check/state-differential.ts';
import type { HistoryEvent } from '../harness/check/model.ts';
import { World } from '../harness/check/world.ts';
import type { StepOutcome } from '../harness/sessions/index.ts';

const event = (session: number, index: number, outcome: StepOutcome): HistoryEvent =>
  ({ session, index, step: { name: `step ${index}`, sql: 'SELECT 1' }, issued: index, completed: index, start: index, end: index, blocked: false, blockedBy: [], timedOut: false, outcome, txStatus: 'I' }) as HistoryEvent;
const audit = (at: string) => World.of([{ table: 'stock_audit', key: '1', row: { at } }]);

/** What the state differential takes as the same on the state and on its reference, and what not. */
describe('the state differential', () => {
  it('takes two clock readings as the same only when they are no further apart than the run took', () => {
    expect(sameInstant('2026-12-03T12:27:37.428692+00:00', '2026-12-03T12:27:37.42944+00:00', 5)).toBe(true);
    expect(sameInstant('2026-12-03T12:27:37.428692+00:00', '2026-12-03T12:27:37.42944+00:00', 0.5)).toBe(false);
    expect(sameInstant('2026-12-03T12:27:37.4+00:00', '2026-12-03T13:27:37.4+01:00', 1)).toBe(true);
    expect(sameInstant('2026-12-03T12:27:37.4', '2026-12-03T12:27:37.401', 5)).toBe(true);
    // an hour off, a timestamp against one without offset, a date, text: not the clock
    expect(sameInstant('2026-12-03T12:27:37.4+00:00', '2026-12-03T13:27:37.4+00:00', 5000)).toBe(false);
    expect(sameInstant('2026-12-03T12:27:37.4+00:00', '2026-12-03T12:27:37.4', 5000)).toBe(false);
    expect(sameInstant('2026-12-03', '2026-12-04', 5000)).toBe(false);
    expect(sameInstant('a', 'b', 5000)).toBe(false);
  });

  it("a default's now() differing by less than the run's time is no difference; by more, or with no slack given, it is", () => {
    const check = (slack: number | undefined, expected: string) =>
      checkAgainstReference({ events: [], reference: [], actual: audit('2026-12-03T12:27:37.428692+00:00'), expected: audit(expected), ...(slack === undefined ? {} : { clockSlackMs: slack }) });
    expect(check(20, '2026-12-03T12:27:37.438+00:00').ok).toBe(true);
    expect(check(20, '2026-12-03T12:27:38.428692+00:00').mismatches[0]?.actual).toMatch(/stock_audit\[1\]: at is/);
    expect(check(undefined, '2026-12-03T12:27:37.438+00:00').ok).toBe(false);
  });

  it("a deadlock's victim against another error is the same (both end the transaction); against a success it is not", () => {
    const deadlock: StepOutcome = { kind: 'error', sqlstate: '40P01', message: 'deadlock detected' };
    const refused: StepOutcome = { kind: 'error', sqlstate: '23503', message: 'violates foreign key', constraint: 'stock_warehouse_id_fkey' };
    const world = World.of([]);
    const run = (actual: StepOutcome, expected: StepOutcome) => checkAgainstReference({ events: [event(1, 0, actual)], reference: [event(1, 0, expected)], actual: world, expected: world });
    expect(run(deadlock, refused).ok).toBe(true);
    expect(run(refused, deadlock).ok).toBe(true);
    expect(run(deadlock, { kind: 'ok', rows: 1 }).ok).toBe(false);
    expect(run(refused, { kind: 'error', sqlstate: '23505', message: 'duplicate', constraint: 'x' }).ok).toBe(false);
  });
});
