import pg from 'pg';
import type { ColumnUse } from './predicate-fragment.ts';

/** What the catalog says of a column a predicate reads. */
export interface ColumnFacts {
  type: string;
  notNull: boolean;
  /** A collation other than its type's default (then text equality is not byte equality: outside the fragment). */
  collated?: boolean;
}

/** Every column's values, as SQL expressions of its type, such that each part of the partition has a row; or why not. */
export type Domains = { values: Map<string, string[]> } | { undecided: string };

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};
const EQUALITY_ONLY = /^(text|character varying(\(\d+\))?|character(\(\d+\))?|name|citext|uuid)$/;

/**
 * Values for every column such that every part of the fragment's partition is met by some
 * row of their cross product. Columns compared with each other form a group (one type); in a
 * group of k columns compared by order, each open interval between the constants (and below
 * the first, above the last) gets k distinct values, or all it has when it has fewer (so that
 * every ordering of the k columns against each other and the constants occurs); compared by
 * equality alone, the constants and k values equal to none of them. NULL joins every column
 * that may hold it; a column only tested for NULL needs one value besides. Values are made and
 * checked by PostgreSQL itself (casts, order, distinctness); a type or a constant the method
 * cannot speak for (a constant the column's type cannot hold exactly, a time of day, a
 * collation) leaves the question undecided.
 */
export async function valueDomains(client: pg.ClientBase, uses: Map<string, ColumnUse>, facts: ReadonlyMap<string, ColumnFacts>): Promise<Domains> {
  const values = new Map<string, string[]>();
  for (const group of groups(uses)) {
    const missing = group.find((name) => !facts.has(name));
    if (missing) return { undecided: `column ${missing} is not a column of the table` };
    const nullOnly = group.every((name) => uses.get(name)!.nullTestsOnly);
    if (nullOnly) {
      // only its nullness is ever read: any one value stands for every non-NULL one
      for (const name of group) values.set(name, withNull(['TRUE'], 'boolean', facts.get(name)!.notNull));
      continue;
    }
    const types = new Set(group.map((name) => facts.get(name)!.type));
    if (types.size > 1) return { undecided: `columns ${group.join(', ')} are compared across types (${[...types].join(', ')})` };
    const type = [...types][0]!;
    if (group.some((name) => facts.get(name)!.collated)) return { undecided: `a column of ${group.join(', ')} has a collation of its own` };
    const ordered = group.some((name) => uses.get(name)!.ordered);
    const constants = [...new Set(group.flatMap((name) => [...uses.get(name)!.constants]))];
    const made = await groupValues(client, type, constants, group.length, ordered);
    if ('undecided' in made) return made;
    for (const name of group) values.set(name, withNull(made.values, type, facts.get(name)!.notNull));
  }
  return { values };
}

function withNull(values: string[], type: string, notNull: boolean): string[] {
  return notNull ? values : [`NULL::${type}`, ...values];
}

/** Columns joined by comparisons with each other, each group sorted. */
function groups(uses: Map<string, ColumnUse>): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const start of [...uses.keys()].sort()) {
    if (seen.has(start)) continue;
    const group: string[] = [];
    const stack = [start];
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      group.push(name);
      stack.push(...(uses.get(name)?.peers ?? []));
    }
    out.push(group.sort());
  }
  return out;
}

type Made = { values: string[] } | { undecided: string };

async function groupValues(client: pg.ClientBase, type: string, constants: string[], k: number, ordered: boolean): Promise<Made> {
  const literal = (text: string) => `${pg.escapeLiteral(text)}::${type}`;
  // the constants as values of the type, in the type's order; each must be one exactly
  const points = constants.length ? await typedPoints(client, type, constants) : { texts: [] as string[] };
  if ('undecided' in points) return points;
  const family = await familyOf(client, type);
  if (family.kind === 'finite') return { values: family.values.map(literal) };
  if (family.kind === 'unknown') return { undecided: `the fragment does not decide comparisons of ${type}` };
  if (family.kind === 'equality') {
    if (ordered) return { undecided: `${type} is compared by order, which the fragment decides only for numbers, dates and timestamps` };
    const others = await freshValues(client, type, points.texts, k);
    return 'undecided' in others ? others : { values: [...points.texts, ...others.values].map(literal) };
  }
  const picks = family.kind === 'scaled' ? scaledPicks(points.texts, k, family) : family.kind === 'stepped' ? await stepPicks(client, type, points.texts, k, family.step) : { undecided: `the fragment does not decide the order of ${type}` };
  if ('undecided' in picks) return picks;
  return { values: [...points.texts, ...picks.values].map(literal) };
}

