package seal

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// cutOver is what `proxy encrypt` does at its cut-over, straight in PostgreSQL.
const cutOver = "BEGIN; DELETE FROM notes; ALTER TABLE notes ALTER COLUMN body TYPE bytea USING NULL; " +
	"SELECT pg_notify('pgseal_catalog', 'public.notes.body'); COMMIT"

// A reset drops pgseal's LISTEN. Sent as a simple Query, pgseal listens again in the reset's own
// round trip (relisten.go), so the cut-over's notification arrives as for any idle session.
// Sent in the extended protocol, pgseal listens again only before the next statement, and the
// notification of a cut-over in between is lost: the marker read with the LISTEN must make the
// session reload before that statement.
func TestSealCatalogNotificationMissedAfterPoolReset(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	for _, reset := range []string{"DISCARD ALL", "UNLISTEN *", "UNLISTEN pgseal_catalog"} {
		for _, extended := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s (extended %v) then a cut-over: the next INSERT encrypts", reset, extended), func(t *testing.T) {
				cutOverAfterReset(t, reset, extended)
			})
		}
	}
}

func cutOverAfterReset(t *testing.T, reset string, extended bool) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, 'before')"); err != nil {
		t.Fatalf("INSERT while pending = %v", err)
	}
	// pgx sends a statement without arguments as a simple Query; ExecParams is the extended
	// protocol's Parse, Bind, Describe, Execute, Sync.
	var err error
	if extended {
		err = conn.PgConn().ExecParams(ctx, reset, nil, nil, nil, nil).Read().Err
	} else {
		_, err = conn.Exec(ctx, reset)
	}
	if err != nil {
		t.Fatalf("%s = %v", reset, err)
	}
	direct := e.direct(t)
	if _, err := direct.Exec(ctx, cutOver); err != nil {
		t.Fatalf("direct cut-over = %v", err)
	}
	if !extended && !eventually(10*time.Second, func() bool { return e.notified() > 0 }) {
		t.Fatalf("the session saw no catalog notification: it is not listening again")
	}
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (2, 'after')"); err != nil {
		t.Fatalf("INSERT after the cut-over = %v", err)
	}
	var raw []byte
	if err := direct.QueryRow(ctx, "SELECT body FROM notes WHERE id = 2").Scan(&raw); err != nil {
		t.Fatalf("direct SELECT = %v", err)
	}
	if h, err := crypto.ParseHeader(raw); err != nil || h.Keyset != e.keysetID(t, "acme") || bytes.Contains(raw, []byte("after")) {
		t.Fatalf("stored body = %x (%v), want an envelope of acme", raw, err)
	}
}

// A statement naming a configured table, pipelined behind the client's DISCARD ALL, cannot wait
// for pgseal's LISTEN (the DISCARD ALL is in flight): it is refused (retry), not planned on a
// catalog that may have missed a notification; the next one, at a safe point, runs.
func TestSealCatalogStatementPipelinedBehindDiscardAllIsRefused(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	rc := e.p.dialRawTenant(t, "acme")
	rc.send(&pgproto3.Query{String: "DISCARD ALL"}, &pgproto3.Query{String: "SELECT id FROM notes"},
		&pgproto3.Query{String: "SELECT 1"})
	if got := rc.until('Z') + rc.until('Z') + rc.until('Z'); got != "CZEZTDCZ" {
		t.Fatalf("responses = %q, want CZ (DISCARD ALL), EZ (refused), TDCZ (SELECT 1)", got)
	}
	rc.send(&pgproto3.Query{String: "SELECT id FROM notes"})
	if got := rc.until('Z'); got != "TCZ" {
		t.Fatalf("responses at a safe point = %q, want TCZ", got)
	}
}

// pgsealStatements counts, in a server log written with log_statement=all, pgseal's own queries.
type pgsealStatements struct{ listens, markers, reads int }

func countPgsealStatements(log []byte) pgsealStatements {
	reads := bytes.Count(log, []byte("pg_catalog.format_type("))
	return pgsealStatements{
		listens: bytes.Count(log, []byte("statement: LISTEN pgseal_catalog")),
		markers: bytes.Count(log, []byte("pg_catalog.md5(")) - reads, // the catalog read begins with a marker
		reads:   reads,
	}
}

// A pool that runs DISCARD ALL at every release: pgseal sends LISTEN and the marker behind each
// DISCARD ALL, in its own round trip (relisten.go), and reads no catalog while nothing
// changed. The LISTEN after the last DISCARD ALL, which no statement follows, shows that they do
// not wait for the next statement.
func TestSealCatalogPoolDiscardAllReadsNoCatalog(t *testing.T) {
	checkGoroutines(t)
	srv := pgtest.Private(t, pgtest.Options{Settings: []string{"log_statement=all"}, LogFile: true})
	e := newSealEnvIn(t, srv.NewDB(t), "multi", sealSchema, sealColumns)
	ctx := ctxT(t)
	// What a pool with an AfterRelease (or reset query) of DISCARD ALL does on its connection;
	// unnamed statements, as DISCARD ALL drops cached ones.
	conn := e.connect(t, "", "acme")
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, 'warm')"); err != nil {
		t.Fatalf("warm-up INSERT = %v", err)
	}
	before, err := srv.Log()
	if err != nil {
		t.Fatalf("Log() = %v", err)
	}
	const requests = 10
	for i := 0; i < requests; i++ {
		var body string
		err := conn.QueryRow(ctx, "SELECT body FROM notes WHERE id = $1", pgx.QueryExecModeExec, 1).Scan(&body)
		if err != nil || body != "warm" {
			t.Fatalf("pooled SELECT %d = %q, %v, want warm", i, body, err)
		}
		if _, err := conn.Exec(ctx, "DISCARD ALL"); err != nil { // the release
			t.Fatalf("DISCARD ALL = %v", err)
		}
	}
	after, err := srv.Log()
	if err != nil {
		t.Fatalf("Log() = %v", err)
	}
	got := countPgsealStatements(after[len(before):])
	t.Logf("%d pooled requests with DISCARD ALL: pgseal sent %d LISTEN, %d marker reads, %d catalog reads",
		requests, got.listens, got.markers, got.reads)
	if got.reads != 0 {
		t.Errorf("catalog reads = %d, want 0 (nothing changed)", got.reads)
	}
	if got.listens != requests || got.markers != requests {
		t.Errorf("LISTEN, markers = %d, %d, want one each behind every DISCARD ALL (%d)", got.listens, got.markers, requests)
	}
	if n := bytes.Count(after[len(before):], []byte("WITH RECURSIVE")); n != 0 {
		t.Errorf("full markers = %d, want only the fast marker over the tree read with the catalog", n)
	}
}

func TestMarkerOf(t *testing.T) {
	tests := []struct {
		name string
		rows [][][]byte
		want string
		ok   bool
	}{
		{"one value is the marker", [][][]byte{{[]byte("abc")}}, "abc", true},
		{"later rows are the catalog's", [][][]byte{{[]byte("abc")}, {[]byte("c"), []byte("x")}}, "abc", true},
		{"no rows is no marker", nil, "", false},
		{"a NULL is no marker", [][][]byte{{nil}}, "", false},
		{"a row of two fields is the marker and its tree", [][][]byte{{[]byte("a"), []byte("{1}")}}, "a", true},
		{"a row of three fields is no marker", [][][]byte{{[]byte("a"), []byte("b"), []byte("c")}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := markerOf(tt.rows)
			if got != tt.want || ok != tt.ok {
				t.Errorf("markerOf() = %q, %v, want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
