package migrate

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/rewrite"
)

// TestEncryptBuildsSearchIndexes: encrypting columns with ord and match search builds their
// indexes at the cut-over, so status and the catalog report them ready at once; ORDER BY ord(c)
// returns the plaintext order through the index; decrypt drops them with the column's other
// indexes.
func TestEncryptBuildsSearchIndexes(t *testing.T) {
	f := newFixture(t, tenants...)
	score := mustColumn(t, config.Encrypt{Table: "items", Column: "score", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}})
	title := mustColumn(t, config.Encrypt{Table: "items", Column: "title", Type: "text", Search: []string{"eq", "match"}, AcceptLeakage: []string{"match"}})
	f.exec(t, `CREATE TABLE items (id int PRIMARY KEY, score int4, title text)`)
	f.exec(t, `INSERT INTO items SELECT i, (i * 7919) % 1000 - 500, 'item ' || i FROM generate_series(1, 2000) i`)
	for _, col := range []Column{score, title} {
		if _, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{Keyset: "acme"}); err != nil {
			t.Fatalf("Encrypt(%s) = %v", col.Name, err)
		}
	}
	st, err := Status(ctxT(t), f.conn, f.snap(), []Column{score, title})
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]string{searchLineOf(st[0]), searchLineOf(st[1])}; got != [2]string{"ord:ready", "match:ready"} {
		t.Errorf("status after encrypt = %v, want ord:ready, match:ready", got)
	}
	info, err := catalog.Load(ctxT(t), f.conn, []config.Encrypt{
		{Table: "items", Column: "score", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
		{Table: "items", Column: "title", Type: "text", Search: []string{"eq", "match"}, AcceptLeakage: []string{"match"}}})
	if err != nil {
		t.Fatalf("catalog.Load() = %v", err)
	}
	if e := info.Schema.Tables["public.items"].Encrypted; !e["score"].OrdReady || !e["title"].MatchReady {
		t.Errorf("catalog: score OrdReady = %v, title MatchReady = %v; want both", e["score"].OrdReady, e["title"].MatchReady)
	}
	rows, err := f.conn.Query(ctxT(t), "SELECT id FROM items ORDER BY "+rewrite.OrdExpr(q("score"), false)+", id")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(ids) != 2000 {
		t.Fatalf("ORDER BY ord(score): %d rows, %v", len(ids), err)
	}
	want := make([]int32, 0, len(ids))
	for i := int32(1); i <= 2000; i++ {
		want = append(want, i)
	}
	slices.SortStableFunc(want, func(a, b int32) int { return int((a*7919)%1000) - int((b*7919)%1000) })
	if !slices.Equal(ids, want) {
		t.Error("ORDER BY ord(score) is not the plaintext order")
	}
	if _, err := Decrypt(ctxT(t), f.conn, f.snap(), score, DecryptOptions{}); err != nil {
		t.Fatalf("Decrypt(score) = %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM pg_class WHERE relname = $1`, catalog.SearchIndexName(score.ID, catalog.IndexOrd)); n != 0 {
		t.Error("decrypt left the ord index")
	}
}

// searchLineOf joins a status's Search fields.
func searchLineOf(s ColumnStatus) string {
	var parts []string
	for _, x := range s.Search {
		parts = append(parts, x.String())
	}
	return strings.Join(parts, " ")
}
