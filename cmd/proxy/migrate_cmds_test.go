package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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
	writeTestFile(t, f.config, string(cfg)+"\n[[encrypt]]\ntable = \"public.users\"\ncolumn = \"email\"\ntype = \"text\"\nsearch = [\"eq\"]\n")
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text)`)
	db.Exec(t, `INSERT INTO users SELECT i, 'u' || i || '@x.org', 'n' || i FROM generate_series(1, 3000) i`)
	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"init the keyring", []string{"keyring", "init"}, 0, "created keyring"},
		{"encrypt needs a table", []string{"encrypt", "--column", "email", "--keyset", "default", "--dsn", dsn}, 2, "--table and --column are required"},
		{"encrypt needs a DSN", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", ""}, 2, "--dsn"},
		{"encrypt refuses an unconfigured column", []string{"encrypt", "--table", "users", "--column", "name", "--keyset", "default", "--dsn", dsn}, 1, "not configured"},
		{"status shows the column as plaintext", []string{"status", "--dsn", dsn}, 0, "plaintext"},
		{"a dry run prints the plan", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dry-run", "--dsn", dsn}, 0, "TYPE bytea USING"},
		{"encrypt", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", dsn}, 0, "rows backfilled"},
		{"encrypt again is a no-op", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", dsn}, 0, "nothing to do"},
		{"status counts generation 1", []string{"status", "--dsn", dsn}, 0, "default:1=3000"},
		{"rotate", []string{"keyset", "rotate", "default"}, 0, "2:primary"},
		{"retire needs a DSN when columns are configured", []string{"keyset", "retire-generation", "default", "1", "--dsn", ""}, 2, "--dsn"},
		{"retire is refused while values use the generation", []string{"keyset", "retire-generation", "default", "1", "--dsn", dsn}, 1, "3000 values still use generation 1"},
		{"reencrypt", []string{"reencrypt", "--keyset", "default", "--rate", "1000000", "--dsn", dsn}, 0, "3000 values moved to generation 2"},
		{"retire is accepted afterwards", []string{"keyset", "retire-generation", "default", "1", "--dsn", dsn}, 0, "1:retired"},
		{"status as JSON", []string{"status", "--json", "--dsn", dsn}, 0, `"generation": 2`},
		{"decrypt", []string{"decrypt", "--table", "users", "--column", "email", "--dsn", dsn, "--json"}, 0, `"operation": "decrypt"`},
	}
	for _, s := range steps {
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
