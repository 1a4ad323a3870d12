import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { snapshotCatalog, tableMatches, type CatalogSnapshot } from '../catalog/index.ts';
import { SetupError } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { chooseProvider, connectClient, ScratchDatabases, type PostgresServer } from '../postgres/index.ts';
import type { Counterexample } from '../run/property-result.ts';
import type { RunConfig } from '../run/run-config.ts';
import { planRun } from '../run/workbench.ts';
import { registerCleanup } from '../shutdown.ts';
import type { Suite } from '../suite.ts';
import { verify } from '../verify/verify.ts';
import type { MutantKind } from './constraint-mutants.ts';
import { decideEquivalence, type Equivalence } from './equivalence.ts';
import { mutantsOf, type Mutant } from './mutants.ts';
import type { ColumnFacts } from './value-domains.ts';

export interface MutantResult {
  id: string;
  kind: MutantKind;
  description: string;
  sql: string;
  /**
   * killed: a property failed on it. equivalent: proven to accept and refuse exactly what the
   * original does. survived: no property failed, and it is not proven equivalent. not-run: it
   * could not be printed or run here (said in `reason`). Only `equivalent` is left out of the score.
   */
  status: 'killed' | 'equivalent' | 'survived' | 'not-run';
  killedBy?: { state: string; property: string };
  counterexample?: Counterexample;
  /** Why it survived or was not run; how its equivalence was proven. */
  reason?: string;
  /** What a sample of rows showed for a survivor whose equivalence is undecided: a hint, never a proof. */
  hint?: string;
  ms: number;
}

export interface MutationReport {
  /** killed / (total − equivalent): a survivor and a mutant not run both count against the suite; 1 when every mutant is equivalent. */
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
 * only that revision's file rewritten. A mutant proven equivalent (its predicate, or a change
 * the catalog makes moot) is not run; every other one runs the selected groups with the run
 * budget on one server and stops at its first failing property: killed when one fails,
 * otherwise it survived, with the question it leaves (a row that tells it apart, or why its
 * equivalence is undecided). A mutant that cannot be printed or run is listed as not run.
 */
export interface MutateOptions {
  /** Only mutants of these kinds (`check`, `unique`, `foreign key`, `not null`, `deploy`…); all by default. */
  kinds?: readonly MutantKind[];
  log?: (line: string) => void;
  onMutant?: (result: MutantResult, index: number, total: number) => void;
}

