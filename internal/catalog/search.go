package catalog

import (
	"crypto/sha256"
	"encoding/hex"
)

// Search index kinds (docs/search.md §5).
const (
	IndexOrd   = "ord"   // btree over ord(c)
	IndexMatch = "match" // gin over match(c)
)

// SearchIndexName is the name of pgseal's index of one kind (IndexOrd, IndexMatch) for the
// column with this id ("schema.table.column"): pgseal_<first 16 hex digits of SHA-256(id)>_<kind>.
// The tooling creates the indexes under these names and the catalog finds them by them.
func SearchIndexName(id, kind string) string {
	sum := sha256.Sum256([]byte(id))
	return "pgseal_" + hex.EncodeToString(sum[:8]) + "_" + kind
}

// searchIndexes maps the configured tables' pgseal-named indexes (Query's 'i' rows) to whether
// they are valid and ready, by table OID and index name.
func searchIndexes(rows []Row) map[uint32]map[string]bool {
	out := map[uint32]map[string]bool{}
	for _, r := range rows {
		if r.Kind != 'i' {
			continue
		}
		if out[r.TableOID] == nil {
			out[r.TableOID] = map[string]bool{}
		}
		out[r.TableOID][r.Column] = r.Bytea
	}
	return out
}

// ready sets OrdReady and MatchReady on the configured (not pending) columns of each root table:
// the column has the search and pgseal's index for it exists on the configured table, valid
// and ready. Descendants share the root's *rewrite.Column.
func (info *Info) ready(rows []Row, conf map[uint32][]configured) {
	idx := searchIndexes(rows)
	for oid, cs := range conf {
		valid := idx[oid]
		for _, c := range cs {
			if c.col == nil {
				continue
			}
			c.col.OrdReady = c.col.Ord && valid[SearchIndexName(c.id, IndexOrd)]
			c.col.MatchReady = c.col.Match && valid[SearchIndexName(c.id, IndexMatch)]
		}
	}
}
