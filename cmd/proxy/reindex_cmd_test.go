package main

import (
	"os"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestReindexCommand: reindex's usage errors, status's SEARCH field before and after, and
// reindex through the command line: one line and nothing written while this build has no
// ord/match terms; with them, the indexes created and a second run with nothing to do.
func TestReindexCommand(t *testing.T) {
	f := newCLIFixture(t)
	db := pgtest.New(t)
	dsn := db.ConnString()
	cfg, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	entry := "\n[[encrypt]]\ntable = \"public.users\"\ncolumn = \"email\"\ntype = \"text\"\nsearch = [%s]\n%s" +
		"\n[[encrypt]]\ntable = \"public.users\"\ncolumn = \"note\"\ntype = \"text\"\n"
	eqOnly := string(cfg) + strings.Replace(strings.Replace(entry, "%s", `"eq"`, 1), "%s", "", 1)
	withSearch := string(cfg) + strings.Replace(strings.Replace(entry, "%s", `"eq", "ord", "match"`, 1), "%s",
		"accept_leakage = [\"ord\", \"match\"]\ntext_order = \"bytes\"\n", 1)
	writeTestFile(t, f.config, eqOnly)
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, note text)`)
	db.Exec(t, `INSERT INTO users SELECT i, 'u' || i || '@x.org', 'n' || i FROM generate_series(1, 300) i`)
	run := func(steps []cliStep) {
		t.Helper()
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
		}
	}
	run([]cliStep{
		{"init the keyring", []string{"keyring", "init"}, 0, "created keyring"},
		{"encrypt", []string{"encrypt", "--table", "users", "--column", "email", "--keyset", "default", "--dsn", dsn}, 0, "rows backfilled"},
		{"status has a SEARCH field", []string{"status", "--dsn", dsn}, 0, "SEARCH"},
	})
	writeTestFile(t, f.config, withSearch)
	run([]cliStep{
		{"reindex wants --table with --column", []string{"reindex", "--table", "users", "--dsn", dsn}, 2, "go together"},
		{"reindex wants a positive batch", []string{"reindex", "--batch", "0", "--dsn", dsn}, 2, "--batch"},
		{"reindex refuses a column without ord or match", []string{"reindex", "--table", "users", "--column", "note", "--dsn", dsn}, 1, "has no ord or match search"},
		{"status reports the missing terms and indexes", []string{"status", "--dsn", dsn}, 0, "ord:300 lacking,index missing match:300 lacking,index missing"},
		{"status tells what to run", []string{"status", "--dsn", dsn}, 0, "run proxy reindex"},
		{"status as JSON", []string{"status", "--json", "--dsn", dsn}, 0, `"lacking": 300`},
	})
	code, stdout, stderr := f.cli(t, "reindex", "--dsn", dsn)
	ordName := catalog.SearchIndexName("public.users.email", catalog.IndexOrd)
	if code != 0 || !strings.Contains(stdout, "public.users.email: 300 values given their terms; created "+ordName) {
		t.Fatalf("reindex = %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	run([]cliStep{
		{"status shows both ready", []string{"status", "--dsn", dsn}, 0, "ord:ready match:ready"},
		{"reindex again has nothing to do", []string{"reindex", "--table", "users", "--column", "email", "--dsn", dsn}, 0,
			"public.users.email: 0 values given their terms; indexes already valid"},
	})
}
