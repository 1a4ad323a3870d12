import { Command, CommanderError, Option } from 'commander';
import { SetupError, errorMessage } from '../errors.ts';
import { installSignalHandlers, interruptedBy, runAllCleanups } from '../shutdown.ts';
import { markCommandStart } from './command-start.ts';
import { duration, defaultWorkers, FORMAT_CHOICES, groups, integer, list, MUTANT_KINDS, mutantKinds, nonNegativeInteger, positiveInteger, replayPath, RUNNER_NAMES, score, shard, withChainOptions, withProviderOptions, withRehearsalOptions, withSnapshotOptions } from './options.ts';
import { GROUPS } from '../run/property-result.ts';
import type { VerifyFlags } from './verify-command.ts';


/**
 * Runs the command line; resolves to the exit code: 0 every property holds, 1 a property
 * failed (its counterexample is printed), 2 a usage or setup problem (one line says which).
 * The commands' code is loaded when a command runs, so `--help` starts in a blink.
 */
export async function main(argv: string[], options: { signals?: boolean } = {}): Promise<number> {
  markCommandStart();
  // the process's own Ctrl-C and SIGTERM; a caller that embeds the command line keeps its own
  if (options.signals !== false) installSignalHandlers();
  let exitCode = 0;
  const program = new Command('constraint-harness')
    .description('Proves a PostgreSQL constraint migration safe from every starting state, under random application writes.')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  withSnapshotOptions(withProviderOptions(withChainOptions(program.command('verify'))))
    .description('build every starting state, migrate it, and check the properties')
    .option('--states <names>', 'comma-separated starting states (default: all)', list)
    .option('--working-set <rows>', 'with a snapshot: the writes, concurrency and live-deploy groups run on at most this many rows per table, with their parents (default 10000; 0: every row)', nonNegativeInteger)
    .option('--group <groups>', `comma-separated property groups: ${GROUPS.join(', ')} (default: all)`, groups)
    .option('--property <name>', 'only the property of this name (a replay names the one that failed)')
    .option('--runs <n>', 'runs per property (default 100)', positiveInteger)
    .option('--budget <time>', 'instead of --runs: as many runs per property as fit in this time (e.g. 90s, 2m), shared fairly by the (state, property) items; the whole command ends within it', duration)
    .option('--min-runs <n>', 'with --budget: a property that got fewer runs is not a pass (default 100)', positiveInteger)
    .option('--seed <n>', 'seed for every property (default: random, always printed)', integer)
    .option('--path <path>', 'replay one failing run (fast-check path, with --seed)', replayPath)
    .option('--workers <n>', 'how many (state, property) items run at once (default: the number of cores)', positiveInteger, defaultWorkers())
    .option('--max-writer-deadlocks <n>', 'fail the live deploy when more writer statements than this were deadlocked or cancelled (default: counted and reported, not a failure)', nonNegativeInteger)
    .option('--shard <i/n>', 'run only the i-th of n deterministic parts of the work (for CI job matrices; see merge-reports)', shard)
    .option('--json', 'print one JSON document on stdout (logs go to stderr)')
    .option('--report <dir>', 'also write report.md, report.json and junit.xml there')
    .addHelpText('after', '\nWith --rows N, verify also rehearses the deploy at N rows (see `rehearse --help` for the other rehearsal options).');
  withRehearsalOptions(program.commands.find((c) => c.name() === 'verify')!, true)
    .action(async (flags: VerifyFlags) => {
      const { runVerify } = await import('./verify-command.ts');
      exitCode = await runVerify(flags);
    });

  withProviderOptions(withChainOptions(program.command('repro')))
    .description('turn one failure (its state, property, seed and path) into a SQL script, or an isolation spec for a concurrency failure')
    .requiredOption('--state <name>', 'the state it failed in')
    .option('--property <name>', 'the property that failed, as the failure printed it')
    .addOption(new Option('--group <group>', 'instead of --property: the writes or concurrency property of the suite').choices(['writes', 'concurrency']))
    .requiredOption('--seed <n>', 'the seed the failure printed', integer)
    .requiredOption('--path <path>', 'the path the failure printed', replayPath)
    .option('--out <file>', 'write the script to a file instead of stdout')
    .action(async (flags: import('./repro-command.ts').ReproFlags) => {
      const { runRepro } = await import('./repro-command.ts');
      await runRepro(flags);
    });

  withProviderOptions(withChainOptions(program.command('mutate')))
    .description('mutation testing: mutants of every constraint the revision under test adds (CHECK, UNIQUE, PRIMARY KEY, FOREIGN KEY, NOT NULL, EXCLUDE) and of how it deploys them, each run against the suite')
    .option('--states <names>', 'comma-separated starting states (default: all)', list)
    .option('--group <groups>', `groups each mutant runs (default: migration,writes; add concurrency for the concurrent flows and the live deploy)`, groups)
    .option('--runs <n>', 'runs per property and mutant', positiveInteger, 100)
    .option('--seed <n>', 'seed (default: random, always printed)', integer)
    .option('--workers <n>', 'items of one mutant at once (default: the number of cores)', positiveInteger, defaultWorkers())
    .option('--min-score <score>', 'exit 1 below this score (1, 0.95, 95%): for CI', score)
    .option('--kind <kinds>', `only mutants of these kinds, comma-separated: ${MUTANT_KINDS.join(', ')} (default: all)`, mutantKinds)
    .option('--json', 'print one JSON document on stdout')
    .option('--report <dir>', 'also write mutation-report.md and mutation-report.json there')
    .action(async (flags: import('./mutate-command.ts').MutateFlags) => {
      const { runMutate } = await import('./mutate-command.ts');
      exitCode = await runMutate(flags);
    });

  withSnapshotOptions(withRehearsalOptions(withProviderOptions(withChainOptions(program.command('rehearse')))))
    .description('rehearse the deploy at production scale: the lock ledger per statement, the hold projected to PROD, writers under load, a long reader, lock_timeout and retries')
    .option('--seed <n>', 'seed for the writers (default: random, always printed)', integer)
    .option('--json', 'print one JSON document on stdout (logs go to stderr)')
    .option('--report <dir>', 'also write report.md (with the deploy timeline as a Mermaid gantt chart) and report.json there')
    .action(async (flags: Parameters<typeof import('./rehearse-command.ts').runRehearse>[0]) => {
      const { runRehearse } = await import('./rehearse-command.ts');
      exitCode = await runRehearse(flags);
    });

  program
    .command('merge-reports')
    .description('join the report.json of every shard of a run (verify --shard i/n --report DIR) into one report, with the verdict of the whole run')
    .argument('<dirs...>', "the shards' report directories (or their report.json files)")
    .option('--report <dir>', 'write the merged report.md, report.json and junit.xml there')
    .option('--json', 'print the merged JSON document on stdout')
    .action(async (dirs: string[], flags: { report?: string; json?: boolean }) => {
      const { runMerge } = await import('./merge-command.ts');
      exitCode = await runMerge(dirs, flags);
    });

  withProviderOptions(program.command('replay'))
    .description('run an isolation spec written by `repro` on an empty database, printing what each step did')
    .argument('<spec>', 'the spec file')
    .action(async (file: string, flags: VerifyFlags) => {
      const { runReplay } = await import('./repro-command.ts');
      exitCode = await runReplay(file, flags);
    });

  withProviderOptions(program.command('init'))
    .description('derive a suite from your chain and write constraint-harness.config.ts: the constraints found, the states and values chosen, as comments to read and edit')
    .requiredOption('--migrations <dir>', 'your migrations folder')
    .option('--to <revision>', "the revision under test (default: the chain's last)")
    .addOption(new Option('--format <format>', "the chain's layout (default: recognised from its files)").choices([...FORMAT_CHOICES]))
    .addOption(new Option('--runner <runner>', 'how your tool sends each file').choices([...RUNNER_NAMES]))
    .option('--out <file>', 'where to write it', 'constraint-harness.config.ts')
    .option('--force', 'replace an existing file')
    .action(async (flags: { migrations: string; to?: string; runner?: string; format?: string; out: string; force?: boolean } & VerifyFlags) => {
      const { runInit } = await import('./init-command.ts');
      exitCode = await runInit(flags);
    });

  program
    .command('states')
    .description('list the starting states with their stories')
    .option('--suite <suite>', 'auto, a suite or declaration file or folder, or a folder name under properties/')
    .option('--migrations <dir>', 'the chain (for --suite auto)')
    .option('--to <revision>', 'the revision under test')
    .option('--seed <n>', 'the seed that picks derived rows', Number)
    .action(async (flags: { suite?: string; migrations?: string; to?: string; seed?: number }) => {
      const { resolveSuite } = await import('./derived-suite.ts');
      const { suite } = await resolveSuite(flags);
      const width = Math.max(...suite.states.map((state) => state.name.length));
      for (const state of suite.states) process.stdout.write(`${state.name.padEnd(width)}  ${state.expect.padEnd(15)}  ${state.story}\n`);
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // interrupted: what failed failed because the run was being torn down; the handler exits
    const signal = interruptedBy();
    if (signal) return signal === 'SIGINT' ? 130 : 143;
    const { redactPasswords } = await import('../postgres/postgres-server.ts');
    const setup = error instanceof SetupError;
    process.stderr.write(`constraint-harness: ${setup ? '' : 'internal error: '}${redactPasswords(errorMessage(error))}\n`);
    await runAllCleanups();
    return setup ? 2 : 1;
  }
}

