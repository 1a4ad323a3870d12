import pg from 'pg';
import { parseSync } from 'libpg-query';
import { analyseFragment } from '../mutate/predicate-fragment.ts';
import type { Node } from '../mutate/predicate-mutants.ts';
import { valueDomains, type ColumnFacts } from '../mutate/value-domains.ts';
import type { ColumnFact, TableFact } from './schema-facts.ts';

/** Per column of a table, the values (SQL expressions of its type) a derived row draws from. */
export type ColumnValues = Map<string, string[]>;

/** How many distinct keys a table's rows draw from: the states hold keys 1…KEPT_KEYS, the writes use all of them (so some meet a state's row and some do not). */
export const KEYS = 14;
export const KEPT_KEYS = 10;

const literal = (text: string, type: string) => `${pg.escapeLiteral(text)}::${type}`;

/** Plain values of a type, by the type's name or category; none for a type the harness cannot make values of. */
function typeValues(column: ColumnFact): string[] {
  const { type } = column;
  if (column.labels) return column.labels.map((label) => literal(label, type));
  if (/^(smallint|integer|bigint)$/.test(type)) return ['0', '1', '2', '-1', '100'].map((v) => literal(v, type));
  if (/^(numeric|real|double precision)/.test(type)) return ['0', '1', '1.5', '-1', '100'].map((v) => literal(v, type));
  if (type === 'boolean') return ['true', 'false'].map((v) => literal(v, type));
  if (type === 'date') return ['2024-01-01', '2024-01-02', '2025-06-30'].map((v) => literal(v, type));
  if (/^timestamp/.test(type)) return ['2024-01-01 00:00:00+00', '2024-01-01 12:00:00+00', '2024-01-02 00:00:00+00'].map((v) => literal(v, type));
  if (/^time/.test(type)) return ['00:00:00', '12:00:00'].map((v) => literal(v, type));
  if (type === 'interval') return ['0', '1 day'].map((v) => literal(v, type));
  if (type === 'uuid') return [uuidOf(101), uuidOf(102)].map((v) => literal(v, type));
  if (/^jsonb?$/.test(type)) return ['{}', '{"a": 1}'].map((v) => literal(v, type));
  if (column.category === 'S') return ['a', 'b', ''].map((v) => literal(v, type));
  return [];
}

/** The keys 1…KEYS, those beyond KEPT_KEYS (which no state holds) first. */
export function keyOrder(): number[] {
  return [...Array.from({ length: KEYS - KEPT_KEYS }, (_, i) => KEPT_KEYS + 1 + i), ...Array.from({ length: KEPT_KEYS }, (_, i) => i + 1)];
}

/** The i-th key of a type (1-based): `1`, `'k1'`, a UUID ending in i. */
export function keyValue(type: string, i: number): string | undefined {
  if (/^(smallint|integer|bigint|numeric)/.test(type)) return literal(String(i), type);
  if (type === 'uuid') return literal(uuidOf(i), type);
  if (/^(text|character|citext|name)/.test(type)) return literal(`k${i}`, type);
  return undefined;
}

