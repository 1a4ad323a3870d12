import path from 'node:path';
import { SetupError } from '../errors.ts';
import { deriveSuite } from '../derive/derive-suite.ts';
import { describeDerivation, withDeclaredStates } from '../derive/describe-derivation.ts';
import type { ChainFormat, RunnerName } from '../migrate/index.ts';
import { chooseProvider, type PostgresServer, type ProviderChoice } from '../postgres/index.ts';
import type { Suite } from '../suite.ts';
import { loadSuiteSource, type SuiteSource } from './load-suite.ts';
import { log } from './verify-command.ts';

/** The flags a derivation reads. */
export interface VerifyFlagsLike extends ProviderChoice {
  suite?: string;
  migrations?: string;
  to?: string;
  runner?: RunnerName;
  format?: ChainFormat;
  alembicIni?: string;
  seed?: number;
}

/** Derives the suite of `--suite auto` or of a declaration, and says what it found. */
export async function derivedSuite<F extends VerifyFlagsLike>(source: Exclude<SuiteSource, { kind: 'suite' }>, given: F, server: PostgresServer): Promise<{ suite: Suite<unknown>; flags: F & { seed: number } }> {
  // the seed picks the derived rows: a replay (same --seed) derives the same states
  const flags = { ...given, seed: given.seed ?? Math.floor(Math.random() * 2 ** 31) };
  const declaration = source.kind === 'declaration' ? source.declaration : undefined;
  const migrations = flags.migrations ?? (flags.alembicIni ? path.dirname(path.resolve(flags.alembicIni)) : undefined) ?? (declaration && source.kind === 'declaration' ? path.resolve(path.dirname(source.file), declaration.migrations) : undefined);
  if (!migrations) throw new SetupError('--suite auto needs --migrations DIR (the chain to derive the suite from)');
  const started = performance.now();
  const derivation = await deriveSuite({
    migrationsDir: path.resolve(migrations),
    to: flags.to ?? declaration?.target,
    runner: flags.runner ?? declaration?.runner,
    format: flags.format,
    alembicIni: flags.alembicIni && path.resolve(flags.alembicIni),
    seed: flags.seed,
    server,
    drift: (declaration?.drift ?? []).map((d, i) => ({ name: d.name ?? `drift-${i + 1}`, story: d.story ?? `hand-applied: ${d.sql}`, sql: d.sql })),
    values: declaration?.values,
    rules: declaration?.rules,
    name: declaration ? (declaration.name ?? path.basename(path.dirname(source.kind === 'declaration' ? source.file : '.'))) : 'auto',
  });
  for (const line of describeDerivation(derivation, Math.round(performance.now() - started))) log(line);
  const suite = withDeclaredStates(derivation.suite, declaration);
  const groups = declaration?.groups ? [...declaration.groups] : undefined;
  return { suite: suite as Suite<unknown>, flags: { ...flags, ...(groups && !('group' in flags && flags.group) ? { group: groups } : {}), ...(flags.migrations ? {} : { migrations }) } };
}


/**
 * The suite a command runs: a suite as it is, or one derived (`--suite auto`, a declaration) on
 * a server started for that and stopped after; the flags gain the seed the derivation used.
 */
export async function resolveSuite<F extends VerifyFlagsLike>(flags: F): Promise<{ suite: Suite<unknown>; flags: F }> {
  const source = await loadSuiteSource(flags.suite);
  if (source.kind === 'suite') return { suite: source.suite, flags };
  const server = await chooseProvider({ provider: flags.provider, url: flags.url, pgVersion: flags.pgVersion, image: flags.image }).start();
  try {
    return await derivedSuite(source, flags, server);
  } finally {
    await server.stop();
  }
}
