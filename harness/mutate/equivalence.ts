import pg from 'pg';
import { analyseFragment } from './predicate-fragment.ts';
import { show, type Node } from './predicate-mutants.ts';
import { valueDomains, type ColumnFacts } from './value-domains.ts';

/** Two CHECK predicates over the same columns: is the mutant's the same constraint? */
export interface PredicatePair {
  original: Node;
  mutated: Node;
  /** The columns of the constraint's table (or `value`, for a domain), as the reference catalog has them. */
  columns: ReadonlyMap<string, ColumnFacts>;
  /** A CHECK lets a row through when its predicate is NULL (the default); a partial index's WHERE leaves it out. */
  nullPasses?: boolean;
}

/**
 * `proven`: equivalent on every row (the partition was enumerated whole). `differs`: a row
 * they judge differently, found. `undecided`: neither, and why; it is never counted as
 * equivalent. `hint` says what a sample of rows showed, for a person to weigh.
 */
export type Equivalence = { verdict: 'proven'; how: string } | { verdict: 'differs'; row: string } | { verdict: 'undecided'; why: string; hint?: string };

/** Beyond this many rows the partition is not enumerated (the question stays undecided). */
export const MAX_ROWS = 2_000_000;

/**
 * Whether a mutated CHECK predicate is equivalent to the original: a row passes a CHECK when
 * its predicate is true or NULL (a partial index's WHERE takes a row only when it is true). Inside the fragment analyseFragment describes, the values
 * valueDomains makes meet every part of the finite partition that decides both predicates'
 * atoms, so PostgreSQL evaluating both on all their combinations decides equivalence exactly.
 * Outside it, a sample of representative rows can show a difference, never equivalence.
 */
export async function decideEquivalence(client: pg.ClientBase, pair: PredicatePair): Promise<Equivalence> {
  const fragment = analyseFragment([pair.original, pair.mutated]);
  if (!fragment.inside) return undecided(client, pair, fragment.why);
  const domains = await valueDomains(client, fragment.columns, pair.columns);
  if ('undecided' in domains) return undecided(client, pair, domains.undecided);
  const rows = [...domains.values.values()].reduce((n, values) => n * values.length, 1);
  if (rows > MAX_ROWS) return undecided(client, pair, `${rows} rows would have to be enumerated (more than ${MAX_ROWS})`);
  const differing = await firstDifference(client, pair, domains.values);
  if (differing === 'error') return { verdict: 'undecided', why: 'PostgreSQL could not evaluate the predicates on the enumerated rows' };
  if (differing) return { verdict: 'differs', row: differing };
  return { verdict: 'proven', how: `equal on every part of the partition (${rows} row${rows === 1 ? '' : 's'}: ${[...domains.values].map(([name, values]) => `${name} ${values.length}`).join(', ')})` };
}

/** Outside the fragment: a sample may still show a row they judge differently; otherwise the hint says it did not. */
async function undecided(client: pg.ClientBase, pair: PredicatePair, why: string): Promise<Equivalence> {
  const sample = sampleValues(pair);
  if (!sample) return { verdict: 'undecided', why };
  const differing = await firstDifference(client, pair, sample);
  if (differing && differing !== 'error') return { verdict: 'differs', row: differing };
  const rows = [...sample.values()].reduce((n, values) => n * values.length, 1);
  return { verdict: 'undecided', why, ...(differing === undefined ? { hint: `no difference on ${rows} sampled row(s), which proves nothing` } : {}) };
}

/** The first row on which the predicates let different rows through, as `column = value, …`; undefined when none. */
async function firstDifference(client: pg.ClientBase, pair: PredicatePair, values: ReadonlyMap<string, string[]>): Promise<string | undefined | 'error'> {
  const names = [...values.keys()];
  const from = names.length ? ` FROM ${names.map((name) => `(VALUES ${values.get(name)!.map((v) => `(${v})`).join(', ')}) AS ${pg.escapeIdentifier(`v_${name}`)}(${pg.escapeIdentifier(name)})`).join(' CROSS JOIN ')}` : '';
  const passes = (expression: Node) => `coalesce((${show(expression)}), ${pair.nullPasses === false ? 'false' : 'true'})`;
  const shown = names.length ? names.map((name) => `${pg.escapeLiteral(`${name} = `)} || coalesce(${pg.escapeIdentifier(name)}::text, 'NULL')`).join(` || ', ' || `) : `'every row'`;
  // the caller may hold a transaction open: a failing query must not abort it
  const guarded = client.getTransactionStatus() !== 'I';
  if (guarded) await client.query('SAVEPOINT ch_equivalence');
  try {
    const result = await client.query<{ row: string }>(`SELECT ${shown} AS row${from} WHERE ${passes(pair.original)} IS DISTINCT FROM ${passes(pair.mutated)} LIMIT 1`);
    if (guarded) await client.query('RELEASE SAVEPOINT ch_equivalence');
    return result.rows[0]?.row;
  } catch {
    if (guarded) await client.query('ROLLBACK TO SAVEPOINT ch_equivalence; RELEASE SAVEPOINT ch_equivalence').catch(() => undefined);
    return 'error';
  }
}

/**
 * Representative values of the columns the predicates read, for a sample only: NULL, every
 * literal of either predicate (numbers with their neighbours), and one other value of the type.
 */
function sampleValues(pair: PredicatePair): Map<string, string[]> | undefined {
  const columns = new Set<string>();
  const literals = { text: [] as string[], numbers: [] as number[] };
  collect([pair.original, pair.mutated], columns, literals);
  const values = new Map<string, string[]>();
  for (const column of columns) {
    const facts = pair.columns.get(column);
    const sample = facts && representatives(facts.type, literals);
    if (!sample) return undefined;
    values.set(column, sample);
  }
  return values;
}

function representatives(type: string, literals: { text: string[]; numbers: number[] }): string[] | undefined {
  const cast = (values: string[]) => ['NULL', ...values].map((value) => `${value}::${type}`);
  if (/^(text|character varying|character|varchar|char|name|citext)\b/.test(type)) return cast([...new Set([...literals.text, 'constraint_harness_other'])].map((value) => pg.escapeLiteral(value)));
  if (/^(integer|bigint|smallint|numeric|real|double precision|decimal)\b/.test(type)) return cast([...new Set([...literals.numbers.flatMap((n) => [n - 1, n, n + 1]), 0, 42])].map(String));
  if (type === 'boolean') return cast(['true', 'false']);
  if (type === 'uuid') return cast([pg.escapeLiteral('00000000-0000-4000-8000-000000000001')]);
  if (/^(timestamp|date)/.test(type)) return cast([pg.escapeLiteral('2000-01-01 00:00:00'), pg.escapeLiteral('2000-01-02 00:00:00')]);
  return undefined;
}

function collect(node: unknown, columns: Set<string>, literals: { text: string[]; numbers: number[] }): void {
  if (Array.isArray(node)) return node.forEach((child) => collect(child, columns, literals));
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (record.ColumnRef) {
    const fields = (record.ColumnRef as { fields: { String?: { sval: string } }[] }).fields;
    const name = fields[fields.length - 1]?.String?.sval;
    if (name) columns.add(name);
    return;
  }
  if (record.A_Const) {
    const constant = record.A_Const as { sval?: { sval: string }; ival?: { ival?: number }; fval?: { fval: string } };
    if (constant.sval) literals.text.push(constant.sval.sval);
    if (constant.ival) literals.numbers.push(Number(constant.ival.ival ?? 0));
    if (constant.fval) literals.numbers.push(Number(constant.fval.fval));
  }
  for (const value of Object.values(record)) collect(value, columns, literals);
}
