package migrate_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/migrate"
)

// rotationQueries are an application's searches on people.name (equality, range with ORDER BY,
// LIKE, min/max) and one read that uses no term.
var rotationQueries = []struct {
	name, sql string
	args      []any
	terms     bool // uses the column's terms: refused while the keyset rotates its index keys
}{
	{"equality", `SELECT id FROM people WHERE name = $1`, []any{"name-07"}, true},
	{"range", `SELECT id, name FROM people WHERE name BETWEEN $1 AND $2 ORDER BY name DESC`, []any{"name-03", "name-12"}, true},
	{"like", `SELECT id FROM people WHERE name LIKE $1 ORDER BY id`, []any{"%-1%"}, true},
	{"min and max", `SELECT min(name), max(name) FROM people`, nil, true},
	{"equality literal", `SELECT id FROM people WHERE name IN ('name-02', 'name-20')`, nil, true},
	{"read by id", `SELECT name FROM people WHERE id = $1`, []any{4}, false},
}

// rows runs q on c (its tenant set) and returns the rows as text, or the SQLSTATE of its error.
func rotationRows(t *testing.T, c *pgx.Conn, sql string, args ...any) ([]string, string) {
	t.Helper()
	rows, err := c.Query(testCtx(t), sql, args...)
	if err != nil {
		return nil, sqlState(err)
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		return nil, sqlState(err)
	}
	return out, ""
}

