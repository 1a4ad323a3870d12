import pg from 'pg';
import { planMigrations, splitStatements, type Migration, type MigrationPlan, type Migrator, type SqlStatement } from '../migrate/index.ts';
import { deparseChecked, removeCommand } from '../migrate/sql-rewrite.ts';

/** A deploy that keeps writers going: each validating ADD CONSTRAINT split into ADD … NOT VALID and a VALIDATE of its own. */
export interface SuggestedRewrite {
  changes: string[];
  /** The rewritten revisions, then the validations, as SQL to paste. */
  sql: string;
  /** What the rehearsal deploys instead, given what the version table says is applied. */
  planFor(applied: ReadonlySet<string>): MigrationPlan;
}

type Node = Record<string, unknown>;
interface Validation {
  table: string;
  constraint: string;
}

/**
 * The rewrite the ledger's findings call for, when there is one: every CHECK or FOREIGN KEY
 * the revisions add with validation is added NOT VALID instead (ACCESS EXCLUSIVE for a moment,
 * no scan), and validated afterwards by `ALTER TABLE … VALIDATE CONSTRAINT`, which scans under
 * SHARE UPDATE EXCLUSIVE: writers and readers go on. A VALIDATE the revisions already run in
 * the transaction of the ADD moves out the same way. Statements are rewritten through the
 * parse tree (see deparseChecked); none that cannot be is changed.
 */
export function splitValidation(plan: MigrationPlan, migrator: Migrator): SuggestedRewrite | undefined {
  const changes: string[] = [];
  const validations: Validation[] = [];
  const rewritten = plan.migrations.map((migration) => rewriteMigration(migration, validations, changes));
  if (validations.length === 0) return undefined;
  const validateText = validations.map((v) => `ALTER TABLE ${v.table} VALIDATE CONSTRAINT ${pg.escapeIdentifier(v.constraint)};`).join('\n');
  const last = plan.migrations.at(-1)!;
  // its own name, so that its messages (`0031+validate-1`) are told apart from the revision's
  const validate: Migration = { ...last, revision: `${last.revision}+validate`, description: 'validate', statements: splitStatements(validateText), upText: validateText, upLine: 1, upOffset: 0, transactional: true };
  changes.push(`then ${validations.map((v) => `VALIDATE CONSTRAINT ${v.constraint}`).join(', ')} in a transaction of its own: it scans under SHARE UPDATE EXCLUSIVE, which neither writes nor reads wait for`);
  changes.push('between the two, new rows are checked but old ones not yet: a VALIDATE that fails leaves the constraint NOT VALID (the deploy is no longer atomic), so run it as its own, re-runnable step');
  const versionTable = migrator.chain.versionTable;
  const validatePlan = planMigrations(migrator.chain.format, [validate], migrator.runner, versionTable, { record: false });
  const full = planMigrations(migrator.chain.format, rewritten, migrator.runner, versionTable, { record: true });
  return {
    changes,
    sql: [...rewritten.map((m) => `-- ${m.revision}, rewritten\n${m.upText.trim()}`), `-- then, in a transaction of its own\n${validateText}`].join('\n\n'),
    planFor: (applied) => {
      const pending = rewritten.filter((m) => !applied.has(m.revision));
      if (pending.length === 0) return { ...validatePlan, migrations: [validate] };
      const units = full.units.filter((unit) => pending.includes(unit.migration) || unit.steps.some((s) => s.role === 'prepare'));
      return { runner: migrator.runner, migrations: [...pending, validate], units: [...units, ...validatePlan.units] };
    },
  };
}

function rewriteMigration(migration: Migration, validations: Validation[], changes: string[]): Migration {
  const edits: { statement: SqlStatement; text: string }[] = [];
  for (const statement of migration.statements) {
    const alter = statement.tree?.AlterTableStmt as { relation?: { relname?: string; schemaname?: string }; cmds?: Node[] } | undefined;
    if (!alter?.cmds) continue;
    const table = [alter.relation?.schemaname, alter.relation?.relname].filter(Boolean).map((name) => pg.escapeIdentifier(name!)).join('.');
    let tree = structuredClone(statement.tree!) as { AlterTableStmt: { cmds: { AlterTableCmd: Node }[] } };
    const found: Validation[] = [];
    const where = `${migration.file.split('/').pop()}:${statement.line}`;
    for (let k = tree.AlterTableStmt.cmds.length - 1; k >= 0; k--) {
      const command = tree.AlterTableStmt.cmds[k]!.AlterTableCmd;
      const constraint = (command.def as { Constraint?: Node } | undefined)?.Constraint;
      if (command.subtype === 'AT_AddConstraint' && constraint && ['CONSTR_CHECK', 'CONSTR_FOREIGN'].includes(String(constraint.contype)) && !constraint.skip_validation) {
        Object.assign(constraint, { skip_validation: true, initially_valid: false });
        found.unshift({ table, constraint: String(constraint.conname) });
        changes.push(`ADD CONSTRAINT ${String(constraint.conname)} … NOT VALID (${where})`);
      } else if (command.subtype === 'AT_ValidateConstraint') {
        tree = removeCommand(tree, k) as typeof tree;
        found.unshift({ table, constraint: String(command.name) });
        changes.push(`VALIDATE CONSTRAINT ${String(command.name)} moved out of the transaction of its ADD (${where})`);
      }
    }
    if (found.length === 0) continue;
    const text = tree.AlterTableStmt.cmds.length === 0 ? '' : deparseChecked(tree);
    if (text === undefined) {
      changes.splice(changes.length - found.length, found.length, `${where} left as written: it could not be printed back exactly`);
      continue;
    }
    validations.push(...found);
    edits.push({ statement, text });
  }
  if (edits.length === 0) return migration;
  let upText = migration.upText;
  for (const edit of [...edits].sort((a, b) => b.statement.offset - a.statement.offset)) {
    upText = upText.slice(0, edit.statement.offset) + edit.text + upText.slice(edit.statement.offset + edit.statement.sql.length);
  }
  return { ...migration, upText, statements: splitStatements(upText, migration.upLine - 1) };
}
