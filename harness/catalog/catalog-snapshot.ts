import type pg from 'pg';

/**
 * The whole schema a migration can create or change, as PostgreSQL itself prints it: what
 * convergence, idempotency and atomicity compare. Tables, columns, constraints and indexes are
 * typed (other parts of the engine read them); every other kind of object is a named text in
 * `objects`. Row contents are not part of it (see content-fingerprint.ts).
 */
export interface CatalogSnapshot {
  tables: string[];
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
  /** Every other object, and the tables' own attributes (kind `table`). */
  objects: CatalogObject[];
}

export interface ColumnInfo {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** Identity (`always`, `by default`), generated (`stored`, `virtual`), collation, storage and statistics target, when set. */
  attributes: string;
}

export interface ConstraintInfo {
  table: string;
  name: string;
  /** `pg_get_constraintdef`, e.g. `CHECK ((outcome_status IS NULL) OR …)`. */
  definition: string;
  validated: boolean;
  deferrable: boolean;
  deferred: boolean;
}

export interface IndexInfo {
  table: string;
  name: string;
  definition: string;
  /** False for an index a failed CREATE INDEX CONCURRENTLY left behind. */
  valid: boolean;
}

/** The kinds of object `objects` holds. */
export const OBJECT_KINDS = [
  'schema', 'extension', 'table', 'view', 'materialized view', 'sequence', 'function', 'aggregate', 'trigger', 'event trigger', 'rule', 'policy',
  'enum', 'domain', 'composite type', 'range type', 'collation', 'statistics', 'operator', 'cast', 'foreign table', 'foreign server', 'publication', 'privileges', 'comment',
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** One object: its kind, its name (schema-qualified, `schema.table.name` for what belongs to a table), and its definition as PostgreSQL prints it. */
export interface CatalogObject {
  kind: ObjectKind;
  name: string;
  definition: string;
}

/**
 * A user schema: not the system's, not a temporary or TOAST one. (Every object a user creates
 * has an oid from 16384 on, FirstNormalObjectId; initdb's are below it: each source below is
 * filtered by that first, cheaply, before the names are looked at.)
 */
const USER = (schema: string) => `${schema} NOT IN ('pg_catalog', 'information_schema') AND ${schema} !~ '^pg_(toast|temp_|toast_temp_)'`;
/** Not a member of an extension (those come and go with the extension, whose version is compared). */
const OWN = (catalog: string, oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '${catalog}'::regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`;
/** Not made by PostgreSQL along with a type (a range type's constructors and its multirange cast come and go with it). */
const MADE_BY_TYPE = (catalog: string, oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend xi WHERE xi.classid = '${catalog}'::regclass AND xi.objid = ${oid} AND xi.refclassid = 'pg_type'::regclass AND xi.deptype = 'i')`;
const REL = `format('%I.%I', n.nspname, c.relname)`;
/**
 * Privileges as grantee:privilege, the object's owner called "owner": which role ran the
 * migration (a tool's own role, the harness's) is not part of the schema; what it granted is.
 * Owners themselves are left out, as migra's schemainspect and pg-schema-diff leave them out.
 */
const acl = (column: string, owner: string) =>
  `(SELECT string_agg(format('%s:%s%s', CASE WHEN g.grantee = ${owner} THEN 'owner' WHEN g.grantee = 0 THEN 'public' ELSE pg_get_userbyid(g.grantee) END, g.privilege_type, CASE WHEN g.is_grantable THEN ' with grant option' ELSE '' END), ', ' ORDER BY 1) FROM aclexplode(${column}) AS g)`;

/** Comments on objects of the user's schemas, whatever kind of object carries them (the system's own, below oid 16384, are skipped first). */
const COMMENTED = `(
      (d.classoid = 'pg_class'::regclass AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_proc'::regclass AND EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_namespace'::regclass AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_constraint'::regclass AND EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_trigger'::regclass AND EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_policy'::regclass AND EXISTS (SELECT 1 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid = 'pg_rewrite'::regclass AND EXISTS (SELECT 1 FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.oid = d.objoid AND ${USER('n.nspname')}))
   OR (d.classoid IN ('pg_collation'::regclass, 'pg_statistic_ext'::regclass, 'pg_operator'::regclass, 'pg_event_trigger'::regclass, 'pg_foreign_server'::regclass, 'pg_publication'::regclass, 'pg_extension'::regclass) AND d.objoid >= 16384)
  ) AND NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = d.classoid AND xd.objid = d.objoid AND xd.deptype = 'e')`;

/**
 * Everything but tables, columns, constraints and indexes, one row per object: the kinds the
 * schema-diff tools inspect (migra's schemainspect: schemainspect/pg/sql/*.sql; stripe's
 * pg-schema-diff: internal/queries/queries.sql; Atlas: sql/postgres/inspect.go), and what they
 * leave out that a migration can still change (reloptions, replica identity, rules,
 * statistics objects, event triggers, operators, casts, comments on every kind, privileges).
 * Sequences by definition, never by their current value. Definitions are printed by
 * PostgreSQL (pg_get_functiondef, pg_get_triggerdef, pg_get_viewdef, pg_get_expr…) under the
 * session's search_path, the same for every database the harness compares.
 */
const OBJECTS = `
  SELECT 'schema', quote_ident(n.nspname), '' FROM pg_namespace n WHERE ${USER('n.nspname')} AND ${OWN('pg_namespace', 'n.oid')}
  UNION ALL SELECT 'extension', quote_ident(x.extname), format('version %s in schema %s', x.extversion, x.extnamespace::regnamespace) FROM pg_extension x WHERE x.extname <> 'plpgsql'
  UNION ALL SELECT 'table', ${REL}, concat_ws('; ',
      CASE c.relkind WHEN 'p' THEN 'partitioned by ' || pg_get_partkeydef(c.oid) END,
      CASE WHEN c.relispartition THEN 'partition of ' || (SELECT string_agg(i.inhparent::regclass::text, ', ') FROM pg_inherits i WHERE i.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid) END,
      CASE WHEN NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'inherits ' || (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid) END,
      CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary' END,
      CASE WHEN c.relrowsecurity THEN 'row level security' || CASE WHEN c.relforcerowsecurity THEN ' (forced)' ELSE '' END END,
      'replica identity ' || CASE c.relreplident WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full' ELSE 'index ' || coalesce((SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), '?') END,
      CASE WHEN c.reloftype <> 0 THEN 'of type ' || c.reloftype::regtype::text END,
      CASE WHEN c.reloptions IS NOT NULL THEN 'with ' || array_to_string(c.reloptions, ', ') END,
      CASE WHEN c.relam <> 0 THEN 'using ' || (SELECT a.amname FROM pg_am a WHERE a.oid = c.relam) END)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p') AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}
  UNION ALL SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, ${REL},
      concat_ws('; ', rtrim(pg_get_viewdef(c.oid, true), ';'), CASE WHEN c.reloptions IS NOT NULL THEN 'with ' || array_to_string(c.reloptions, ', ') END)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND c.relkind IN ('v', 'm') AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}
  UNION ALL SELECT 'sequence', format('%I.%I', s.schemaname, s.sequencename),
      format('%s start %s increment %s min %s max %s cache %s%s%s', s.data_type, s.start_value, s.increment_by, s.min_value, s.max_value, s.cache_size, CASE WHEN s.cycle THEN ' cycle' ELSE '' END,
        coalesce((SELECT ' owned by ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname) FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1), ''))
    FROM pg_sequences s WHERE ${USER('s.schemaname')} AND ${OWN('pg_class', `(quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass`)}
  UNION ALL SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'function' END, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
      CASE p.prokind WHEN 'a' THEN 'returns ' || pg_get_function_result(p.oid) ELSE pg_get_functiondef(p.oid) END
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384 AND ${USER('n.nspname')} AND ${OWN('pg_proc', 'p.oid')} AND ${MADE_BY_TYPE('pg_proc', 'p.oid')}
  UNION ALL SELECT 'trigger', format('%I.%I.%I', n.nspname, c.relname, t.tgname), pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'O' THEN '' WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (enabled replica)' WHEN 'A' THEN ' (enabled always)' END
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.oid >= 16384 AND NOT t.tgisinternal AND ${USER('n.nspname')} AND ${OWN('pg_trigger', 't.oid')}
  UNION ALL SELECT 'event trigger', quote_ident(e.evtname), format('on %s execute %s%s%s', e.evtevent, e.evtfoid::regprocedure, CASE WHEN e.evttags IS NOT NULL THEN ' when tag in ' || array_to_string(e.evttags, ', ') ELSE '' END, CASE e.evtenabled WHEN 'D' THEN ' (disabled)' ELSE '' END)
    FROM pg_event_trigger e WHERE ${OWN('pg_event_trigger', 'e.oid')}
  UNION ALL SELECT 'rule', format('%I.%I.%I', n.nspname, c.relname, r.rulename), pg_get_ruledef(r.oid) || CASE r.ev_enabled WHEN 'D' THEN ' (disabled)' ELSE '' END
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.oid >= 16384 AND r.rulename <> '_RETURN' AND ${USER('n.nspname')}
  UNION ALL SELECT 'policy', format('%I.%I.%I', n.nspname, c.relname, p.polname),
      concat_ws(' ', CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END, 'for', CASE p.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END,
        'to', (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END, ', ' ORDER BY 1) FROM unnest(p.polroles) AS r),
        'using (' || pg_get_expr(p.polqual, p.polrelid) || ')', 'with check (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.oid >= 16384 AND ${USER('n.nspname')}
  UNION ALL SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type' ELSE 'range type' END, format('%I.%I', n.nspname, t.typname),
      CASE t.typtype
        WHEN 'e' THEN (SELECT string_agg(quote_literal(l.enumlabel), ', ' ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid)
        WHEN 'd' THEN concat_ws(' ', format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype) THEN 'collate ' || t.typcollation::regcollation::text END,
               CASE WHEN t.typdefault IS NOT NULL THEN 'default ' || t.typdefault END, CASE WHEN t.typnotnull THEN 'not null' END,
               (SELECT string_agg(format('constraint %I %s%s', k.conname, pg_get_constraintdef(k.oid), CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END), ' ' ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid))
        WHEN 'c' THEN (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)) || CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = a.atttypid) THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END, ', ' ORDER BY a.attnum)
                       FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
        ELSE (SELECT format('subtype %s', format_type(r.rngsubtype, NULL)) FROM pg_range r WHERE r.rngtypid = t.oid) END
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid >= 16384 AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')) AND ${USER('n.nspname')} AND ${OWN('pg_type', 't.oid')}
  UNION ALL SELECT 'collation', format('%I.%I', n.nspname, l.collname), format('provider %s, collate %s, ctype %s, deterministic %s', l.collprovider, l.collcollate, l.collctype, l.collisdeterministic)
    FROM pg_collation l JOIN pg_namespace n ON n.oid = l.collnamespace WHERE l.oid >= 16384 AND ${USER('n.nspname')} AND ${OWN('pg_collation', 'l.oid')}
  UNION ALL SELECT 'statistics', format('%I.%I', n.nspname, s.stxname), pg_get_statisticsobjdef(s.oid)
    FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE s.oid >= 16384 AND ${USER('n.nspname')} AND ${OWN('pg_statistic_ext', 's.oid')}
  UNION ALL SELECT 'operator', format('%I.%s(%s, %s)', n.nspname, o.oprname, format_type(o.oprleft, NULL), format_type(o.oprright, NULL)), format('function %s returns %s', o.oprcode::regprocedure, format_type(o.oprresult, NULL))
    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid >= 16384 AND ${USER('n.nspname')} AND ${OWN('pg_operator', 'o.oid')}
  UNION ALL SELECT 'cast', format('%s as %s', format_type(k.castsource, NULL), format_type(k.casttarget, NULL)), format('%s, context %s, method %s', CASE WHEN k.castfunc = 0 THEN 'no function' ELSE k.castfunc::regprocedure::text END, k.castcontext, k.castmethod)
    FROM pg_cast k WHERE k.oid >= 16384 AND ${OWN('pg_cast', 'k.oid')} AND ${MADE_BY_TYPE('pg_cast', 'k.oid')}
  UNION ALL SELECT 'foreign table', ${REL}, format('server %s options %s', s.srvname, f.ftoptions)
    FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_foreign_server s ON s.oid = f.ftserver WHERE ${USER('n.nspname')}
  UNION ALL SELECT 'foreign server', quote_ident(s.srvname), format('wrapper %s options %s', w.fdwname, s.srvoptions) FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE ${OWN('pg_foreign_server', 's.oid')}
  UNION ALL SELECT 'publication', quote_ident(p.pubname), format('all tables %s, insert %s, update %s, delete %s, tables %s', p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
      (SELECT string_agg(r.prrelid::regclass::text, ', ' ORDER BY 1) FROM pg_publication_rel r WHERE r.prpubid = p.oid)) FROM pg_publication p
  UNION ALL SELECT 'privileges', format('%s %s', CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END, ${REL}), ${acl('c.relacl', 'c.relowner')}
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}
  UNION ALL SELECT 'privileges', format('column %s.%I', ${REL}, a.attname), ${acl('a.attacl', 'c.relowner')}
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attrelid >= 16384 AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND ${USER('n.nspname')}
  UNION ALL SELECT 'privileges', format('function %I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), ${acl('p.proacl', 'p.proowner')}
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384 AND p.proacl IS NOT NULL AND ${USER('n.nspname')} AND ${OWN('pg_proc', 'p.oid')}
  UNION ALL SELECT 'privileges', format('schema %I', n.nspname), ${acl('n.nspacl', 'n.nspowner')} FROM pg_namespace n WHERE n.nspacl IS NOT NULL AND ${USER('n.nspname')} AND ${OWN('pg_namespace', 'n.oid')}
  UNION ALL SELECT 'privileges', format('type %I.%I', n.nspname, t.typname), ${acl('t.typacl', 't.typowner')} FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid >= 16384 AND t.typacl IS NOT NULL AND ${USER('n.nspname')} AND ${OWN('pg_type', 't.oid')}
  UNION ALL SELECT 'privileges', format('default for %s in %s on %s', pg_get_userbyid(d.defaclrole), coalesce(d.defaclnamespace::regnamespace::text, 'every schema'), d.defaclobjtype), array_to_string(d.defaclacl, ', ') FROM pg_default_acl d
  UNION ALL SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description FROM pg_description d
    WHERE (d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass) AND ${COMMENTED}`;

/**
 * Tables, columns, constraints, indexes and every other object of the user's schemas, in one
 * round trip. Normalised across PostgreSQL versions: NOT NULL constraints, which PostgreSQL 18
 * lists in pg_constraint (contype 'n', named differently by the path that made them), are left
 * out because nullability is already part of each column.
 */
const SNAPSHOT = `
  SELECT
    (SELECT coalesce(json_agg(t ORDER BY t), '[]') FROM (
       SELECT ${REL} AS t
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p') AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}) tables) AS tables,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.position), '[]') FROM (
       SELECT ${REL} AS "table", a.attname AS name, a.attnum AS position,
              format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
              CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
              concat_ws(' ',
                CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END,
                CASE WHEN a.attgenerated <> '' THEN format('GENERATED ALWAYS AS (%s) %s', pg_get_expr(d.adbin, d.adrelid), CASE a.attgenerated WHEN 's' THEN 'STORED' ELSE 'VIRTUAL' END) END,
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = a.atttypid) THEN 'COLLATE ' || a.attcollation::regcollation::text END,
                CASE WHEN a.attstorage <> (SELECT b.typstorage FROM pg_type b WHERE b.oid = a.atttypid) THEN 'STORAGE ' || a.attstorage::text END,
                CASE WHEN coalesce(a.attstattarget::int, -1) >= 0 THEN 'STATISTICS ' || a.attstattarget::text END) AS attributes
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid >= 16384 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}) x) AS columns,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.name), '[]') FROM (
       SELECT ${REL} AS "table", k.conname AS name,
              pg_get_constraintdef(k.oid) AS definition, k.convalidated AS validated,
              k.condeferrable AS deferrable, k.condeferred AS deferred
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE k.oid >= 16384 AND k.contype <> 'n' AND ${USER('n.nspname')}) x) AS constraints,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.name), '[]') FROM (
       SELECT ${REL} AS "table", i.relname AS name, pg_get_indexdef(i.oid) AS definition, ix.indisvalid AS valid
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class c ON c.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE ix.indexrelid >= 16384 AND ${USER('n.nspname')} AND ${OWN('pg_class', 'c.oid')}) x) AS indexes,
    (SELECT coalesce(json_agg(json_build_object('kind', o.kind, 'name', o.name, 'definition', coalesce(o.definition, '')) ORDER BY o.kind, o.name), '[]') FROM (${OBJECTS}) AS o(kind, name, definition)) AS objects`;

export async function snapshotCatalog(client: pg.ClientBase): Promise<CatalogSnapshot> {
  const row = (await client.query<Omit<CatalogSnapshot, 'columns'> & { columns: (ColumnInfo & { position?: number })[] }>({ name: 'ch_catalog_snapshot_v2', text: SNAPSHOT })).rows[0]!;
  return {
    tables: row.tables,
    columns: row.columns.map(({ position: _position, ...column }) => column),
    constraints: row.constraints,
    indexes: row.indexes,
    objects: row.objects,
  };
}
