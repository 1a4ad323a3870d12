import type { ConcurrentRecord } from './concurrency-properties.ts';
import { sessionName } from './concurrency-properties.ts';
import { stateSetup, type ReproCase } from './repro-script.ts';
import { inlineParameters } from './sql-literals.ts';
import { formatActual } from '../sessions/step-outcome.ts';

export interface SpecInput extends ReproCase {
  record: ConcurrentRecord;
}

/**
 * A failing interleaving as a spec in the format of PostgreSQL's isolation tester: a setup
 * block that builds the state on an empty database, one session per flow (and `m` for a live
 * deploy), each step named `<session>_<n>_<what>`, and the permutation in the order the steps
 * were sent. `constraint-harness replay` runs it on any PostgreSQL; so does isolationtester.
 */
export function reproSpec(input: SpecInput): string {
  const { record } = input;
  const deploying = record.deploySession !== undefined;
  const out = [
    `# constraint-harness repro: suite ${input.suite}, state ${input.state.name}, property ${input.property}`,
    `# seed ${input.seed}, path ${input.path}, migrations up to ${input.to}${deploying ? ' (deployed by session m)' : ''}`,
    `# flows: ${record.flows.map((flow, i) => `s${i + 1} ${flow}`).join('; ')}`,
    '# replay on an empty database:  npx constraint-harness replay repro.spec --url postgres://…/empty_db',
    '',
  ];
  const setup = stateSetup(input, !deploying).filter((line) => line !== '' && !line.startsWith('--'));
  setup.push(...record.setup.map((step) => `${inlineParameters(step.sql, step.parameters ?? [])};`));
  out.push('setup', '{', ...setup.map((line) => `  ${line}`), '}', '');
  const names = new Map<string, string>();
  record.programs.forEach((program, session) => {
    const who = sessionName(session, record);
    out.push(`session ${who}`);
    program.forEach((step, index) => {
      const name = `${who}_${index + 1}_${step.name.replace(/[^A-Za-z0-9]+/g, '_')}`;
      names.set(`${session}:${index}`, name);
      const event = record.events.find((e) => e.session === session && e.index === index);
      const observed = event ? `${formatActual(event.outcome)}${event.blocked ? ', was blocked' : ''}` : 'not run';
      out.push(`step ${name} { ${inlineParameters(step.sql, step.parameters ?? []).replace(/\s+/g, ' ')}; }  # observed: ${observed}`);
    });
    out.push('');
  });
  const order = record.events.slice().sort((a, b) => a.issued - b.issued).map((e) => names.get(`${e.session}:${e.index}`)!);
  out.push(`permutation ${order.join(' ')}`);
  return out.join('\n') + '\n';
}
