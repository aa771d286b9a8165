package seal

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// trustSchema adds, to users, an inheritance child, a partitioned table with a partition, a view,
// and a second schema whose table is named only there.
const trustSchema = sealSchema + `
CREATE TABLE users_child (extra int) INHERITS (users);
CREATE VIEW user_view AS SELECT id, tenant, email FROM users;
CREATE TABLE orders (id int, card bytea, region text) PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
CREATE SCHEMA sec;
CREATE TABLE sec.accounts (id int, email bytea, name text);
`

var trustColumns = append(append([]config.Encrypt(nil), sealColumns...),
	config.Encrypt{Table: "orders", Column: "card", Type: "text"},
	config.Encrypt{Table: "sec.accounts", Column: "email", Type: "text", Search: []string{"eq"}})

// exec runs a simple-protocol statement through conn and returns its SQLSTATE ("" when it ran).
func exec(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	_, err := conn.Exec(ctxT(t), sql, pgx.QueryExecModeSimpleProtocol)
	return stateOf(err)
}

// sealedBy checks that the bytes PostgreSQL holds are an envelope of keyset ks, not plain.
func sealedBy(t *testing.T, direct *pgx.Conn, query, plain string, ks crypto.KeysetID) {
	t.Helper()
	var raw []byte
	if err := direct.QueryRow(context.Background(), query).Scan(&raw); err != nil {
		t.Fatalf("direct %q = %v", query, err)
	}
	if h, err := crypto.ParseHeader(raw); err != nil || h.Keyset != ks || bytes.Contains(raw, []byte(plain)) {
		t.Fatalf("stored by %q = %q (%v), want an envelope of the session's keyset", query, raw, err)
	}
}

func TestSealPoisonedCatalogReadIsNotShared(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", trustSchema, trustColumns)
	victim := e.connect(t, "", "acme")
	evil := e.connect(t, "", "")
	direct := e.direct(t)
	acme := e.keysetID(t, "acme")

	// Shadow format_type (the catalog test shadows operators too), then make the session reload
	// the catalog (a DDL tag) under that search_path.
	for _, sql := range []string{
		"CREATE SCHEMA evil",
		"CREATE FUNCTION evil.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$SELECT 'text'$$",
		"SET search_path = evil, pg_catalog",
		"CREATE TABLE evil.marker ()",
		"SELECT 1",
	} {
		if code := exec(t, evil, sql); code != "" {
			t.Fatalf("evil %q = %s", sql, code)
		}
	}
	if code := exec(t, victim, "INSERT INTO users (id, tenant, email) VALUES (1, 'acme', 'victim@x')"); code != "" {
		t.Fatalf("victim INSERT = %s", code)
	}
	sealedBy(t, direct, "SELECT email FROM users WHERE id = 1", "victim@x", acme)

	// Inside a block the session sees its own uncommitted DDL: email is text there. The victim's
	// INSERT is analysed meanwhile (then waits for the lock) and must not use that read.
	// pgseal refuses DDL on users and DO blocks naming it, so the change comes from a function
	// created around pgseal, whose body pgseal never sees.
	if _, err := direct.Exec(ctxT(t), "CREATE FUNCTION public.swap_email() RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE 'ALTER TABLE users RENAME COLUMN email TO email_old'; EXECUTE 'ALTER TABLE users ADD COLUMN email text'; END$$"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"SET search_path = public", "BEGIN", "SELECT public.swap_email()",
		"CREATE TABLE marker2 ()", "SELECT 1"} {
		if code := exec(t, evil, sql); code != "" {
			t.Fatalf("evil %q = %s", sql, code)
		}
	}
	done := make(chan string, 1)
	go func() {
		_, err := victim.Exec(context.Background(), "INSERT INTO users (id, tenant, email, age) VALUES (2, 'acme', 'victim2@x', 1)", pgx.QueryExecModeSimpleProtocol)
		done <- stateOf(err)
	}()
	if !eventually(10*time.Second, func() bool {
		var n int
		_ = direct.QueryRow(ctxT(t), "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").Scan(&n)
		return n > 0
	}) {
		t.Fatal("the victim's INSERT never waited for the lock")
	}
	if code := exec(t, evil, "ROLLBACK"); code != "" {
		t.Fatalf("evil ROLLBACK = %s", code)
	}
	if code := <-done; code != "" {
		t.Fatalf("victim INSERT after the block = %s, want it to run", code)
	}
	sealedBy(t, direct, "SELECT email FROM users WHERE id = 2", "victim2@x", acme)
}

