package catalog

import "strings"

// MarkerQuery returns a one-row query whose first column, the marker, changes whenever a row of
// pg_class or pg_attribute of a configured table or of one of its inheritance or partition
// descendants is written, a child is attached or detached, or a configured name comes to mean
// another table: every ALTER TABLE that adds, drops, renames or retypes a column, and every
// table created, dropped, attached or detached in the tree, gives those rows a new xmin. That
// covers every transaction that notifies pgseal_catalog (`proxy encrypt`/`proxy decrypt` alter
// the configured table itself). pgseal's search indexes ("pgseal_…", SearchIndexName) of the
// tree count too, with their valid/ready/live flags: creating one (CONCURRENTLY or not),
// dropping it or its becoming valid moves the marker, since it decides OrdReady/MatchReady
// (CREATE INDEX updates the table's pg_class row in place, keeping its xmin). It does not cover
// views or rules created later (nor does the notification).
//
// The second column is the tree's oids (an oid[] literal). FastMarkerQuery with them computes
// the same marker without finding the tree again, which costs a fifth as much: a pool reset
// checks the marker every time (seal/relisten.go). Its value equals the marker as long as
// the tree is the same, and differs as soon as anything above changes: a new child shows as a
// new pg_inherits row of a member, a table dropped and created again under the same name as
// another to_regclass oid.
//
// xmin is read raw, so freezing does not change it. The value is an md5 of the configured
// names' oids, then "oid:xmin", "attrelid:attnum:xmin" and "inhrelid:inhparent" lists in a fixed
// order. The reads go by pg_class's, pg_attribute's and pg_inherits' oid indexes (= ANY of one
// array: joined with a recursive CTE the planner cannot size, they were sequential scans).
//
// WARNING: as Query, it runs under the session's settings, so it names every function and
// operator with its schema; its literals are escape strings, read alike whatever
// standard_conforming_strings is.
func MarkerQuery(tables []string) string {
	var vals []string
	for _, t := range tables {
		s, n, _ := strings.Cut(t, ".")
		vals = append(vals, "("+literal(s)+"::pg_catalog.name,"+literal(n)+"::pg_catalog.name)")
	}
	return `WITH RECURSIVE conf(nsp, rel) AS (VALUES ` + strings.Join(vals, ",") + `),
tree(oid) AS (
  SELECT c.oid FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  JOIN conf ON conf.nsp OPERATOR(pg_catalog.=) n.nspname AND conf.rel OPERATOR(pg_catalog.=) c.relname
  UNION
  SELECT i.inhrelid FROM tree t
  JOIN pg_catalog.pg_inherits i ON i.inhparent OPERATOR(pg_catalog.=) t.oid
),
ids(o) AS (SELECT COALESCE(pg_catalog.array_agg(oid ORDER BY oid), '{}'::pg_catalog.oid[]) FROM tree)
SELECT ` + markerExpr(tables, "ids.o") + `, ids.o::pg_catalog.text FROM ids`
}

// FastMarkerQuery is MarkerQuery's marker over the tree oids MarkerQuery returned with it.
func FastMarkerQuery(tables []string, tree string) string {
	return `SELECT ` + markerExpr(tables, "("+literal(tree)+"::pg_catalog.oid[])")
}

// markerExpr is the marker of the configured tables over the tree oids arr (an oid[] expression).
func markerExpr(tables []string, arr string) string {
	var regs []string
	for _, t := range tables {
		s, n, _ := strings.Cut(t, ".")
		name := `"` + strings.ReplaceAll(s, `"`, `""`) + `"."` + strings.ReplaceAll(n, `"`, `""`) + `"`
		regs = append(regs, "COALESCE(pg_catalog.to_regclass("+literal(name)+")::pg_catalog.oid, 0::pg_catalog.oid)")
	}
	return `pg_catalog.md5(pg_catalog.concat_ws(';',
  pg_catalog.concat_ws(',', ` + strings.Join(regs, ", ") + `),
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', c.oid, c.xmin), ',' ORDER BY c.oid)
   FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ANY (` + arr + `)),
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', a.attrelid, a.attnum, a.xmin), ',' ORDER BY a.attrelid, a.attnum)
   FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) ANY (` + arr + `)),
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', i.inhrelid, i.inhparent), ',' ORDER BY i.inhrelid, i.inhparent)
   FROM pg_catalog.pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) ANY (` + arr + `)),
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', x.indexrelid, x.indisvalid, x.indisready, x.indislive, x.xmin), ',' ORDER BY x.indexrelid)
   FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) x.indexrelid
   WHERE x.indrelid OPERATOR(pg_catalog.=) ANY (` + arr + `)
     AND pg_catalog.left(ic.relname::pg_catalog.text, 7) OPERATOR(pg_catalog.=) E'pgseal_')))`
}
