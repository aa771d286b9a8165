package wire

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// The server's log says what a refusal's stand-in is, in every state refuse.go handles, and the
// client still gets pgseal's error.
func TestRefusalsShowInTheServerLog(t *testing.T) {
	checkGoroutines(t)
	srv := pgtest.Private(t, pgtest.Options{LogFile: true})
	db := srv.NewDB(t)
	db.Exec(t, "CREATE TABLE t (x text)")
	p := startProxy(t, db, func(_ *config.Config, o *Options) { withRefuser(nil, o) })
	conn := p.connect(t)
	ctx := ctxT(t)
	simple, extended := pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec
	cases := []struct {
		name    string
		inBlock bool
		mode    pgx.QueryExecMode
		sql     string
		args    []any
	}{
		{"a simple Query outside a block", false, simple, "SELECT 'forbidden'", nil},
		{"a simple Query inside a block", true, simple, "SELECT 'forbidden'", nil},
		{"a Parse outside a block", false, extended, "SELECT 'forbidden', $1::int4", []any{1}},
		{"a Parse inside a block", true, extended, "SELECT 'forbidden', $1::int4", []any{1}},
		{"a Bind outside a block", false, extended, "INSERT INTO t VALUES ($1)", []any{"refuse-me"}},
		{"a Bind inside a block", true, extended, "INSERT INTO t VALUES ($1)", []any{"refuse-me"}},
	}
	for _, c := range cases {
		t.Run(c.name+" leaves pgseal's message in the log", func(t *testing.T) {
			before := serverLog(t, srv)
			if c.inBlock {
				if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
					t.Fatalf("BEGIN = %v", err)
				}
			}
			_, err := conn.Exec(ctx, c.sql, append([]any{c.mode}, c.args...)...)
			if got := sqlstate(err); got != CodeFeatureNotSupported {
				t.Fatalf("Exec(%q) = %v, want 0A000", c.sql, err)
			}
			if c.inBlock {
				if got := conn.PgConn().TxStatus(); got != 'E' {
					t.Fatalf("TxStatus() = %q, want 'E'", got)
				}
				if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
					t.Fatalf("ROLLBACK = %v", err)
				}
			}
			checkRefusalLog(t, srv, len(before))
		})
	}
	for _, c := range cases[:4] {
		if !c.inBlock {
			continue
		}
		name := strings.Replace(c.name, "inside a block", "in a failed block", 1)
		t.Run(name+" gets the server's 25P02, as the statement would", func(t *testing.T) {
			before := serverLog(t, srv)
			if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
				t.Fatalf("BEGIN = %v", err)
			}
			if _, err := conn.Exec(ctx, "SELECT 1/0"); sqlstate(err) != "22012" {
				t.Fatalf("SELECT 1/0 = %v, want 22012", err)
			}
			_, err := conn.Exec(ctx, c.sql, append([]any{c.mode}, c.args...)...)
			if got := sqlstate(err); got != CodeInFailedSQLTransaction {
				t.Fatalf("Exec(%q) in a failed block = %v, want 25P02", c.sql, err)
			}
			if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
				t.Fatalf("ROLLBACK = %v", err)
			}
			checkRefusalLog(t, srv, len(before))
		})
	}
	t.Run("a pipeline keeps its order", func(t *testing.T) {
		before := serverLog(t, srv)
		pl := conn.PgConn().StartPipeline(ctx)
		pl.SendQueryParams("SELECT 1", nil, nil, nil, nil)
		pl.SendQueryParams("SELECT 'forbidden'", nil, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		pl.SendQueryParams("SELECT $1::text", [][]byte{[]byte("refuse-me")}, nil, nil, nil)
		pl.SendQueryParams("SELECT 2", nil, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		if got, want := drainPipeline(t, pl), "1,err:0A000,sync,err:0A000,sync"; got != want {
			t.Fatalf("pipeline results = %s, want %s", got, want)
		}
		checkRefusalLog(t, srv, len(before))
	})
}

func serverLog(t *testing.T, srv *pgtest.Server) []byte {
	t.Helper()
	b, err := srv.Log()
	if err != nil {
		t.Fatalf("Log() = %v", err)
	}
	return b
}

// checkRefusalLog: the log written since offset names pgseal's refusal and none of the old
// stand-ins' confusing errors.
func checkRefusalLog(t *testing.T, srv *pgtest.Server, offset int) {
	t.Helper()
	want := []byte(refusedText(CodeFeatureNotSupported))
	var tail []byte
	eventually(5*time.Second, func() bool {
		tail = serverLog(t, srv)[offset:]
		return bytes.Contains(tail, want)
	})
	if !bytes.Contains(tail, want) {
		t.Fatalf("server log has no %q:\n%s", want, tail)
	}
	for _, bad := range []string{"syntax error", "pgsealrefused", "pgseal\x01refused"} {
		if bytes.Contains(tail, []byte(bad)) {
			t.Fatalf("server log has %q:\n%s", bad, tail)
		}
	}
}

func TestRefusedText(t *testing.T) {
	tests := []struct{ code, want string }{
		{CodeFeatureNotSupported, "pgseal refused a statement (SQLSTATE 0A000)"},
		{CodeInFailedSQLTransaction, "pgseal refused a statement (SQLSTATE 25P02)"},
		{"0a000", "pgseal refused a statement (SQLSTATE XX000)"},
		{"'; DROP", "pgseal refused a statement (SQLSTATE XX000)"},
		{"", "pgseal refused a statement (SQLSTATE XX000)"},
	}
	for _, tt := range tests {
		if got := refusedText(tt.code); got != tt.want || len(got) > 63 {
			t.Errorf("refusedText(%q) = %q, want %q (at most 63 bytes)", tt.code, got, tt.want)
		}
	}
}
