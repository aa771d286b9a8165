package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgseal/pgseal/internal/config"
)

// Row is one line of Query's result (Fields columns, in this order).
//
//   - Kind 'c': one column of a configured table or of one of its inheritance or partition
//     descendants (Root is then the configured table's OID; a table reached from several
//     configured tables has one row per root).
//   - Kind 'r': a relation with a rewrite rule that depends, directly or through other such
//     relations, on a configured table, a descendant or an ancestor (Root): views, materialized
//     views, tables with rules. Column, Number, Bytea and Type are empty.
//   - Kind 'a': an ancestor (inheritance parent, partitioned table) of a configured table that
//     is not itself configured or a descendant of one. Same empty fields.
//   - Kind 's': one column of pg_catalog.pg_attribute or information_schema.columns (Root 0,
//     Bytea and Type empty): their column lists, which differ between PostgreSQL versions, for
//     rewrite.CatalogView.
//   - Kind 'i': an index of a configured table (TableOID = Root) named like pgseal's search
//     indexes ("pgseal_…", SearchIndexName): Column is the index name, Bytea whether it is valid,
//     ready and live (usable by queries). Number and Type are empty.
//   - Kind 'd': the database itself; Type is its LC_CTYPE (how ILIKE folds case), all else empty.
type Row struct {
	Kind          byte
	Schema, Table string
	TableOID      uint32
	Root          uint32
	Relkind       string
	Column        string
	Number        int16
	Bytea         bool   // the column's type is pg_catalog.bytea (by OID, not by name)
	Type          string // format_type, for messages only
}

// Fields is the number of columns of Query's result.
const Fields = 10

// Query lists every column of the given tables ("schema.table") and of their descendants, their
// other ancestors, every relation whose rewrite rules depend on any of these, and the configured
// tables' indexes named like pgseal's search indexes (readiness, docs/search.md §5). Its result
// columns match Row.
//
// WARNING: it runs on a client session's own connection, under whatever that session has set
// (search_path, functions and operators of its own schemas, quote_all_identifiers, …). So every
// function, operator, type and relation is schema-qualified (pg_catalog), literals are E'…'
// (standard_conforming_strings does not matter), comparisons are OPERATOR(pg_catalog.=) (IN,
// row comparisons and JOIN … USING would resolve "=" through the search path), and whether a
// column is bytea is decided by its type OID (17), never by format_type's text, which depends on
// the search path and quote_all_identifiers. Casts are not schema objects and only an owner of
// the types involved could add one, which no session can for pg_catalog's types.
func Query(tables []string) string {
	var vals []string
	for _, t := range tables {
		s, n, _ := strings.Cut(t, ".")
		vals = append(vals, "("+literal(s)+"::pg_catalog.name,"+literal(n)+"::pg_catalog.name)")
	}
	return `WITH RECURSIVE conf(nsp, rel) AS (VALUES ` + strings.Join(vals, ",") + `),` + queryBody
}

