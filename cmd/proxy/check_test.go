package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestCheckCommand: proxy check's exit status is 0 when every statement would work, 1 when one
// would be refused, 2 when the check cannot run; it never prints a literal of --file.
func TestCheckCommand(t *testing.T) {
	f := newCLIFixture(t)
	db := pgtest.New(t) // the shared server: no pg_stat_statements
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
search = ["eq"]
`)
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text, name text)`) // not encrypted yet
	bad := filepath.Join(f.dir, "bad.sql")
	writeTestFile(t, bad, "SELECT id FROM users WHERE email = 'secret-marker@example.com';\nSELECT id FROM users WHERE email LIKE '%secret-marker%';\n")
	good := filepath.Join(f.dir, "good.sql")
	writeTestFile(t, good, "SELECT id FROM users WHERE email = 'secret-marker@example.com';\nUPDATE users SET name = 'secret-marker' WHERE id = 1;\n")
	for _, s := range []cliStep{
		{"check needs a DSN", []string{"check", "--dsn", ""}, 2, "--dsn"},
		{"--no-stats needs --file", []string{"check", "--no-stats", "--dsn", dsn}, 2, "--no-stats needs --file"},
		{"a missing config", []string{"check", "--dsn", dsn, "--config", filepath.Join(f.dir, "nope.toml")}, 2, "check: "},
		{"a missing file", []string{"check", "--dsn", dsn, "--file", filepath.Join(f.dir, "nope.sql")}, 2, "check: "},
		{"no pg_stat_statements", []string{"check", "--dsn", dsn}, 2, "pg_stat_statements is not available"},
		{"a refused statement", []string{"check", "--no-stats", "--file", bad, "--dsn", dsn}, 1, "check: 1 of 2 statements would be refused"},
		{"every statement works", []string{"check", "--no-stats", "--file", good, "--dsn", dsn, "--json"}, 0, `"refused_statements": 0`},
		{"the file alone when pg_stat_statements is missing", []string{"check", "--file", good, "--dsn", dsn}, 0, "2 of 2 statements would work"},
	} {
		code, stdout, stderr := f.cli(t, s.args...)
		out := stdout
		if s.wantCode == 2 {
			out = stderr
		}
		if s.wantCode == 1 {
			out = stderr
			if !strings.Contains(stdout, "LIKE") || !strings.Contains(stdout, "users.email") {
				t.Errorf("%s: stdout %q does not name the column and the construct", s.name, stdout)
			}
		}
		if code != s.wantCode || !strings.Contains(out, s.want) {
			t.Fatalf("%s: proxy %v = %d\nstdout: %s\nstderr: %s\nwant %d and %q", s.name, s.args, code, stdout, stderr, s.wantCode, s.want)
		}
		if s.wantCode != 0 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: error is not one line: %q", s.name, stderr)
		}
		if strings.Contains(stdout+stderr, "secret-marker") {
			t.Errorf("%s: output shows a literal: %q", s.name, stdout+stderr)
		}
	}
}
