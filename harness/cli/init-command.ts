import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import { declarationText } from '../derive/declaration-file.ts';
import { deriveSuite } from '../derive/derive-suite.ts';
import { describeDerivation } from '../derive/describe-derivation.ts';
import { Chain, defaultRunner, type ChainFormat, type RunnerName } from '../migrate/index.ts';
import { chooseProvider } from '../postgres/index.ts';
import { log, type VerifyFlags } from './verify-command.ts';

export interface InitFlags extends Pick<VerifyFlags, 'provider' | 'url' | 'pgVersion' | 'image'> {
  migrations: string;
  to?: string;
  runner?: string;
  format?: string;
  out: string;
  force?: boolean;
}

/** `init`: derives the suite of a chain and writes the declaration, with what was derived as comments; exit 0 or 2. */
export async function runInit(flags: InitFlags): Promise<number> {
  const out = path.resolve(flags.out);
  if (existsSync(out) && !flags.force) throw new SetupError(`${flags.out} exists: edit it, or pass --force to write it again`);
  const migrations = path.resolve(flags.migrations);
  const chain = await Chain.load(migrations, { format: flags.format as ChainFormat | undefined });
  const runner = (flags.runner as RunnerName | undefined) ?? defaultRunner(chain.format);
  const started = performance.now();
  const server = await chooseProvider({ provider: flags.provider, url: flags.url, pgVersion: flags.pgVersion, image: flags.image }).start();
  try {
    const derivation = await deriveSuite({ migrationsDir: migrations, to: flags.to, runner, format: chain.format, seed: 1, server });
    for (const line of describeDerivation(derivation, Math.round(performance.now() - started))) log(line);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, declarationText(derivation, { migrations, configDir: path.dirname(out), runner, defaultRunner: defaultRunner(chain.format) }));
    process.stdout.write(`wrote ${path.relative(process.cwd(), out) || out}: read it, then run npx constraint-harness verify\n`);
    return 0;
  } finally {
    await server.stop();
  }
}
