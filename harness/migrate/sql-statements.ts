import { loadModule, parseSync, hasSqlDetails } from 'libpg-query';

/** One top-level SQL statement of a migration file, with where it starts. */
export interface SqlStatement {
  sql: string;
  /** 1-based line in the file where the statement starts. */
  line: number;
  /** The parse-tree node type, e.g. `AlterTableStmt`, `TransactionStmt`. */
  kind: string;
  /** For TransactionStmt: BEGIN/COMMIT/…; otherwise undefined. */
  transactionKind?: string;
}

let loaded: Promise<void> | undefined;

/** Loads PostgreSQL's own parser (libpg_query, compiled to WebAssembly). */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/**
 * Splits SQL text into top-level statements with the real PostgreSQL parser, so that
 * semicolons inside strings, dollar quotes and function bodies are handled exactly as the
 * server would. `loadSqlParser()` must have resolved first.
 */
export function splitStatements(text: string, lineOffset = 0): SqlStatement[] {
  const bytes = Buffer.from(text, 'utf8');
  let parsed;
  try {
    parsed = parseSync(text);
  } catch (error) {
    const position = hasSqlDetails(error) ? error.sqlDetails?.cursorPosition ?? 0 : 0;
    const line = lineOffset + lineAt(text, position);
    throw new SqlSyntaxError(error instanceof Error ? error.message : String(error), line);
  }
  return (parsed.stmts ?? []).map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const sql = bytes.subarray(start, end).toString('utf8').trim();
    const node = raw.stmt as Record<string, { kind?: string }>;
    const kind = Object.keys(node)[0] ?? 'Unknown';
    const leading = bytes.subarray(0, start).toString('utf8');
    const skipped = sql.length === 0 ? 0 : leadingBlankLines(bytes.subarray(start, end).toString('utf8'));
    return {
      sql,
      line: lineOffset + leading.split('\n').length + skipped,
      kind,
      transactionKind: kind === 'TransactionStmt' ? node[kind]?.kind : undefined,
    };
  });
}

function leadingBlankLines(text: string): number {
  const match = /^\s*/.exec(text)![0];
  return match.split('\n').length - 1;
}

function lineAt(text: string, charPosition: number): number {
  return text.slice(0, Math.max(0, charPosition)).split('\n').length;
}
