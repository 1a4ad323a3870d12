import type { HistoryEvent } from '../check/model.ts';
import type { Migrator } from '../migrate/index.ts';
import { bySendOrder, formatActual, formatServerError, stepSql, type ServerError, type StepOutcome } from '../sessions/index.ts';
import { stateScript, type StartingState, type StateHistory } from '../states/index.ts';
import type { ConcurrentExecution } from '../groups/concurrency/concurrent-run.ts';
import { sessionName } from '../groups/concurrency/concurrent-run.ts';

/** Which failure a repro is of, and what rebuilds its starting state. */
export interface ReproCase {
  suite: string;
  state: StartingState;
  history: StateHistory;
  migrator: Migrator;
  to: string;
  anchor: string;
  seed: number;
  path: string;
  property: string;
}

const header = (input: ReproCase, comment: string) => [
  `${comment} constraint-harness repro: suite ${input.suite}, state ${input.state.name}, property ${input.property}`,
  `${comment} seed ${input.seed}, path ${input.path}, migrations up to ${input.to} (${input.migrator.chain.format} chain, runner ${input.migrator.runner})`,
];

/** The state's schema and rows, then the migration as its runner sends it, as script lines. */
async function setupLines(input: ReproCase, migrate: boolean): Promise<string[]> {
  const target = await stateScript(input.state, input.history, input.migrator, input.anchor);
  if (migrate) {
    target.lines.push('', `-- ===== deploy: migrate to ${input.to} as ${input.migrator.runner} sends it`);
    await target.migrate(input.to);
  }
  return [`-- ===== state ${input.state.name}: ${input.state.story}`, ...target.lines];
}

/**
 * A self-contained SQL script that rebuilds a failing case on an empty database: the state
 * (its steps, the chain's files as the runner sends them), the migration, then the steps of
 * the minimal failing run with what the model expected and what PostgreSQL did. psql keeps
 * going after an error by default, so the failing step shows its error and the script ends.
 */
export async function reproScript(input: ReproCase, events: readonly HistoryEvent[], mismatchAt: number, expected: string): Promise<string> {
  const out = [...header(input, '--'), '-- Run against an empty database:  psql -X -f repro.sql "postgres://…/empty_db"', '', ...(await setupLines(input, true)), ''];
  out.push(`-- ===== the minimal failing steps (${events.length})`);
  events.forEach((event, index) => {
    const label = event.step.meta?.kind === 'writer' ? event.step.meta.label : event.step.name;
    out.push(`-- step ${index + 1}: ${label}`);
    if (index === mismatchAt) out.push(`--   expected: ${expected}`);
    out.push(`--   actual:   ${formatActual(event.outcome)}`, ...serverLines(event.outcome, '--   '), stepSql(event.step));
  });
  return out.join('\n') + '\n';
}

/** A migration failure: the state with its minimal history, then the migration that does not do what it must. */
export async function migrationScript(input: ReproCase, expected: string, actual: string, error?: ServerError): Promise<string> {
  return [...header(input, '--'), `--   expected: ${expected}`, `--   actual:   ${actual}`, ...serverLines(error, '--   '), '-- Run against an empty database:  psql -X -f repro.sql "postgres://…/empty_db"', '', ...(await setupLines(input, true))].join('\n') + '\n';
}

/**
 * A failing interleaving as a spec in the format of PostgreSQL's isolation tester: a setup
 * block that builds the state on an empty database (migrated, unless session `m` deploys the
 * migration live), one session per flow and `m` for the deploy, each step named
 * `<session>_<n>_<what>`, and the permutation in the order the steps were sent.
 * `constraint-harness replay` runs it on any PostgreSQL; so does isolationtester.
 */
export async function reproSpec(input: ReproCase, run: ConcurrentExecution): Promise<string> {
  const deploying = run.deploySession !== undefined;
  const out = [
    ...header(input, '#'),
    `# flows: ${run.labels.map((label, i) => `s${i + 1} ${label}`).join('; ')}${deploying ? '; m deploys the migration' : ''}`,
    '# replay on an empty database:  npx constraint-harness replay repro.spec --url postgres://…/empty_db',
    '',
  ];
  const setup = (await setupLines(input, !deploying)).filter((line) => line !== '' && !line.startsWith('--'));
  setup.push(...run.setup.map((event) => stepSql(event.step)));
  out.push('setup', '{', ...setup.map((line) => `  ${line.replace(/\n/g, '\n  ')}`), '}', '');
  const names = new Map<string, string>();
  run.programs.forEach((program, session) => {
    const who = sessionName(session, run.deploySession);
    out.push(`session ${who}`);
    program.steps.forEach((step, index) => {
      const name = `${who}_${index + 1}_${step.name.replace(/[^A-Za-z0-9]+/g, '_')}`;
      names.set(`${session}:${index}`, name);
      const event = run.events.find((e) => e.session === session && e.index === index);
      const observed = event ? `${formatActual(event.outcome)}${event.blocked ? ', was blocked' : ''}` : 'not run';
      out.push(`step ${name} { ${stepSql(step).replace(/\s+/g, ' ')} }  # observed: ${observed}`, ...serverLines(event?.outcome, '#   '));
    });
    out.push('');
  });
  out.push(`permutation ${bySendOrder(run.events).map((e) => names.get(`${e.session}:${e.index}`)!).join(' ')}`);
  return out.join('\n') + '\n';
}

/** The server's message, DETAIL and HINT of an error, as comment lines. */
function serverLines(outcome: StepOutcome | undefined, comment: string): string[] {
  return outcome?.kind === 'error' ? formatServerError(outcome).map((line) => `${comment}${line.replace(/\n/g, ' ')}`) : [];
}
