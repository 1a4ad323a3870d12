import pg from 'pg';
import { parentsFirst } from '../catalog/parents-first.ts';
import { constraintSites } from '../mutate/constraint-sites.ts';
import type { SqlStatement } from '../migrate/index.ts';
import type { ColumnValues } from './column-values.ts';
import type { DeclaredDrift, FoundConstraint } from './derived-states.ts';
import type { TableFact } from './schema-facts.ts';

/** A name's last part, unquoted: `shop.orders` → `orders`. */
export const lastPart = (name: string) => name.split('.').at(-1)!.replace(/^"|"$/g, '');

/**
 * The constraints the target revision adds or replaces (wherever it writes them: ADD
 * CONSTRAINT, CREATE TABLE, ADD COLUMN, SET NOT NULL, CREATE UNIQUE INDEX) or validates
 * (VALIDATE CONSTRAINT), as the target's catalog holds them.
 */
export function foundConstraints(statements: readonly SqlStatement[], target: readonly TableFact[], previous?: readonly TableFact[]): FoundConstraint[] {
  const found = new Map<string, FoundConstraint>();
  // whatever writes it (a DO block, a function, a guard), a constraint the target's catalog has
  // and the previous revision's has not (or has otherwise: another definition, NOT VALID) is found
  if (previous) {
    for (const table of target) {
      const before = previous.find((t) => t.name === table.name);
      if (!before) continue;
      for (const fact of table.constraints) {
        const was = before.constraints.find((c) => c.name === fact.name && c.kind === fact.kind);
        if (was && was.definition === fact.definition && was.validated === fact.validated) continue;
        found.set(`${table.name}/${fact.name}`, { table: table.name, fact, how: was ? (was.validated ? 'replaced' : 'validated') : 'new in the catalog' });
      }
    }
  }
  const tableOf = (written: string | undefined) => (written ? target.find((t) => t.name === written || lastPart(t.name) === lastPart(written)) : undefined);
  for (const site of constraintSites(statements)) {
    const table = tableOf(site.table);
    if (!table) continue;
    const kind = site.kind;
    const matches = table.constraints.filter((c) => {
      if (site.name) return lastPart(c.name) === site.name;
      if (kind === 'not null') return c.kind === 'not null' && c.columns[0] === site.column;
      if (c.kind !== kind) return false;
      return site.column ? c.columns.includes(site.column) : true;
    });
    const how = site.statement.kind === 'IndexStmt' ? 'CREATE UNIQUE INDEX' : kind === 'not null' && !site.name ? 'NOT NULL' : 'ADD CONSTRAINT';
    for (const fact of matches) {
      const id = `${table.name}/${fact.name}`;
      const seen = found.get(id);
      // the catalog's word (replaced, validated) wins over how the statement reads
      if (!previous) found.set(id, { table: table.name, fact, how });
      else if (seen && seen.how === 'new in the catalog') found.set(id, { ...seen, how });
    }
  }
  for (const statement of statements) {
    const body = (statement.tree as { AlterTableStmt?: { relation?: { relname?: string; schemaname?: string }; cmds?: { AlterTableCmd?: { subtype?: string; name?: string } }[] } } | undefined)?.AlterTableStmt;
    if (!body) continue;
    const table = tableOf([body.relation?.schemaname, body.relation?.relname].filter(Boolean).join('.'));
    for (const cmd of body.cmds ?? []) {
      if (cmd.AlterTableCmd?.subtype !== 'AT_ValidateConstraint' || !table) continue;
      const fact = table.constraints.find((c) => c.name === cmd.AlterTableCmd!.name);
      if (fact && (!previous || found.has(`${table.name}/${fact.name}`))) found.set(`${table.name}/${fact.name}`, { table: table.name, fact, how: 'VALIDATE CONSTRAINT' });
    }
  }
  return [...found.values()];
}

/** Whether SQL names a table (its last name part, as a word). */
export function mentions(sql: string, table: string): boolean {
  return new RegExp(`\\b${lastPart(table).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(sql);
}

/** The CHECK a hand-applied statement adds, as pg_get_constraintdef would print it. */
export function checkOf(sql: string): string[] {
  const body = sql.match(/CHECK\s*\(([\s\S]*)\)\s*(NOT\s+VALID)?\s*;?\s*$/i)?.[1];
  return body ? [`CHECK (${body})`] : [];
}

/**
 * The tables the derived writes touch: those of the constraints found and of the declared
 * drift, with the tables their foreign keys reference and those that reference them; when the
 * revision adds no constraint, the tables it names; else every table. Parents come first.
 */
export function involvedTables(found: readonly FoundConstraint[], drift: readonly DeclaredDrift[], revisionSql: readonly string[], facts: readonly TableFact[]): TableFact[] {
  const names = new Set<string>(found.map((f) => f.table));
  for (const table of facts) if (drift.some((d) => mentions(d.sql, table.name))) names.add(table.name);
  if (names.size === 0) for (const table of facts) if (revisionSql.some((sql) => mentions(sql, table.name))) names.add(table.name);
  if (names.size === 0) for (const table of facts) names.add(table.name);
  for (const name of [...names]) {
    const table = facts.find((t) => t.name === name)!;
    for (const fk of table.foreignKeys) names.add(fk.parent);
    for (const other of facts) if (other.foreignKeys.some((fk) => fk.parent === name)) names.add(other.name);
  }
  return tablesParentsFirst(facts.filter((t) => names.has(t.name)));
}

/** Tables ordered so that a table comes after those its foreign keys reference. */
export function tablesParentsFirst(tables: readonly TableFact[], alsoBy: readonly TableFact[] = []): TableFact[] {
  const keys = (table: TableFact) => [...table.foreignKeys, ...(alsoBy.find((t) => t.name === table.name)?.foreignKeys ?? [])];
  return parentsFirst(tables, (table) => tables.filter((t) => t !== table && keys(table).some((fk) => fk.parent === t.name)));
}

/** Constraints that are NOT VALID before the target: old rows predate them, so they are dropped while the rows are written and put back after. */
export function notValidAround(tables: readonly TableFact[]): { before: string[]; after: string[] } {
  const before: string[] = [];
  const after: string[] = [];
  for (const table of tables) {
    for (const constraint of table.constraints) {
      if (constraint.validated || (constraint.kind !== 'check' && constraint.kind !== 'foreign key')) continue;
      before.push(`ALTER TABLE ${table.name} DROP CONSTRAINT ${pg.escapeIdentifier(constraint.name)}`);
      after.push(`ALTER TABLE ${table.name} ADD CONSTRAINT ${pg.escapeIdentifier(constraint.name)} ${constraint.definition}`);
    }
  }
  return { before, after };
}

/** The user's declared values (`table.column` → SQL expressions) replace the harness's for those columns. */
export function withDeclared(values: ColumnValues, table: TableFact, declared: Readonly<Record<string, readonly string[]>> | undefined): ColumnValues {
  if (!declared) return values;
  const next = new Map(values);
  for (const [name, list] of Object.entries(declared)) {
    const [tableName, column] = [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
    if (lastPart(tableName) === lastPart(table.name) && table.columns.some((c) => c.name === column)) next.set(column, [...list]);
  }
  return next;
}
