import type pg from 'pg';
import { connectClient } from '../postgres/connect.ts';
import { formatActual } from './step-outcome.ts';
import { InterleavingExecutor } from './interleaving-executor.ts';
import { bySendOrder, durationOf, type Program, type StepEvent } from './session-step.ts';

/** An isolation-tester spec: setup SQL, sessions of named steps, permutations of step names. */
export interface IsolationSpec {
  setup: string[];
  teardown: string[];
  sessions: { name: string; steps: { name: string; sql: string }[] }[];
  permutations: string[][];
}

/**
 * Parses the subset of PostgreSQL's isolation-tester spec format that `repro` writes:
 * `setup { … }`, `teardown { … }`, `session name` with `step name { … }`, and
 * `permutation a b c`; `#` starts a comment outside braces.
 */
export function parseIsolationSpec(text: string): IsolationSpec {
  const spec: IsolationSpec = { setup: [], teardown: [], sessions: [], permutations: [] };
  let at = 0;
  const skip = () => {
    for (;;) {
      while (at < text.length && /\s/.test(text[at]!)) at++;
      if (text[at] !== '#') return;
      while (at < text.length && text[at] !== '\n') at++;
    }
  };
  const word = () => {
    skip();
    const match = /^[A-Za-z0-9_"]+/.exec(text.slice(at));
    if (!match) throw new Error(`spec: expected a word at offset ${at}: ${JSON.stringify(text.slice(at, at + 30))}`);
    at += match[0].length;
    return match[0].replace(/"/g, '');
  };
  const block = () => {
    skip();
    if (text[at] !== '{') throw new Error(`spec: expected { at offset ${at}`);
    const end = text.indexOf('}', at);
    if (end < 0) throw new Error('spec: unterminated { block');
    const sql = text.slice(at + 1, end).trim();
    at = end + 1;
    return sql;
  };
  for (skip(); at < text.length; skip()) {
    const keyword = word();
    if (keyword === 'setup') {
      const sql = block();
      if (spec.sessions.length === 0) spec.setup.push(sql);
    } else if (keyword === 'teardown') {
      const sql = block();
      if (spec.sessions.length === 0) spec.teardown.push(sql);
    } else if (keyword === 'session') {
      spec.sessions.push({ name: word(), steps: [] });
    } else if (keyword === 'step') {
      const session = spec.sessions[spec.sessions.length - 1];
      if (!session) throw new Error('spec: step outside a session');
      session.steps.push({ name: word(), sql: block() });
    } else if (keyword === 'permutation') {
      const end = text.indexOf('\n', at);
      const line = text.slice(at, end < 0 ? text.length : end).replace(/#.*$/, '');
      at = end < 0 ? text.length : end;
      spec.permutations.push(line.trim().split(/\s+/).filter(Boolean).map((name) => name.replace(/"/g, '')));
    } else {
      throw new Error(`spec: unexpected "${keyword}"`);
    }
  }
  return spec;
}

export interface SpecReplay {
  setupError?: string;
  events: StepEvent[];
  /** The permutation as it ran, blocked steps marked with `*`. */
  permutation: string;
  lines: string[];
}

/** Runs a spec's setup and its first permutation with the interleaving executor. */
export async function replayIsolationSpec(spec: IsolationSpec, config: pg.ClientConfig): Promise<SpecReplay> {
  const control = await connectClient(config);
  try {
    for (const sql of spec.setup) await control.query(sql);
  } catch (error) {
    await control.end();
    return { setupError: (error as Error).message, events: [], permutation: '', lines: [`setup failed: ${(error as Error).message}`] };
  }
  await control.end();
  const where = new Map<string, { session: number; index: number }>();
  spec.sessions.forEach((session, s) => session.steps.forEach((step, i) => where.set(step.name, { session: s, index: i })));
  const permutation = spec.permutations[0] ?? spec.sessions.flatMap((session) => session.steps.map((step) => step.name));
  const schedule = permutation.map((name) => {
    const found = where.get(name);
    if (!found) throw new Error(`spec: permutation names unknown step ${name}`);
    return found.session;
  });
  const programs: Program[] = spec.sessions.map((session) => ({ steps: session.steps.map((step) => ({ name: step.name, sql: step.sql })) }));
  const executor = await InterleavingExecutor.connect(config, spec.sessions.length);
  try {
    const events = await executor.run(programs, schedule);
    const ran = bySendOrder(events).map((e) => `${e.step.name}${e.blocked ? '*' : ''}`).join(' ');
    return {
      events,
      permutation: ran,
      lines: [`permutation ${ran}`, ...events.map((e) => `${e.step.name}: ${formatActual(e.outcome)}${e.blocked ? ` (blocked ${durationOf(e).toFixed(1)} ms)` : ''}`)],
    };
  } finally {
    await executor.close();
  }
}