function uuidOf(i: number): string {
  return `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

/**
 * The values each column of a table draws from: a few of its type's; a key's own small set (so
 * that keys collide); for a foreign key, the parent's keys and one that no parent has; NULL
 * where the column may hold it; and, for every CHECK on the table (the target's, and any the
 * user declares as drift), the values that meet every part of the predicate's partition (its
 * constants and their neighbours, equal and ordered pairs of the columns it compares), made by
 * PostgreSQL as the equivalence check makes them. A predicate outside that fragment gives its
 * literal constants.
 */
export async function columnValues(client: pg.ClientBase, table: TableFact, checks: readonly string[], schema: readonly TableFact[]): Promise<ColumnValues> {
  const values: ColumnValues = new Map();
  const add = (column: string, more: readonly string[]) => values.set(column, [...new Set([...(values.get(column) ?? []), ...more])]);
  for (const column of table.columns) if (!column.generated) add(column.name, typeValues(column));
  const decided = new Set<string>();
  const facts = new Map<string, ColumnFacts>(table.columns.map((c) => [c.name, { type: c.type, notNull: c.notNull }]));
  for (const check of checks) {
    const predicate = predicateOf(check);
    if (!predicate) continue;
    const fragment = analyseFragment([predicate]);
    const domains = fragment.inside ? await valueDomains(client, fragment.columns, facts) : undefined;
    // a column a CHECK speaks about draws from the values that decide it, not from its type's
    if (domains && 'values' in domains && fragment.inside) {
      for (const [column, made] of domains.values) {
        // a column only tested for NULL keeps its type's values (NULL joins them below)
        if (fragment.columns.get(column)?.nullTestsOnly) continue;
        values.set(column, [...new Set([...(decided.has(column) ? values.get(column)! : []), ...made.filter((v) => !v.startsWith('NULL'))])]);
        decided.add(column);
      }
    }
    else for (const [column, made] of constantsOf(check, table)) add(column, made);
  }
  for (const name of table.key) {
    const column = table.columns.find((c) => c.name === name)!;
    // keys no state holds come first: a write shrinks toward a new row, not a duplicate
    const keys = keyOrder().map((i) => keyValue(column.type, i)).filter((v): v is string => v !== undefined);
    if (keys.length) values.set(name, keys);
  }
  for (const fk of table.foreignKeys) {
    const parent = schema.find((t) => t.name === fk.parent);
    fk.columns.forEach((name, i) => {
      const parentColumn = parent?.columns.find((c) => c.name === fk.parentColumns[i]);
      if (!parentColumn) return;
      const keys = Array.from({ length: KEYS }, (_, k) => keyValue(parentColumn.type, k + 1)).filter((v): v is string => v !== undefined);
      const missing = keyValue(parentColumn.type, 999);
      if (keys.length) values.set(name, [...keys.slice(0, KEPT_KEYS + 1), ...(missing ? [missing] : [])]);
    });
  }
  for (const column of table.columns) if (!column.notNull && values.has(column.name)) add(column.name, [`NULL::${column.type}`]);
  return keepValid(client, values);
}

/** The predicate of `CHECK ((…))` (as pg_get_constraintdef prints it), parsed; undefined if it cannot be. */
export function predicateOf(definition: string): Node | undefined {
  const body = definition.replace(/\s+NOT VALID\s*$/i, '').match(/^CHECK\s*\(([\s\S]*)\)\s*(NO INHERIT)?\s*$/i)?.[1];
  if (!body) return undefined;
  try {
    const tree = parseSync(`SELECT 1 WHERE ${body}`) as { stmts: { stmt: { SelectStmt: { whereClause: Node } } }[] };
    return tree.stmts[0]!.stmt.SelectStmt.whereClause;
  } catch {
    return undefined;
  }
}

/** The literal constants of a definition, given to the columns it names whose type can hold them. */
function constantsOf(definition: string, table: TableFact): Map<string, string[]> {
  const strings = [...definition.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
  const numbers = [...definition.replace(/'(?:[^']|'')*'/g, '').matchAll(/(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])/g)].map((m) => m[0]);
  const found = new Map<string, string[]>();
  for (const column of table.columns) {
    if (!new RegExp(`\\b${column.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(definition)) continue;
    const texts = column.category === 'N' ? numbers.flatMap((n) => [n, String(Number(n) + 1), String(Number(n) - 1)]) : strings;
    found.set(column.name, texts.map((text) => literal(text, column.type)));
  }
  return found;
}

/** Only the values PostgreSQL can make (a constant of a CHECK may not fit a column's type); on a connection outside a transaction. */
async function keepValid(client: pg.ClientBase, values: ColumnValues): Promise<ColumnValues> {
  const kept: ColumnValues = new Map();
  for (const [column, list] of values) {
    const ok: string[] = [];
    for (const value of list) {
      try {
        await client.query(`SELECT ${value}`);
        ok.push(value);
      } catch {
        // not a value of the column's type: left out
      }
    }
    kept.set(column, ok);
  }
  return kept;
}
