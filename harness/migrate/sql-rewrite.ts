import { parseSync } from 'libpg-query';
import { deparseSync } from 'pgsql-deparser';

/**
 * Statements rewritten through PostgreSQL's own grammar: a parse tree changed, then printed
 * back by pgsql-deparser and accepted only if it parses to the same tree (so a rewrite never
 * says something the tree does not). Used by mutation testing and by the rehearsal's
 * suggested rewrite.
 */
export function removeCommand(tree: Record<string, unknown>, k: number): Record<string, unknown> {
  const copy = structuredClone(tree) as { AlterTableStmt: { cmds: unknown[] } };
  copy.AlterTableStmt.cmds.splice(k, 1);
  return copy;
}

/** The statement as PostgreSQL's grammar writes it, if it parses back to the same tree (else no mutant). */
export function deparseChecked(tree: Record<string, unknown>): string | undefined {
  let text: string;
  try {
    // not pretty-printed: the pretty printer indents the lines of a multi-line string literal, changing its value
    text = deparseSync({ version: 180000, stmts: [{ stmt: tree }] } as never, { pretty: false });
  } catch {
    return undefined;
  }
  try {
    const back = parseSync(text).stmts?.[0]?.stmt as unknown as Record<string, unknown>;
    return JSON.stringify(withoutLocations(back)) === JSON.stringify(withoutLocations(tree)) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Source positions: where a node, a list (`ARRAY[…]`'s list_start/list_end) or a statement stood in the text. */
const POSITION = /^(location|stmt_location|stmt_len)$|(^|_)list_(start|end)$/;

/** The tree without source positions and without the fields the parser leaves out when they hold a default (false, 0, '', an empty list). */
function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !POSITION.test(key) && v !== false && v !== 0 && v !== '' && !(Array.isArray(v) && v.length === 0))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, v]) => [key, withoutLocations(v)]),
  );
}

