/**
 * PostgreSQL's table lock modes (pg_locks.mode), as the documentation names them, and which
 * of them stop the gateway: writers take ROW EXCLUSIVE (INSERT, UPDATE, DELETE), readers
 * ACCESS SHARE. The conflict table is the one of "Explicit Locking" (13.3.1).
 */
export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;

/** `AccessExclusiveLock` → `ACCESS EXCLUSIVE`. */
export function modeName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/** How strong a mode is (for the strongest lock a statement holds). */
export function strength(mode: string): number {
  return LOCK_MODES.indexOf(mode as (typeof LOCK_MODES)[number]);
}

/** The mode conflicts with ROW EXCLUSIVE: writes to the table wait while it is held (or queued). */
export function blocksWriters(mode: string): boolean {
  return strength(mode) >= strength('ShareLock');
}

/** The mode conflicts with ACCESS SHARE: even plain SELECTs wait. */
export function blocksReaders(mode: string): boolean {
  return mode === 'AccessExclusiveLock';
}