/** The constants cast to the column's type, distinct and sorted by PostgreSQL; undecided if a cast changes a value. */
async function typedPoints(client: pg.ClientBase, type: string, constants: string[]): Promise<{ texts: string[] } | { undecided: string }> {
  try {
    const rows = (await client.query<{ v: string; exact: boolean; c: string }>(
      `SELECT (c)::text AS c, v::text AS v, exact FROM (VALUES ${constants.map((c, i) => `(${i}, ${pg.escapeLiteral(c)}, (${c})::${type}, (${c})::${type} = (${c}))`).join(', ')}) AS x(i, c, v, exact) ORDER BY v`,
    )).rows;
    const inexact = rows.find((row) => row.exact !== true);
    if (inexact) return { undecided: `the constant ${inexact.c} is not exactly a value of ${type}` };
    return { texts: [...new Set(rows.map((row) => row.v))] };
  } catch (error) {
    return { undecided: `the constants cannot be read as ${type}: ${(error as Error).message}` };
  }
}

type Family = { kind: 'finite'; values: string[] } | { kind: 'equality' } | { kind: 'scaled'; scale: number; dense: boolean; min?: bigint; max?: bigint } | { kind: 'stepped'; step: string } | { kind: 'unknown' };

async function familyOf(client: pg.ClientBase, type: string): Promise<Family> {
  if (type === 'boolean') return { kind: 'finite', values: ['false', 'true'] };
  const range = INTEGER_RANGE[type];
  if (range) return { kind: 'scaled', scale: 0, dense: false, min: range[0], max: range[1] };
  const numeric = /^numeric(?:\((\d+),(\d+)\))?$/.exec(type);
  if (numeric) {
    if (numeric[1] === undefined) return { kind: 'scaled', scale: 0, dense: true };
    const [precision, scale] = [Number(numeric[1]), Number(numeric[2])];
    const bound = 10n ** BigInt(precision) - 1n;
    return { kind: 'scaled', scale, dense: false, min: -bound, max: bound };
  }
  if (type === 'date') return { kind: 'stepped', step: '1' };
  const timestamp = /^timestamp(?:\((\d)\))? with(?:out)? time zone$/.exec(type);
  if (timestamp) return { kind: 'stepped', step: `interval '${10 ** (6 - Number(timestamp[1] ?? 6))} microseconds'` };
  if (EQUALITY_ONLY.test(type)) return { kind: 'equality' };
  const labels = await client.query<{ label: string }>(`SELECT e.enumlabel AS label FROM pg_enum e WHERE e.enumtypid = to_regtype($1) ORDER BY e.enumsortorder`, [type]).catch(() => ({ rows: [] as { label: string }[] }));
  if (labels.rows.length > 0) return { kind: 'finite', values: labels.rows.map((row) => row.label) };
  return { kind: 'unknown' };
}

/**
 * Integers and numerics, exactly: values as integers at a common scale. An interval of a
 * discrete type gets its first k values (all it has, if fewer); a dense one (numeric without a
 * scale) k values evenly inside it.
 */
