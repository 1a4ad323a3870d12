import { createHash } from 'node:crypto';
import type pg from 'pg';

/** What one statement did: succeeded (with a row count) or raised an error. */
export type StepOutcome =
  | { kind: 'ok'; rows: number }
  | { kind: 'error'; sqlstate: string; message: string; constraint?: string; table?: string; column?: string; position?: number; detail?: string; hint?: string };

/** An error as the server reported it: SQLSTATE, message, and DETAIL and HINT when it gave them. */
export type ServerError = Extract<StepOutcome, { kind: 'error' }>;

/** What a model predicts for a statement. */
export type ExpectedOutcome =
  | { kind: 'commit' }
  | { kind: 'ok' }
  | { kind: 'no-rows' }
  | { kind: 'error'; sqlstate: string; constraint?: string; /** Other SQLSTATEs that mean the same (another server version's). */ or?: readonly string[] };

export function outcomeOf(result: pg.QueryResult | pg.QueryResult[]): StepOutcome {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return { kind: 'ok', rows: last?.rowCount ?? 0 };
}

/** A server error as an outcome; anything else (a dropped connection) is rethrown. */
export function outcomeOfError(error: unknown): StepOutcome {
  const pgError = error as Partial<pg.DatabaseError>;
  if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code)) {
    const outcome: StepOutcome = { kind: 'error', sqlstate: pgError.code, message: pgError.message ?? '' };
    if (pgError.constraint) outcome.constraint = pgError.constraint;
    if (pgError.table) outcome.table = pgError.table;
    if (pgError.column) outcome.column = pgError.column;
    if (pgError.position) outcome.position = Number(pgError.position);
    if (pgError.detail) outcome.detail = pgError.detail;
    if (pgError.hint) outcome.hint = pgError.hint;
    return outcome;
  }
  throw error;
}

/** Does what happened match the prediction? A commit must touch rows; `no-rows` must touch none. */
export function matches(expected: ExpectedOutcome, actual: StepOutcome): boolean {
  switch (expected.kind) {
    case 'commit':
      return actual.kind === 'ok' && actual.rows > 0;
    case 'ok':
      return actual.kind === 'ok';
    case 'no-rows':
      return actual.kind === 'ok' && actual.rows === 0;
    case 'error':
      return actual.kind === 'error' && (actual.sqlstate === expected.sqlstate || (expected.or?.includes(actual.sqlstate) ?? false)) && (expected.constraint === undefined || actual.constraint === expected.constraint);
  }
}

export function formatExpected(expected: ExpectedOutcome): string {
  switch (expected.kind) {
    case 'commit':
      return 'commit';
    case 'ok':
      return 'ok';
    case 'no-rows':
      return '0 rows';
    case 'error':
      return `${[expected.sqlstate, ...(expected.or ?? [])].join(' or ')}${expected.constraint ? ` ${expected.constraint}` : ''}`;
  }
}

export function formatActual(actual: StepOutcome): string {
  if (actual.kind === 'ok') return actual.rows === 0 ? '0 rows' : `commit (${actual.rows} row${actual.rows === 1 ? '' : 's'})`;
  return `${actual.sqlstate}${actual.constraint ? ` ${actual.constraint}` : ''}`;
}

/**
 * The query pg sends for a step. A write path sends a handful of distinct statements
 * thousands of times: a step marked `prepare` gets a name, so pg parses it once per
 * connection and afterwards only binds and executes it.
 */
export function queryOf(step: { sql: string; parameters?: readonly unknown[]; prepare?: boolean }): pg.QueryConfig | string {
  const values = step.parameters as unknown[] | undefined;
  if (step.prepare) return { name: preparedName(step.sql), text: step.sql, values };
  return values?.length ? { text: step.sql, values } : step.sql;
}

const preparedNames = new Map<string, string>();

function preparedName(sql: string): string {
  let name = preparedNames.get(sql);
  if (!name) preparedNames.set(sql, (name = `ch_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`));
  return name;
}

/** The server error behind a failure, if there is one (a statement's outcome, a MigrationError, a pg error). */
export function serverErrorOf(error: unknown): ServerError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const outcome = (error as { outcome?: StepOutcome }).outcome;
  if (outcome?.kind === 'error') return outcome;
  if ((error as { kind?: string }).kind === 'error') return error as ServerError;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== error) {
    const found = serverErrorOf(cause);
    if (found) return found;
  }
  try {
    const outcome = outcomeOfError(error);
    return outcome.kind === 'error' ? outcome : undefined;
  } catch {
    return undefined;
  }
}

/** The server's words, as psql prints them: `ERROR: 23514: message`, then DETAIL and HINT. */
export function formatServerError(error: ServerError): string[] {
  return [`ERROR: ${error.sqlstate}: ${error.message}`, ...(error.detail ? [`DETAIL: ${error.detail}`] : []), ...(error.hint ? [`HINT: ${error.hint}`] : [])];
}
