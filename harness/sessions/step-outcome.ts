import type pg from 'pg';

/** What one statement did: committed (with a row count) or raised an error. */
export type StepOutcome = { kind: 'ok'; rows: number } | { kind: 'error'; sqlstate: string; constraint?: string; message: string };

/** What a model predicts for a statement. */
export type ExpectedOutcome =
  | { kind: 'commit' }
  | { kind: 'ok' }
  | { kind: 'no-rows' }
  | { kind: 'error'; sqlstate: string; constraint?: string };

export function outcomeOf(result: pg.QueryResult): StepOutcome {
  return { kind: 'ok', rows: result.rowCount ?? 0 };
}

export function outcomeOfError(error: unknown): StepOutcome {
  const pgError = error as Partial<pg.DatabaseError>;
  if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code)) {
    return { kind: 'error', sqlstate: pgError.code, constraint: pgError.constraint, message: pgError.message ?? '' };
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
      return actual.kind === 'error' && actual.sqlstate === expected.sqlstate && (expected.constraint === undefined || actual.constraint === expected.constraint);
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
      return `${expected.sqlstate}${expected.constraint ? ` ${expected.constraint}` : ''}`;
  }
}

export function formatActual(actual: StepOutcome): string {
  if (actual.kind === 'ok') return actual.rows === 0 ? '0 rows' : `commit (${actual.rows} row${actual.rows === 1 ? '' : 's'})`;
  return `${actual.sqlstate}${actual.constraint ? ` ${actual.constraint}` : ''}`;
}
