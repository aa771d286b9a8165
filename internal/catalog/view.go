package catalog

import (
	"sort"
	"strings"

	"github.com/pgseal/pgseal/internal/rewrite"
)

// catalogView fills Schema.Catalog: every encrypted column of a configured table or descendant
// with its plaintext type, and the column lists of the two catalog relations (Query's 's' rows),
// so that catalog introspection through pgseal shows the plaintext schema. Pending columns are
// left out: they still have their plaintext type. The typmod comes from [[encrypt]] modifiers
// (-1 without: varchar(120) configured without modifiers shows as character varying).
func (info *Info) catalogView(rows []Row) {
	v := &rewrite.CatalogView{}
	for _, r := range rows {
		if r.Kind != 's' {
			continue
		}
		switch r.Schema + "." + r.Table {
		case "pg_catalog.pg_attribute":
			v.AttributeColumns = append(v.AttributeColumns, r.Column)
		case "information_schema.columns":
			v.ColumnsColumns = append(v.ColumnsColumns, r.Column)
		}
	}
	for a, col := range info.ByAttr {
		sch, table, _ := strings.Cut(info.Tables[a.Table], ".")
		v.Attrs = append(v.Attrs, rewrite.PatchedAttr{
			Schema: sch, Table: table, Column: info.Columns[a],
			Relid: a.Table, Attnum: a.Number,
			TypeOID: info.Types[col.ID].OID(), Typmod: info.typmods[col.ID],
		})
	}
	// Deterministic text: the replacement is part of rendered SQL and of cached plans.
	sort.Slice(v.Attrs, func(i, j int) bool {
		if v.Attrs[i].Relid != v.Attrs[j].Relid {
			return v.Attrs[i].Relid < v.Attrs[j].Relid
		}
		return v.Attrs[i].Attnum < v.Attrs[j].Attnum
	})
	if len(v.Attrs) > 0 {
		info.Schema.Catalog = v
	}
}