export async function mutate<Op>(suite: Suite<Op>, config: RunConfig, options: MutateOptions = {}): Promise<MutationReport> {
  const { log = () => undefined, onMutant } = options;
  const plan = await planRun(suite, config);
  const target = plan.migrator.chain.get(plan.to);
  if (mutantsOf(target).length === 0) throw new SetupError(`${path.basename(target.file)} adds no constraint and drops none: nothing to mutate`);
  const server = await chooseProvider(config.provider).start();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ch-mutants-'));
  const removeScratch = registerCleanup(`mutant chains in ${scratch}`, async () => rmSync(scratch, { recursive: true, force: true }), () => rmSync(scratch, { recursive: true, force: true }));
  const databases = new ScratchDatabases(server);
  try {
    const baselineStarted = performance.now();
    const baseline = await verify(suite, config, { server, log });
    if (!baseline.ok) throw new SetupError(`the chain as it is does not pass ${config.groups.join(', ')} (run verify to see why): a mutation score means nothing against a failing suite`);
    const baselineMs = Math.round(performance.now() - baselineStarted);
    const reference = await referenceDatabase(databases, plan.migrator, plan.to);
    // with the catalog, the mutants that need the table's columns (another column in a key) are made too
    const mutants = mutantsOf(target, reference.catalog).filter((m) => !options.kinds || options.kinds.includes(m.kind));
    const major = Number(server.version.split('.')[0]);
    const results: MutantResult[] = [];
    try {
      for (const [index, mutant] of mutants.entries()) {
        const started = performance.now();
        const outcome = await judge(suite, config, server, mutant, target.file, path.join(scratch, mutant.id), reference, major);
        const result: MutantResult = { id: mutant.id, kind: mutant.kind, description: mutant.description, sql: mutant.sql, ...outcome, ms: Math.round(performance.now() - started) };
        results.push(result);
        onMutant?.(result, index, mutants.length);
      }
    } finally {
      await reference.client.end().catch(() => undefined);
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
    await databases.close().catch(() => undefined);
    await removeScratch.run();
    await server.stop();
  }
}

interface Reference {
  client: pg.Client;
  catalog: CatalogSnapshot;
}

type Judgement = Pick<MutantResult, 'status' | 'killedBy' | 'counterexample' | 'reason' | 'hint'>;

async function judge<Op>(suite: Suite<Op>, config: RunConfig, server: PostgresServer, mutant: Mutant, targetFile: string, dir: string, reference: Reference, major: number): Promise<Judgement> {
  if (mutant.unprintable || mutant.text === undefined) return { status: 'not-run', reason: mutant.unprintable ?? 'no SQL' };
  if (mutant.requiresMajor && major < mutant.requiresMajor) return { status: 'not-run', reason: `PostgreSQL ${major} cannot run it (it needs ${mutant.requiresMajor} or later)` };
  const equivalence = await equivalenceOf(mutant, reference);
  if (equivalence?.verdict === 'proven') return { status: 'equivalent', reason: equivalence.how };
  copyChain(config.migrationsDir, dir, path.basename(targetFile), mutant.text);
  const report = await verify(suite, { ...config, migrationsDir: dir, migrationsFlag: dir, stopAtFirstFailure: true }, { server });
  const failed = report.states.flatMap((state) => state.properties.filter((p) => !p.ok).map((property) => ({ state: state.name, property })))[0];
  if (failed) return { status: 'killed', killedBy: { state: failed.state, property: failed.property.name }, counterexample: failed.property.counterexample };
  const unbuilt = report.states.find((state) => state.setupError);
  if (unbuilt) return { status: 'not-run', reason: `state ${unbuilt.name} could not be built by the suite's own setup: ${unbuilt.setupError!.split('\n')[0]}` };
  return { status: 'survived', ...survivorQuestion(equivalence, mutant.question) };
}

/** What a survivor leaves to the suite's author: the row no property wrote, or why equivalence is undecided. */
function survivorQuestion(equivalence: Equivalence | undefined, question: string | undefined): Pick<MutantResult, 'reason' | 'hint'> {
  if (!equivalence) return { reason: `no property failed on it: ${question ?? 'a write the suite never makes, a state it never builds?'}` };
  if (equivalence.verdict === 'differs') return { reason: `not equivalent: it judges this row differently (${equivalence.row}), and no property wrote such a row or built a state holding one` };
  if (equivalence.verdict === 'undecided') return { reason: `no property failed on it, and its equivalence is undecided: ${equivalence.why}`, ...(equivalence.hint ? { hint: equivalence.hint } : {}) };
  return {};
}

/** The equivalence question of a mutant, when it has one: its predicate against the original's, or a change NOT NULL columns make moot. */
async function equivalenceOf(mutant: Mutant, reference: Reference): Promise<Equivalence | undefined> {
  if (mutant.mootIfNotNull) {
    const { table, columns } = mutant.mootIfNotNull;
    const facts = columnFacts(reference.catalog, table);
    const nullable = columns.filter((c) => !facts.get(c)?.notNull);
    if (nullable.length === 0) return { verdict: 'proven', how: `every key column (${columns.join(', ')}) is NOT NULL: NULLS NOT DISTINCT changes nothing` };
    return { verdict: 'undecided', why: `${nullable.join(', ')} may hold NULL` };
  }
  const predicate = mutant.predicate;
  if (!predicate) return undefined;
  const columns = predicate.domain ? domainFacts(reference.catalog, predicate.domain) : columnFacts(reference.catalog, predicate.table!);
  if (!columns) return { verdict: 'undecided', why: `domain ${predicate.domain} is not in the reference catalog` };
  return decideEquivalence(reference.client, { original: predicate.original, mutated: predicate.mutated, columns, nullPasses: predicate.nullPasses });
}

function columnFacts(catalog: CatalogSnapshot, table: string): Map<string, ColumnFacts> {
  return new Map(catalog.columns.filter((c) => tableMatches(c.table, table)).map((c) => [c.name, { type: c.type, notNull: c.notNull, collated: c.attributes.includes('COLLATE') }]));
}

/** A domain's CHECK reads VALUE: a value of the domain's base type, NULL unless the domain is NOT NULL. */
function domainFacts(catalog: CatalogSnapshot, domain: string): Map<string, ColumnFacts> | undefined {
  const found = catalog.objects.find((o) => o.kind === 'domain' && tableMatches(o.name, domain));
  if (!found) return undefined;
  const base = /^(.+?)(?= collate | default | not null| constraint |$)/.exec(found.definition)?.[1] ?? found.definition;
  return new Map([['value', { type: base, notNull: / not null( |$)/.test(found.definition), collated: / collate /.test(found.definition) }]]);
}

/** The chain, every file as it is but the mutant's. */
function copyChain(from: string, to: string, targetName: string, text: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) if (name.endsWith('.sql')) copyFileSync(path.join(from, name), path.join(to, name));
  writeFileSync(path.join(to, targetName), text);
}

/** The unmutated chain from an empty database, kept open: its catalog (the columns' types) and its types (enums) answer equivalence questions. */
async function referenceDatabase(databases: ScratchDatabases, migrator: Migrator, to: string): Promise<Reference> {
  const client = await connectClient(databases.server.connectionConfig(await databases.create('mutation_reference')));
  try {
    const run = await migrator.migrateTo(client, to);
    if (run.error) throw new SetupError(run.error.message);
    return { client, catalog: await snapshotCatalog(client) };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
