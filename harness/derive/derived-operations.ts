import fc from 'fast-check';
import pg from 'pg';
import type { BoundOperation, CaseStep, ConcurrentCase, RunContext } from '../suite.ts';
import type { ColumnValues } from './column-values.ts';
import { shortValue } from './derived-rows.ts';
import type { TableFact } from './schema-facts.ts';
import { keyText } from '../groups/writes/table-rows.ts';
import type { PooledRow } from './row-pool.ts';

/**
 * A write the derived suite makes on a table: a row inserted with values from the columns'
 * values; or one or two columns of a row updated, or a row deleted, the row picked among the
 * state's rows (`row` modulo their number) or by a key of the table's small key set.
 */
export type DerivedOp =
  | { kind: 'insert'; table: string; columns: readonly string[]; values: readonly string[] }
  | { kind: 'update'; table: string; row: number; byKey: boolean; columns: readonly string[]; values: readonly string[] }
  | { kind: 'delete'; table: string; row: number; byKey: boolean };

/** The tables the writes go to, with their columns' values and rows worth inserting whole. */
export interface WrittenTable {
  fact: TableFact;
  values: ColumnValues;
  pool?: readonly PooledRow[];
}

const labelOf = (table: string) => table.replace(/[^A-Za-z0-9_]+/g, '_');


/** An operation with the run's rows: what it sends. The state differential judges it, so there is no prediction. */
export function bindDerived(op: DerivedOp, run: RunContext, tables: readonly WrittenTable[]): BoundOperation {
  const table = tables.find((t) => t.fact.name === op.table)!.fact;
  if (op.kind === 'insert') {
    const list = op.columns.map((c) => pg.escapeIdentifier(c)).join(', ');
    return {
      label: `insert_${labelOf(table.name)}(${op.columns.map((c, i) => `${c}=${shortValue(op.values[i]!)}`).join(', ')})`,
      statement: { sql: `INSERT INTO ${table.name} AS x (${list}) OVERRIDING SYSTEM VALUE VALUES (${op.values.join(', ')})`, parameters: [] },
    };
  }
  const { where, name } = rowOf(op, run, tables, table);
  if (op.kind === 'update') {
    return {
      label: `update_${labelOf(table.name)}(${name}: ${op.columns.map((c, i) => `${c}=${shortValue(op.values[i]!)}`).join(', ')})`,
      statement: { sql: `UPDATE ${table.name} AS x SET ${op.columns.map((c, i) => `${pg.escapeIdentifier(c)} = ${op.values[i]}`).join(', ')} WHERE ${where}`, parameters: [] },
    };
  }
  return { label: `delete_${labelOf(table.name)}(${name})`, statement: { sql: `DELETE FROM ${table.name} AS x WHERE ${where}`, parameters: [] } };
}

/** The row an update or delete is about: one of the state's rows, or the row (if any) holding one of the table's keys. */
function rowOf(op: Extract<DerivedOp, { row: number }>, run: RunContext, tables: readonly WrittenTable[], table: TableFact): { where: string; name: string } {
  const existing = run.base.rows(table.name);
  if (!op.byKey && existing.length > 0) {
    const [key] = existing[op.row % existing.length]!;
    return { where: `${keyText({ name: table.name, key: table.key.map((k) => pg.escapeIdentifier(k)), columns: {} }, 'x')} = ${pg.escapeLiteral(key)}`, name: key };
  }
  const keys = table.key.map((k) => tables.find((t) => t.fact === table)!.values.get(k) ?? []);
  if (keys.some((list) => list.length === 0)) return { where: 'false', name: 'none' };
  const picked = keys.map((list) => list[op.row % list.length]!);
  return { where: table.key.map((k, i) => `x.${pg.escapeIdentifier(k)} = ${picked[i]}`).join(' AND '), name: picked.map(shortValue).join(',') };
}

/** Columns a derived write may set: not generated, and with values to draw from. */
function writable(table: WrittenTable): string[] {
  return table.fact.columns.filter((c) => !c.generated && (table.values.get(c.name)?.length ?? 0) > 0).map((c) => c.name);
}

