import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GROUPS } from '../run/property-result.ts';

/** The runners and chain formats, spelled here so that `--help` needs nothing heavier than commander (a test checks they match harness/migrate's). */
export const RUNNER_NAMES = ['psql-single-transaction', 'psql', 'dbmate', 'prisma-migrate-deploy', 'drizzle-migrate', 'node-pg-migrate', 'node-pg-migrate-no-single-transaction', 'flyway', 'golang-migrate', 'goose', 'sqitch'] as const;
export const FORMAT_CHOICES = ['plain', 'dbmate', 'alembic', 'prisma', 'drizzle', 'node-pg-migrate', 'flyway', 'golang-migrate', 'goose', 'sqitch'] as const;

/** Where PostgreSQL comes from: the same options for every command that needs a server. */
export function withProviderOptions(command: Command): Command {
  return command
    .addOption(new Option('--provider <provider>', 'where PostgreSQL comes from (default embedded)').choices(['embedded', 'container', 'url']))
    .option('--url <url>', 'an existing server (implies --provider url; also DATABASE_URL); only databases the harness creates are touched')
    .option('--pg-version <major>', 'PostgreSQL major: embedded 18 (default) or 14; container: the postgres image tag')
    .option('--image <image>', 'container image (implies --provider container; default postgres:<major>)');
}

/** The chain: which suite, which migrations, up to which revision, sent by which runner. */
export function withChainOptions(command: Command): Command {
  return command
    .option('--suite <suite>', "auto (derived from the chain), a suite or constraint-harness.config.ts file or its folder, or a folder name under properties/ (default: ./constraint-harness.config.ts, else the only suite)")
    .option('--migrations <dir>', "migration directory (default: the suite's own)")
    .option('--to <revision>', "the revision under test (default: the suite's target, else the chain's last)")
    .addOption(new Option('--format <format>', "the chain's layout (default: recognised from its files)").choices([...FORMAT_CHOICES]))
    .option('--alembic-ini <file>', "an Alembic project's alembic.ini: the harness runs `alembic upgrade A:B --sql` for each revision itself")
    .addOption(new Option('--runner <runner>', "how each file is sent (default: the format's tool, as it sends them; plain SQL: psql-single-transaction)").choices([...RUNNER_NAMES]));
}

/** A starting state copied read-only from a real database or a dump (`verify`, `rehearse`). */
export function withSnapshotOptions(command: Command): Command {
  return command
    .option('--from-db <url>', 'add the state "snapshot": a read-only copy of this database (one REPEATABLE READ, READ ONLY transaction; nothing is written to it)')
    .option('--from-dump <file>', 'add the state "snapshot" from a pg_dump file (plain SQL, or custom format: read with pg_restore)')
    .option('--sample <rows>', 'with --from-db: copy at most this many rows per table, and the parents they reference', positiveInteger)
    .addOption(new Option('--expect-snapshot <outcome>', 'what the migration must do from the snapshot (default converge: a deploy that would fail on this data is not signed off)').choices(['converge', 'fail-atomically']))
    .option('--pg-dump <path>', "a pg_dump binary (its pg_restore beside it reads custom-format dumps; default: PATH's)");
}

/** The deploy rehearsal's options (`rehearse`; `verify` takes them too, and rehearses when --rows is given). */
export function withRehearsalOptions(command: Command, withinVerify = false): Command {
  return command
    .option('--state <name>', "the starting state to rehearse (default: the suite's first live-deploy state)")
    .option('--rows <n>', withinVerify ? 'also rehearse the deploy with the state at N rows' : 'rows of the state (it is measured at N/4, N/2 and N; default 100000)', positiveInteger)
    .option('--prod-rows <n>', "PROD's row count, for the projection (default: --rows)", positiveInteger)
    .option('--writers <n>', 'gateway sessions writing during the deploy', positiveInteger, 4)
    .option('--rate <n>', 'flows per second, per writer', positiveInteger, 20)
    .option('--before <ms>', 'writing before the deploy starts', nonNegativeInteger, 1000)
    .option('--after <ms>', 'writing after the deploy ended', nonNegativeInteger, 1000)
    .option('--long-reader <ms>', 'a session holding ACCESS SHARE on the tables for this long when the deploy starts (a report, pg_dump)', nonNegativeInteger)
    .option('--lock-timeout <ms>', "the deploy's lock_timeout; a statement that times out (55P03) is retried with back-off", positiveInteger)
    .option('--retries <n>', 'retries after a lock timeout', nonNegativeInteger, 10)
    .option('--max-write-stall <ms>', 'fail (deploy-stall-within-budget) when writers would stall longer, at --prod-rows; prints and rehearses a suggested rewrite', positiveInteger);
}

export function nonNegativeInteger(value: string): number {
  const n = integer(value);
  if (n < 0) throw new InvalidArgumentError('must be 0 or more');
  return n;
}

export function list(value: string): string[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

export function groups(value: string): (typeof GROUPS)[number][] {
  return list(value).map((group) => {
    if (!(GROUPS as readonly string[]).includes(group)) throw new InvalidArgumentError(`unknown group "${group}" (groups: ${GROUPS.join(', ')})`);
    return group as (typeof GROUPS)[number];
  });
}

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return Number(value);
}

export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError('must be at least 1');
  return n;
}

export function replayPath(value: string): string {
  if (!/^\d+(:\d+)*$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a fast-check path (e.g. 36:0:2)`);
  return value;
}

/** `--shard 2/4`: the second of four deterministic parts of the work. */
export function shard(value: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!match || count < 1 || index < 1 || index > count) throw new InvalidArgumentError(`"${value}" is not a shard (i/n with 1 <= i <= n, e.g. 2/4)`);
  return { index, count };
}

/** `--min-score 1`, `--min-score 0.95` or `--min-score 95%`. */
export function score(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  const n = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`"${value}" is not a score (0 to 1, or 0% to 100%)`);
  return n;
}

/** `--budget 90s`, `2m`, `1m30s`, `1h`, or plain seconds (`300`): milliseconds. */
export function duration(value: string): number {
  const text = value.trim();
  const parts = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(text);
  const ms = parts && text !== '' ? (Number(parts[1] ?? 0) * 3600 + Number(parts[2] ?? 0) * 60 + Number(parts[3] ?? 0)) * 1000 : Number.NaN;
  if (!(ms >= 1000)) throw new InvalidArgumentError(`"${value}" is not a duration of at least 1 s (e.g. 90s, 2m, 1m30s, 300)`);
  return Math.round(ms);
}

/** The default number of workers: the machine's cores. */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The kinds of mutant `mutate --kind` selects. */
export const MUTANT_KINDS = ['check', 'unique', 'primary key', 'foreign key', 'not null', 'exclude', 'deploy'] as const;

export function mutantKinds(value: string): (typeof MUTANT_KINDS)[number][] {
  return list(value).map((kind) => {
    if (!(MUTANT_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`unknown kind "${kind}" (kinds: ${MUTANT_KINDS.join(', ')})`);
    return kind as (typeof MUTANT_KINDS)[number];
  });
}
