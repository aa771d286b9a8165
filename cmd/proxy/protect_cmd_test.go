package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// cliStep is one command line and what it must print (stdout on success, stderr otherwise).
type cliStep struct {
	name     string
	args     []string
	wantCode int
	want     string
}

// TestProtectCommand: status reports an encrypted column without the envelope CHECK, protect
// refuses bad arguments and plaintext rows in one line, adds the CHECK, and is idempotent.
func TestProtectCommand(t *testing.T) {
	f := newCLIFixture(t)
	db := pgtest.New(t)
	dsn := db.ConnString()
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, f.config, string(cfg)+`
[[encrypt]]
table = "public.users"
column = "email"
type = "text"

[[encrypt]]
table = "public.users"
column = "note"
type = "text"
`)
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea, note text)`)
	db.Exec(t, `INSERT INTO users VALUES (1, 'plain-marker'::bytea, 'n')`)
	steps := []cliStep{
		{"init the keyring", []string{"keyring", "init"}, 0, "created keyring"},
		{"protect needs a DSN", []string{"protect", "--dsn", ""}, 2, "--dsn"},
		{"protect wants --table with --column", []string{"protect", "--table", "users", "--dsn", dsn}, 2, "go together"},
		{"protect takes no arguments", []string{"protect", "users", "--dsn", dsn}, 2, "unexpected argument"},
		{"protect refuses an unconfigured column", []string{"protect", "--table", "users", "--column", "id", "--dsn", dsn}, 1, "not configured"},
		{"protect refuses a plaintext column", []string{"protect", "--table", "users", "--column", "note", "--dsn", dsn}, 1, "run proxy encrypt first"},
		{"status reports the missing CHECK", []string{"status", "--dsn", dsn}, 0, "envelope CHECK missing: run proxy protect"},
		{"protect refuses plaintext rows with their count", []string{"protect", "--dsn", dsn}, 1, "1 rows hold values that are not pgseal envelopes"},
		{"status still reports it missing", []string{"status", "--json", "--dsn", dsn}, 0, `"check": "missing"`},
	}
	run := func(steps []cliStep) {
		for _, s := range steps {
			code, stdout, stderr := f.cli(t, s.args...)
			out := stdout
			if s.wantCode != 0 {
				out = stderr
			}
			if code != s.wantCode || !strings.Contains(out, s.want) {
				t.Fatalf("%s: proxy %v = %d\nstdout: %s\nstderr: %s\nwant %d and %q", s.name, s.args, code, stdout, stderr, s.wantCode, s.want)
			}
			if s.wantCode == 1 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("%s: error is not one line: %q", s.name, stderr)
			}
			if strings.Contains(stdout+stderr, "plain-marker") {
				t.Errorf("%s: output shows a value: %q", s.name, stdout+stderr)
			}
		}
	}
	run(steps)
	db.Exec(t, `UPDATE users SET email = NULL`)
	run([]cliStep{
		{"protect adds the CHECK", []string{"protect", "--dsn", dsn}, 0, "public.users.email: envelope CHECK added (was missing) and validated"},
		{"protect again is a no-op", []string{"protect", "--table", "users", "--column", "email", "--dsn", dsn}, 0, "already in place"},
		{"status shows it in place", []string{"status", "--json", "--dsn", dsn}, 0, `"check": "ok"`},
	})
	if _, stdout, _ := f.cli(t, "protect", "--dsn", dsn); !strings.Contains(stdout, "public.users.note: skipped") {
		t.Errorf("protect of every column: stdout = %q, want the plaintext column reported as skipped", stdout)
	}
	_, err = db.Conn(t).Exec(context.Background(), `INSERT INTO users VALUES (2, 'plain-marker'::bytea, 'n')`)
	if err == nil || !strings.Contains(err.Error(), "23514") {
		t.Fatalf("plaintext insert after protect = %v, want 23514", err)
	}
}
