import { shownName } from './migration-file.ts';
import type { MigrationStepMeta } from './migration-executor.ts';
import { oneLine } from './sql-statements.ts';

/** A point where a deploy can be killed and leave a database no other point leaves. */
export interface InterruptionPoint {
  /** Messages of the runner's program sent (and answered) before the kill. */
  after: number;
  /** What the last of them was: `0031_x.sql:7 ALTER TABLE …`. */
  last: string;
  /** The last message's name in the program (`0031-2`, `0031-record`). */
  step: string;
  /** The tool's mark of a revision in progress is left behind (golang-migrate's dirty flag): its next deploy refuses. */
  marked: boolean;
}

const OPENS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const ENDS = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED', 'TRANS_STMT_PREPARE']);

type Meta = Pick<MigrationStepMeta, 'role' | 'statements'>;

/** Walks a deploy's messages: whether a transaction is open after each, and whether it committed work. */
function walk(metas: readonly Meta[]): { open: boolean; committed: boolean }[] {
  let open = false;
  return metas.map((meta) => {
    let committed = false;
    if (meta.role === 'begin') open = true;
    else if (meta.role === 'commit') {
      committed = open;
      open = false;
    } else if (meta.statements.length === 0) committed = !open && meta.role !== 'savepoint' && meta.role !== 'release' && meta.role !== 'guard';
    else {
      for (const statement of meta.statements) {
        const control = statement.transactionKind;
        if (control && OPENS.has(control)) open = true;
        else if (control && ENDS.has(control)) {
          committed ||= open && control === 'TRANS_STMT_COMMIT';
          open = false;
        } else if (!open) committed = true;
      }
    }
    return { open, committed };
  });
}

/** Whether a transaction is still open after these messages (then the kill rolls it back). */
export function openAfter(metas: readonly Meta[]): boolean {
  return walk(metas).at(-1)?.open ?? false;
}

/**
 * Every point where killing a deploy leaves a different database: after each message that
 * committed work (an autocommit statement, the version row, a COMMIT), except the last (the
 * deploy done) and the runner's own bookkeeping (creating its version table). A runner that
 * sends each revision as one transaction has none inside a revision.
 */
export function interruptionPoints(steps: readonly { name: string; meta?: Meta & Pick<MigrationStepMeta, 'migration'> }[]): InterruptionPoint[] {
  const metas = steps.map((step) => step.meta!);
  const points: InterruptionPoint[] = [];
  let marked = false;
  let opened = -1;
  // the revisions whose script (a statement of theirs) has been sent
  const ran = new Set<unknown>();
  walk(metas).forEach((step, i) => {
    if (metas[i]!.role === 'mark') marked = true;
    else if (metas[i]!.role === 'record') marked = false;
    else if (metas[i]!.role === 'begin') opened = i;
    if (metas[i]!.role === 'statement') ran.add(metas[i]!.migration);
    // a transaction of the tool's marks alone (golang-migrate's `SetVersion(v, dirty)`) is named by them
    const marks = metas[i]!.role === 'commit' && opened >= 0 && i - opened > 1 && metas.slice(opened + 1, i).every((m) => m.role === 'mark');
    const meta = metas[i]!;
    if (!step.committed || i === metas.length - 1 || meta.role === 'prepare') return;
    points.push({ after: i + 1, step: marks ? steps[opened + 1]!.name : steps[i]!.name, marked, last: lastSent(meta, marks || (meta.role === 'mark' && !ran.has(meta.migration))) });
  });
  return points;
}

/** The message a kill came after, for people; `started` when it is the tool's mark that a revision's run began. */
function lastSent(meta: Meta & Pick<MigrationStepMeta, 'migration'>, started: boolean): string {
  const file = shownName(meta.migration);
  if (started) return `${file}: the tool's mark that its run started`;
  if (meta.role === 'mark') return `${file}: the tool's note that its script ran, before it marks the revision finished`;
  if (meta.role === 'record') return `${file}: its version row`;
  if (meta.role === 'commit') return `${file}: COMMIT`;
  const statement = meta.statements.at(-1);
  return statement ? `${file}:${statement.line} ${oneLine(statement.sql, 80)}` : file;
}
