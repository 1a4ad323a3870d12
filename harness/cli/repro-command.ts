import { readFile, writeFile } from 'node:fs/promises';
import { SetupError } from '../errors.ts';
import { chooseProvider, ScratchDatabases } from '../postgres/index.ts';
import { reproduce } from '../repro/repro.ts';
import { parseIsolationSpec, replayIsolationSpec } from '../sessions/index.ts';
import { resolveSuite } from './derived-suite.ts';
import { configFromFlags, log, type VerifyFlags } from './verify-command.ts';

/** The flags of `repro`: a failure as it printed it. */
export interface ReproFlags extends Omit<VerifyFlags, 'runs' | 'workers' | 'group'> {
  state: string;
  property?: string;
  group?: 'writes' | 'concurrency';
  seed: number;
  path: string;
  out?: string;
}

/** `repro`: the failing run rebuilt and written as a script (stdout, or --out). */
export async function runRepro(given: ReproFlags): Promise<void> {
  const resolved = await resolveSuite(given);
  const { suite } = resolved;
  const flags = resolved.flags;
  const property = flags.property ?? (flags.group === 'concurrency' ? suite.concurrency?.name : flags.group === 'writes' ? suite.writes?.name : undefined);
  if (!property) throw new SetupError('repro needs --property (the property name the failure printed)');
  const config = configFromFlags({ ...flags, group: undefined, runs: 1, workers: 1 }, suite);
  const script = await reproduce(suite, config, { state: flags.state, property, seed: flags.seed, path: flags.path }, log);
  if (!flags.out) {
    process.stdout.write(script);
    return;
  }
  await writeFile(flags.out, script);
  const spec = script.startsWith('#');
  log(`wrote ${flags.out}: run it with ${spec ? `npx constraint-harness replay ${flags.out} --url …` : `psql -X -f ${flags.out}`} against an empty database`);
}

/** `replay`: an isolation spec run on a fresh database; exit 1 when its setup fails. */
export async function runReplay(file: string, flags: VerifyFlags): Promise<number> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new SetupError(`cannot read spec ${file}: ${error.message}`);
  });
  const spec = parseIsolationSpec(text);
  const server = await chooseProvider(flags).start();
  const databases = new ScratchDatabases(server);
  try {
    const replay = await replayIsolationSpec(spec, server.connectionConfig(await databases.create('replay')));
    process.stdout.write(replay.lines.join('\n') + '\n');
    return replay.setupError ? 1 : 0;
  } finally {
    await databases.close();
    await server.stop();
  }
}
