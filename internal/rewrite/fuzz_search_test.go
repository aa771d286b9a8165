package rewrite

import (
	"fmt"
	"testing"
)

// searchStmt puts markers where order and match searches meet them (docs/search.md §4): range
// comparisons, BETWEEN, LIKE with and without ESCAPE, ORDER BY and min/max, in the contexts where
// they are rewritten and in those where they are refused.
func (g *leakGen) searchStmt() string {
	sql := "SELECT " + g.pickWord("id", "*", "id, body", "min(score)", "max(title), count(*)", "row_number() OVER (ORDER BY score)",
		"id -- c\n", "e.* /* c */") +
		" FROM events e WHERE " + g.searchPred()
	switch g.pick(6) {
	case 1:
		sql += " ORDER BY " + g.pickWord("score", "1", "e.title DESC", `label COLLATE "C"`, "2", "body")
	case 2:
		sql += " LIMIT 5"
	case 3:
		sql = g.pickWord("EXPLAIN %s", "EXPLAIN ANALYZE %s", "DECLARE c CURSOR FOR %s", "COPY (%s) TO STDOUT",
			"WITH w AS (%s) SELECT * FROM w", "SELECT * FROM (%s) s")
		sql = fmt.Sprintf(sql, "SELECT id FROM events e WHERE "+g.searchPred())
	case 4:
		sql = "UPDATE events e SET id = 1 WHERE " + g.searchPred()
	case 5:
		sql += " AND id IN (SELECT id FROM events e WHERE " + g.searchPred() + ")"
	}
	return sql
}

func (g *leakGen) searchPred() string {
	g.depth++
	defer func() { g.depth-- }()
	switch g.pick(9) {
	case 0:
		op := g.pickWord("<", "<=", ">", ">=", "=", "<>", "!=", "IN", "NOT IN", "= ANY", "<> ALL", "IS DISTINCT FROM", "IS NOT DISTINCT FROM")
		switch op {
		case "IN", "NOT IN":
			return g.ordCol() + " " + op + " (" + g.searchVal() + ", " + g.searchVal() + ")"
		case "= ANY", "<> ALL":
			return g.ordCol() + " " + op + "(ARRAY[" + g.searchVal() + ", " + g.searchVal() + "])"
		}
		return g.ordCol() + " " + op + " " + g.searchVal()
	case 1:
		return g.searchVal() + " " + g.pickWord("<", "<=", ">", ">=", "=", "<>", "!=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM") + " " + g.ordCol()
	case 2:
		return g.ordCol() + g.pickWord(" BETWEEN ", " NOT BETWEEN ", " BETWEEN SYMMETRIC ", " NOT BETWEEN SYMMETRIC ") +
			g.searchVal() + " AND " + g.searchVal()
	case 3:
		return g.matchCol() + g.pickWord(" LIKE ", " NOT LIKE ", " ILIKE ", " NOT ILIKE ", " ~~ ", " !~~* ") + g.val() +
			g.pickWord("", " ESCAPE '!'", " ESCAPE ''", " ESCAPE "+g.quoted())
	case 4:
		if g.depth < 3 {
			return g.searchPred() + g.pickWord(" AND ", " OR ") + g.searchPred()
		}
	case 5:
		if g.depth < 3 {
			return "NOT (" + g.searchPred() + ")"
		}
	case 6:
		return g.ordCol() + " < " + g.ordCol()
	case 7:
		return "CASE WHEN " + g.matchCol() + " LIKE " + g.val() + " THEN true END"
	}
	return g.matchCol() + " LIKE " + g.val()
}

func (g *leakGen) searchVal() string {
	if g.pick(3) == 0 {
		return g.num()
	}
	return g.val()
}

func (g *leakGen) ordCol() string {
	return g.pickWord("score", "e.score", "title", `label COLLATE "C"`, "label", "happened", "draft", `"score"`, "(score)", "body")
}

func (g *leakGen) matchCol() string {
	return g.pickWord("body", "e.body", "tag", "title", "stale", "label", "(body)", "lower(body)")
}

// TestSearchLeakSeeds runs the leak oracle over every search statement a few fixed byte streams
// generate, so that `go test` covers them without fuzzing.
func TestSearchLeakSeeds(t *testing.T) {
	s := loadSchema(t)
	for i := 0; i < 3000; i++ {
		data := make([]byte, 24)
		x := uint32(i*2654435761 + 1)
		for j := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[j] = byte(x)
		}
		g := &leakGen{data: data}
		checkNoLeak(t, s, g.searchStmt())
	}
}
