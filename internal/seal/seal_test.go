package seal

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// storedKeyset reads, straight from PostgreSQL, the keyset id in the envelope of users.email for
// a row, and fails if the value holds the plaintext.
func (e *sealEnv) storedEmail(t *testing.T, id int, plain string) []byte {
	t.Helper()
	var raw []byte
	if err := e.direct(t).QueryRow(ctxT(t), "SELECT email FROM users WHERE id = $1", id).Scan(&raw); err != nil {
		t.Fatalf("direct SELECT email = %v", err)
	}
	if raw != nil && (bytes.Contains(raw, []byte(plain)) || len(raw) < crypto.MinSizeTerm) {
		t.Fatalf("stored email = %x, want an envelope with a term", raw)
	}
	return raw
}

func (e *sealEnv) keysetID(t *testing.T, name string) crypto.KeysetID {
	t.Helper()
	ks, ok := e.kr.Snapshot().Keyset(name)
	if !ok {
		t.Fatalf("keyset %s missing", name)
	}
	return ks.ID
}

func TestSealStatementsInEveryMode(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	acme := e.keysetID(t, "acme")
	for i, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := fmt.Sprintf("a%d@example.com", i), fmt.Sprintf("b%d@example.com", i)
			var id int
			if err := conn.QueryRow(ctx, "INSERT INTO users (tenant, email, name, age) VALUES ('acme', $1, 'n', $2) RETURNING id", mode, a, 30+i).Scan(&id); err != nil {
				t.Fatalf("INSERT = %v", err)
			}
			if h, err := crypto.ParseHeader(e.storedEmail(t, id, a)); err != nil || h.Keyset != acme {
				t.Fatalf("stored header = %v, %v, want keyset acme", h.Keyset, err)
			}
			var got string
			var age int32
			if err := conn.QueryRow(ctx, "SELECT email, age FROM users WHERE email = $1", mode, a).Scan(&got, &age); err != nil || got != a || age != int32(30+i) {
				t.Fatalf("SELECT by = $1 = %q, %d, %v, want %q, %d", got, age, err, a, 30+i)
			}
			if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT email FROM users WHERE email = '%s'", a), mode).Scan(&got); err != nil || got != a {
				t.Fatalf("SELECT by = literal = %q, %v, want %q", got, err, a)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM users WHERE email IN ($1, 'nobody@example.com')", mode, a).Scan(&n); err != nil || n != 1 {
				t.Fatalf("SELECT count IN = %d, %v, want 1", n, err)
			}
			// pgx's simple protocol inlines the array as a string constant: '{…}'.
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM users WHERE email = ANY($1)", mode, []string{a, "x@y", `with "quotes", commas`}).Scan(&n); err != nil || n != 1 {
				t.Fatalf("SELECT count = ANY($1) = %d, %v, want 1", n, err)
			}
			if err := conn.QueryRow(ctx, "UPDATE users SET email = $1 WHERE email = $2 RETURNING email", mode, b, a).Scan(&got); err != nil || got != b {
				t.Fatalf("UPDATE RETURNING = %q, %v, want %q", got, err, b)
			}
			e.storedEmail(t, id, b)
			if err := conn.QueryRow(ctx, "INSERT INTO users (tenant, email, name) VALUES ('acme', $1, 'upsert') ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id", mode, b).Scan(&n); err != nil || n != id {
				t.Fatalf("upsert = %d, %v, want id %d", n, err, id)
			}
			_, err := conn.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ('acme', $1)", mode, b)
			if got := stateOf(err); got != "23505" {
				t.Fatalf("INSERT of a duplicate email = %v, want 23505", err)
			}
			var nullEmail *string
			if err := conn.QueryRow(ctx, "INSERT INTO users (tenant, email, age) VALUES ('acme', NULL, $1) RETURNING email", mode, nil).Scan(&nullEmail); err != nil || nullEmail != nil {
				t.Fatalf("INSERT NULL RETURNING = %v, %v, want NULL", nullEmail, err)
			}
			tag, err := conn.Exec(ctx, "DELETE FROM users WHERE email = $1", mode, b)
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("DELETE = %v, %v, want 1 row", tag, err)
			}
		})
	}
}

