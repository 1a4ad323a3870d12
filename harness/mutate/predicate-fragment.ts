import { show, type Node } from './predicate-mutants.ts';

/**
 * How a predicate uses one column: only in NULL tests, with equality against constants and
 * other columns, or also with ordering (`<`, BETWEEN…); the constants it is compared with (as
 * SQL), and the columns it is compared with.
 */
export interface ColumnUse {
  nullTestsOnly: boolean;
  ordered: boolean;
  constants: Set<string>;
  peers: Set<string>;
  /** Used as a condition on its own (a boolean column). */
  asCondition: boolean;
}

export type Fragment = { inside: true; columns: Map<string, ColumnUse> } | { inside: false; why: string };

const EQUALITY = new Set(['=', '<>', '!=']);
const ORDERING = new Set(['<', '<=', '>', '>=']);

/**
 * Whether predicates lie in the fragment where equivalence is decided exactly: boolean
 * structure (AND, OR, NOT, IS [NOT] TRUE/FALSE/UNKNOWN) over NULL tests, comparisons of a column
 * with a constant or with another column (=, <>, <, <=, >, >=, IN, = ANY (ARRAY[…]), BETWEEN,
 * IS [NOT] DISTINCT FROM), boolean columns and constants. In it, the truth of every atom depends only on where
 * each column's value lies relative to the constants and to the other columns (or, for
 * equality alone, on which of them it equals): a finite partition of the rows, complete when
 * every part has a row. Anything else (a function call, arithmetic, LIKE, a regular
 * expression, a cast of a column, a subquery) is outside, and never called equivalent.
 */
export function analyseFragment(predicates: readonly Node[]): Fragment {
  const columns = new Map<string, ColumnUse>();
  const use = (name: string) => {
    let found = columns.get(name);
    if (!found) columns.set(name, (found = { nullTestsOnly: true, ordered: false, constants: new Set(), peers: new Set(), asCondition: false }));
    return found;
  };
  const outside = (node: Node): string | undefined => {
    const [type, fields] = entry(node);
    switch (type) {
      case 'BoolExpr':
        return firstOf((fields.args as Node[]).map(outside));
      case 'NullTest': {
        const arg = fields.arg as Node;
        const column = columnOf(arg);
        if (column !== undefined) {
          use(column);
          return undefined;
        }
        return outside(arg);
      }
      case 'BooleanTest': {
        const arg = fields.arg as Node;
        const column = columnOf(arg);
        if (column !== undefined) {
          Object.assign(use(column), { nullTestsOnly: false, asCondition: true });
          return undefined;
        }
        return outside(arg);
      }
      case 'ColumnRef': {
        const column = columnOf(node);
        if (column === undefined) return `${show(node)} is not a plain column`;
        Object.assign(use(column), { nullTestsOnly: false, asCondition: true });
        return undefined;
      }
      case 'A_Const':
        return undefined;
      case 'A_Expr':
        return comparison(fields);
      default:
        return `${show(node)} (${type}) is outside the decided fragment`;
    }
  };
  const comparison = (fields: Record<string, unknown>): string | undefined => {
    const kind = fields.kind as string;
    const op = ((fields.name as Node[] | undefined)?.[0]?.String as { sval?: string } | undefined)?.sval ?? '';
    const left = fields.lexpr as Node;
    const right = fields.rexpr as Node;
    const text = show({ A_Expr: fields });
    const operands = (sides: Node[], ordered: boolean): string | undefined => {
      const names = sides.map(columnOf);
      const bad = sides.find((side, i) => names[i] === undefined && constantOf(side) === undefined);
      if (bad) return `${text}: ${show(bad)} is neither a column nor a constant`;
      const present = names.filter((n): n is string => n !== undefined);
      for (const name of present) {
        const u = use(name);
        u.nullTestsOnly = false;
        u.ordered ||= ordered;
        for (const side of sides) {
          const constant = constantOf(side);
          if (constant !== undefined && !isNullConstant(side)) u.constants.add(constant);
        }
        for (const other of present) if (other !== name) u.peers.add(other);
      }
      return undefined;
    };
    switch (kind) {
      case 'AEXPR_OP':
        if (EQUALITY.has(op)) return operands([left, right], false);
        if (ORDERING.has(op)) return operands([left, right], true);
        return `${text}: operator ${op} is outside the decided fragment`;
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT':
        return operands([left, right], false);
      case 'AEXPR_IN':
        return operands([left, ...listItems(right)], false);
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL': {
        // x = ANY (ARRAY[…]) as pg_dump prints an IN list; x <> ALL (ARRAY[…]) a NOT IN
        const elements = arrayConstants(right);
        if (!elements) return `${text}: only an ARRAY of constants is decided after ANY or ALL`;
        if (EQUALITY.has(op)) return operands([left, ...elements], false);
        if (ORDERING.has(op)) return operands([left, ...elements], true);
        return `${text}: operator ${op} is outside the decided fragment`;
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM':
        return operands([left, ...listItems(right)], true);
      default:
        return `${text} (${kind}) is outside the decided fragment`;
    }
  };
  const why = firstOf(predicates.map(outside));
  return why === undefined ? { inside: true, columns } : { inside: false, why };
}

function entry(node: Node): [string, Record<string, unknown>] {
  return Object.entries(node)[0] as [string, Record<string, unknown>];
}

function firstOf(reasons: (string | undefined)[]): string | undefined {
  return reasons.find((reason) => reason !== undefined);
}

/** The elements of `ARRAY[c1, c2]` (cast or not), when every one is a constant. */
function arrayConstants(node: Node): Node[] | undefined {
  const [type, fields] = entry(node);
  if (type === 'TypeCast') return arrayConstants(fields.arg as Node);
  if (type !== 'A_ArrayExpr') return undefined;
  const elements = (fields.elements as Node[] | undefined) ?? [];
  return elements.every((element) => constantOf(element) !== undefined) ? elements : undefined;
}

function listItems(node: Node): Node[] {
  const [type, fields] = entry(node);
  if (type === 'List') return (fields.items as Node[]) ?? [];
  return [node];
}

/** The column a plain column reference names (its last field), or undefined. */
export function columnOf(node: Node): string | undefined {
  const [type, fields] = entry(node);
  if (type !== 'ColumnRef') return undefined;
  const parts = fields.fields as { String?: { sval: string } }[];
  const last = parts[parts.length - 1]?.String?.sval;
  return last;
}

/** A constant as SQL (a literal, possibly cast: `'2020-01-01'::date`), or undefined. */
export function constantOf(node: Node): string | undefined {
  const [type, fields] = entry(node);
  if (type === 'A_Const') return show(node);
  if (type === 'TypeCast' && entry(fields.arg as Node)[0] === 'A_Const') return show(node);
  return undefined;
}

function isNullConstant(node: Node): boolean {
  const [type, fields] = entry(node);
  return type === 'A_Const' && fields.isnull === true;
}
