package migrate

import (
	"errors"
	"strconv"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/rewrite"
)

// The SQL of the ord and match terms (docs/search.md §1 and §5), for the indexes `proxy encrypt`
// and `proxy reindex` create. An index serves the proxy's queries only when its expression is
// the one the rewrite writes, so these must stay exactly rewrite-compatible: same functions,
// same constants (offsets already added up), same shape: they are rewrite.OrdExpr and
// rewrite.MatchExpr themselves.

// searchIndex is one of pgseal's search indexes of a column.
type searchIndex struct {
	kind string // catalog.IndexOrd or catalog.IndexMatch
	name string // catalog.SearchIndexName
}

// searchIndexes lists the indexes col's configured searches need, ord first.
func searchIndexes(col Column) []searchIndex {
	var out []searchIndex
	if col.Ord {
		out = append(out, searchIndex{catalog.IndexOrd, catalog.SearchIndexName(col.ID, catalog.IndexOrd)})
	}
	if col.Match {
		out = append(out, searchIndex{catalog.IndexMatch, catalog.SearchIndexName(col.ID, catalog.IndexMatch)})
	}
	return out
}

// searchMask is the flags a value of col must have for every configured search term.
func searchMask(col Column) int {
	m := 0
	if col.Ord {
		m |= int(crypto.FlagOrd)
	}
	if col.Match {
		m |= int(crypto.FlagMatch)
	}
	return m
}

// createIndexSQL is CREATE INDEX [CONCURRENTLY] for ix over column colName of table t.
func createIndexSQL(t *tableInfo, colName string, eq bool, ix searchIndex, concurrently bool) string {
	s := "CREATE INDEX "
	if concurrently {
		s += "CONCURRENTLY "
	}
	s += q(ix.name) + " ON " + t.ident()
	if ix.kind == catalog.IndexMatch {
		return s + " USING gin ((" + rewrite.MatchExpr(q(colName), eq) + "))"
	}
	return s + " ((" + rewrite.OrdExpr(q(colName), eq) + "))"
}

// lacksTermsSQL is the condition "the value t.c lacks a configured term" (NULL values do not):
// an interrupted reindex continues with exactly the values left. A value too short to have a
// flags byte is selected too, so that opening it reports it instead of get_byte failing.
func lacksTermsSQL(c string, mask int) string {
	m := strconv.Itoa(mask)
	return "CASE WHEN length(" + c + ") < 3 THEN true ELSE get_byte(" + c + ", 2) & " + m + " <> " + m + " END"
}

// errNoTerms: Column.Seal wrote a value without a configured ord or match term.
var errNoTerms = errors.New("the sealed value lacks its ord/match terms")

// hasTerms reports whether the envelope env carries every term of mask (flags byte, §1).
func hasTerms(env []byte, mask int) bool { return len(env) > 2 && int(env[2])&mask == mask }
