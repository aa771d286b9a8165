package migrate_test

import (
	"testing"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/migrate"
)

// TestEnvelopeCheckAcceptsProxyWrites: the proxy warns about a column without the CHECK when it
// loads the catalog; once protected, values the proxy writes pass the CHECK, and plaintext written
// on a direct connection does not.
func TestEnvelopeCheckAcceptsProxyWrites(t *testing.T) {
	cols := []config.Encrypt{{Table: "public.users", Column: "email", Type: "text", Search: []string{"eq"}}}
	e := newProxyEnv(t, cols)
	e.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea)`)
	col, err := column.FromConfig(cols[0])
	if err != nil {
		t.Fatal(err)
	}
	app := e.connect(t)
	// The proxy read this database's catalog when the session opened: one warning for the column.
	warned := e.logs.FilterMessageSnippet("no current envelope CHECK").FilterField(zap.String("column", col.ID)).All()
	if len(warned) != 1 || warned[0].ContextMap()["check"] != migrate.CheckMissing {
		t.Fatalf("warnings about the missing CHECK = %v, want one with check=missing", warned)
	}
	if _, err := migrate.Protect(testCtx(t), e.direct, col); err != nil {
		t.Fatalf("Protect() = %v", err)
	}
	if _, err := app.Exec(testCtx(t), `SET app.tenant = 'acme'`); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(testCtx(t), `INSERT INTO users VALUES (1, $1), (2, 'b@x.org'), (3, NULL)`, "a@x.org"); err != nil {
		t.Fatalf("insert through pgseal = %v, want accepted", err)
	}
	if _, err := e.direct.Exec(testCtx(t), `INSERT INTO users VALUES (4, convert_to($1, 'UTF8'))`, "PGSEAL-PLAINTEXT-MARKER-4711"); sqlState(err) != "23514" {
		t.Fatalf("direct plaintext insert = %v, want 23514", err)
	}
	var got string
	if err := app.QueryRow(testCtx(t), `SELECT email FROM users WHERE email = 'b@x.org'`).Scan(&got); err != nil || got != "b@x.org" {
		t.Fatalf("read back through pgseal = %q, %v", got, err)
	}
}
