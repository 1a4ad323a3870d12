import pg from 'pg';
import { outcomeOfError } from '../sessions/index.ts';
import { candidateValues, insertOf, seededRandom } from './derived-rows.ts';
import type { ColumnValues } from './column-values.ts';
import type { TableFact } from './schema-facts.ts';
import { predicateOf } from './column-values.ts';
import { analyseFragment } from '../mutate/predicate-fragment.ts';
import type { Node } from '../mutate/predicate-mutants.ts';

/** A row the writes insert as it is (its key drawn as any insert's), one of a kind. */
export interface PooledRow {
  columns: string[];
  values: string[];
  /** What sets it apart: accepted by the target, or refused naming a constraint; what each predicate (the domain rule, a declared drift's CHECK) says of it. */
  kind: string;
}

/**
 * Rows worth inserting, one of each kind: random rows over the columns' values are written to
 * a database at the target (inside a transaction rolled back) and evaluated by the table's SQL
 * predicates that may judge it elsewhere (the domain rule, the CHECKs of declared drift); for each
 * outcome (accepted, refused by each constraint) crossed with the predicates' verdicts, a few
 * rows are kept. A random row meets a conjunction of several conditions rarely;
 * drawing from these, the writes meet every constraint and the rule's edge often.
 */
export async function rowPool(client: pg.ClientBase, table: TableFact, values: ColumnValues, predicates: readonly string[], seed: number, tries = 300, perKind = 3): Promise<PooledRow[]> {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const combinations = readCombinations(table, values, predicates, random);
  const kinds = new Map<string, PooledRow[]>();
  const keyValues = table.key.map((k) => values.get(k) ?? []);
  if (keyValues.some((list) => list.length === 0) && table.key.length > 0) return [];
  await client.query('BEGIN');
  try {
    for (let i = 0; i < combinations.length + tries; i++) {
      const chosen = candidateValues(table, values, random);
      if (!chosen) break;
      for (const [column, value] of combinations[i] ?? []) chosen.set(column, value);
      const columns = [...chosen.keys()];
      const list = [...chosen.values()];
      // the transaction holds no row: a key collides with nothing, the row is judged for what it holds
      const names = [...table.key, ...columns];
      const keyed = [...table.key.map((_, k) => keyValues[k]![i % keyValues[k]!.length]!), ...list];
      let verdict = 'accepted';
      await client.query('SAVEPOINT ch_pool');
      try {
        await client.query(insertOf(table, names, keyed).sql);
      } catch (error) {
        const outcome = outcomeOfError(error);
        verdict = outcome.kind === 'error' ? `refused ${outcome.sqlstate} ${outcome.constraint ?? outcome.column ?? ''}` : 'accepted';
      }
      await client.query('ROLLBACK TO SAVEPOINT ch_pool');
      if (verdict.startsWith('refused 23505')) continue;
      const judged: string[] = [];
      for (const predicate of predicates) {
        const evaluated = await client
          .query<{ ok: boolean | null }>(`SELECT (${predicate}) IS NOT FALSE AS ok FROM (SELECT ${keyed.map((v, c) => `${v} AS ${pg.escapeIdentifier(names[c]!)}`).join(', ')}) AS row`)
          .then((r) => String(r.rows[0]?.ok), () => 'unknown');
        await client.query('ROLLBACK TO SAVEPOINT ch_pool').catch(() => undefined);
        judged.push(evaluated === 'true' ? 'allowed' : evaluated === 'false' ? 'forbidden' : 'unknown');
      }
      const kind = [verdict, ...judged].join(', ');
      const kept = kinds.get(kind) ?? [];
      if (kept.length < perKind) kinds.set(kind, [...kept, { columns, values: list, kind }]);
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return [...kinds.values()].flat();
}

/** Beyond this many, the combinations of the columns the constraints read are sampled, not enumerated. */
const MAX_COMBINATIONS = 1500;

/**
 * Every combination of the values of the columns the table's CHECKs and the predicates read (they are
 * the values that decide them: each part of their partition gets a row), or a sample of them
 * when there are too many.
 */
function readCombinations(table: TableFact, values: ColumnValues, predicates: readonly string[], random: () => number): Map<string, string>[] {
  const texts = [...table.constraints.filter((c) => c.kind === 'check').map((c) => c.definition), ...predicates];
  const read = table.columns.filter((c) => !c.generated && !table.key.includes(c.name) && (values.get(c.name)?.length ?? 0) > 0 && texts.some((text) => new RegExp(`\\b${c.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text)));
  // a column the predicates only test for NULL needs NULL and one value, not all of them
  const parsed = texts.map((text) => predicateOf(text.startsWith('CHECK') ? text : `CHECK (${text})`)).filter((node): node is Node => node !== undefined);
  const fragment = parsed.length === texts.length ? analyseFragment(parsed) : undefined;
  const choices = (column: string) => {
    const list = values.get(column)!;
    if (!fragment?.inside || !fragment.columns.get(column)?.nullTestsOnly) return list;
    return [...list.filter((v) => v.startsWith('NULL')).slice(0, 1), ...list.filter((v) => !v.startsWith('NULL')).slice(0, 1)];
  };
  const sizes = read.map((c) => choices(c.name).length);
  const total = sizes.reduce((a, b) => a * b, 1);
  const count = Math.min(total, MAX_COMBINATIONS);
  const combinations: Map<string, string>[] = [];
  for (let n = 0; n < count && read.length > 0; n++) {
    let index = total > MAX_COMBINATIONS ? Math.floor(random() * total) : n;
    const row = new Map<string, string>();
    read.forEach((column, c) => {
      row.set(column.name, choices(column.name)[index % sizes[c]!]!);
      index = Math.floor(index / sizes[c]!);
    });
    combinations.push(row);
  }
  return combinations;
}