func TestSealDemotedColumnIsRefused(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	if code := exec(t, conn, "INSERT INTO users (tenant, email, age) VALUES ('acme', 'a@x', 1)"); code != "" {
		t.Fatalf("INSERT = %s", code)
	}
	// Someone able to alter the table turns the encrypted column into text: a catalog read now
	// calls it pending, which would relay plaintext.
	direct := e.direct(t)
	if _, err := direct.Exec(ctxT(t), "ALTER TABLE users ALTER COLUMN email TYPE text USING 'x'"); err != nil {
		t.Fatal(err)
	}
	if code := exec(t, conn, "CREATE TABLE marker ()"); code != "" {
		t.Fatalf("CREATE TABLE = %s", code)
	}
	_, err := conn.Exec(ctxT(t), "INSERT INTO users (tenant, email, age) VALUES ('acme', 'plain@x', 1)", pgx.QueryExecModeSimpleProtocol)
	if pe := pgError(err); pe.Code != sqlstate.FeatureNotSupported || !strings.Contains(pe.Message, "is not bytea any more") {
		t.Fatalf("INSERT after the demotion = %v, want 0A000 refusing the table", err)
	}
	if n := e.p.logs.FilterMessageSnippet("is not bytea any more").Len(); n == 0 {
		t.Error("no error was logged about the demoted column")
	}
	var n int
	if err := direct.QueryRow(ctxT(t), "SELECT count(*) FROM users WHERE email = 'plain@x'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("plaintext rows = %d (%v), want 0", n, err)
	}
}

func TestSealViewsChildrenPartitionsAndSearchPath(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", trustSchema, trustColumns)
	conn := e.connect(t, "", "acme")
	direct := e.direct(t)
	acme := e.keysetID(t, "acme")
	ctx := ctxT(t)

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		for _, sql := range []string{
			"INSERT INTO user_view (tenant, email) VALUES ('acme', 'view@x')",
			"SELECT email FROM user_view",
			"SELECT 1 FROM notes WHERE EXISTS (SELECT 1 FROM public.user_view)",
		} {
			_, err := conn.Exec(ctx, sql, mode)
			if pe := pgError(err); pe.Code != sqlstate.FeatureNotSupported || !strings.Contains(pe.Message, "through a view") {
				t.Errorf("%s %q = %v, want 0A000 through a view", mode, sql, err)
			}
		}
	}
	steps := []struct{ sql, check, plain string }{
		{"INSERT INTO users_child (id, tenant, email, age) VALUES (10, 'acme', 'child@x', 5)",
			"SELECT email FROM users_child WHERE id = 10", "child@x"},
		{"INSERT INTO orders_eu (id, card, region) VALUES (1, '4111-eu', 'eu')",
			"SELECT card FROM orders_eu WHERE id = 1", "4111-eu"},
		{"SET search_path = sec, public", "", ""},
		{"INSERT INTO accounts (id, email, name) VALUES (1, 'MK2', 'n')",
			"SELECT email FROM sec.accounts WHERE id = 1", "MK2"},
	}
	for _, s := range steps {
		if code := exec(t, conn, s.sql); code != "" {
			t.Fatalf("%q = %s", s.sql, code)
		}
		if s.check != "" {
			sealedBy(t, direct, s.check, s.plain, acme)
		}
	}
	// Written through the child, read through the parent and back (same column ID, same AAD).
	reads := []struct{ sql, want string }{
		{"SELECT email FROM users WHERE email = 'child@x'", "child@x"},
		{"SELECT email FROM users_child WHERE id = 10", "child@x"},
		{"SELECT card FROM orders WHERE id = 1", "4111-eu"},
		{"SELECT email FROM accounts WHERE email = 'MK2'", "MK2"},
	}
	for _, r := range reads {
		var got string
		if err := conn.QueryRow(ctx, r.sql).Scan(&got); err != nil || got != r.want {
			t.Errorf("%q = %q, %v, want %q", r.sql, got, err, r.want)
		}
	}
}

func TestSealSearchPathFromStartupOptions(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", trustSchema, trustColumns)
	opts := url.QueryEscape("-c search_path=sec -c app.tenant=acme")
	conn, err := pgx.Connect(ctxT(t), e.p.url("", "", "options="+strings.ReplaceAll(opts, "+", "%20")))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	for i, mode := range allModes {
		if _, err := conn.Exec(ctxT(t), "INSERT INTO accounts (id, email, name) VALUES ($1, $2, 'n')", mode, i, fmt.Sprintf("MK%d", i)); err != nil {
			t.Fatalf("%s INSERT = %v", mode, err)
		}
		sealedBy(t, e.direct(t), fmt.Sprintf("SELECT email FROM sec.accounts WHERE id = %d", i), fmt.Sprintf("MK%d", i), e.keysetID(t, "acme"))
	}
}

// TestSealFailedBlockDefersTheCatalogRead: a stale catalog is not read inside a failed block
// (the server would answer pgseal's query with 25P02 too, and pgseal logged an error for every
// statement until ROLLBACK); statements keep the server's answers, and the read happens after.
func TestSealFailedBlockDefersTheCatalogRead(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	for _, c := range []struct{ sql, code string }{
		// The DDL tag makes the catalog stale and the block fails before any reload could run.
		{"BEGIN; CREATE TABLE r5 (x int); SELECT 1/0", "22012"},
		{"SELECT 1", "25P02"},
		{"SELECT email FROM users", "25P02"},
		{"ROLLBACK", ""},
		{"INSERT INTO users (tenant, email) VALUES ('acme', 'after@x')", ""},
	} {
		if code := exec(t, conn, c.sql); code != c.code {
			t.Fatalf("%s = %q, want %q", c.sql, code, c.code)
		}
	}
	if n := e.p.logs.FilterMessage("catalog: read failed").Len(); n != 0 {
		t.Errorf("catalog: read failed logged %d times, want 0", n)
	}
}
