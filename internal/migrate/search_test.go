package migrate

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
)

// synthEnv lays out an envelope as docs/search.md §1 does, with made-up header, terms and
// ciphertext: enough for the SQL, which reads only the flags, the directory and the terms.
func synthEnv(eq bool, ord []byte, match string) []byte {
	b := append([]byte{1, 1, 0}, make([]byte, 20)...) // version, suite, flags, keyset, generation
	if eq {
		b[2] |= 0x01
		b = append(b, bytes.Repeat([]byte{0xEE}, 16)...)
	}
	if ord != nil || match != "" {
		if ord != nil {
			b[2] |= crypto.FlagOrd
		}
		if match != "" {
			b[2] |= crypto.FlagMatch
		}
		b = append(b, byte(len(ord)>>8), byte(len(ord)), byte(len(match)>>8), byte(len(match)))
		b = append(append(b, ord...), match...)
	}
	return append(b, make([]byte, 44)...) // salt, nonce, ciphertext, tag
}

func synthOrd(i int) []byte { return []byte{0x10, 0x01, byte(i >> 8), byte(i)} }
func synthMatch(i int) string {
	return fmt.Sprintf("k%032x 00ff %04x", 7, i)
}

func searchColumn(t testing.TB, table, name, typ string) Column {
	return mustColumn(t, config.Encrypt{Table: table, Column: name, Type: typ, Search: []string{"eq", "ord", "match"},
		AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"})
}

func TestSearchExprsReadTheLayout(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	for _, eq := range []bool{false, true} {
		env := synthEnv(eq, synthOrd(300), synthMatch(300))
		var ord []byte
		var match []string
		err := conn.QueryRow(ctxT(t), "SELECT "+rewrite.OrdExpr("$1::bytea", eq)+", "+rewrite.MatchExpr("$1::bytea", eq), env).Scan(&ord, &match)
		if err != nil {
			t.Fatalf("eq=%v: %v", eq, err)
		}
		if !bytes.Equal(ord, synthOrd(300)) || strings.Join(match, " ") != synthMatch(300) {
			t.Errorf("eq=%v: ord(c) = %x, match(c) = %q; want %x, %q", eq, ord, match, synthOrd(300), synthMatch(300))
		}
		for _, none := range [][]byte{synthEnv(eq, nil, ""), synthEnv(eq, nil, "k00 ab12"), synthEnv(eq, []byte{1}, "")} {
			var o []byte
			var m []string
			if err := conn.QueryRow(ctxT(t), "SELECT "+rewrite.OrdExpr("$1::bytea", eq)+", "+rewrite.MatchExpr("$1::bytea", eq), none).Scan(&o, &m); err != nil {
				t.Fatal(err)
			}
			if (o == nil) == (none[2]&crypto.FlagOrd != 0) || (m == nil) == (none[2]&crypto.FlagMatch != 0) {
				t.Errorf("eq=%v flags %#x: ord(c) = %x, match(c) = %q; want NULL exactly for a missing term", eq, none[2], o, m)
			}
		}
	}
}

// TestSearchIndexesAndStatus: status counts the values lacking terms and reads the indexes;
// ensureSearchIndexes builds them concurrently, rebuilds an invalid leftover, notifies the
// proxies; the planner uses them for ORDER BY ord(c) and match(c) @> tokens; the catalog then
// reports the column ready.
func TestSearchIndexesAndStatus(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx := ctxT(t)
	db.Exec(t, `CREATE TABLE docs (id int PRIMARY KEY, body bytea)`)
	col := searchColumn(t, "docs", "body", "text")
	put := func(from, to int, full bool) {
		for i := from; i <= to; i++ {
			env := synthEnv(true, nil, "")
			if full {
				env = synthEnv(true, synthOrd(i), synthMatch(i))
			}
			if _, err := conn.Exec(ctx, `INSERT INTO docs VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body`, i, env); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(1, 150, true)
	put(151, 190, false)
	db.Exec(t, `INSERT INTO docs SELECT i, NULL FROM generate_series(191, 200) i; ANALYZE docs`)
	search := func(want ...string) {
		t.Helper()
		st, err := Status(ctx, conn, nil, []Column{col})
		if err != nil {
			t.Fatalf("Status() = %v", err)
		}
		var got []string
		for _, s := range st[0].Search {
			got = append(got, s.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("Status().Search = %v, want %v", got, want)
		}
	}
	search("ord:40 lacking,index missing", "match:40 lacking,index missing")

	g, err := inspectColumn(ctx, conn, col)
	if err != nil {
		t.Fatal(err)
	}
	listener := db.Conn(t)
	if _, err := listener.Exec(ctx, "LISTEN pgseal_catalog"); err != nil {
		t.Fatal(err)
	}
	created, err := ensureSearchIndexes(ctx, conn, g, col, nil)
	ordName, matchName := catalog.SearchIndexName(col.ID, catalog.IndexOrd), catalog.SearchIndexName(col.ID, catalog.IndexMatch)
	if err != nil || !slices.Equal(created, []string{ordName, matchName}) {
		t.Fatalf("ensureSearchIndexes() = %v, %v; want both created", created, err)
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if n, err := listener.WaitForNotification(nctx); err != nil || n.Payload != col.ID {
		t.Fatalf("notification = %+v, %v; want pgseal_catalog %s", n, err, col.ID)
	}
	search("ord:40 lacking", "match:40 lacking")
	checkPlans(t, conn, col, ordName, matchName)

	db.Exec(t, `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"`+ordName+`"'::regclass`)
	search("ord:40 lacking,index invalid", "match:40 lacking")
	if created, err = ensureSearchIndexes(ctx, conn, g, col, nil); err != nil || !slices.Equal(created, []string{ordName}) {
		t.Fatalf("ensureSearchIndexes() over an invalid ord index = %v, %v; want it rebuilt alone", created, err)
	}
	if created, err = ensureSearchIndexes(ctx, conn, g, col, nil); err != nil || len(created) != 0 {
		t.Fatalf("ensureSearchIndexes() again = %v, %v; want nothing to do", created, err)
	}
	put(151, 190, true)
	search("ord:ready", "match:ready")

	info, err := catalog.Load(ctx, conn, []config.Encrypt{{Table: "docs", Column: "body", Type: "text",
		Search: []string{"eq", "ord", "match"}, AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"}})
	if err != nil {
		t.Fatalf("catalog.Load() = %v", err)
	}
	if c := info.Schema.Tables["public.docs"].Encrypted["body"]; !c.OrdReady || !c.MatchReady {
		t.Errorf("catalog: OrdReady/MatchReady = %v/%v, want both", c.OrdReady, c.MatchReady)
	}
}

// checkPlans: with sequential scans off, ORDER BY ord(c) and match(c) @> tokens use pgseal's
// indexes, and the ordered scan returns the rows in their terms' order.
func checkPlans(t *testing.T, conn *pgx.Conn, col Column, ordName, matchName string) {
	t.Helper()
	ctx := ctxT(t)
	c := q(col.Name)
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "RESET enable_seqscan")
	plans := map[string]string{
		ordName:   "SELECT id FROM docs ORDER BY " + rewrite.OrdExpr(c, col.Eq) + " LIMIT 3",
		matchName: "SELECT id FROM docs WHERE " + rewrite.MatchExpr(c, col.Eq) + " @> ARRAY['00ff', '0005']",
	}
	for name, sql := range plans {
		rows, err := conn.Query(ctx, "EXPLAIN "+sql)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, name) {
			t.Errorf("plan of %q does not use %s:\n%s", sql, name, plan)
		}
	}
	rows, _ := conn.Query(ctx, plans[ordName])
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || !slices.Equal(ids, []int32{1, 2, 3}) {
		t.Errorf("ORDER BY ord(c) LIMIT 3 = %v, %v; want [1 2 3]", ids, err)
	}
}
