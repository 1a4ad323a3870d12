import { existsSync } from 'node:fs';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import { formatSpec, readMigrationDirectory, type ChainFormat, type FormatSpec } from './formats/index.ts';
import { shownName, type Migration } from './migration-file.ts';
import type { VersionTable } from './version-table.ts';

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

/** How a chain is found: its directory, and the format when the layout should not be guessed. */
export interface ChainSource {
  format?: ChainFormat;
  /** `--alembic-ini`: the chain is an Alembic project, exported to offline SQL by Alembic itself. */
  alembicIni?: string;
}

/** The migration chain under test: its revisions in order, its format and its version table. */
export class Chain {
  readonly versionTable: VersionTable;
  readonly spec: FormatSpec;

  private constructor(
    readonly dir: string,
    readonly format: ChainFormat,
    readonly migrations: readonly Migration[],
  ) {
    this.spec = formatSpec(format);
    this.versionTable = this.spec.versionTable(migrations);
  }

  static async load(dir: string, source: ChainSource = {}): Promise<Chain> {
    if (source.alembicIni) {
      const { exportAlembicProject } = await import('./formats/alembic-project.ts');
      return new Chain(dir, 'alembic', await exportAlembicProject(source.alembicIni));
    }
    const read = await readMigrationDirectory(dir, source.format).catch(async (error: unknown) => {
      // a project's root with an alembic.ini and no chain beside it: the Alembic project itself
      const ini = path.join(dir, 'alembic.ini');
      if (!source.format && existsSync(ini)) return undefined;
      throw error;
    });
    if (!read) return Chain.load(dir, { alembicIni: path.join(dir, 'alembic.ini') });
    return new Chain(read.dir, read.format, read.migrations);
  }

  /** The migration of a revision (`30` and `0030` are one numbered revision), or a setup error. */
  get(revision: string, what = '--to'): Migration {
    const found = this.migrations.find((m) => sameRevision(m.revision, revision));
    if (!found) throw new SetupError(`${what} ${revision} names no revision of ${this.dir} (have: ${this.migrations.map((m) => m.revision).join(', ')})`);
    return found;
  }

  /** The chain's last revision (its last versioned one, when Flyway repeatables follow). */
  get last(): Migration {
    return this.migrations.filter((m) => !m.repeatable).at(-1) ?? this.migrations.at(-1)!;
  }

  has(revision: string): boolean {
    return this.migrations.some((m) => sameRevision(m.revision, revision));
  }

  /**
   * Every revision up to and including `revision`: the versioned ones in order, then (Flyway)
   * every repeatable one, which the tool applies after the versioned ones of each deploy.
   */
  upTo(revision: string): Migration[] {
    const found = this.get(revision);
    const index = this.migrations.indexOf(found);
    if (found.repeatable) return [...this.migrations];
    return [...this.migrations.slice(0, index + 1).filter((m) => !m.repeatable), ...this.migrations.filter((m) => m.repeatable)];
  }

  /** The revisions a stamp of `revision` marks applied: it alone, or (a head) every revision up to it. */
  stamped(revision: string): Migration[] {
    return this.versionTable.stampCovers === 'ancestors' ? this.upTo(revision).filter((m) => !m.repeatable) : [this.get(revision)];
  }

  /** The concrete revision a reference names, given the revision under test. */
  resolve(ref: RevisionRef, targetRevision: string): string {
    if (typeof ref === 'string') return this.get(ref, 'revision').revision;
    const versioned = this.migrations.filter((m) => !m.repeatable);
    const index = versioned.indexOf(this.get(targetRevision));
    if (ref.relative === 'target' || index === -1) return this.get(targetRevision).revision;
    if (index === 0) throw new SetupError(`the target ${targetRevision} is the first revision of the chain: there is no revision before it for the starting states to stop at`);
    return versioned[index - 1]!.revision;
  }

  /** The revisions up to `to` that the version table does not list, in order. */
  pending(applied: ReadonlySet<string>, to: string): Migration[] {
    return this.upTo(to).filter((m) => !applied.has(m.revision));
  }

  fileName(migration: Migration): string {
    return shownName(migration);
  }
}

function sameRevision(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) === BigInt(b);
  return a === b;
}
