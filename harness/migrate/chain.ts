import path from 'node:path';
import { SetupError } from '../errors.ts';
import { readMigrationDirectory, type ChainFormat, type Migration } from './migration-file.ts';
import { versionTableFor, type VersionTable } from './version-table.ts';

/**
 * A revision named the way starting states name it: literally, or relative to the revision
 * under test ("the target", "the revision before the target"), so that any chain verifies as
 * its tool named it (`0031`, dbmate's `20240101000031`, Alembic's `20260528_0031`).
 */
export type RevisionRef = string | { relative: 'target' | 'before-target' };

export const target = (): RevisionRef => ({ relative: 'target' });
export const beforeTarget = (): RevisionRef => ({ relative: 'before-target' });

export function describeRevisionRef(ref: RevisionRef): string {
  if (typeof ref === 'string') return ref;
  return ref.relative === 'target' ? 'the target' : 'the revision before the target';
}

/** The migration chain under test: its revisions in order, its format and its version table. */
export class Chain {
  readonly versionTable: VersionTable;

  private constructor(
    readonly dir: string,
    readonly format: ChainFormat,
    readonly migrations: readonly Migration[],
  ) {
    this.versionTable = versionTableFor(format);
  }

  static async load(dir: string): Promise<Chain> {
    const { format, migrations } = await readMigrationDirectory(dir);
    return new Chain(dir, format, migrations);
  }

  /** The migration of a revision (`30` and `0030` are one numbered revision), or a setup error. */
  get(revision: string, what = '--to'): Migration {
    const found = this.migrations.find((m) => sameRevision(m.revision, revision));
    if (!found) throw new SetupError(`${what} ${revision} names no revision of ${this.dir} (have: ${this.migrations.map((m) => m.revision).join(', ')})`);
    return found;
  }

  has(revision: string): boolean {
    return this.migrations.some((m) => sameRevision(m.revision, revision));
  }

  /** Every revision up to and including `revision`. */
  upTo(revision: string): Migration[] {
    const index = this.migrations.indexOf(this.get(revision));
    return this.migrations.slice(0, index + 1);
  }

  /** The concrete revision a reference names, given the revision under test. */
  resolve(ref: RevisionRef, targetRevision: string): string {
    if (typeof ref === 'string') return this.get(ref, 'revision').revision;
    const index = this.migrations.indexOf(this.get(targetRevision));
    if (ref.relative === 'target') return this.migrations[index]!.revision;
    if (index === 0) throw new SetupError(`the target ${targetRevision} is the first revision of the chain: there is no revision before it for the starting states to stop at`);
    return this.migrations[index - 1]!.revision;
  }

  /** The revisions up to `to` that the version table does not list, in order. */
  pending(applied: ReadonlySet<string>, to: string): Migration[] {
    return this.upTo(to).filter((m) => !applied.has(m.revision));
  }

  fileName(migration: Migration): string {
    return path.basename(migration.file);
  }
}

function sameRevision(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) === BigInt(b);
  return a === b;
}