// TestRotateIndexThroughProxy rotates one tenant's index keys while an application is connected
// through pgseal: between keyset rotate-index and the retirement of the old generation, that
// tenant's searches and writes of the searchable column are refused with 55000 (the stored terms
// are under two index generations) while its other reads and the other tenant go on; proxy
// reencrypt computes every value's terms again under the new keys; afterwards the same searches,
// on the same connection (pgx re-prepares what failed during the window), return exactly what
// they returned before, and UNIQUE holds under the new terms.
func TestRotateIndexThroughProxy(t *testing.T) {
	enc := config.Encrypt{Table: "people", Column: "name", Type: "text", Search: []string{"eq", "ord", "match"},
		AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"}
	e := newProxyEnv(t, []config.Encrypt{enc})
	e.exec(t, `CREATE TABLE people (id int PRIMARY KEY, tenant text NOT NULL, name text, UNIQUE (tenant, name))`)
	e.exec(t, `INSERT INTO people SELECT i, (ARRAY['acme','globex'])[i % 2 + 1], 'name-' || lpad((i / 2)::text, 2, '0')
FROM generate_series(1, 48) i`)
	col, err := column.FromConfig(enc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := migrate.Encrypt(ctx, e.direct, e.kr.Snapshot(), col, migrate.EncryptOptions{TenantColumn: "tenant"}); err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	acme, globex := e.connect(t), e.connect(t)
	for c, tn := range map[*pgx.Conn]string{acme: "acme", globex: "globex"} {
		if _, err := c.Exec(ctx, "SET app.tenant = '"+tn+"'"); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string][]string{}
	if !waitFor(20*time.Second, func() bool {
		_, st := rotationRows(t, acme, rotationQueries[1].sql, rotationQueries[1].args...)
		return st == ""
	}) {
		t.Fatal("range search through pgseal still refused 20s after proxy encrypt built its indexes")
	}
	for _, q := range rotationQueries {
		rows, st := rotationRows(t, acme, q.sql, q.args...)
		if st != "" || len(rows) == 0 {
			t.Fatalf("%s before the rotation: %v, SQLSTATE %q; want rows", q.name, rows, st)
		}
		before[q.name] = rows
	}
	globexBefore, _ := rotationRows(t, globex, rotationQueries[0].sql, rotationQueries[0].args...)
	envs := func(tenant string) map[int][]byte {
		return migrate.EnvelopesByID(t, e.direct, `SELECT id, name FROM people WHERE tenant = $1`, tenant)
	}
	acmeOld, globexOld := envs("acme"), envs("globex")

	// A statement prepared by name (pgx does not re-prepare those) whose literal pgseal sealed at
	// Parse: its term is under the old index keys.
	if _, err := acme.Prepare(ctx, "lit", `SELECT id FROM people WHERE name = 'name-07'`); err != nil {
		t.Fatal(err)
	}

	mgr := e.kr.Manager()
	if _, err := mgr.RotateIndex(ctx, "acme"); err != nil {
		t.Fatalf("RotateIndex() = %v", err)
	}
	for _, q := range rotationQueries {
		rows, st := rotationRows(t, acme, q.sql, q.args...)
		switch {
		case q.terms && st != "55000":
			t.Errorf("%s during the rotation: %v, SQLSTATE %q; want 55000", q.name, rows, st)
		case !q.terms && !slices.Equal(rows, before[q.name]):
			t.Errorf("%s during the rotation: %v, SQLSTATE %q; want %v", q.name, rows, st, before[q.name])
		}
	}
	if _, err := acme.Exec(ctx, `INSERT INTO people VALUES (100, 'acme', $1)`, "name-99"); sqlState(err) != "55000" {
		t.Errorf("INSERT of a searchable value during the rotation = %v, want 55000", err)
	}
	if _, err := acme.PgConn().CopyFrom(ctx, strings.NewReader("101\tacme\tname-98\n"), "COPY people FROM STDIN"); sqlState(err) != "55000" {
		t.Errorf("COPY into a searchable column during the rotation = %v, want 55000", err)
	}
	if rows, st := rotationRows(t, globex, rotationQueries[0].sql, rotationQueries[0].args...); st != "" || !slices.Equal(rows, globexBefore) {
		t.Errorf("another tenant's search during the rotation: %v, SQLSTATE %q; want %v", rows, st, globexBefore)
	}

	rep, err := migrate.Reencrypt(ctx, e.direct, e.kr.Snapshot(), migrate.ReencryptOptions{Keyset: "acme", Columns: []migrate.Column{col}, Batch: 7})
	if err != nil || rep.Columns[col.ID] != int64(len(acmeOld)) {
		t.Fatalf("Reencrypt() = %+v, %v; want %d values", rep, err, len(acmeOld))
	}
	if _, st := rotationRows(t, acme, rotationQueries[0].sql, rotationQueries[0].args...); st != "55000" {
		t.Errorf("equality search after reencrypt but before the old generation is retired: SQLSTATE %q, want 55000", st)
	}
	for id, env := range envs("acme") {
		ho, _ := crypto.ParseHeader(acmeOld[id])
		hn, err := crypto.ParseHeader(env)
		if err != nil || hn.Generation != 2 || bytes.Equal(hn.Term, ho.Term) || bytes.Equal(hn.Ord, ho.Ord) || bytes.Equal(hn.Match, ho.Match) {
			t.Fatalf("row %d after reencrypt: generation %d (%v), terms changed %v %v %v; want generation 2 with new terms", id, hn.Generation, err,
				!bytes.Equal(hn.Term, ho.Term), !bytes.Equal(hn.Ord, ho.Ord), !bytes.Equal(hn.Match, ho.Match))
		}
	}
	for id, env := range envs("globex") {
		if !bytes.Equal(env, globexOld[id]) {
			t.Fatalf("globex row %d changed by acme's reencrypt", id)
		}
	}

	if _, err := mgr.RetireGeneration(ctx, "acme", 1); err != nil {
		t.Fatal(err)
	}
	for _, q := range rotationQueries {
		if rows, st := rotationRows(t, acme, q.sql, q.args...); st != "" || !slices.Equal(rows, before[q.name]) {
			t.Errorf("%s after the rotation: %v, SQLSTATE %q; want %v", q.name, rows, st, before[q.name])
		}
	}
	if rows, st := rotationRows(t, acme, "lit"); st != "0A000" {
		t.Errorf("statement prepared with a literal before the rotation: %v, SQLSTATE %q; want 0A000 (prepare it again)", rows, st)
	}
	if _, err := acme.Exec(ctx, `INSERT INTO people VALUES (100, 'acme', $1)`, "name-07"); sqlState(err) != "23505" {
		t.Errorf("INSERT of a duplicate name after the rotation = %v, want 23505 (UNIQUE under the new terms)", err)
	}
	if _, err := acme.Exec(ctx, `INSERT INTO people VALUES (100, 'acme', $1)`, "name-99"); err != nil {
		t.Errorf("INSERT after the rotation = %v", err)
	}
	if rows, st := rotationRows(t, acme, rotationQueries[0].sql, "name-99"); st != "" || !slices.Equal(rows, []string{"100"}) {
		t.Errorf("lookup of a value written after the rotation: %v, SQLSTATE %q; want [100]", rows, st)
	}
}
