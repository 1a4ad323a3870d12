import { readFileSync } from 'node:fs';
import { tableMatches, type CatalogSnapshot } from '../catalog/index.ts';
import type { Migration, SqlStatement } from '../migrate/index.ts';
import { deparseChecked, removeCommand } from '../migrate/sql-rewrite.ts';
import { constraintMutations, type MutantKind, type PredicateChange, type TreeEdit } from './constraint-mutants.ts';
import { constraintSites } from './constraint-sites.ts';

/** A copy of the target revision with one change. */
export interface Mutant {
  id: string;
  kind: MutantKind;
  description: string;
  /** The changed statement(s), as the mutant's file has them (or the change, when it could not be printed). */
  sql: string;
  /** The whole file, rewritten; absent when the change could not be printed as SQL (see `unprintable`). */
  text?: string;
  /** Why the mutant cannot be run: its parse tree does not print back to SQL that parses to the same tree. */
  unprintable?: string;
  /** A changed predicate, for the equivalence question. */
  predicate?: PredicateChange;
  mootIfNotNull?: TreeEdit['mootIfNotNull'];
  requiresMajor?: number;
  /** What a suite must do to tell it apart. */
  question?: string;
}

/**
 * The mutants of a revision: every constraint it adds or replaces, wherever it is written
 * (constraintSites), changed as constraintMutations says; its deployment changed (`DROP … IF
 * EXISTS` → `DROP`, the DROP removed, the constraint added under another name, the file split
 * by `COMMIT; BEGIN;` between two statements). Each is the file with only that statement
 * rewritten through PostgreSQL's grammar (deparsed, and accepted only if it parses back to the
 * same tree); one that cannot be printed so is still a mutant, listed with that reason.
 */
export function mutantsOf(migration: Migration, catalog?: CatalogSnapshot): Mutant[] {
  const fileText = readFileSync(migration.file, 'utf8');
  const columnsOf = (table: string) => (catalog?.columns ?? []).filter((c) => tableMatches(c.table, table)).map((c) => c.name);
  const edits = [...constraintSites(migration.statements).flatMap((site) => constraintMutations(site, columnsOf)), ...deployEdits(migration.statements)];
  const mutants = edits.map((edit, i) => mutant(`m${String(i + 1).padStart(2, '0')}`, migration, fileText, edit));
  return [...mutants, ...splits(migration, fileText, mutants.length)];
}

/** How the revision deploys its constraints: DROP … IF EXISTS made strict or removed, the ADD under another name. */
function deployEdits(statements: readonly SqlStatement[]): TreeEdit[] {
  const edits: TreeEdit[] = [];
  for (const statement of statements) {
    const alter = statement.tree?.AlterTableStmt as { cmds?: { AlterTableCmd: Record<string, unknown> }[] } | undefined;
    if (!alter?.cmds) continue;
    alter.cmds.forEach(({ AlterTableCmd: command }, k) => {
      const rewrite = (change: (command: Record<string, unknown>) => void) => {
        const tree = structuredClone(statement.tree!) as { AlterTableStmt: { cmds: { AlterTableCmd: Record<string, unknown> }[] } };
        change(tree.AlterTableStmt.cmds[k]!.AlterTableCmd);
        return tree;
      };
      const constraint = (command.def as { Constraint?: Record<string, unknown> } | undefined)?.Constraint;
      if (command.subtype === 'AT_AddConstraint' && constraint?.conname) {
        const name = String(constraint.conname);
        edits.push({ kind: 'deploy', description: `add the constraint under another name (${name}_v2)`, statement, tree: rewrite((c) => ((c.def as { Constraint: Record<string, unknown> }).Constraint.conname = `${name}_v2`)), question: 'does any state already have the constraint, or is the migration applied twice?' });
      }
      if (command.subtype === 'AT_DropConstraint') {
        if (command.missing_ok) edits.push({ kind: 'deploy', description: `DROP CONSTRAINT IF EXISTS ${String(command.name)} → DROP CONSTRAINT`, statement, tree: rewrite((c) => (c.missing_ok = false)), question: 'does any state lack the constraint?' });
        edits.push({ kind: 'deploy', description: `remove the DROP of ${String(command.name)}`, statement, tree: alter.cmds!.length === 1 ? null : removeCommand(statement.tree!, k), question: 'does any state already have the constraint?' });
      }
    });
  }
  return edits;
}

function mutant(id: string, migration: Migration, fileText: string, edit: TreeEdit): Mutant {
  const { kind, description, predicate, mootIfNotNull, requiresMajor, question } = edit;
  const base = { id, kind, description, ...(predicate ? { predicate } : {}), ...(mootIfNotNull ? { mootIfNotNull } : {}), ...(requiresMajor ? { requiresMajor } : {}), ...(question ? { question } : {}) };
  const replacement = edit.tree === null ? '' : deparseChecked(edit.tree);
  if (replacement === undefined) {
    return { ...base, sql: edit.statement.sql.replace(/\s+/g, ' '), unprintable: `the changed statement (line ${edit.statement.line}) does not print back as SQL that parses to the changed tree (pgsql-deparser)` };
  }
  const start = migration.upOffset + edit.statement.offset;
  const text = fileText.slice(0, start) + replacement + fileText.slice(start + edit.statement.sql.length);
  const sql = replacement === '' ? `-- removed: ${edit.statement.sql.replace(/\s+/g, ' ')}` : replacement.replace(/\s+/g, ' ');
  return { ...base, sql, text };
}

/** The file split by `COMMIT; BEGIN;` after each statement but the last: what came before commits on its own. */
function splits(migration: Migration, fileText: string, numbered: number): Mutant[] {
  const statements = migration.statements.filter((s) => s.kind !== 'TransactionStmt');
  return statements.slice(0, -1).map((statement, i) => {
    const end = migration.upOffset + statement.offset + statement.sql.length;
    const semicolon = fileText.indexOf(';', end);
    const cut = semicolon < 0 ? end : semicolon + 1;
    return {
      id: `m${String(numbered + i + 1).padStart(2, '0')}`,
      kind: 'deploy',
      description: `split the file by COMMIT; BEGIN; after statement ${i + 1} (line ${statement.line})`,
      sql: 'COMMIT; BEGIN;',
      question: 'does any state make the second part fail after the first has committed (the constraint already there, rows the new one refuses)?',
      text: `${fileText.slice(0, cut)}\nCOMMIT;\nBEGIN;\n${fileText.slice(cut)}`,
    };
  });
}