// queryBody is Query's text after the configured tables' VALUES (see Query for its rules).
const queryBody = `
tree(oid, root) AS (
  SELECT c.oid, c.oid FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  JOIN conf ON conf.nsp OPERATOR(pg_catalog.=) n.nspname AND conf.rel OPERATOR(pg_catalog.=) c.relname
  UNION
  SELECT i.inhrelid, t.root FROM tree t
  JOIN pg_catalog.pg_inherits i ON i.inhparent OPERATOR(pg_catalog.=) t.oid
),
up(oid, root) AS (
  SELECT t.oid, t.root FROM tree t WHERE t.oid OPERATOR(pg_catalog.=) t.root
  UNION
  SELECT i.inhparent, up.root FROM up
  JOIN pg_catalog.pg_inherits i ON i.inhrelid OPERATOR(pg_catalog.=) up.oid
),
dep(oid, root) AS (
  SELECT t.oid, t.root FROM tree t
  UNION
  SELECT up.oid, up.root FROM up
  UNION
  SELECT r.ev_class, dep.root FROM dep
  JOIN pg_catalog.pg_depend d ON d.refobjid OPERATOR(pg_catalog.=) dep.oid
    AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
  JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid
)
SELECT 'c'::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.oid, t.root,
  c.relkind::pg_catalog.text, a.attname::pg_catalog.text, a.attnum,
  a.atttypid OPERATOR(pg_catalog.=) 17::pg_catalog.oid, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM tree t
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.oid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
  AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
UNION ALL
SELECT 'r'::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.oid, d.root,
  c.relkind::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.int2, NULL::pg_catalog.bool, NULL::pg_catalog.text
FROM dep d
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.oid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE EXISTS (SELECT FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) d.oid)
UNION ALL
SELECT 'a'::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.oid, u.root,
  c.relkind::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.int2, NULL::pg_catalog.bool, NULL::pg_catalog.text
FROM up u
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) u.oid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE NOT EXISTS (SELECT FROM tree t WHERE t.oid OPERATOR(pg_catalog.=) u.oid)
UNION ALL
SELECT 'i'::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.oid, t.root,
  c.relkind::pg_catalog.text, ic.relname::pg_catalog.text, NULL::pg_catalog.int2,
  x.indisvalid AND x.indisready AND x.indislive, NULL::pg_catalog.text
FROM tree t
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.oid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
JOIN pg_catalog.pg_index x ON x.indrelid OPERATOR(pg_catalog.=) c.oid
JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) x.indexrelid
WHERE t.oid OPERATOR(pg_catalog.=) t.root
  AND pg_catalog.left(ic.relname::pg_catalog.text, 7) OPERATOR(pg_catalog.=) E'pgseal_'
UNION ALL
SELECT 'd'::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text, 0::pg_catalog.oid, 0::pg_catalog.oid,
  NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.int2, NULL::pg_catalog.bool, d.datctype::pg_catalog.text
FROM pg_catalog.pg_database d
WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
UNION ALL
SELECT 's'::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.oid, 0::pg_catalog.oid,
  c.relkind::pg_catalog.text, a.attname::pg_catalog.text, a.attnum, NULL::pg_catalog.bool, NULL::pg_catalog.text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
  AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(E'pg_catalog.pg_attribute')
  OR c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(E'information_schema.columns')
ORDER BY 1, 2, 3, 5, 8`

// literal quotes s as an escape string constant, whatever standard_conforming_strings is.
func literal(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "E'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Tables returns the distinct "schema.table" names of cols.
func Tables(cols []config.Encrypt) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cols {
		t := strings.ToLower(c.QualifiedTable())
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Load runs Query on conn and builds the Info.
func Load(ctx context.Context, conn *pgx.Conn, cols []config.Encrypt) (*Info, error) {
	if len(cols) == 0 {
		return Build(nil, nil)
	}
	rows, err := conn.Query(ctx, Query(Tables(cols)), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	var out []Row
	for rows.Next() {
		vals := rows.RawValues()
		fields := make([][]byte, len(vals))
		for i, v := range vals {
			if v != nil {
				fields[i] = append([]byte{}, v...)
			}
		}
		r, err := ParseRow(fields)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return Build(cols, out)
}

// ParseRow builds a Row from Query's text-format fields (nil = NULL).
func ParseRow(f [][]byte) (Row, error) {
	if len(f) != Fields || len(f[0]) != 1 || !strings.ContainsRune("crasid", rune(f[0][0])) {
		return Row{}, errors.New("read catalog: unexpected row")
	}
	r := Row{Kind: f[0][0], Schema: string(f[1]), Table: string(f[2]), Relkind: string(f[5])}
	oid, err1 := strconv.ParseUint(string(f[3]), 10, 32)
	root, err2 := strconv.ParseUint(string(f[4]), 10, 32)
	r.TableOID, r.Root = uint32(oid), uint32(root)
	if err := errors.Join(err1, err2); err != nil {
		return Row{}, fmt.Errorf("read catalog: unexpected row: %w", err)
	}
	if r.Kind == 'i' {
		r.Column, r.Bytea = string(f[6]), string(f[8]) == "t"
		return r, nil
	}
	if r.Kind == 'd' {
		r.Type = string(f[9])
		return r, nil
	}
	if r.Kind != 'c' && r.Kind != 's' {
		return r, nil
	}
	n, err := strconv.ParseInt(string(f[7]), 10, 16)
	if err != nil {
		return Row{}, fmt.Errorf("read catalog: unexpected row: %w", err)
	}
	r.Column, r.Number, r.Bytea, r.Type = string(f[6]), int16(n), string(f[8]) == "t", string(f[9])
	return r, nil
}
