package wire

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestRelayPassesEveryProtocolFeature(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	db.Exec(t, "CREATE TABLE items (id int PRIMARY KEY, name text, data bytea)")
	p := startProxy(t, db)
	conn := p.connect(t)
	ctx := ctxT(t)

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a simple-protocol query returns its rows", func(t *testing.T) {
			var n int
			if err := conn.QueryRow(ctx, "SELECT 41 + 1", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 42 {
				t.Fatalf("QueryRow() = %d, %v, want 42", n, err)
			}
		}},
		{"an extended-protocol query with parameters works in text and binary", func(t *testing.T) {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
				var s string
				var b []byte
				if err := conn.QueryRow(ctx, "SELECT $1::text || 'x', $2::bytea", mode, "a", []byte{0, 1, 2}).Scan(&s, &b); err != nil || s != "ax" || !bytes.Equal(b, []byte{0, 1, 2}) {
					t.Fatalf("QueryRow(mode %v) = %q, %x, %v, want ax, 000102", mode, s, b, err)
				}
			}
		}},
		{"a prepared statement can be executed repeatedly and deallocated", func(t *testing.T) {
			if _, err := conn.Prepare(ctx, "ins", "INSERT INTO items VALUES ($1, $2, $3)"); err != nil {
				t.Fatalf("Prepare() = %v", err)
			}
			for i := 1; i <= 3; i++ {
				if _, err := conn.Exec(ctx, "ins", i, "n", []byte("d")); err != nil {
					t.Fatalf("Exec(ins) = %v", err)
				}
			}
			if err := conn.Deallocate(ctx, "ins"); err != nil {
				t.Fatalf("Deallocate() = %v", err)
			}
		}},
		{"a batch runs every statement in order", func(t *testing.T) {
			b := &pgx.Batch{}
			b.Queue("SELECT 1")
			b.Queue("SELECT count(*) FROM items")
			b.Queue("SELECT $1::int * 2", 21)
			res := conn.SendBatch(ctx, b)
			var x, cnt, y int
			if err := res.QueryRow().Scan(&x); err != nil {
				t.Fatal(err)
			}
			if err := res.QueryRow().Scan(&cnt); err != nil {
				t.Fatal(err)
			}
			if err := res.QueryRow().Scan(&y); err != nil {
				t.Fatal(err)
			}
			if err := res.Close(); err != nil || x != 1 || cnt != 3 || y != 42 {
				t.Fatalf("batch = %d %d %d, %v, want 1 3 42", x, cnt, y, err)
			}
		}},
		{"pipeline mode returns results in order, with an error in the middle", func(t *testing.T) {
			pc := conn.PgConn()
			pl := pc.StartPipeline(ctx)
			pl.SendQueryParams("SELECT 1", nil, nil, nil, nil)
			pl.SendQueryParams("SELECT 1/0", nil, nil, nil, nil)
			if err := pl.Sync(); err != nil {
				t.Fatal(err)
			}
			pl.SendQueryParams("SELECT 3", nil, nil, nil, nil)
			if err := pl.Sync(); err != nil {
				t.Fatal(err)
			}
			if g := drainPipeline(t, pl); g != "1,err:22012,sync,3,sync" {
				t.Fatalf("pipeline results = %s, want 1,err:22012,sync,3,sync", g)
			}
		}},
		{"COPY FROM and COPY TO move rows both ways", func(t *testing.T) {
			rows := [][]any{{10, "a", []byte("x")}, {11, "b", nil}}
			n, err := conn.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name", "data"}, pgx.CopyFromRows(rows))
			if err != nil || n != 2 {
				t.Fatalf("CopyFrom() = %d, %v, want 2", n, err)
			}
			var buf bytes.Buffer
			tag, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (SELECT id, name FROM items WHERE id >= 10 ORDER BY id) TO STDOUT")
			if err != nil || tag.RowsAffected() != 2 || buf.String() != "10\ta\n11\tb\n" {
				t.Fatalf("CopyTo() = %q, %v, want two rows", buf.String(), err)
			}
			_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("bad\n"), "COPY items (id) FROM STDIN")
			if sqlstate(err) != "22P02" {
				t.Fatalf("CopyFrom(bad) = %v, want 22P02", err)
			}
		}},
		{"a notification arrives asynchronously", func(t *testing.T) {
			if _, err := conn.Exec(ctx, "LISTEN chan1"); err != nil {
				t.Fatal(err)
			}
			other := p.connect(t)
			if _, err := other.Exec(ctx, "NOTIFY chan1, 'hello'"); err != nil {
				t.Fatal(err)
			}
			n, err := conn.WaitForNotification(ctx)
			if err != nil || n.Channel != "chan1" || n.Payload != "hello" {
				t.Fatalf("WaitForNotification() = %+v, %v, want chan1/hello", n, err)
			}
		}},
		{"a transaction commits and rolls back", func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO items VALUES (100, 'tx', NULL)"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM items WHERE id = 100").Scan(&n); err != nil || n != 0 {
				t.Fatalf("count after rollback = %d, %v, want 0", n, err)
			}
		}},
		{"notices and parameter status changes pass through", func(t *testing.T) {
			if _, err := conn.Exec(ctx, "SET application_name = 'relaytest'"); err != nil {
				t.Fatal(err)
			}
			if got := conn.PgConn().ParameterStatus("application_name"); got != "relaytest" {
				t.Fatalf("ParameterStatus(application_name) = %q, want relaytest", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func sqlstate(err error) string {
	var pe *pgconn.PgError
	if errorsAs(err, &pe) {
		return pe.Code
	}
	if err == nil {
		return ""
	}
	return "?" + err.Error()
}
