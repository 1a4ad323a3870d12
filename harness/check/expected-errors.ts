import type { ExpectedOutcome } from '../sessions/step-outcome.ts';

/**
 * The errors PostgreSQL raises when a constraint refuses a write, so that a model need not
 * know SQLSTATEs by heart. When one statement breaks several constraints, PostgreSQL reports
 * the first it checks: NOT NULL, then CHECK constraints (by name), then UNIQUE and PRIMARY KEY
 * (as the index is written), then FOREIGN KEY (at the end of the statement, or at COMMIT when
 * deferred).
 *
 * @example
 * predict: (view) => view.get('customers', id) ? { expect: { kind: 'commit' } } : { expect: refused.foreignKey('orders_customer_fk') }
 */
export const refused = {
  /** A CHECK constraint (23514). */
  check: (constraint: string): ExpectedOutcome => ({ kind: 'error', sqlstate: '23514', constraint }),
  /** A NULL in a NOT NULL column (23502; PostgreSQL names the column, not a constraint). */
  notNull: (): ExpectedOutcome => ({ kind: 'error', sqlstate: '23502' }),
  /** A UNIQUE constraint, a unique index or a PRIMARY KEY (23505). */
  unique: (constraint: string): ExpectedOutcome => ({ kind: 'error', sqlstate: '23505', constraint }),
  /** A row whose foreign key points at no parent (23503). */
  foreignKey: (constraint: string): ExpectedOutcome => ({ kind: 'error', sqlstate: '23503', constraint }),
  /**
   * Deleting (or re-keying) a parent that rows still reference, by the foreign key's ON DELETE
   * action: `NO ACTION` (the default) raises 23503; `RESTRICT` raises 23001 (restrict_violation)
   * on PostgreSQL 18 and later and 23503 before (either is accepted); `CASCADE`, `SET NULL` and
   * `SET DEFAULT` raise nothing (they change the children instead).
   */
  referenced: (constraint: string, onDelete: 'no action' | 'restrict' = 'no action'): ExpectedOutcome =>
    onDelete === 'restrict' ? { kind: 'error', sqlstate: '23001', or: ['23503'], constraint } : { kind: 'error', sqlstate: '23503', constraint },
  /** An EXCLUDE constraint (23P01). */
  exclusion: (constraint: string): ExpectedOutcome => ({ kind: 'error', sqlstate: '23P01', constraint }),
};
