package clients

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestFleetSharesPostgresKeyring runs two pgseal processes on one `postgres` keyring store (the
// setup of several replicas behind a load balancer) and changes the keyring the way an operator's
// CLI does: a new keyset, a revoked grant and a disabled keyset must be in force in BOTH processes,
// for their already open sessions, within one second (docs/design.md §6, issue 3).
func TestFleetSharesPostgresKeyring(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, runs[len(runs)-1].ddl) // the encrypted run's tables, which proxyConfig(…, true) names
	role := db.Server.CreateRole(t, "app", "unused-with-trust", pgtest.AuthTrust)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	master := base64.StdEncoding.EncodeToString(key)
	krCfg := config.Keyring{Store: "postgres", DSN: db.ConnString(), MasterKeyEnv: masterKeyEnv}
	ctx := context.Background()
	m, err := keyring.OpenManager(ctx, krCfg, func(string) string { return master })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateKeyset(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateClient(ctx, role, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Grant(ctx, "acme", role); err != nil {
		t.Fatal(err)
	}

	bin := buildProxy(t, t.TempDir())
	cfg := strings.Replace(proxyConfig(db.Server.Addr(), "", true),
		"store = \"file\"\npath = \"\"", fmt.Sprintf("store = \"postgres\"\ndsn = %q", db.ConnString()), 1)
	var sessions [2]*pgx.Conn
	for i := range sessions {
		addr := startProxy(t, bin, t.TempDir(), cfg, master)
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", role, addr, db.Name))
		if err != nil {
			t.Fatalf("connect through proxy %d: %v", i, err)
		}
		defer conn.Close(ctx)
		sessions[i] = conn
		if _, err := conn.Exec(ctx, "SET app.tenant = 'acme'"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO users VALUES ($1, 'acme', $2, 'n')", i+1, fmt.Sprintf("u%d@acme.test", i)); err != nil {
			t.Fatalf("insert through proxy %d: %v", i, err)
		}
	}

	// within polls stmt on both sessions until each gives wantCode ("" = success), at most 1s.
	within := func(what, setup, stmt, wantCode string) {
		t.Helper()
		for i, conn := range sessions {
			start := time.Now()
			for {
				_, err := conn.Exec(ctx, setup)
				if err == nil {
					_, err = conn.Exec(ctx, stmt)
				}
				if code := sqlstate(err); code == wantCode {
					t.Logf("%s: in force in proxy %d after %v", what, i, time.Since(start).Round(time.Millisecond))
					break
				} else if time.Since(start) > time.Second {
					t.Fatalf("%s: proxy %d still answers %q (%v) after 1s, want %q", what, i, code, err, wantCode)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	read := "SELECT email FROM users WHERE email = 'u0@acme.test'"

	if _, err := m.CreateKeyset(ctx, "globex", ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Grant(ctx, "globex", role); err != nil {
		t.Fatal(err)
	}
	within("a new keyset granted", "SET app.tenant = 'globex'", "SELECT email FROM users WHERE email = 'nobody@globex.test'", "")

	if err := m.Revoke(ctx, "acme", role); err != nil {
		t.Fatal(err)
	}
	within("a revoked grant", "SET app.tenant = 'acme'", read, "42501")

	if err := m.Grant(ctx, "acme", role); err != nil {
		t.Fatal(err)
	}
	within("the grant given back", "SET app.tenant = 'acme'", read, "")

	if _, err := m.Disable(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	within("a disabled keyset", "SET app.tenant = 'acme'", read, "42501")
}

func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}