/** An insert into the table: every column with values gets one; a column left out takes its default. */
function insertArbitrary(table: WrittenTable): fc.Arbitrary<DerivedOp> | undefined {
  const columns = writable(table);
  const required = table.fact.columns.filter((c) => c.notNull && !c.hasDefault && !c.generated);
  if (required.some((c) => !columns.includes(c.name))) return undefined;
  const random = fc.tuple(...columns.map((c) => fc.constantFrom(...table.values.get(c)!))).map((values) => ({ kind: 'insert' as const, table: table.fact.name, columns, values }));
  const keys = table.fact.key.map((k) => table.values.get(k) ?? []);
  if (!table.pool?.length || keys.some((list) => list.length === 0)) return random;
  // a row of the pool (one of each kind the target and the rule tell apart), under a key of the table's set
  const pooled = fc.tuple(fc.constantFrom(...table.pool), ...keys.map((list) => fc.constantFrom(...list))).map(([row, ...key]): DerivedOp => ({ kind: 'insert', table: table.fact.name, columns: [...table.fact.key, ...row.columns], values: [...(key as string[]), ...row.values] }));
  return fc.oneof(random, pooled);
}

function updateArbitrary(table: WrittenTable): fc.Arbitrary<DerivedOp> | undefined {
  const columns = writable(table);
  if (columns.length === 0 || table.fact.key.length === 0) return undefined;
  const assignment = fc.constantFrom(...columns).chain((column) => fc.constantFrom(...table.values.get(column)!).map((value) => [column, value] as const));
  return fc
    .record({ row: fc.nat({ max: 20 }), byKey: fc.boolean(), set: fc.uniqueArray(assignment, { minLength: 1, maxLength: 2, selector: ([column]) => column }) })
    .map(({ row, byKey, set }) => ({ kind: 'update' as const, table: table.fact.name, row, byKey, columns: set.map(([c]) => c), values: set.map(([, v]) => v) }));
}

function deleteArbitrary(table: WrittenTable): fc.Arbitrary<DerivedOp> | undefined {
  if (table.fact.key.length === 0) return undefined;
  return fc.record({ row: fc.nat({ max: 20 }), byKey: fc.boolean() }).map(({ row, byKey }) => ({ kind: 'delete' as const, table: table.fact.name, row, byKey }));
}

/** One write on any of the tables: inserts weigh most, then updates, then deletes. */
export function derivedOperation(tables: readonly WrittenTable[]): fc.Arbitrary<DerivedOp> | undefined {
  const choices = tables.flatMap((table) => {
    const [insert, update, remove] = [insertArbitrary(table), updateArbitrary(table), deleteArbitrary(table)];
    return [...(insert ? [{ weight: 3, arbitrary: insert }] : []), ...(update ? [{ weight: 2, arbitrary: update }] : []), ...(remove ? [{ weight: 1, arbitrary: remove }] : [])];
  });
  return choices.length ? fc.oneof(...choices) : undefined;
}

/** Two sessions, each a few writes, alone or in a transaction, on a generated schedule (index 2 is the deploying session in a live deploy). */
export function derivedCases(operation: fc.Arbitrary<DerivedOp>): fc.Arbitrary<ConcurrentCase<DerivedOp>> {
  const session = fc.record({ ops: fc.array(operation, { minLength: 1, maxLength: 3 }), transaction: fc.boolean() }).map(({ ops, transaction }): CaseStep<DerivedOp>[] => {
    const steps = ops.map((op): CaseStep<DerivedOp> => ({ kind: 'op', op }));
    return transaction ? [{ kind: 'begin' }, ...steps, { kind: 'commit' }] : steps;
  });
  return fc.record({ sessions: fc.array(session, { minLength: 2, maxLength: 2 }), schedule: fc.array(fc.nat({ max: 2 }), { maxLength: 14 }) }).map(({ sessions, schedule }) => ({
    setup: [],
    sessions,
    labels: sessions.map((s) => `${s.filter((step) => step.kind === 'op').length} write(s)${s[0]?.kind === 'begin' ? ' in a transaction' : ''}`),
    schedule,
  }));
}
