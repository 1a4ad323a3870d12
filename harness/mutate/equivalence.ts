import pg from 'pg';
import { tableMatches, type CatalogSnapshot } from '../catalog/index.ts';
import { show, type Node } from './predicate-mutants.ts';

/** A column's representative values as SQL literals of its type, or undefined for a type without any. */
function representatives(type: string, literals: { text: string[]; numbers: number[] }): string[] | undefined {
  const cast = (values: string[]) => ['NULL', ...values].map((value) => `${value}::${type}`);
  if (/^(text|character varying|character|varchar|char|name|citext)\b/.test(type)) {
    return cast([...new Set([...literals.text, 'constraint_harness_other'])].map((value) => pg.escapeLiteral(value)));
  }
  if (/^(integer|bigint|smallint|numeric|real|double precision|decimal)\b/.test(type)) {
    const around = literals.numbers.flatMap((n) => [n - 1, n, n + 1]);
    return cast([...new Set([...around, 0, 42])].map(String));
  }
  if (type === 'boolean') return cast(['true', 'false']);
  if (type === 'uuid') return cast([pg.escapeLiteral('00000000-0000-4000-8000-000000000001')]);
  if (/^(timestamp|date|time)/.test(type)) return cast([pg.escapeLiteral('2000-01-01 00:00:00')]);
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

/**
 * Whether a mutant predicate is equivalent to the original as a CHECK constraint: PostgreSQL
 * evaluates both on every combination of representative values of the columns they read (NULL,
 * every literal of either predicate — for numbers with its neighbours —, and one other value of
 * the column's type), and a row passes a CHECK when its predicate is true or NULL. One query
 * decides; a type without representatives, or a query PostgreSQL refuses, is "not equivalent".
 */
export async function equivalentPredicates(client: pg.ClientBase, reference: CatalogSnapshot, predicate: { table: string; original: Node; mutated: Node }): Promise<boolean> {
  const columns = new Set<string>();
  const literals = { text: [] as string[], numbers: [] as number[] };
  collect([predicate.original, predicate.mutated], columns, literals);
  const sources: string[] = [];
  let combinations = 1;
  for (const column of columns) {
    const info = reference.columns.find((c) => c.name === column && tableMatches(c.table, predicate.table));
    const values = info && representatives(info.type, literals);
    if (!values) return false;
    combinations *= values.length;
    sources.push(`(VALUES ${values.map((value) => `(${value})`).join(', ')}) AS ${pg.escapeIdentifier(`v_${column}`)}(${pg.escapeIdentifier(column)})`);
  }
  if (combinations > 200_000) return false;
  const passes = (expression: Node) => `coalesce((${show(expression)}), true)`;
  const from = sources.length ? ` FROM ${sources.join(' CROSS JOIN ')}` : '';
  try {
    const result = await client.query<{ same: boolean | null }>(`SELECT bool_and(${passes(predicate.original)} = ${passes(predicate.mutated)}) AS same${from}`);
    return result.rows[0]!.same === true;
  } catch {
    return false;
  }
}
