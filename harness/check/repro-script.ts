import path from 'node:path';
import pg from 'pg';
import type { Migration, Migrator } from '../migrate/index.ts';
import { describeStep, type StartingState, type StateHistory } from '../states/index.ts';
import { formatActual, formatExpected } from '../sessions/step-outcome.ts';
import type { StepRecord } from './write-properties.ts';

/** Which failure a repro is of, and what rebuilds its starting state. */
export interface ReproCase {
  suite: string;
  state: StartingState;
  history: StateHistory;
  migrator: Migrator;
  to: string;
  seed: number;
  path: string;
  property: string;
}

export interface ReproInput extends ReproCase {
  steps: readonly StepRecord[];
}

/**
 * A self-contained SQL script that rebuilds a failing case on an empty database: the schema
 * and rows of the state (its own steps, the chain's statements inlined), the migration to the
 * target, then the minimal steps with what the model expected and what PostgreSQL did.
 * psql keeps going after an error by default, so the failing step shows its error and the
 * script still runs to the end.
 */
export function reproScript(input: ReproInput): string {
  const out = [
    `-- constraint-harness repro: suite ${input.suite}, state ${input.state.name}, property ${input.property}`,
    `-- seed ${input.seed}, path ${input.path}, migrations up to ${input.to}`,
    `-- Run against an empty database:  psql -X -f repro.sql "postgres://…/empty_db"`,
    '',
    ...stateSetup(input, true),
  ];
  out.push(`-- ===== the minimal failing steps (${input.steps.length})`);
  input.steps.forEach((step, index) => {
    out.push(`-- step ${index + 1}: ${step.label}`, `--   expected: ${formatExpected(step.expected)}`, `--   actual:   ${formatActual(step.actual)}`, `${step.sql};`);
  });
  return out.join('\n') + '\n';
}

/** The state's schema and rows as SQL lines (comments included), optionally migrated to the target. */
export function stateSetup(input: Pick<ReproInput, 'state' | 'history' | 'migrator' | 'to'>, migrate: boolean): string[] {
  const out: string[] = [];
  const recorded = new Set<bigint>();
  const table = pg.escapeIdentifier(input.migrator.versionTable);
  out.push(`CREATE TABLE IF NOT EXISTS ${table} (version text PRIMARY KEY);`, '', `-- ===== state ${input.state.name}: ${input.state.story}`);
  let rowsIndex = 0;
  for (const step of input.state.steps) {
    out.push(`-- ${describeStep(step)}`);
    switch (step.kind) {
      case 'migrate':
        out.push(...migrateTo(input.migrator, step.to, recorded, table));
        break;
      case 'sql':
        out.push(`${step.sql.trim().replace(/;?$/, ';')}`);
        break;
      case 'rows':
        out.push(...(input.history[rowsIndex++]?.sql ?? []).map((sql) => `${sql};`));
        break;
      case 'stamp':
        recorded.add(BigInt(step.revision));
        out.push(`INSERT INTO ${table} (version) VALUES (${pg.escapeLiteral(step.revision)});`);
        break;
    }
    out.push('');
  }
  if (migrate) out.push(`-- ===== deploy: migrate to ${input.to}`, ...migrateTo(input.migrator, input.to, recorded, table), '');
  return out;
}

function migrateTo(migrator: Migrator, to: string, recorded: Set<bigint>, table: string): string[] {
  const lines: string[] = [];
  for (const migration of migrator.chainTo(to)) {
    if (recorded.has(BigInt(migration.revision))) continue;
    recorded.add(BigInt(migration.revision));
    lines.push(...revision(migration, table));
  }
  if (lines.length === 0) lines.push('-- (nothing to apply: every revision is recorded)');
  return lines;
}

function revision(migration: Migration, table: string): string[] {
  const body = [...migration.up.map((statement) => `${statement.sql.replace(/;?\s*$/, '')};`), `INSERT INTO ${table} (version) VALUES (${pg.escapeLiteral(migration.revision)});`];
  const header = `-- revision ${migration.revision} (${path.basename(migration.file)})`;
  return migration.transactional ? [header, 'BEGIN;', ...body, 'COMMIT;'] : [header, ...body];
}

