import type { HistoryVerdict } from './linearizability.ts';
import type { HistoryEvent, Invariant } from './model.ts';
import { differingColumns, type World } from './world.ts';
import { formatActual, type StepOutcome } from '../sessions/index.ts';

/** A run on a migrated state and the same run, statement for statement, on the state's reference. */
export interface DifferentialCheck {
  events: readonly HistoryEvent[];
  reference: readonly HistoryEvent[];
  /** The rows each database holds after the run. */
  actual: World;
  expected: World;
  /** The rows the state started with, and the domain's rule: a row the run wrote must not break it. */
  base?: World;
  invariant?: Invariant;
}

/**
 * The state differential: the migrated state must accept and refuse exactly the statements its
 * reference (the chain applied to an empty database, holding the same rows) accepts and
 * refuses, with the same SQLSTATE and constraint and the same row count, and end with the same
 * rows. Statements are paired by session and position; the verdict's `order` is the run's
 * statements up to the first that behaved differently.
 */
export function checkAgainstReference(check: DifferentialCheck): HistoryVerdict {
  const reference = new Map(check.reference.map((event) => [`${event.session}/${event.index}`, event]));
  const ordered = [...check.events].sort((a, b) => a.completed - b.completed);
  const order: HistoryEvent[] = [];
  for (const event of ordered) {
    const twin = reference.get(`${event.session}/${event.index}`);
    const mismatch = twin ? differentOutcome(event.outcome, twin.outcome) : 'the reference never ran it (its session stopped earlier)';
    if (mismatch) {
      return { ok: false, explored: order.length, order, inconclusive: false, mismatches: [{ where: `${event.session < 0 ? 'setup' : `s${event.session + 1}`} ${event.step.name}`, expected: twin ? `as on the reference: ${formatActual(twin.outcome)}` : 'to run as on the reference', actual: mismatch, ...(event.outcome.kind === 'error' ? { error: event.outcome } : {}) }] };
    }
    order.push(event);
  }
  const rows = [...rowDifferences(check.expected, check.actual), ...forbidden(check)];
  return { ok: rows.length === 0, explored: order.length, order, inconclusive: false, mismatches: rows.length ? [{ where: 'final table', expected: 'the rows the reference ends with', actual: rows.join('; ') }] : [] };
}

/** How an outcome differs from the reference's (undefined: the same). */
function differentOutcome(actual: StepOutcome, expected: StepOutcome): string | undefined {
  const same = actual.kind === 'ok' ? expected.kind === 'ok' && expected.rows === actual.rows : expected.kind === 'error' && expected.sqlstate === actual.sqlstate && expected.constraint === actual.constraint;
  return same ? undefined : `${formatActual(actual)}${actual.kind === 'error' ? ` (${actual.message})` : ''}`;
}

/** Rows the run wrote (new, or changed from the state's) that the domain's rule forbids. */
function forbidden(check: DifferentialCheck): string[] {
  if (!check.invariant) return [];
  return check.actual.all().flatMap(({ table, key, row }) => {
    const before = check.base?.get(table, key);
    if (before && differingColumns(before, row!).length === 0) return [];
    const problem = check.invariant!(table, key, row!);
    return problem ? [`${table}[${key}]: ${problem}`] : [];
  });
}

function rowDifferences(expected: World, actual: World): string[] {
  const problems: string[] = [];
  for (const { table, key, row } of actual.all()) {
    const twin = expected.get(table, key);
    if (!twin) problems.push(`${table}[${key}] exists, but not on the reference: ${JSON.stringify(row)}`);
    else {
      const columns = differingColumns(twin, row!);
      if (columns.length) problems.push(`${table}[${key}]: ${columns.map((c) => `${c} is ${String(row![c])}, on the reference ${String(twin[c])}`).join(', ')}`);
    }
  }
  for (const { table, key } of expected.all()) if (!actual.get(table, key)) problems.push(`${table}[${key}] is on the reference but not in the table`);
  return problems;
}

