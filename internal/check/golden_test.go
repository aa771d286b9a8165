package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
)

// goldenSchema is internal/rewrite/testdata/schema.json as a database: its encrypted columns are
// bytea (billing.profiles, whose columns the golden schema does not list, gets an id).
const goldenSchema = `
CREATE TABLE users (id int PRIMARY KEY, email bytea, name text, ssn bytea, tenant_id int);
CREATE TABLE invites (id int PRIMARY KEY, email bytea, invited_by int, created_at timestamptz);
CREATE TABLE payments (id int PRIMARY KEY, user_id int, amount bytea, paid_at bytea, card bytea);
CREATE SCHEMA billing;
CREATE TABLE billing.profiles (id int PRIMARY KEY, bio bytea);
CREATE TABLE meters (id int PRIMARY KEY, s2 bytea, s4 bytea, s8 bytea, born_on bytea);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric, note text);
`

var goldenColumns = []config.Encrypt{
	{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}, Domain: "email"},
	{Table: "users", Column: "ssn", Type: "text"},
	{Table: "invites", Column: "email", Type: "text", Search: []string{"eq"}, Domain: "email"},
	{Table: "payments", Column: "amount", Type: "int8", Search: []string{"eq"}},
	{Table: "payments", Column: "paid_at", Type: "timestamptz"},
	{Table: "payments", Column: "card", Type: "text", Search: []string{"eq"}},
	{Table: "billing.profiles", Column: "bio", Type: "text"},
	{Table: "meters", Column: "s2", Type: "int2", Search: []string{"eq"}},
	{Table: "meters", Column: "s4", Type: "int4", Search: []string{"eq"}},
	{Table: "meters", Column: "s8", Type: "int8", Search: []string{"eq"}},
	{Table: "meters", Column: "born_on", Type: "date", Search: []string{"eq"}},
}

// TestGoldenCorpusVerdictsEqualServing checks every statement of the rewrite golden corpus
// (internal/rewrite/testdata/*/input.sql, each a simple Query as the golden test analyses it)
// and sends the same text through a real pgseal in front of the same database, over a fresh
// connection each (a case's SET must not leak into the next). Serving's verdict is observed, not
// predicted: pgseal counted a refusal (pgseal_refusals_total) or not, and the client's error is
// then pgseal's. That is stronger than comparing with the golden error.txt files, which record
// rewrite.Analyze alone: serving adds its session checks (tenancy, settings, lexical state,
// prepared statements) on top, and the check must agree with those too. The cases run outside a
// transaction block, like the check analyses them; PostgreSQL's own errors (a case that does not
// fit this schema) are not refusals on either side.
func TestGoldenCorpusVerdictsEqualServing(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "rewrite", "testdata", "*", "input.sql"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden corpus: %v", err)
	}
	sort.Strings(dirs)
	db := statsDB(t)
	db.Exec(t, goldenSchema)
	p, cfg := startProxy(t, db, goldenColumns, "acme", "prod", "x", "other")
	ctx := ctxT(t, 10*time.Minute)

	var stmts []Statement
	for _, in := range dirs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, Statement{SQL: string(b), Proto: ProtoQuery, Calls: 1, Source: SourceFile})
	}
	conn, err := connect(ctx, cfg, db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	s, err := openSession(ctx, cfg, conn, false, tenantsOf(cfg, stmts), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()

	refused := 0
	for i, in := range dirs {
		name := filepath.Base(filepath.Dir(in))
		got := checkOne(s, stmts[i], nil)
		before := p.refusals()
		code, msg := serve(ctx, t, p, stmts[i].SQL)
		servingRefused := p.refusals() > before
		if (got.Verdict == Refused) != servingRefused {
			t.Errorf("%s: check says %s (%s %s), serving refused=%v (%s %s)", name, got.Verdict, got.SQLState, got.Message, servingRefused, code, msg)
			continue
		}
		if !servingRefused {
			continue
		}
		refused++
		if want := newScrubber(stmts[i].SQL).Scrub(msg); got.SQLState != code || got.Message != want {
			t.Errorf("%s: check refuses with %s %q, serving with %s %q", name, got.SQLState, got.Message, code, want)
		}
	}
	if refused < 50 {
		t.Errorf("only %d of %d golden cases were refused; the corpus has more refusals than that", refused, len(dirs))
	}
	t.Logf("%d golden cases, %d refused by both", len(dirs), refused)
}

// serve sends sql as one simple Query through the proxy on a fresh connection and returns the
// first error's SQLSTATE and message ("" when none).
func serve(ctx context.Context, t *testing.T, p *testProxy, sql string) (code, msg string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pgconn.Connect(cctx, p.url("acme"))
	if err != nil {
		t.Fatalf("connect through pgseal: %v", err)
	}
	defer c.Close(context.Background())
	_, err = c.Exec(cctx, sql).ReadAll()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.Message
	}
	return "", ""
}
