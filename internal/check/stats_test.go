package check

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
)

const statsSchema = `
CREATE TABLE users (id serial PRIMARY KEY, tenant text, email bytea, name text, age bytea);
CREATE TABLE notes (id serial PRIMARY KEY, body text);
`

var statsColumns = []config.Encrypt{
	{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}},
	{Table: "users", Column: "age", Type: "int4"}, // no equality search
}

// run is one statement of a scenario, run n times with args (a function of the iteration).
type run struct {
	sql  string
	n    int
	args func(i int) []any
}

// refusedRun is a statement pgseal refuses, with the refusal the report must give.
type refusedRun struct {
	run
	column, construct string
}

// TestStatsReportListsExactlyTheRefusedStatements fills pg_stat_statements with the client
// scenarios' statements run through a real pgseal (in the simple and the extended protocol) and
// with statements pgseal refuses, run directly against PostgreSQL: through pgseal they would never
// reach PostgreSQL in their own form (a refusal makes the server fail a stand-in), and an
// application that has them runs them directly today. The report must list exactly the refused
// ones, with their SQLSTATE, column and construct, and weigh them by the calls made here.
func TestStatsReportListsExactlyTheRefusedStatements(t *testing.T) {
	db := statsDB(t)
	db.Exec(t, statsSchema)
	p, cfg := startProxy(t, db, statsColumns, "acme")
	ctx := ctxT(t, 120*time.Second)
	direct := db.Conn(t)
	if _, err := direct.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}

	email := func(i int) string { return fmt.Sprintf("user%d@example.com", i) }
	scenario := []run{
		{"INSERT INTO users (tenant, email, name, age) VALUES ($1, $2, $3, $4)", 3, func(i int) []any { return []any{"acme", email(i), "n", 30 + i} }},
		{"SELECT id, email, name, age FROM users WHERE email = $1", 4, func(i int) []any { return []any{email(i % 3)} }},
		{"UPDATE users SET name = $1 WHERE email = $2", 2, func(i int) []any { return []any{"m", email(i)} }},
		{"UPDATE users SET email = $1 WHERE id = $2", 1, func(i int) []any { return []any{email(9), 3} }},
		{"DELETE FROM users WHERE email = $1", 1, func(i int) []any { return []any{email(9)} }},
		{"SELECT id, email FROM users WHERE id = $1", 2, func(i int) []any { return []any{1} }},
		{"INSERT INTO notes (body) VALUES ($1)", 2, func(i int) []any { return []any{"hello"} }},
		{"SELECT count(*) FROM notes", 3, func(i int) []any { return nil }},
	}
	var wantCalls int64
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		c := p.connect(t, "acme")
		for _, r := range scenario {
			for i := 0; i < r.n; i++ {
				args := append([]any{mode}, r.args(i)...)
				if _, err := c.Exec(ctx, r.sql, args...); err != nil {
					t.Fatalf("through pgseal (%v) %s: %v", mode, r.sql, err)
				}
				wantCalls++
			}
		}
	}
	wantWorkingCalls := wantCalls
	refused := []refusedRun{
		{run{"SELECT id FROM users WHERE email LIKE $1", 3, func(int) []any { return []any{[]byte("a%")} }}, "users.email", "LIKE"},
		{run{"SELECT id, name FROM users ORDER BY email", 2, nil}, "users.email", "ORDER BY"},
		{run{"SELECT id FROM users WHERE email > $1", 2, func(int) []any { return []any{[]byte("a")} }}, "users.email", "operator >"},
		{run{"SELECT id FROM users WHERE age = $1", 1, func(int) []any { return []any{[]byte("a")} }}, "users.age", "= (no equality search is configured)"},
		{run{"SELECT count(DISTINCT email) FROM users", 1, nil}, "users.email", "count(DISTINCT …)"},
	}
	wantRefused := map[string]refusedRun{}
	for _, r := range refused {
		for i := 0; i < r.n; i++ {
			var args []any
			if r.args != nil {
				args = r.args(i)
			}
			if _, err := direct.Exec(ctx, r.sql, args...); err != nil {
				t.Fatalf("direct %s: %v", r.sql, err)
			}
			wantCalls++
		}
		wantRefused[r.sql] = r
		// pgseal refuses it indeed.
		if _, err := p.connect(t, "acme").Exec(ctx, r.sql, append([]any{pgx.QueryExecModeCacheStatement}, argsOf(r.run)...)...); err == nil || !strings.Contains(err.Error(), "SQLSTATE 0A000") {
			t.Fatalf("through pgseal %s = %v, want a 0A000 refusal", r.sql, err)
		}
	}

	var rowsBefore int
	if err := direct.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&rowsBefore); err != nil {
		t.Fatal(err)
	}
	wantCalls++ // recorded too: it works through pgseal
	wantWorkingCalls++
	// Independently of the check: the statements pg_stat_statements holds for the two tables.
	var wantStatements int
	if err := direct.QueryRow(ctx, `SELECT count(DISTINCT query) FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND (query LIKE '%users%' OR query LIKE '%notes%') AND query NOT LIKE '%OPERATOR(pg_catalog.%'`).Scan(&wantStatements); err != nil {
		t.Fatal(err)
	}

	rep, err := Run(ctx, Options{Config: cfg, DSN: db.ConnString(), Stats: true})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	for _, r := range rep.Results {
		t.Logf("%-9s %3d %-5s %-12s %s | %s", r.Verdict, r.Calls, r.SQLState, r.Column, r.Statement, r.Construct)
	}
	got := map[string]Result{}
	for _, r := range rep.Results {
		if r.Verdict == Refused {
			got[r.Statement] = r
		}
	}
	if len(got) != len(wantRefused) || rep.RefusedStatements != len(wantRefused) {
		t.Errorf("refused %d statements (%d in the report), want %d", len(got), rep.RefusedStatements, len(wantRefused))
	}
	for sql, w := range wantRefused {
		r, ok := got[Mask(sql)]
		switch {
		case !ok:
			t.Errorf("%s: not reported as refused", sql)
		case r.SQLState != "0A000" || r.Column != w.column || r.Construct != w.construct || r.Calls != int64(w.n):
			t.Errorf("%s: refused %s %q %q with %d calls, want 0A000 %q %q with %d", sql, r.SQLState, r.Column, r.Construct, r.Calls, w.column, w.construct, w.n)
		}
	}
	if rep.Statements != wantStatements || rep.WorkingStatements != wantStatements-len(wantRefused) {
		t.Errorf("statements %d, working %d; want %d and %d", rep.Statements, rep.WorkingStatements, wantStatements, wantStatements-len(wantRefused))
	}
	if rep.Calls != wantCalls || rep.WorkingCalls != wantWorkingCalls {
		t.Errorf("calls %d, working %d; want %d and %d", rep.Calls, rep.WorkingCalls, wantCalls, wantWorkingCalls)
	}
	wantPct := math.Round(float64(wantWorkingCalls)*1000/float64(wantCalls)) / 10
	wantLine := fmt.Sprintf("%.1f%% of calls, %d of %d statements would work through pgseal", wantPct, wantStatements-len(wantRefused), wantStatements)
	if rep.Summary() != wantLine {
		t.Errorf("Summary() = %q, want %q", rep.Summary(), wantLine)
	}
	// Some statements were encrypted, some passed untouched.
	kinds := map[string]int{}
	for _, r := range rep.Results {
		kinds[r.Verdict]++
	}
	if kinds[Encrypted] == 0 || kinds[Passes] == 0 {
		t.Errorf("verdicts %v, want some of each", kinds)
	}
	// Read-only: the check wrote nothing (the tables are as the scenario left them).
	var n int
	if err := direct.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil || n != rowsBefore {
		t.Errorf("users has %d rows (%v), want %d", n, err, rowsBefore)
	}
}

func argsOf(r run) []any {
	if r.args == nil {
		return nil
	}
	return r.args(0)
}
