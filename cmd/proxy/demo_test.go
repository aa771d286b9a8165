package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/value"
	"github.com/pgseal/pgseal/internal/wire"
)

// TestSetupDemo runs the dev demo's setup against a real PostgreSQL and checks what it promises:
// a keyring the proxy can open, an [[encrypt]] entry that validates, rows stored only as sealed
// envelopes under each tenant's keyset, and a printout that shows each stored prefix next to the
// plaintext.
func TestSetupDemo(t *testing.T) {
	pg := pgtest.Shared(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Upstream.Address = pg.Addr()
	cfg.Keyring.Path = filepath.Join(dir, "keyring.json")
	// A variable of the test's own, restored afterwards: setupDemo sets it in the process env.
	cfg.Keyring.MasterKeyEnv = "PGSEAL_TEST_DEMO_MASTER_KEY"
	t.Setenv(cfg.Keyring.MasterKeyEnv, "")
	ctx := context.Background()
	// The demo writes into the cluster's postgres database, as `proxy dev` does.
	t.Cleanup(func() { _ = pg.Exec(context.Background(), "DROP TABLE IF EXISTS "+demoTable) })

	out, err := setupDemo(ctx, pg.Server, cfg, dir)
	if err != nil {
		t.Fatalf("setupDemo() = %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("cfg.Validate() after setupDemo = %v", err)
	}
	if len(cfg.Encrypt) != 1 || cfg.Encrypt[0].QualifiedTable() != demoTable || cfg.Encrypt[0].Column != "email" || !cfg.Encrypt[0].HasEq() {
		t.Fatalf("cfg.Encrypt = %+v, want public.customers.email with search eq", cfg.Encrypt)
	}
	kr, err := keyring.Open(ctx, cfg.Keyring, os.Getenv, zap.NewNop())
	if err != nil {
		t.Fatalf("keyring.Open() with the demo's master key = %v", err)
	}
	defer kr.Close()
	snap := kr.Snapshot()
	for _, name := range demoKeysets {
		ks, ok := snap.Keyset(name)
		if !ok || !snap.Allowed(pgtest.Superuser, ks) {
			t.Fatalf("keyset %s exists %v, granted to %s %v; want both", name, ok, pgtest.Superuser, ok && snap.Allowed(pgtest.Superuser, ks))
		}
	}
	stored := readDemoRows(t, pg)
	if len(stored) != len(demoRows) {
		t.Fatalf("stored rows = %d, want %d", len(stored), len(demoRows))
	}
	col, err := column.FromConfig(demoEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range demoRows {
		checkDemoRow(t, snap, col, r.tenant, r.email, stored[i])
		if !strings.Contains(out, hexPrefix(stored[i].email)) || !strings.Contains(out, r.email) {
			t.Errorf("printout lacks row %d's stored prefix %s or its plaintext %s:\n%s", i+1, hexPrefix(stored[i].email), r.email, out)
		}
	}
	for _, want := range []string{"PostgreSQL stores", "the application sees", "SET app.tenant = 'acme';", "SELECT * FROM customers;"} {
		if !strings.Contains(out, want) {
			t.Errorf("printout lacks %q:\n%s", want, out)
		}
	}
	t.Run("past the proxy, PostgreSQL refuses plaintext in the encrypted column", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), pg.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "INSERT INTO "+demoTable+" (tenant, email) VALUES ('acme', 'plain')")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23514" {
			t.Fatalf("direct plaintext insert = %v, want 23514 from the envelope CHECK", err)
		}
	})
	t.Run("through the proxy, acme reads its rows and is refused globex's", func(t *testing.T) {
		checkDemoThroughProxy(t, pg, cfg, kr)
	})
}

// checkDemoThroughProxy runs the printout's statements through an encrypting wire.Server: the
// rows setupDemo sealed must read back as the plaintexts, and globex's must be refused.
func checkDemoThroughProxy(t *testing.T, pg *pgtest.Server, cfg *config.Config, kr *keyring.Keyring) {
	cfg.Upstream.TLS = config.TLSDisable
	icpt, err := seal.ForConfig(cfg, kr, nil, nil)
	if err != nil {
		t.Fatalf("seal.ForConfig() = %v", err)
	}
	srv, err := wire.NewServer(wire.Options{Config: cfg, Interceptor: icpt})
	if err != nil {
		t.Fatalf("wire.NewServer() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := pgx.Connect(ctx, "postgres://"+pgtest.Superuser+"@"+ln.Addr().String()+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET app.tenant = 'acme'"); err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, "SELECT email FROM customers WHERE tenant = 'acme' ORDER BY id")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if want := "[alice@acme.example bob@acme.example]"; err != nil || fmt.Sprint(got) != want {
		t.Errorf("acme's e-mails through the proxy = %v, %v, want %s", got, err, want)
	}
	_, err = conn.Exec(ctx, "SELECT * FROM customers")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("SELECT * FROM customers as acme = %v, want SQLSTATE 42501", err)
	}
}

type demoStored struct {
	tenant string
	email  []byte
}

// readDemoRows reads the table straight from PostgreSQL, past any proxy.
func readDemoRows(t *testing.T, pg *pgtest.Server) []demoStored {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tenant, email FROM "+demoTable+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (demoStored, error) {
		var s demoStored
		err := r.Scan(&s.tenant, &s.email)
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDemoRow: the stored e-mail is a v1 envelope with a term, without the plaintext, sealed
// under the row's tenant's keyset, and it opens to the plaintext.
func checkDemoRow(t *testing.T, snap *keyring.Snapshot, col column.Column, tenant, email string, s demoStored) {
	t.Helper()
	if s.tenant != tenant {
		t.Fatalf("stored tenant = %s, want %s", s.tenant, tenant)
	}
	if len(s.email) < 3 || s.email[0] != 0x01 || s.email[1] != crypto.DefaultSuite() || s.email[2]&0x01 == 0 {
		t.Errorf("stored email of %s starts %x, want version 01, the default suite and the term flag", email, s.email[:min(3, len(s.email))])
	}
	if bytes.Contains(s.email, []byte(email)) {
		t.Errorf("stored email contains the plaintext %s", email)
	}
	plain, ks, _, err := col.Open(nil, snap, s.email, nil)
	if err != nil {
		t.Fatalf("OpenValue(stored %s) = %v", email, err)
	}
	if ks.Name != tenant {
		t.Errorf("OpenValue(stored %s) keyset = %s, want %s", email, ks.Name, tenant)
	}
	text, err := value.Decode(nil, col.Type, plain, value.FormatText, nil)
	if err != nil || string(text) != email {
		t.Errorf("decrypted email = %q, %v, want %q", text, err, email)
	}
}
