package catalog

import "strings"

// MarkerQuery returns a one-row, one-column query whose value changes whenever a row of
// pg_class or pg_attribute of a configured table or of one of its inheritance or partition
// descendants is written: every ALTER TABLE that adds, drops, renames or retypes a column, and
// every table created, dropped, attached or detached in the tree, gives those rows a new xmin.
// That covers every transaction that notifies pgseal_catalog (`proxy encrypt`/`proxy decrypt`
// alter the configured table itself). It does not cover views or rules created later (nor does
// the notification).
//
// The tree's oids go to the two reads as one array, so that they use pg_class's and pg_attribute's
// oid indexes (joined with the recursive CTE, whose size the planner cannot know, they were
// sequential scans: ≈ 0.75 ms of the server's time at every pool reset).
//
// xmin is read raw, so freezing does not change it. The value is an md5 of "oid:xmin" and
// "attrelid:attnum:xmin" lists ordered by the columns' types' default btree opclasses.
//
// WARNING: as Query, it runs under the session's settings, so it names every function and
// operator with its schema; its literals contain no backslash.
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
ids(o) AS (SELECT pg_catalog.array_agg(oid) FROM tree)
SELECT pg_catalog.md5(pg_catalog.concat_ws(';',
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', c.oid, c.xmin), ',' ORDER BY c.oid)
   FROM ids, pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ANY (ids.o)),
  (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', a.attrelid, a.attnum, a.xmin), ',' ORDER BY a.attrelid, a.attnum)
   FROM ids, pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) ANY (ids.o))))`
}