function scaledPicks(points: string[], k: number, family: Extract<Family, { kind: 'scaled' }>): { values: string[] } {
  const pointScale = Math.max(0, ...points.map((p) => (p.split('.')[1] ?? '').length));
  const scale = family.dense ? pointScale + String(k + 1).length + 1 : family.scale;
  const toUnits = (text: string) => {
    const [whole, fraction = ''] = text.replace(/^-/, '').split('.');
    const units = BigInt(whole! + fraction.padEnd(scale, '0').slice(0, scale));
    return text.startsWith('-') ? -units : units;
  };
  const toText = (units: bigint) => {
    const negative = units < 0n;
    const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
    const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
    return negative ? `-${text}` : text;
  };
  const sorted = points.map(toUnits);
  const within = (v: bigint) => (family.min === undefined || v >= family.min) && (family.max === undefined || v <= family.max);
  const picks: bigint[] = [];
  const stepOf = (lo: bigint, hi: bigint) => (family.dense ? (hi - lo) / BigInt(k + 1) : 1n);
  if (sorted.length === 0) for (let i = 0; i < k; i++) picks.push(BigInt(i));
  else {
    for (let i = 1; i <= k; i++) {
      const below = sorted[0]! - BigInt(i) * 10n ** BigInt(family.dense ? scale : 0);
      const above = sorted.at(-1)! + BigInt(i) * 10n ** BigInt(family.dense ? scale : 0);
      if (within(below)) picks.push(below);
      if (within(above)) picks.push(above);
    }
    for (let j = 1; j < sorted.length; j++) {
      const [lo, hi] = [sorted[j - 1]!, sorted[j]!];
      const step = stepOf(lo, hi);
      for (let i = 1; i <= k && lo + BigInt(i) * step < hi; i++) picks.push(lo + BigInt(i) * step);
    }
  }
  return { values: picks.filter(within).map(toText) };
}

/**
 * Dates and timestamps: the first k values after each constant (its successors at the type's
 * resolution), k before the first, k from a fixed day when there are no constants; PostgreSQL
 * computes them and keeps those strictly inside their interval.
 */
async function stepPicks(client: pg.ClientBase, type: string, points: string[], k: number, step: string): Promise<{ values: string[] } | { undecided: string }> {
  const literal = (text: string) => `${pg.escapeLiteral(text)}::${type}`;
  const candidates: { sql: string; lo?: string; hi?: string }[] = [];
  const add = (from: string, sign: '+' | '-', lo?: string, hi?: string) => {
    for (let i = 1; i <= k; i++) candidates.push({ sql: `(${from} ${sign} ${i} * ${step})::${type}`, lo, hi });
  };
  if (points.length === 0) add(literal('2000-01-01'), '+');
  else {
    add(literal(points[0]!), '-', undefined, points[0]);
    for (let j = 0; j < points.length; j++) add(literal(points[j]!), '+', points[j], points[j + 1]);
  }
  try {
    const rows = (await client.query<{ v: string; inside: boolean }>(
      `SELECT DISTINCT v::text AS v, inside FROM (VALUES ${candidates.map((c) => `(${c.sql}, ${c.lo ? `${c.sql} > ${literal(c.lo)}` : 'TRUE'} AND ${c.hi ? `${c.sql} < ${literal(c.hi)}` : 'TRUE'})`).join(', ')}) AS x(v, inside) WHERE inside`,
    )).rows;
    return { values: rows.map((row) => row.v) };
  } catch (error) {
    return { undecided: `values of ${type} around the constants cannot be made: ${(error as Error).message}` };
  }
}

/** k values of the type equal to none of the constants nor to each other, checked by the type's own equality. */
async function freshValues(client: pg.ClientBase, type: string, points: string[], k: number): Promise<{ values: string[] } | { undecided: string }> {
  const pool = type === 'uuid' ? Array.from({ length: k + points.length + 1 }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`) : ['x', 'y', 'z', 'q', '0', '1', '~', 'harness_other_a', 'harness_other_b', 'harness_other_c', 'harness_other_d'];
  const literal = (text: string) => `${pg.escapeLiteral(text)}::${type}`;
  try {
    const rows = (await client.query<{ v: string }>(`SELECT v::text AS v FROM (VALUES ${pool.map((text, i) => `(${i}, ${literal(text)})`).join(', ')}) AS x(i, v) ORDER BY i`)).rows;
    const chosen: string[] = [];
    for (const { v } of rows) {
      if (chosen.length === k) break;
      const others = [...points, ...chosen];
      if (others.length === 0) {
        chosen.push(v);
        continue;
      }
      const equal = (await client.query<{ any: boolean }>(`SELECT bool_or(${literal(v)} = o) AS any FROM (VALUES ${others.map((o) => `(${literal(o)})`).join(', ')}) AS x(o)`)).rows[0]!.any;
      if (!equal) chosen.push(v);
    }
    return chosen.length === k ? { values: chosen } : { undecided: `not enough values of ${type} apart from the constants` };
  } catch (error) {
    return { undecided: `values of ${type} cannot be made: ${(error as Error).message}` };
  }
}
