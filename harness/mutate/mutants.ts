import { readFileSync } from 'node:fs';
import type { Migration, SqlStatement } from '../migrate/index.ts';
import { deparseChecked, removeCommand } from '../migrate/sql-rewrite.ts';
import { predicateMutations, type Node } from './predicate-mutants.ts';

/** A copy of the target revision with one change. */
export interface Mutant {
  id: string;
  kind: 'predicate' | 'deploy';
  description: string;
  /** The changed statement(s), as the mutant's file has them. */
  sql: string;
  /** The whole file, rewritten. */
  text: string;
  /** For a predicate mutant: the constraint's table and both predicates (for the equivalence check). */
  predicate?: { table: string; original: Node; mutated: Node };
}

interface Edit {
  kind: Mutant['kind'];
  description: string;
  statement: SqlStatement;
  /** The statement's new text ('' removes it). */
  replacement: string;
  predicate?: Mutant['predicate'];
}

/**
 * The mutants of a revision: every CHECK constraint its statements add, mutated (see
 * predicateMutations), and its deployment changed: `DROP … IF EXISTS` → `DROP`, the DROP
 * removed, the constraint added NOT VALID or under another name, the file split by
 * `COMMIT; BEGIN;` between two statements. Each is the file with only that statement rewritten
 * (deparsed by PostgreSQL's grammar, checked to parse back to the same tree).
 */
export function mutantsOf(migration: Migration): Mutant[] {
  const fileText = readFileSync(migration.file, 'utf8');
  const edits: Edit[] = [];
  for (const statement of migration.statements) {
    const alter = statement.tree?.AlterTableStmt as { relation?: { relname?: string; schemaname?: string }; cmds?: Node[] } | undefined;
    if (!alter?.cmds) continue;
    const table = [alter.relation?.schemaname, alter.relation?.relname].filter(Boolean).join('.');
    alter.cmds.forEach((cmd, k) => {
      const command = cmd.AlterTableCmd as Record<string, unknown>;
      const rewrite = (change: (command: Record<string, unknown>) => void) => {
        const tree = structuredClone(statement.tree!) as { AlterTableStmt: { cmds: { AlterTableCmd: Record<string, unknown> }[] } };
        change(tree.AlterTableStmt.cmds[k]!.AlterTableCmd);
        return deparseChecked(tree);
      };
      const constraint = (command.def as Node | undefined)?.Constraint as Record<string, unknown> | undefined;
      if (command.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_CHECK') {
        const original = constraint.raw_expr as Node;
        for (const mutation of predicateMutations(original)) {
          const text = rewrite((c) => ((c.def as { Constraint: Record<string, unknown> }).Constraint.raw_expr = mutation.expression));
          if (text) edits.push({ kind: 'predicate', description: mutation.description, statement, replacement: text, predicate: { table, original, mutated: mutation.expression } });
        }
        const notValid = rewrite((c) => Object.assign((c.def as { Constraint: Record<string, unknown> }).Constraint, { skip_validation: true, initially_valid: false }));
        if (notValid) edits.push({ kind: 'deploy', description: `add ${constraint.conname} NOT VALID`, statement, replacement: notValid });
        const renamed = rewrite((c) => ((c.def as { Constraint: Record<string, unknown> }).Constraint.conname = `${String(constraint.conname)}_v2`));
        if (renamed) edits.push({ kind: 'deploy', description: `add the constraint under another name (${String(constraint.conname)}_v2)`, statement, replacement: renamed });
      }
      if (command.subtype === 'AT_DropConstraint') {
        if (command.missing_ok) {
          const strict = rewrite((c) => (c.missing_ok = false));
          if (strict) edits.push({ kind: 'deploy', description: `DROP CONSTRAINT IF EXISTS ${String(command.name)} → DROP CONSTRAINT`, statement, replacement: strict });
        }
        const without = alter.cmds!.length === 1 ? '' : deparseChecked(removeCommand(statement.tree!, k));
        if (without !== undefined) edits.push({ kind: 'deploy', description: `remove the DROP of ${String(command.name)}`, statement, replacement: without });
      }
    });
  }
  const mutants = edits.map((edit, i) => mutant(`m${String(i + 1).padStart(2, '0')}`, migration, fileText, edit));
  return [...mutants, ...splits(migration, fileText, mutants.length)];
}

function mutant(id: string, migration: Migration, fileText: string, edit: Edit): Mutant {
  const start = migration.upOffset + edit.statement.offset;
  const text = fileText.slice(0, start) + edit.replacement + fileText.slice(start + edit.statement.sql.length);
  const sql = edit.replacement === '' ? `-- removed: ${edit.statement.sql.replace(/\s+/g, ' ')}` : edit.replacement.replace(/\s+/g, ' ');
  return { id, kind: edit.kind, description: edit.description, sql, text, predicate: edit.predicate };
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
      text: `${fileText.slice(0, cut)}\nCOMMIT;\nBEGIN;\n${fileText.slice(cut)}`,
    };
  });
}
