package check

import (
	"strings"
	"testing"
	"time"
)

// TestCheckConnectionIsReadOnly: every statement on the check's connection runs in a read-only
// transaction, even when the DSN asks otherwise; pgseal's LISTEN runs there (it writes nothing),
// and the interceptor's session opens over it.
func TestCheckConnectionIsReadOnly(t *testing.T) {
	db := statsDB(t)
	db.Exec(t, statsSchema)
	_, cfg := startProxy(t, db, statsColumns)
	ctx := ctxT(t, 60*time.Second)
	for _, dsn := range []string{db.ConnString(), db.ConnString() + "&options=-c%20default_transaction_read_only%3Doff"} {
		conn, err := connect(ctx, cfg, dsn)
		if err != nil {
			t.Fatalf("connect(%s) = %v", dsn, err)
		}
		s, err := openSession(ctx, cfg, conn, false, nil, nil)
		if err != nil {
			t.Fatalf("openSession() = %v", err)
		}
		if _, err := s.exec("INSERT INTO notes (body) VALUES ('x')"); err == nil || !strings.Contains(err.Error(), "25006") {
			t.Errorf("a write on the check's connection = %v, want 25006 (read-only transaction)", err)
		}
		rows, err := s.exec("SELECT pg_catalog.pg_listening_channels()")
		if err != nil || len(rows) != 1 || string(rows[0][0]) != "pgseal_catalog" {
			t.Errorf("listening channels = %q (%v), want pgseal's", rows, err)
		}
		s.close()
		conn.Close(ctx)
	}
}
