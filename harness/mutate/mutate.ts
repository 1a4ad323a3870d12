import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { snapshotCatalog, type CatalogSnapshot } from '../catalog/index.ts';
import { SetupError } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { chooseProvider, ScratchDatabases, withClient, type PostgresServer } from '../postgres/index.ts';
import type { Counterexample } from '../run/property-result.ts';
import type { RunConfig } from '../run/run-config.ts';
import { planRun } from '../run/workbench.ts';
import { registerCleanup } from '../shutdown.ts';
import type { Suite } from '../suite.ts';
import { verify } from '../verify/verify.ts';
import { equivalentPredicates } from './equivalence.ts';
import { mutantsOf, type Mutant } from './mutants.ts';

export interface MutantResult {
  id: string;
  kind: Mutant['kind'];
  description: string;
  sql: string;
  status: 'killed' | 'equivalent' | 'survived';
  killedBy?: { state: string; property: string };
  counterexample?: Counterexample;
  ms: number;
}

export interface MutationReport {
  /** killed / (total − equivalent); 1 when every mutant is equivalent. */
  score: number;
  postgres: { version: string; provider: string };
  migrations: { dir: string; to: string; file: string };
  groups: string[];
  runs: number;
  seed: number;
  /** The unmutated chain passed the same groups first (a mutant counts only against a passing suite). */
  baselineMs: number;
  mutants: MutantResult[];
}

/**
 * Mutation testing of a suite against the revision under test: each mutant is the chain with
 * only that revision's file rewritten; it runs the selected groups with the run budget on one
 * server (templates per mutant chain, cloned), and stops at its first failing property. Killed
 * when a property fails; equivalent when PostgreSQL evaluates its predicate and the original to
 * the same result on every combination of representative values; otherwise it survived.
 */
export async function mutate<Op>(suite: Suite<Op>, config: RunConfig, log: (line: string) => void = () => undefined, onMutant?: (result: MutantResult, index: number, total: number) => void): Promise<MutationReport> {
  const plan = await planRun(suite, config);
  const target = plan.migrator.chain.get(plan.to);
  const mutants = mutantsOf(target);
  if (mutants.length === 0) throw new SetupError(`${path.basename(target.file)} adds no CHECK constraint and drops none: nothing to mutate`);
  const server = await chooseProvider(config.provider).start();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ch-mutants-'));
  const removeScratch = registerCleanup(`mutant chains in ${scratch}`, async () => rmSync(scratch, { recursive: true, force: true }), () => rmSync(scratch, { recursive: true, force: true }));
  try {
    const baselineStarted = performance.now();
    const baseline = await verify(suite, config, { server, log });
    if (!baseline.ok) throw new SetupError(`the chain as it is does not pass ${config.groups.join(', ')} (run verify to see why): a mutation score means nothing against a failing suite`);
    const baselineMs = Math.round(performance.now() - baselineStarted);
    const reference = await referenceCatalog(server, plan.migrator, plan.to);
    const results: MutantResult[] = [];
    for (const [index, mutant] of mutants.entries()) {
      const result = await runMutant(suite, config, server, mutant, target.file, path.join(scratch, mutant.id), reference);
      results.push(result);
      onMutant?.(result, index, mutants.length);
    }
    const counted = results.filter((r) => r.status !== 'equivalent');
    const score = counted.length === 0 ? 1 : counted.filter((r) => r.status === 'killed').length / counted.length;
    return {
      score,
      postgres: { version: server.version, provider: server.provider },
      migrations: { dir: config.migrationsDir, to: plan.to, file: path.basename(target.file) },
      groups: [...config.groups],
      runs: config.runs,
      seed: config.seed,
      baselineMs,
      mutants: results,
    };
  } finally {
    await removeScratch.run();
    await server.stop();
  }
}

async function runMutant<Op>(suite: Suite<Op>, config: RunConfig, server: PostgresServer, mutant: Mutant, targetFile: string, dir: string, reference: CatalogSnapshot): Promise<MutantResult> {
  const started = performance.now();
  copyChain(config.migrationsDir, dir, path.basename(targetFile), mutant.text);
  const report = await verify(suite, { ...config, migrationsDir: dir, migrationsFlag: dir, stopAtFirstFailure: true }, { server });
  const base = { id: mutant.id, kind: mutant.kind, description: mutant.description, sql: mutant.sql };
  const failed = report.states.flatMap((state) => state.properties.filter((p) => !p.ok).map((property) => ({ state: state.name, property })))[0];
  if (failed) return { ...base, status: 'killed', killedBy: { state: failed.state, property: failed.property.name }, counterexample: failed.property.counterexample, ms: Math.round(performance.now() - started) };
  const equivalent = mutant.predicate ? await withClient(server.connectionConfig(server.maintenanceDatabase), (client) => equivalentPredicates(client, reference, mutant.predicate!)) : false;
  return { ...base, status: equivalent ? 'equivalent' : 'survived', ms: Math.round(performance.now() - started) };
}

/** The chain, every file as it is but the mutant's. */
function copyChain(from: string, to: string, targetName: string, text: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) if (name.endsWith('.sql')) copyFileSync(path.join(from, name), path.join(to, name));
  writeFileSync(path.join(to, targetName), text);
}

/** The catalog the unmutated chain reaches from an empty database: the columns' types for the equivalence check. */
async function referenceCatalog(server: PostgresServer, migrator: Migrator, to: string): Promise<CatalogSnapshot> {
  const databases = new ScratchDatabases(server);
  try {
    return await withClient(server.connectionConfig(await databases.create('mutation_reference')), async (client) => {
      const run = await migrator.migrateTo(client, to);
      if (run.error) throw new SetupError(run.error.message);
      return snapshotCatalog(client);
    });
  } finally {
    await databases.close();
  }
}
