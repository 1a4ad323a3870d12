import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { reproduce } from '../check/repro.ts';
import { verify } from '../check/verify.ts';
import { GROUPS, type PropertyGroup } from '../check/property-result.ts';
import { SetupError, errorMessage } from '../errors.ts';
import { chooseProvider, redactPasswords, ScratchDatabases, type ProviderChoice } from '../postgres/index.ts';
import { parseIsolationSpec, replayIsolationSpec } from '../sessions/index.ts';
import { formatConsoleReport } from '../report/console-report.ts';
import { lineProgress, terminalProgress } from '../report/progress.ts';
import { writeReports } from '../report/write-reports.ts';
import { installSignalHandlers, interruptedBy, registerCleanup, runAllCleanups } from '../shutdown.ts';
import type { VerifyReport } from '../report/verify-report.ts';
import type { StartingState } from '../states/index.ts';
import { loadSuite } from './load-suite.ts';

interface ReproFlags extends ProviderChoice {
  group: 'writes' | 'concurrency';
  seed: number;
  path: string;
  state: string;
  suite?: string;
  migrations?: string;
  to?: string;
  out?: string;
}

interface VerifyFlags extends ProviderChoice {
  suite?: string;
  migrations?: string;
  to?: string;
  states?: string[];
  group?: PropertyGroup[];
  runs: number;
  seed?: number;
  path?: string;
  json?: boolean;
  report?: string;
}

/** Runs the command line; resolves to the exit code (0 all hold, 1 a property failed, 2 usage or setup). */
export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  let exitCode = 0;
  const program = new Command('constraint-harness')
    .description('Proves a PostgreSQL constraint migration safe from every starting state, under random application writes.')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  withProviderOptions(program
    .command('verify'))
    .description('build every starting state, migrate it, and check the properties')
    .option('--suite <name>', 'suite folder under properties/ (default: the only one)')
    .option('--migrations <dir>', 'migration directory (default: the suite\'s own)')
    .option('--to <revision>', 'verify the chain up to this revision (default: the suite\'s target)')
    .option('--states <names>', 'comma-separated starting states (default: all)', list)
    .option('--group <groups>', `comma-separated property groups: ${GROUPS.join(', ')} (default: all)`, groups)
    .option('--runs <n>', 'runs per property', positiveInteger, 100)
    .option('--seed <n>', 'seed for every property (default: random, always printed)', integer)
    .option('--path <path>', 'replay one failing run (fast-check path, with --seed)', replayPath)
    .option('--json', 'print one JSON document on stdout (logs go to stderr)')
    .option('--report <dir>', 'also write report.md, report.json and junit.xml there')
    .action(async (flags: VerifyFlags) => {
      exitCode = await runVerify(flags);
    });

  withProviderOptions(program
    .command('repro'))
    .description('turn a failing write run (its seed and path) into a self-contained SQL script')
    .requiredOption('--seed <n>', 'the seed the failure printed', integer)
    .requiredOption('--path <path>', 'the path the failure printed', replayPath)
    .requiredOption('--state <name>', 'the state it failed in')
    .option('--suite <name>', 'suite folder under properties/ (default: the only one)')
    .option('--migrations <dir>', 'migration directory (default: the suite\'s own)')
    .option('--to <revision>', 'the revision the failure was found at')
    .addOption(new Option('--group <group>', 'the group that failed: writes (a SQL script) or concurrency (an isolation spec)').choices(['writes', 'concurrency']).default('writes'))
    .option('--out <file>', 'write the script to a file instead of stdout')
    .action(async (flags: ReproFlags) => {
      const suite = await loadSuite(flags.suite);
      const script = await reproduce(suite, {
        provider: chooseProvider(flags),
        migrationsDir: flags.migrations ? path.resolve(flags.migrations) : suite.migrationsDir,
        to: flags.to,
        state: flags.state,
        group: flags.group,
        seed: flags.seed,
        path: flags.path,
        log: (line) => process.stderr.write(`${redactPasswords(line)}\n`),
      });
      if (flags.out) {
        await writeFile(flags.out, script);
        const how = flags.group === 'concurrency' ? `npx constraint-harness replay ${flags.out} --url …` : `psql -X -f ${flags.out}`;
        process.stderr.write(`wrote ${flags.out}: run it with ${how} against an empty database\n`);
      } else {
        process.stdout.write(script);
      }
    });

  withProviderOptions(program
    .command('replay'))
    .description('run an isolation spec written by `repro --group concurrency` on an empty database, printing what each step did')
    .argument('<spec>', 'the spec file')
    .action(async (file: string, flags: ProviderChoice) => {
      const spec = parseIsolationSpec(await readFile(file, 'utf8').catch((error: Error) => {
        throw new SetupError(`cannot read spec ${file}: ${error.message}`);
      }));
      const server = await chooseProvider(flags).start();
      const databases = new ScratchDatabases(server);
      try {
        const database = await databases.create('replay');
        const replay = await replayIsolationSpec(spec, server.connectionConfig(database));
        process.stdout.write(replay.lines.join('\n') + '\n');
        exitCode = replay.setupError ? 1 : 0;
      } finally {
        await databases.close();
        await server.stop();
      }
    });

  program
    .command('states')
    .description('list the starting states with their stories')
    .option('--suite <name>', 'suite folder under properties/')
    .action(async (flags: { suite?: string }) => {
      const suite = await loadSuite(flags.suite);
      const width = Math.max(...suite.states.map((state) => state.name.length));
      for (const state of suite.states) {
        process.stdout.write(`${state.name.padEnd(width)}  ${state.expect.padEnd(15)}  ${state.story}\n`);
      }
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`constraint-harness: ${redactPasswords(errorMessage(error))}\n`);
    await runAllCleanups();
    return error instanceof SetupError ? 2 : 1;
  }
}

