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
  /**
   * How long the run took, both databases' statements included (ms): a value the server's clock
   * gave while it ran (now() in a default or a trigger, on either side) is the same on both when
   * the two differ by no more than that.
   */
  clockSlackMs?: number;
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
  const rows = [...rowDifferences(check.expected, check.actual, check.clockSlackMs ?? 0), ...forbidden(check)];
  return { ok: rows.length === 0, explored: order.length, order, inconclusive: false, mismatches: rows.length ? [{ where: 'final table', expected: 'the rows the reference ends with', actual: rows.join('; ') }] : [] };
}

/**
 * How an outcome differs from the reference's (undefined: the same). A deadlock (40P01) on one
 * side and another error on the other are the same: both end the transaction, and which of two
 * waiting sessions the server picks as the deadlock's victim, and when, depends on timing
 * (deadlock_timeout runs from when each began to wait), not on the schema.
 */
function differentOutcome(actual: StepOutcome, expected: StepOutcome): string | undefined {
  const deadlockAndError = actual.kind === 'error' && expected.kind === 'error' && (actual.sqlstate === '40P01' || expected.sqlstate === '40P01');
  const same = deadlockAndError || (actual.kind === 'ok' ? expected.kind === 'ok' && expected.rows === actual.rows : expected.kind === 'error' && expected.sqlstate === actual.sqlstate && expected.constraint === actual.constraint);
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

function rowDifferences(expected: World, actual: World, clockSlackMs: number): string[] {
  const problems: string[] = [];
  for (const { table, key, row } of actual.all()) {
    const twin = expected.get(table, key);
    if (!twin) problems.push(`${table}[${key}] exists, but not on the reference: ${JSON.stringify(row)}`);
    else {
      const columns = differingColumns(twin, row!).filter((c) => !sameInstant(twin[c], row![c], clockSlackMs));
      if (columns.length) problems.push(`${table}[${key}]: ${columns.map((c) => `${c} is ${String(row![c])}, on the reference ${String(twin[c])}`).join(', ')}`);
    }
  }
  for (const { table, key } of expected.all()) if (!actual.get(table, key)) problems.push(`${table}[${key}] is on the reference but not in the table`);
  return problems;
}

// a timestamp as to_jsonb prints one (timestamptz with its offset, timestamp without)
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Two timestamps at most `slackMs` apart (both of the same kind: with an offset, or without). */
export function sameInstant(a: unknown, b: unknown, slackMs: number): boolean {
  if (slackMs <= 0 || typeof a !== 'string' || typeof b !== 'string') return false;
  const [x, y] = [TIMESTAMP.exec(a), TIMESTAMP.exec(b)];
  if (!x || !y || (x[4] === undefined) !== (y[4] === undefined)) return false;
  const micros = (m: RegExpExecArray) => {
    const offset = m[4] === undefined || m[4] === 'Z' ? 'Z' : m[4].length === 3 ? `${m[4]}:00` : m[4].includes(':') ? m[4] : `${m[4].slice(0, 3)}:${m[4].slice(3)}`;
    const ms = Date.parse(`${m[1]}T${m[2]}${offset}`);
    return Number.isNaN(ms) ? undefined : ms * 1000 + Number((m[3] ?? '.0').slice(1).padEnd(6, '0'));
  };
  const [p, q] = [micros(x), micros(y)];
  return p !== undefined && q !== undefined && Math.abs(p - q) <= slackMs * 1000;
}
