import type { Migration } from '../migration-file.ts';
import type { PlanOptions, PlanUnit, RunnerName } from '../runner.ts';
import type { VersionTable } from '../version-table.ts';

/** The chain layouts the harness reads: one file under `formats/` each. */
export const FORMAT_NAMES = ['plain', 'dbmate', 'alembic', 'prisma', 'drizzle', 'node-pg-migrate', 'flyway', 'golang-migrate', 'goose', 'sqitch'] as const;
export type ChainFormat = (typeof FORMAT_NAMES)[number];

/** What is in a migration directory, read once for every format's `detect`. */
export interface DirectoryListing {
  dir: string;
  /** Every file under the directory, as paths relative to it with `/` separators (two levels deep). */
  files: readonly string[];
  /** The text of a file of the listing (read once, then kept). */
  text(file: string): Promise<string>;
}

/**
 * One migration tool's layout and behaviour: how it names and orders revisions, where it
 * records them, and how its runner(s) send them. Each format's file cites the tool's source
 * for what it imitates.
 */
export interface FormatSpec {
  readonly name: ChainFormat;
  /** The tool, as users know it. */
  readonly tool: string;
  /** Whether the harness's deploy is compared with the real tool's in the tests, or only written from the tool's documentation and source. */
  readonly proven: 'real tool' | 'source and documentation';
  /** The runners of this format, the default first. */
  readonly runners: readonly RunnerName[];
  /** Whether a directory is written in this format (checked in the order of FORMATS). */
  detect(listing: DirectoryListing): Promise<boolean>;
  /** Every revision, in the order the tool applies them. */
  read(listing: DirectoryListing): Promise<Migration[]>;
  versionTable(migrations: readonly Migration[]): VersionTable;
  /** The messages the runner sends to apply these revisions, in order. */
  plan(migrations: readonly Migration[], runner: RunnerName, versionTable: VersionTable, options: PlanOptions): PlanUnit[];
}

/** Whether any of these files of a listing says what `pattern` looks for (a tool's marker: dbmate's `-- migrate:up`, goose's `-- +goose Up`…). */
export async function anyFileSays(listing: DirectoryListing, files: readonly string[], pattern: RegExp): Promise<boolean> {
  for (const file of files) if (pattern.test(await listing.text(file))) return true;
  return false;
}
