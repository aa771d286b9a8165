package wire

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// refuser is a test-only Interceptor: it refuses SQL mentioning "forbidden" and Binds whose first
// parameter is "refuse-me", with 0A000.
type refuser struct{}

func (refuser) Session(*SessionInfo) SessionInterceptor { return refuserSession{} }

type refuserSession struct{}

func (refuserSession) ClientTypes() TypeSet { return Types('Q', 'P', 'B') }
func (refuserSession) ServerTypes() TypeSet { return TypeSet{} }
func (refuserSession) Response(_ Plan, m pgproto3.BackendMessage) (pgproto3.BackendMessage, error) {
	return m, nil
}

func (refuserSession) Request(m pgproto3.FrontendMessage, _ Named) Verdict {
	no := &ProxyError{Code: CodeFeatureNotSupported, Message: "pgseal cannot do this"}
	switch m := m.(type) {
	case *pgproto3.Query:
		if strings.Contains(m.String, "forbidden") {
			return Verdict{Refuse: no}
		}
	case *pgproto3.Parse:
		if strings.Contains(m.Query, "forbidden") {
			return Verdict{Refuse: no}
		}
	case *pgproto3.Bind:
		if len(m.Parameters) > 0 && bytes.Equal(m.Parameters[0], []byte("refuse-me")) {
			return Verdict{Refuse: no}
		}
	}
	return Verdict{}
}

func withRefuser(_ any, o *Options) { o.Interceptor = refuser{} }

func TestRefusalsKeepPostgreSQLSemantics(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	db.Exec(t, "CREATE TABLE t (x text)")
	p := startProxy(t, db, func(_ *config.Config, o *Options) { withRefuser(nil, o) })
	conn := p.connect(t)
	ctx := ctxT(t)

	t.Run("a refused simple query gets 0A000 and the session stays usable", func(t *testing.T) {
		_, err := conn.Exec(ctx, "SELECT 'forbidden'", pgx.QueryExecModeSimpleProtocol)
		if got := sqlstate(err); got != CodeFeatureNotSupported {
			t.Fatalf("Exec(forbidden) = %v, want 0A000", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("QueryRow() after refusal = %d, %v, want 1", n, err)
		}
	})
	t.Run("a refused Bind gets 0A000 and the session stays usable", func(t *testing.T) {
		_, err := conn.Exec(ctx, "INSERT INTO t VALUES ($1)", "refuse-me")
		if got := sqlstate(err); got != CodeFeatureNotSupported {
			t.Fatalf("Exec(refused bind) = %v, want 0A000", err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO t VALUES ($1)", "fine"); err != nil {
			t.Fatalf("Exec(fine) = %v", err)
		}
	})
	t.Run("a refusal inside a transaction aborts it as PostgreSQL would", func(t *testing.T) {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheDescribe} {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ('in-tx')", mode); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, "SELECT 'forbidden'", mode)
			if got := sqlstate(err); got != CodeFeatureNotSupported {
				t.Fatalf("Exec(forbidden, %v) = %v, want 0A000", mode, err)
			}
			if got := conn.PgConn().TxStatus(); got != 'E' {
				t.Fatalf("TxStatus() = %q, want 'E' (failed transaction)", got)
			}
			_, err = tx.Exec(ctx, "SELECT 1", mode)
			if got := sqlstate(err); got != CodeInFailedSQLTransaction {
				t.Fatalf("Exec() in aborted tx = %v, want 25P02", err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM t WHERE x = 'in-tx'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows from rolled-back transactions = %d, %v, want 0", n, err)
		}
	})
	t.Run("a refusal in a pipeline arrives in request order and skips to Sync", func(t *testing.T) {
		pl := conn.PgConn().StartPipeline(ctx)
		pl.SendQueryParams("SELECT 1", nil, nil, nil, nil)
		pl.SendQueryParams("SELECT 'forbidden'", nil, nil, nil, nil)
		pl.SendQueryParams("SELECT 2", nil, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		pl.SendQueryParams("SELECT 3", nil, nil, nil, nil)
		pl.SendQueryParams("SELECT $1::text", [][]byte{[]byte("refuse-me")}, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		pl.SendQueryParams("SELECT 4", nil, nil, nil, nil)
		if err := pl.Sync(); err != nil {
			t.Fatal(err)
		}
		if got, want := drainPipeline(t, pl), "1,err:0A000,sync,3,err:0A000,sync,4,sync"; got != want {
			t.Fatalf("pipeline results = %s, want %s", got, want)
		}
	})
	t.Run("refusals are counted by SQLSTATE", func(t *testing.T) {
		var m dto.Metric
		if err := p.m.Refusals.WithLabelValues(CodeFeatureNotSupported).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got < 5 {
			t.Fatalf("pgseal_refusals_total{sqlstate=0A000} = %v, want >= 5", got)
		}
	})
	t.Run("a client cannot create the reserved statement name", func(t *testing.T) {
		rc := p.dialRaw(t)
		rc.send(&pgproto3.Parse{Name: refusedStatement, Query: "SELECT 1"}, &pgproto3.Sync{})
		if got := rc.until('Z'); got != "EZ" {
			t.Fatalf("responses = %q, want EZ", got)
		}
	})
}

// drainPipeline reads every result of pl and closes it.
func drainPipeline(t *testing.T, pl *pgconn.Pipeline) string {
	t.Helper()
	var got []string
	for {
		r, err := pl.GetResults()
		if err != nil {
			got = append(got, "err:"+sqlstate(err))
			continue
		}
		if r == nil {
			break
		}
		switch r := r.(type) {
		case *pgconn.ResultReader:
			res := r.Read()
			if res.Err != nil {
				got = append(got, "err:"+sqlstate(res.Err))
			} else {
				got = append(got, string(res.Rows[0][0]))
			}
		case *pgconn.PipelineSync:
			got = append(got, "sync")
		}
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ",")
}
