package migrate

import "github.com/pgseal/pgseal/internal/column"

// encryptCutover: drop the triggers, swap the column's type in place (USING the shadow, which
// keeps the column's position), drop the shadow, rebuild indexes on the equality term, add the
// envelope CHECK (envcheck.go) with its version comment, create the ord and match indexes of a
// column with those searches. Unique indexes become unique indexes on
// the term; other convertible indexes become term indexes when the column has equality search;
// the rest are dropped.
func encryptCutover(m *migration) (stmts, converted, dropped []string, keep []indexInfo) {
	g, tbl, col := m.g, m.g.t.ident(), q(m.g.c.name)
	stmts = []string{
		"DROP TRIGGER IF EXISTS " + q(g.triggerIns()) + " ON " + tbl,
		"DROP TRIGGER IF EXISTS " + q(g.triggerUpd()) + " ON " + tbl,
	}
	var create []string
	for _, ix := range g.indexes {
		stmts = append(stmts, dropIndexSQL(g.t, ix))
		if g.col.Eq && convertibleIndex(ix) {
			create = append(create, indexWithKey(g.t, ix, g.c.num, g.termExpr()))
			converted = append(converted, ix.Name)
		} else {
			dropped = append(dropped, ix.Name)
		}
	}
	stmts = append(stmts,
		"ALTER TABLE "+tbl+" ALTER COLUMN "+col+" TYPE bytea USING "+q(g.shadowName()),
		"ALTER TABLE "+tbl+" DROP COLUMN "+q(g.shadowName()))
	stmts = append(stmts, create...)
	// Every value was sealed with all configured terms (Column.Seal), so the ord and match
	// indexes (docs/search.md §5) are built here, under the cut-over's lock like the term
	// indexes: the proxy may use the terms from the cut-over's NOTIFY on.
	for _, ix := range searchIndexes(g.col) {
		stmts = append(stmts, createIndexSQL(g.t, g.c.name, g.col.Eq, ix, false))
	}
	stmts = append(stmts,
		"ALTER TABLE "+tbl+" ADD CONSTRAINT "+q(g.checkName())+" "+column.CheckClause(col),
		commentCheckSQL(g),
		"DROP FUNCTION IF EXISTS "+g.staleFunc()+"()")
	m.origType = g.c.fullType
	return stmts, converted, dropped, g.indexes
}
