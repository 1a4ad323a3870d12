import pg from 'pg';
import type { SessionStep } from './session-step.ts';

/** A parameter value as a SQL literal, for scripts a person runs in psql. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return `${pg.escapeLiteral(value.toISOString())}::timestamptz`;
  if (typeof value === 'object') return pg.escapeLiteral(JSON.stringify(value));
  return pg.escapeLiteral(String(value));
}

/** Replaces `$1…$n` with literals, so that a compiled query runs on its own. */
export function inlineParameters(sql: string, parameters: readonly unknown[] = []): string {
  if (parameters.length === 0) return sql;
  return sql.replace(/\$(\d+)/g, (placeholder, index: string) => {
    const position = Number(index) - 1;
    return position < parameters.length ? sqlLiteral(parameters[position]) : placeholder;
  });
}

/** A step as one statement of a script: parameters inlined, terminated by a semicolon. */
export function stepSql(step: Pick<SessionStep, 'sql' | 'parameters'>): string {
  const text = inlineParameters(step.sql, step.parameters).trim();
  if (text.endsWith(';')) return text;
  // a text that ends in a line comment (a whole up block) gets its semicolon on a line of its own
  return /--[^\n]*$/.test(text.split('\n').pop() ?? '') ? `${text}\n;` : `${text};`;
}
