package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestMigrationCommands drives encrypt, status, keyset rotate, retire-generation (refused, then
// accepted after reencrypt) and decrypt through the command line against a real database.
func TestMigrationCommands(t *testing.T) {
	f := newCLIFixture(t)
	db := pgtest.New(t)
	dsn := db.ConnString()
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	base := string(cfg) + "\n[[encrypt]]\ntable = \"public.users\"\ncolumn = \"email\"\ntype = \"text\"\nsearch = [\"eq\"]\n"
	withSuite := func(name string) string { return base + "[crypto]\nsuite = \"" + name + "\"\n" }
	writeTestFile(t, f.config, base)
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text)`)
	db.Exec(t, `INSERT INTO users SELECT i, 'u' || i || '@x.org', 'n' || i FROM generate_series(1, 3000) i`)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		before   func() // e.g. a config change between steps
	}{
		{"init the keyring", []string{"keyring", "init"}, 0, "created keyring", nil},
		{"encrypt needs a table", []string{"encrypt", "--column", "email", "--keyset", "default", "--dsn", dsn}, 2, "--table and --column are required", nil},
		{"encrypt needs a DSN", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", ""}, 2, "--dsn", nil},
		{"encrypt refuses an unconfigured column", []string{"encrypt", "--table", "users", "--column", "name", "--keyset", "default", "--dsn", dsn}, 1, "not configured", nil},
		{"status shows the column as plaintext", []string{"status", "--dsn", dsn}, 0, "plaintext", nil},
		{"a dry run prints the plan", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dry-run", "--dsn", dsn}, 0, "TYPE bytea USING", nil},
		{"encrypt", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", dsn}, 0, "rows backfilled", nil},
		{"encrypt again is a no-op", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", dsn}, 0, "nothing to do", nil},
		{"status counts generation 1 and the default suite", []string{"status", "--dsn", dsn}, 0, "default:1/" + crypto.SuiteName(crypto.DefaultSuite()) + "=3000", nil},
		{"rotate", []string{"keyset", "rotate", "default"}, 0, "2:primary", nil},
		{"retire needs a DSN when columns are configured", []string{"keyset", "retire-generation", "default", "1", "--dsn", ""}, 2, "--dsn", nil},
		{"retire is refused while values use the generation", []string{"keyset", "retire-generation", "default", "1", "--dsn", dsn}, 1, "3000 values still use generation 1", nil},
		{"reencrypt", []string{"reencrypt", "--keyset", "default", "--rate", "1000000", "--dsn", dsn}, 0, "3000 values moved to generation 2", nil},
		{"retire is accepted afterwards", []string{"keyset", "retire-generation", "default", "1", "--dsn", dsn}, 0, "1:retired", nil},
		{"reencrypt moves values to a newly configured suite", []string{"reencrypt", "--keyset", "default", "--dsn", dsn}, 0,
			"3000 values moved to generation 2 (aes-256-gcm)", func() { writeTestFile(t, f.config, withSuite("aes-256-gcm")) }},
		{"status counts values by suite", []string{"status", "--dsn", dsn}, 0, "default:2/aes-256-gcm=3000", nil},
		{"reencrypt moves them back", []string{"reencrypt", "--keyset", "default", "--dsn", dsn}, 0,
			"3000 values moved to generation 2 (chacha20-poly1305)", func() { writeTestFile(t, f.config, withSuite("chacha20-poly1305")) }},
		{"reencrypt again has nothing to move", []string{"reencrypt", "--keyset", "default", "--dsn", dsn}, 0, "0 values moved", nil},
		{"an unknown suite is refused on one line", []string{"status", "--dsn", dsn}, 1, "crypto.suite",
			func() { writeTestFile(t, f.config, withSuite("des")) }},
		{"status counts chacha20-poly1305 values", []string{"status", "--dsn", dsn}, 0, "default:2/chacha20-poly1305=3000",
			func() { writeTestFile(t, f.config, withSuite("chacha20-poly1305")) }},
		{"status as JSON", []string{"status", "--json", "--dsn", dsn}, 0, `"generation": 2`, nil},
		{"decrypt", []string{"decrypt", "--table", "users", "--column", "email", "--dsn", dsn, "--json"}, 0, `"operation": "decrypt"`, nil},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		code, stdout, stderr := f.cli(t, s.args...)
		out := stdout
		if s.wantCode != 0 {
			out = stderr
		}
		if code != s.wantCode || !strings.Contains(out, s.want) {
			t.Fatalf("%s: proxy %v = %d\nstdout: %s\nstderr: %s\nwant %d and %q", s.name, s.args, code, stdout, stderr, s.wantCode, s.want)
		}
		if s.wantCode != 0 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && s.wantCode != 2 {
			t.Errorf("%s: error is not one line: %q", s.name, stderr)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var typ, email string
	if err := conn.QueryRow(context.Background(), `SELECT format_type(atttypid, atttypmod), (SELECT email FROM users WHERE id = 7)
FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`).Scan(&typ, &email); err != nil {
		t.Fatal(err)
	}
	if typ != "text" || email != "u7@x.org" {
		t.Fatalf("after decrypt: email is %s holding %q, want text holding u7@x.org", typ, email)
	}
}
