import fc from 'fast-check';
import { Chain, defaultRunner, Migrator, planProgram, type ChainFormat, type RunnerName } from '../migrate/index.ts';
import { interruptionPoints, type InterruptionPoint } from '../migrate/interruptions.ts';
import { ScratchDatabases, withClient, type PostgresServer } from '../postgres/index.ts';
import type { Invariant, Suite, TableSpec } from '../suite.ts';
import type { Declaration } from './declaration.ts';

/** The column a SQL domain rule is read back as. */
const RULE_COLUMN = '__domain_rule';
import { columnValues, type ColumnValues } from './column-values.ts';
import { bindDerived, derivedCases, derivedOperation, type DerivedOp, type WrittenTable } from './derived-operations.ts';
import { searchRows, seededRandom, type RowSearch } from './derived-rows.ts';
import { derivedStates, type DeclaredDrift, type FoundConstraint } from './derived-states.ts';
import { checkOf, foundConstraints, involvedTables, lastPart, mentions, notValidAround, tablesParentsFirst, withDeclared } from './found-constraints.ts';
import { readSchemaFacts, type TableFact } from './schema-facts.ts';
import { rowPool, type PooledRow } from './row-pool.ts';
import pgLib from 'pg';

export interface DeriveOptions {
  migrationsDir: string;
  /** The revision verified (`--to`), else the chain's last. */
  to?: string;
  runner?: RunnerName;
  format?: ChainFormat;
  alembicIni?: string;
  /** Picks the rows the states hold (the run's seed: a replay derives the same states). */
  seed: number;
  server: PostgresServer;
  drift?: readonly DeclaredDrift[];
  /** Extra values per `table.column`, for columns the harness cannot guess (SQL expressions). */
  values?: Readonly<Record<string, readonly string[]>>;
  /** The domain rule per table (see Declaration.rules). */
  rules?: Declaration['rules'];
  name?: string;
}

/** A derived suite and what the harness found, for people. */
export interface Derivation {
  suite: Suite<DerivedOp>;
  found: FoundConstraint[];
  tables: string[];
  values: Map<string, ColumnValues>;
  interruptions: InterruptionPoint[];
  rows: RowSearch | undefined;
  /** Why something could not be derived. */
  notes: string[];
}

/**
 * Derives a suite from a chain alone (`--suite auto`): the constraints the target revision
 * adds, replaces or validates; the columns' values; the starting states, with rows tried on a
 * database before the target; the writes on the constrained tables and their neighbours by
 * foreign key. Its oracle is the state differential, so it needs no domain rule. Scratch
 * databases on `server` are dropped before it returns.
 */
export async function deriveSuite(options: DeriveOptions): Promise<Derivation> {
  const chain = await Chain.load(options.migrationsDir, { format: options.format, alembicIni: options.alembicIni });
  const migrator = new Migrator(chain, options.runner ?? defaultRunner(chain.format));
  const to = options.to !== undefined ? chain.get(options.to).revision : chain.last.revision;
  const index = chain.migrations.indexOf(chain.get(to));
  const previous = index > 0 ? chain.migrations[index - 1]!.revision : undefined;
  const drift = options.drift ?? [];
  const databases = new ScratchDatabases(options.server);
  const notes: string[] = [];
  try {
    const target = await migrated(databases, migrator, to, 'derive_target');
    if ('error' in target) {
      notes.push(`the chain does not apply to an empty database (${target.error}): only the fresh state is derived`);
      return { suite: suiteOf(options, to, [], [], [{ name: 'fresh', story: 'A brand-new database.', expect: 'converge', steps: [] }], undefined), found: [], tables: [], values: new Map(), interruptions: [], rows: undefined, notes };
    }
    const before = previous ? await migrated(databases, migrator, previous, 'derive_previous') : undefined;
    if (before && 'error' in before) notes.push(`the chain does not apply up to ${previous}: ${before.error}`);
    const previousDb = before && 'database' in before ? before.database : undefined;
    const targetFacts = await withClient(databases.server.connectionConfig(target.database), readSchemaFacts);
    const prevFacts = previousDb ? await withClient(databases.server.connectionConfig(previousDb), readSchemaFacts) : undefined;
    const found = foundConstraints(chain.get(to).statements, targetFacts, prevFacts);
    const involved = involvedTables(found, drift, chain.get(to).statements.map((s) => s.sql), targetFacts);
    const extraChecks = (table: TableFact) => [...drift.flatMap((d) => (mentions(d.sql, table.name) ? checkOf(d.sql) : [])), ...[sqlRuleOf(options.rules, table.name)].flatMap((rule) => (rule ? [`CHECK (${rule})`] : []))];
    const checksOf = (table: TableFact, at: readonly TableFact[]) => [...(at.find((t) => t.name === table.name) ?? table).constraints.filter((c) => c.kind === 'check').map((c) => c.definition), ...(targetFacts.find((t) => t.name === table.name)?.constraints.filter((c) => c.kind === 'check').map((c) => c.definition) ?? []), ...extraChecks(table)];
    const values = new Map<string, ColumnValues>();
    await withClient(databases.server.connectionConfig(target.database), async (client) => {
      for (const table of involved) values.set(table.name, withDeclared(await columnValues(client, table, checksOf(table, targetFacts), targetFacts), table, options.values));
    });
    let rows: RowSearch | undefined;
    let interruptions: InterruptionPoint[] = [];
    let around = { before: [] as string[], after: [] as string[] };
    if (previousDb && prevFacts && previous) {
      rows = await withClient(databases.server.connectionConfig(previousDb), (client) => withClient(databases.server.connectionConfig(target.database), async (targetClient) => {
        // parents first by the target's foreign keys too: a key the target adds decides which rows the children's candidates can reference
        const prevInvolved = tablesParentsFirst(prevFacts.filter((t) => involved.some((i) => i.name === t.name)), targetFacts);
        around = notValidAround(prevInvolved);
        const prevValues = new Map<string, ColumnValues>();
        for (const table of prevInvolved) prevValues.set(table.name, withDeclared(await columnValues(client, table, checksOf(table, prevFacts), prevFacts), table, options.values));
        return searchRows({ client, targetClient, migrator, to, tables: prevInvolved, values: prevValues, target: targetFacts, random: seededRandom(options.seed), around, drift });
      }));
      const applied = new Set(chain.upTo(previous).map((m) => m.revision));
      interruptions = interruptionPoints(planProgram(migrator.planTo(applied, to), 'deploy').steps);
    }
    const states = derivedStates({ hasPrevious: rows !== undefined, tool: chain.spec.tool, found, rows: rows ?? { valid: [], violators: new Map(), underDrift: new Map(), how: '' }, around, interruptions, drift });
    const pools = new Map<string, PooledRow[]>();
    await withClient(databases.server.connectionConfig(target.database), async (client) => {
      // the rows the domain rule and each declared drift's CHECK tell apart are worth inserting whole
      const predicates = (table: TableFact) => [sqlRuleOf(options.rules, table.name), ...drift.flatMap((d) => (mentions(d.sql, table.name) ? checkOf(d.sql) : []))].flatMap((text) => (text ? [text.replace(/^CHECK\s*\(([\s\S]*)\)$/i, '$1')] : []));
      for (const table of involved) pools.set(table.name, await rowPool(client, table, values.get(table.name)!, predicates(table), options.seed));
    });
    const written: WrittenTable[] = involved.map((fact) => ({ fact, values: values.get(fact.name)!, pool: pools.get(fact.name)! }));
    if (interruptions.length > 0) notes.push('no live deploy: the runner commits the deploy in several steps, and the differential has no reference for the schema in between (the killed-after states stand for each step)');
    return { suite: suiteOf(options, to, targetFacts, written, states, options.name, interruptions.length === 0), found, tables: involved.map((t) => t.name), values, interruptions, rows, notes };
  } finally {
    await databases.close();
  }
}