async function runVerify(flags: VerifyFlags): Promise<number> {
  if (flags.path !== undefined && flags.seed === undefined) throw new SetupError('--path replays a failure and needs the --seed it was found with');
  const suite = await loadSuite(flags.suite);
  const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
  const groups = flags.group ?? [...GROUPS];
  const migrationsDir = flags.migrations ? path.resolve(flags.migrations) : suite.migrationsDir;
  const log = (line: string) => process.stderr.write(`${redactPasswords(line)}\n`);
  log(`constraint-harness verify: suite ${suite.name}, seed ${seed}, ${flags.runs} runs per property`);
  const progress = process.stderr.isTTY ? terminalProgress() : lineProgress(log);
  // interrupted (Ctrl-C, SIGTERM) or failed midway: the states that finished still get reported
  const partial: VerifyReport = { ok: false, postgres: { version: 'unknown', provider: flags.provider ?? 'embedded' }, migrations: { dir: migrationsDir, to: flags.to ?? suite.target }, seed, states: [] };
  const partialReport = registerCleanup('partial report', async () => {
    progress.stop();
    partial.interrupted = interruptedBy() ?? 'error';
    if (flags.report) log(`interrupted: wrote ${(await writeReports(flags.report, partial)).join(', ')} with the ${partial.states.length} state(s) that finished`);
  });
  const report = await verify(suite, {
    progress,
    onStateDone: (state, header) => {
      Object.assign(partial, header);
      partial.states.push(state);
    },
    provider: chooseProvider(flags),
    migrationsDir,
    to: flags.to,
    states: flags.states,
    groups,
    runs: flags.runs,
    seed,
    path: flags.path,
    replayCommand: (state, group, replaySeed, replayPath) => replayCommand(flags, state, group, replaySeed, replayPath),
    scriptCommand: (state, group, replaySeed, replayPath) =>
      replayCommand(flags, state, group, replaySeed, replayPath).replace(/^npx constraint-harness verify --states (\S+) --group (\S+)/, 'npx constraint-harness repro --state $1 --group $2'),
    log: process.stderr.isTTY ? () => undefined : log,
  }).finally(() => progress.stop());
  partialReport.release();
  if (flags.report) log(`wrote ${(await writeReports(flags.report, report)).join(', ')}`);
  const output = flags.json ? JSON.stringify(report, null, 2) : formatConsoleReport(report);
  process.stdout.write(redactPasswords(output) + '\n');
  return report.ok ? 0 : 1;
}

function replayCommand(flags: VerifyFlags, state: StartingState, group: PropertyGroup, seed: number, replayPath: string): string {
  const parts = ['npx constraint-harness verify', `--states ${state.name}`, `--group ${group}`, `--seed ${seed}`];
  if (replayPath) parts.push(`--path ${replayPath}`);
  if (flags.to) parts.push(`--to ${flags.to}`);
  if (flags.migrations) parts.push(`--migrations ${flags.migrations}`);
  if (flags.suite) parts.push(`--suite ${flags.suite}`);
  if (flags.provider && flags.provider !== 'url') parts.push(`--provider ${flags.provider}`);
  if (flags.pgVersion) parts.push(`--pg-version ${flags.pgVersion}`);
  if (flags.image) parts.push(`--image ${flags.image}`);
  return parts.join(' ');
}

/** Where PostgreSQL comes from: the same options for every command that needs a server. */
function withProviderOptions(command: Command): Command {
  return command
    .addOption(new Option('--provider <provider>', 'where PostgreSQL comes from (default embedded)').choices(['embedded', 'container', 'url']))
    .option('--url <url>', 'an existing server (implies --provider url; also DATABASE_URL); only databases the harness creates are touched')
    .option('--pg-version <major>', 'PostgreSQL major: embedded 18 (default) or 14; container: the postgres image tag')
    .option('--image <image>', 'container image (implies --provider container; default postgres:<major>)');
}

function list(value: string): string[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

function groups(value: string): PropertyGroup[] {
  return list(value).map((group) => {
    if (!(GROUPS as readonly string[]).includes(group)) throw new InvalidArgumentError(`unknown group "${group}" (groups: ${GROUPS.join(', ')})`);
    return group as PropertyGroup;
  });
}

function integer(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return Number(value);
}

function positiveInteger(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError('must be at least 1');
  return n;
}

function replayPath(value: string): string {
  if (!/^\d+(:\d+)*$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a fast-check path (e.g. 36:0:2)`);
  return value;
}