func TestSealBatchAndPipeline(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	b := &pgx.Batch{}
	for i := range 5 {
		b.Queue("INSERT INTO users (tenant, email, age) VALUES ('acme', $1, $2)", fmt.Sprintf("p%d@x", i), i)
	}
	b.Queue("SELECT email, age FROM users ORDER BY id")
	br := conn.SendBatch(ctx, b)
	for i := range 5 {
		if _, err := br.Exec(); err != nil {
			t.Fatalf("batch INSERT %d = %v", i, err)
		}
	}
	rows, _ := br.Query()
	emails, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var s string
		var a int32
		err := r.Scan(&s, &a)
		return s, err
	})
	if err != nil || len(emails) != 5 || emails[4] != "p4@x" {
		t.Fatalf("batch SELECT = %v, %v, want 5 emails", emails, err)
	}
	if err := br.Close(); err != nil {
		t.Fatalf("batch Close() = %v", err)
	}

	// A raw pipeline: unnamed and named statements, Describe before Bind, a portal with a row limit.
	pc := conn.PgConn()
	pl := pc.StartPipeline(ctx)
	pl.SendPrepare("sel", "SELECT email FROM users WHERE id >= 0 AND email <> $1", nil)
	pl.SendQueryPrepared("sel", [][]byte{[]byte("p0@x")}, nil, []int16{1})
	pl.SendQueryParams("SELECT email FROM users WHERE email = $1", [][]byte{[]byte("p3@x")}, nil, nil, nil)
	if err := pl.Sync(); err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for {
		res, err := pl.GetResults()
		if err != nil {
			t.Fatalf("pipeline GetResults() = %v", err)
		}
		if res == nil {
			break
		}
		if rr, ok := res.(*pgconn.ResultReader); ok {
			var vals []string
			for rr.NextRow() {
				vals = append(vals, string(rr.Values()[0]))
			}
			if _, err := rr.Close(); err != nil {
				t.Fatalf("pipeline result = %v", err)
			}
			got = append(got, vals)
		}
		if _, ok := res.(*pgconn.PipelineSync); ok {
			break
		}
	}
	if err := pl.Close(); err != nil {
		t.Fatalf("pipeline Close() = %v", err)
	}
	if len(got) != 2 || len(got[0]) != 4 || !slices.Contains(got[0], "p1@x") || len(got[1]) != 1 || got[1][0] != "p3@x" {
		t.Fatalf("pipeline results = %v, want 4 emails then p3@x", got)
	}

	// A portal read 2 rows at a time (PortalSuspended in between).
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "DECLARE c CURSOR FOR SELECT email FROM users ORDER BY id", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("DECLARE = %v", err)
	}
	var cursor []string
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe} {
		rows, _ := tx.Query(ctx, "FETCH 2 FROM c", mode)
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("FETCH = %v", err)
		}
		cursor = append(cursor, vals...)
	}
	if len(cursor) != 5 || cursor[0] != "p0@x" {
		t.Fatalf("cursor = %v, want the 5 emails", cursor)
	}
}

func TestSealMetrics(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for range 2 {
		if _, err := conn.Exec(ctx, "INSERT INTO users (email, age) VALUES ($1, $2)", pgx.QueryExecModeSimpleProtocol, "m@x"+fmt.Sprint(len(t.Name())), 3); err != nil && stateOf(err) != "23505" {
			t.Fatal(err)
		}
	}
	var s string
	if err := conn.QueryRow(ctx, "SELECT email FROM users LIMIT 1").Scan(&s); err != nil {
		t.Fatal(err)
	}
	m := e.p.m
	for name, got := range map[string]float64{
		"values encrypted": counterValue(m.ValuesEncrypted.WithLabelValues("")),
		"values decrypted": counterValue(m.ValuesDecrypted.WithLabelValues("")),
		"analyze hits":     counterValue(m.AnalyzeCache.WithLabelValues("hit")),
		"analyze misses":   counterValue(m.AnalyzeCache.WithLabelValues("miss")),
	} {
		if got < 1 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	_, _ = conn.Exec(ctx, "SELECT id FROM users ORDER BY email")
	if got := counterValue(m.Refusals.WithLabelValues(sqlstate.FeatureNotSupported)); got != 1 {
		t.Errorf("refusals{0A000} = %v, want 1", got)
	}
	for _, l := range e.p.logs.All() {
		if strings.Contains(fmt.Sprint(l.Message, l.ContextMap()), "m@x") {
			t.Fatalf("a log line carries a value: %s %v", l.Message, l.ContextMap())
		}
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func TestSealAnyArrayLiteral(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, `INSERT INTO users (tenant, email) VALUES ('acme', 'a@x'), ('acme', 'b,"c"'), ('acme', 'd@x')`); err != nil {
		t.Fatalf("INSERT = %v", err)
	}
	for _, c := range []struct {
		name, sql string
		want      int
	}{
		{"an array literal with = ANY matches its elements", `SELECT count(*) FROM users WHERE email = ANY('{a@x,"b,\"c\"",nobody}')`, 2},
		{"a cast to the plaintext type's array is accepted", `SELECT count(*) FROM users WHERE email = ANY('{d@x}'::text[])`, 1},
		{"NULL elements match nothing", `SELECT count(*) FROM users WHERE email = ANY('{NULL,a@x}')`, 1},
		{"an empty array matches nothing", `SELECT count(*) FROM users WHERE email = ANY('{}')`, 0},
		{"<> ALL excludes the elements", `SELECT count(*) FROM users WHERE email <> ALL('{a@x,d@x}')`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
				var n int
				if err := conn.QueryRow(ctx, c.sql, mode).Scan(&n); err != nil || n != c.want {
					t.Fatalf("QueryRow(%q, %v) = %d, %v, want %d", c.sql, mode, n, err, c.want)
				}
			}
		})
	}
	t.Run("a malformed array literal is refused with 22P02", func(t *testing.T) {
		_, err := conn.Exec(ctx, `SELECT count(*) FROM users WHERE email = ANY('{a,')`)
		if got := stateOf(err); got != "22P02" {
			t.Fatalf("Exec() = %v, want 22P02", err)
		}
	})
}