/** A table's domain rule, by its name as written, schema-qualified or not. */
function ruleFor(rules: Declaration['rules'], table: string): NonNullable<Declaration['rules']>[string] | undefined {
  return Object.entries(rules ?? {}).find(([name]) => name === table || lastPart(name) === lastPart(table))?.[1];
}

/** A table's domain rule when it is SQL. */
function sqlRuleOf(rules: Declaration['rules'], table: string): string | undefined {
  const rule = ruleFor(rules, table);
  return typeof rule === 'string' ? rule : undefined;
}

/** A scratch database migrated up to `revision`, or why the chain does not get there. */
async function migrated(databases: ScratchDatabases, migrator: Migrator, revision: string, label: string): Promise<{ database: string } | { error: string }> {
  const database = await databases.create(label);
  return withClient(databases.server.connectionConfig(database), async (client) => {
    const run = await migrator.migrateTo(client, revision);
    return run.error ? { error: run.error.message.split('\n')[0]! } : { database };
  });
}

function suiteOf(options: DeriveOptions, to: string, facts: readonly TableFact[], written: readonly WrittenTable[], states: Suite['states'], name?: string, live = true): Suite<DerivedOp> {
  const operation = derivedOperation(written);
  const rules = options.rules ?? {};
  const ruleOf = (table: string) => ruleFor(rules, table);
  const tables: TableSpec[] = facts.map((table) => {
    const rule = ruleOf(table.name);
    return {
      name: table.name,
      key: (table.key.length ? table.key : table.columns.map((c) => c.name)).map((k) => pgLib.escapeIdentifier(k)),
      // a SQL rule is read back with the row: true when the domain allows it
      // read through the row's JSON: a column the target adds reads as NULL before the migration
      // (the live deploy reads the state before it), and every type reads as text
      columns: { ...Object.fromEntries(table.columns.map((c) => [c.name, `to_jsonb(x) ->> ${pgLib.escapeLiteral(c.name)}`])), ...(typeof rule === 'string' ? { [RULE_COLUMN]: `((${rule}) IS NOT FALSE)` } : {}) },
    };
  });
  const invariant: Invariant | undefined = Object.keys(rules).length
    ? (table, _key, row) => {
        const rule = ruleOf(table);
        if (rule === undefined) return undefined;
        if (typeof rule === 'string') return row[RULE_COLUMN] === false ? `the domain rule of ${table} forbids this row (${rule})` : undefined;
        const { [RULE_COLUMN]: _rule, ...columns } = row;
        return rule(columns as Record<string, string | null>) ? undefined : `the domain rule of ${table} forbids this row`;
      }
    : undefined;
  return {
    ...(invariant ? { invariant } : {}),
    name: name ?? 'auto',
    oracle: 'state-differential',
    idempotency: 'interrupted-deploys-only',
    rows: 'kept',
    migrationsDir: options.migrationsDir,
    target: to,
    states,
    tables,
    bind: (op, run) => bindDerived(op, run, written),
    ...(operation
      ? {
          writes: { name: 'writes-as-on-reference', operations: fc.array(operation, { minLength: 1, maxLength: 8 }) },
          // the live deploy from the states where PROD is likely to be: valid rows, and each declared drift
          // (not where the runner commits the deploy in several steps: the killed-after states stand for each of them)
          concurrency: { name: 'concurrent-writes-as-on-reference', cases: derivedCases(operation), maxSessions: 2, deployStates: live ? states.filter((s) => s.name === 'valid-rows' || (options.drift ?? []).some((d) => d.name === s.name)).map((s) => s.name) : [] },
        }
      : {}),
  };
}
