package migrate

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/crypto"
)

// States of a search index in SearchStatus.
const (
	IndexValid   = "valid"   // exists, valid and ready: the proxy uses the terms
	IndexInvalid = "invalid" // left by an interrupted CREATE INDEX CONCURRENTLY (reindex rebuilds it)
	IndexMissing = "missing"
)

// SearchStatus is the state of one ord or match search of an encrypted column.
type SearchStatus struct {
	Search  string `json:"search"`  // "ord" or "match"
	Index   string `json:"index"`   // pgseal's index name (catalog.SearchIndexName)
	State   string `json:"state"`   // IndexValid, IndexInvalid, IndexMissing
	Lacking int64  `json:"lacking"` // non-NULL values without the term
}

// Ready reports whether the proxy uses the search: every value has its term and the index is
// valid (docs/search.md §5).
func (s SearchStatus) Ready() bool { return s.Lacking == 0 && s.State == IndexValid }

// String is the status line's form: "ord:ready", "match:12 lacking,index missing".
func (s SearchStatus) String() string {
	if s.Ready() {
		return s.Search + ":ready"
	}
	out := s.Search + ":"
	if s.Lacking > 0 {
		out += strconv.FormatInt(s.Lacking, 10) + " lacking"
		if s.State != IndexValid {
			out += ","
		}
	}
	if s.State != IndexValid {
		out += "index " + s.State
	}
	return out
}

// searchStatus counts, for an encrypted column, the values lacking each configured search term
// (from the flags byte, without decrypting) and reads the state of each index.
func searchStatus(ctx context.Context, conn *pgx.Conn, g *target, col Column) ([]SearchStatus, error) {
	ixs := searchIndexes(col)
	if len(ixs) == 0 {
		return nil, nil
	}
	c := "t." + q(g.c.name)
	var lackOrd, lackMatch int64
	err := conn.QueryRow(ctx, "SELECT count(*) FILTER (WHERE "+lacksTermsSQL(c, int(crypto.FlagOrd))+"), count(*) FILTER (WHERE "+
		lacksTermsSQL(c, int(crypto.FlagMatch))+") FROM "+g.t.ident()+" t").Scan(&lackOrd, &lackMatch)
	if err != nil {
		return nil, fmt.Errorf("count values lacking terms: %w", err)
	}
	var out []SearchStatus
	for _, ix := range ixs {
		s := SearchStatus{Search: ix.kind, Index: ix.name, State: IndexMissing, Lacking: lackOrd}
		if ix.kind == catalog.IndexMatch {
			s.Lacking = lackMatch
		}
		exists, onTable, valid, err := indexState(ctx, conn, g.t, ix.name)
		if err != nil {
			return nil, err
		}
		if exists && onTable {
			s.State = IndexInvalid
			if valid {
				s.State = IndexValid
			}
		}
		out = append(out, s)
	}
	return out, nil
}
