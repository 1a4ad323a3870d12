import type { SqlStatement } from '../migrate/index.ts';
import { show, type Node } from './predicate-mutants.ts';

export type ConstraintKind = 'check' | 'unique' | 'primary key' | 'foreign key' | 'not null' | 'exclude';

/** A path into a statement's parse tree: keys and list indices. */
export type Path = (string | number)[];

/**
 * One constraint a statement adds, wherever it is written: `ALTER TABLE … ADD CONSTRAINT`, a
 * table or column constraint of `CREATE TABLE` or `ADD COLUMN`, `ALTER COLUMN … SET NOT NULL`,
 * a domain's constraint, or `CREATE UNIQUE INDEX`.
 */
export interface ConstraintSite {
  statement: SqlStatement;
  kind: ConstraintKind;
  /** The fields of the node that says it: a Constraint, an IndexStmt, an AlterTableCmd, an AlterDomainStmt. */
  fields: Path;
  /** How it is removed: spliced out of a list, or the whole statement dropped (it does nothing else). */
  removal: { list: Path; index: number } | 'statement';
  /** Its table (`schema.table` as written), or its domain. */
  table?: string;
  domain?: string;
  /** The column it is written on (a column constraint, SET NOT NULL). */
  column?: string;
  /** Its name, when the statement gives one. */
  name?: string;
  /** An ALTER TABLE … ADD CONSTRAINT (the only place NOT VALID applies). */
  added: boolean;
  /** What a person reads: `UNIQUE accounts_tenant_email_key (tenant, email)`. */
  label: string;
}

const CONTYPES: Record<string, ConstraintKind> = {
  CONSTR_CHECK: 'check',
  CONSTR_UNIQUE: 'unique',
  CONSTR_PRIMARY: 'primary key',
  CONSTR_FOREIGN: 'foreign key',
  CONSTR_NOTNULL: 'not null',
  CONSTR_EXCLUSION: 'exclude',
};

/** Every constraint the statements add or replace. */
export function constraintSites(statements: readonly SqlStatement[]): ConstraintSite[] {
  return statements.flatMap((statement) => (statement.tree ? sitesOf(statement) : []));
}

function sitesOf(statement: SqlStatement): ConstraintSite[] {
  const tree = statement.tree!;
  const [type, body] = Object.entries(tree)[0] as [string, Record<string, unknown>];
  const sites: ConstraintSite[] = [];
  const relation = qualified(body.relation as Record<string, unknown> | undefined);
  const base = { statement, table: relation };
  if (type === 'AlterTableStmt') {
    const cmds = body.cmds as Node[];
    cmds.forEach((cmd, k) => {
      const command = cmd.AlterTableCmd as Record<string, unknown>;
      const at: Path = [type, 'cmds', k, 'AlterTableCmd'];
      const removal = cmds.length === 1 ? ('statement' as const) : { list: [type, 'cmds'], index: k };
      if (command.subtype === 'AT_AddConstraint') {
        const site = constraintSite(base, [...at, 'def', 'Constraint'], (command.def as Node).Constraint as Record<string, unknown>, removal, true);
        if (site) sites.push(site);
      }
      if (command.subtype === 'AT_SetNotNull') sites.push({ ...base, kind: 'not null', fields: at, removal, column: String(command.name), added: false, label: `ALTER COLUMN ${String(command.name)} SET NOT NULL` });
      if (command.subtype === 'AT_AddColumn') sites.push(...columnSites(base, [...at, 'def', 'ColumnDef'], (command.def as Node).ColumnDef as Record<string, unknown>));
    });
  }
  if (type === 'CreateStmt') {
    (body.tableElts as Node[] | undefined)?.forEach((element, k) => {
      if (element.ColumnDef) sites.push(...columnSites(base, [type, 'tableElts', k, 'ColumnDef'], element.ColumnDef as Record<string, unknown>));
      if (element.Constraint) {
        const site = constraintSite(base, [type, 'tableElts', k, 'Constraint'], element.Constraint as Record<string, unknown>, { list: [type, 'tableElts'], index: k }, false);
        if (site) sites.push(site);
      }
    });
  }
  if (type === 'CreateDomainStmt') {
    const domain = names(body.domainname as Node[]);
    (body.constraints as Node[] | undefined)?.forEach((element, k) => {
      const site = constraintSite({ statement, domain }, [type, 'constraints', k, 'Constraint'], element.Constraint as Record<string, unknown>, { list: [type, 'constraints'], index: k }, false);
      if (site) sites.push(site);
    });
  }
  if (type === 'AlterDomainStmt') {
    const domain = names(body.typeName as Node[]);
    if (body.subtype === 'C') {
      const site = constraintSite({ statement, domain }, [type, 'def', 'Constraint'], (body.def as Node).Constraint as Record<string, unknown>, 'statement', false);
      if (site) sites.push(site);
    }
    if (body.subtype === 'O') sites.push({ statement, domain, kind: 'not null', fields: [type], removal: 'statement', added: false, label: `ALTER DOMAIN ${domain} SET NOT NULL` });
  }
  if (type === 'IndexStmt' && body.unique) {
    const keys = (body.indexParams as Node[]).map((p) => show({ IndexElem: (p.IndexElem as Record<string, unknown>) }));
    sites.push({ ...base, kind: 'unique', fields: [type], removal: 'statement', name: body.idxname as string | undefined, added: false, label: `UNIQUE INDEX ${String(body.idxname ?? '')} (${keys.join(', ')})`.replace('  ', ' ') });
  }
  return sites;
}

function constraintSite(base: Pick<ConstraintSite, 'statement' | 'table' | 'domain'>, fields: Path, constraint: Record<string, unknown>, removal: ConstraintSite['removal'], added: boolean, column?: string): ConstraintSite | undefined {
  const kind = CONTYPES[String(constraint.contype)];
  if (!kind) return undefined;
  const name = constraint.conname as string | undefined;
  const keys = (constraint.keys as Node[] | undefined)?.map((k) => (k.String as { sval: string }).sval);
  const what =
    kind === 'check' ? `CHECK (${show(constraint.raw_expr as Node)})`
    : kind === 'foreign key' ? `FOREIGN KEY (${names(constraint.fk_attrs as Node[] | undefined, ', ') || column}) REFERENCES ${qualified(constraint.pktable as Record<string, unknown>)}`
    : kind === 'not null' ? 'NOT NULL'
    : `${kind.toUpperCase()}${keys?.length ? ` (${keys.join(', ')})` : ''}`;
  const label = [name, what, column ? `on ${column}` : undefined].filter(Boolean).join(' ');
  return { ...base, kind, fields, removal, name, column, added, label };
}

function columnSites(base: Pick<ConstraintSite, 'statement' | 'table'>, at: Path, column: Record<string, unknown>): ConstraintSite[] {
  const name = String(column.colname);
  return ((column.constraints as Node[] | undefined) ?? []).flatMap((element, k) => {
    const site = constraintSite(base, [...at, 'constraints', k, 'Constraint'], element.Constraint as Record<string, unknown>, { list: [...at, 'constraints'], index: k }, false, name);
    return site ? [site] : [];
  });
}

function qualified(relation: Record<string, unknown> | undefined): string | undefined {
  if (!relation) return undefined;
  return [relation.schemaname, relation.relname].filter(Boolean).join('.');
}

function names(list: Node[] | undefined, separator = '.'): string {
  return (list ?? []).map((n) => (n.String as { sval: string }).sval).join(separator);
}

/** The value at a path of a tree. */
export function at(tree: unknown, path: Path): Record<string, unknown> {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], tree) as Record<string, unknown>;
}
