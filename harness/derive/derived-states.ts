import { beforeTarget, target } from '../migrate/index.ts';
import { killedState } from '../states/interrupted-states.ts';
import { fixedRows, migratedTo, runSql, stampedAt, type StartingState, type StateStep } from '../states/starting-state.ts';
import type { RowInsert, RowSearch } from './derived-rows.ts';
import type { InterruptionPoint } from '../migrate/interruptions.ts';
import type { ConstraintFact } from './schema-facts.ts';
import { lastPart } from './found-constraints.ts';

/** A constraint the target revision adds, replaces or validates, on its table. */
export interface FoundConstraint {
  table: string;
  fact: ConstraintFact;
  /** How the revision says it: `ADD CONSTRAINT`, `SET NOT NULL`, `VALIDATE CONSTRAINT`, `CREATE UNIQUE INDEX`. */
  how: string;
}

/** A constraint PROD (or another database) has outside the chain, as the user declares it. */
export interface DeclaredDrift {
  /** The state's name, e.g. `prod-drift`. */
  name: string;
  story: string;
  /** The SQL that was hand-applied at the revision before the target. */
  sql: string;
}

export interface StateInputs {
  /** There is a revision before the target (else only the fresh and migrated states exist). */
  hasPrevious: boolean;
  found: readonly FoundConstraint[];
  rows: RowSearch;
  /** SQL that makes the rows the story of the states: constraints dropped before the rows are written, and put back NOT VALID after. */
  around: { before: string[]; after: string[] };
  interruptions: readonly InterruptionPoint[];
  /** The chain's tool, for the stories of interrupted deploys. */
  tool: string;
  drift: readonly DeclaredDrift[];
}

const asRows = (label: string, rows: readonly RowInsert[], violating?: number): StateStep =>
  fixedRows(label, { sql: rows.map((r) => r.sql), summary: rows.map((r) => r.summary), ...(violating !== undefined ? { violating } : {}) });

/**
 * The starting states of a derived suite, each with what the migration must do from it
 * (SPEC §4): a fresh database; valid rows; per constraint, violating rows; already migrated;
 * stamped but not run; each constraint hand-applied before the target (NOT VALID where it can
 * be, so that a migration that skips an existing constraint leaves a different catalog); each
 * drift the user declares; and the deploy killed at each point where it commits part of its work.
 */
export function derivedStates(inputs: StateInputs): StartingState[] {
  const fresh: StartingState = { name: 'fresh', story: 'A brand-new database: the whole chain runs from nothing.', expect: 'converge', steps: [] };
  if (!inputs.hasPrevious) return [fresh, { name: 'already-migrated', story: 'The chain already ran and is recorded.', expect: 'noop', steps: [migratedTo(target())] }, ...inputs.drift.map((drift): StartingState => ({ name: drift.name, story: drift.story, expect: 'converge', steps: [runSql(drift.story, drift.sql)] }))];
  const { valid, violators } = inputs.rows;
  const before = [migratedTo(beforeTarget()), ...inputs.around.before.map((sql) => runSql('a constraint the rows predate, dropped while they are written', sql))];
  const after = inputs.around.after.map((sql) => runSql('the constraint put back NOT VALID, as it was', sql));
  const withValid = [...before, asRows(`${valid.length} row(s) the pending migration accepts`, valid), ...after];
  const states: StartingState[] = [
    fresh,
    { name: 'valid-rows', story: `At the revision before the target, with ${valid.length} row(s) that satisfy every constraint of the target.`, expect: 'converge', steps: withValid },
  ];
  for (const found of inputs.found) {
    const bad = violators.get(found.fact.name);
    if (!bad?.length) continue;
    const counted = found.fact.kind === 'unique' || found.fact.kind === 'primary key' ? undefined : bad.length;
    states.push({
      name: `violates-${slug(found.fact.name)}`,
      story: `Valid rows plus ${bad.length} that violate ${found.fact.name} (${found.fact.kind} on ${found.table}): the migration must fail and change nothing.`,
      expect: 'fail-atomically',
      steps: [...before, asRows(`${valid.length} valid row(s) and ${bad.length} violating ${found.fact.name}`, [...valid, ...bad], counted), ...after],
    });
  }
  states.push(
    { name: 'already-migrated', story: 'The target already ran and is recorded: deploying again must change nothing.', expect: 'noop', steps: [...withValid, migratedTo(target())] },
    { name: 'stamped-not-run', story: 'The version table says the target ran, but it never did.', expect: 'drift', steps: [...withValid, stampedAt(target())] },
  );
  for (const found of inputs.found) {
    const sql = handApplied(found);
    if (!sql) continue;
    // a UNIQUE cannot be hand-applied NOT VALID: it stands only over rows it accepts, so the rows the migration dedupes itself are left out
    const rows = sql.notValid ? valid : acceptedByUnique(valid, found);
    const steps = rows === valid ? withValid : [...before, asRows(`${rows.length} row(s) the pending migration and ${found.fact.name} accept`, rows), ...after];
    states.push({ name: `hand-applied-${slug(found.fact.name)}`, story: `${found.fact.name} hand-applied before the target ran (${sql.notValid ? 'NOT VALID' : 'as the target defines it'}).`, expect: 'converge', steps: [...steps, runSql(`${found.fact.name} hand-applied`, sql.text)] });
  }
  for (const drift of inputs.drift) {
    const rows = inputs.rows.underDrift.get(drift.name) ?? [];
    states.push({ name: drift.name, story: `${drift.story}, over ${rows.length} row(s) the target and it accept.`, expect: 'converge', steps: [...before, asRows(`${rows.length} row(s) the target and the hand-applied SQL accept`, rows), ...after, runSql(drift.story, drift.sql)] });
  }
  for (const point of inputs.interruptions) states.push(killedState(point, withValid, target(), inputs.tool));
  return states;
}

/** The rows a UNIQUE (or primary key) accepts: of each group with equal values in its columns, the first; a row with a NULL there is never a duplicate. The same array when it accepts them all. */
function acceptedByUnique<R extends RowInsert>(rows: R[], found: FoundConstraint): R[] {
  if (found.fact.kind !== 'unique' && found.fact.kind !== 'primary key') return rows;
  const seen = new Set<string>();
  const accepted = rows.filter((row) => {
    if (lastPart(row.table) !== lastPart(found.table)) return true;
    const values = found.fact.columns.map((column) => row.values[row.names.indexOf(column)]);
    if (values.some((value) => value === undefined || /^NULL\b/i.test(value))) return true;
    const key = values.join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return accepted.length === rows.length ? rows : accepted;
}

/** The SQL that hand-applies a constraint of the target, NOT VALID where PostgreSQL allows it; none for what cannot be hand-applied apart from its column (NOT NULL) or is already there. */
function handApplied(found: FoundConstraint): { text: string; notValid: boolean } | undefined {
  const { fact } = found;
  // a constraint the previous revision already has (replaced or validated by the target) is in every state already
  if (fact.kind === 'not null' || fact.kind === 'primary key' || ['VALIDATE CONSTRAINT', 'validated', 'replaced'].includes(found.how)) return undefined;
  if (fact.definition.startsWith('CREATE UNIQUE INDEX')) return { text: fact.definition, notValid: false };
  const notValid = fact.kind === 'check' || fact.kind === 'foreign key';
  return { text: `ALTER TABLE ${found.table} ADD CONSTRAINT ${quoteIdent(fact.name)} ${fact.definition.replace(/\s+NOT VALID$/, '')}${notValid ? ' NOT VALID' : ''}`, notValid };
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}
