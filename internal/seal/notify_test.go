package seal

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

const notifiedLog = "catalog: change notified; reloading before the next statement"

func (e *sealEnv) notified() int { return e.p.logs.FilterMessage(notifiedLog).Len() }

func TestSealCatalogNotificationSwitchesIdleSessions(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, 'before')"); err != nil {
		t.Fatalf("INSERT while pending = %v", err)
	}
	// What `proxy encrypt` does at its cut-over, straight in PostgreSQL.
	direct := e.direct(t)
	if _, err := direct.Exec(ctx, "BEGIN; DELETE FROM notes; ALTER TABLE notes ALTER COLUMN body TYPE bytea USING NULL; SELECT pg_notify('pgseal_catalog', 'public.notes.body'); COMMIT"); err != nil {
		t.Fatalf("direct cut-over = %v", err)
	}
	if !eventually(10*time.Second, func() bool { return e.notified() > 0 }) {
		t.Fatalf("the session saw no catalog notification")
	}
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (2, 'after')"); err != nil {
		t.Fatalf("INSERT after the cut-over = %v", err)
	}
	var raw []byte
	if err := direct.QueryRow(ctx, "SELECT body FROM notes WHERE id = 2").Scan(&raw); err != nil {
		t.Fatalf("direct SELECT = %v", err)
	}
	if h, err := crypto.ParseHeader(raw); err != nil || h.Keyset != e.keysetID(t, "acme") || bytes.Contains(raw, []byte("after")) {
		t.Fatalf("stored body = %x (%v), want an envelope of acme", raw, err)
	}
	var got string
	if err := conn.QueryRow(ctx, "SELECT body FROM notes WHERE body = 'after'").Scan(&got); err != nil || got != "after" {
		t.Fatalf("SELECT by equality = %q, %v, want after", got, err)
	}
	if n := e.p.logs.FilterMessage("statement refused").Len(); n != 0 {
		t.Fatalf("refused statements = %d, want 0", n)
	}
}

func TestSealNotificationsOfTheClient(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	direct := e.direct(t)
	notify := func(channel string) {
		t.Helper()
		if _, err := direct.Exec(ctx, "SELECT pg_notify($1, 'x')", channel); err != nil {
			t.Fatalf("pg_notify(%s) = %v", channel, err)
		}
	}
	t.Run("another channel passes untouched", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "LISTEN other"); err != nil {
			t.Fatalf("LISTEN = %v", err)
		}
		notify(catalogChannel) // swallowed: the client does not listen to it
		notify("other")
		n, err := conn.WaitForNotification(ctx)
		if err != nil || n.Channel != "other" || n.Payload != "x" {
			t.Fatalf("WaitForNotification() = %+v, %v, want channel other", n, err)
		}
	})
	t.Run("a client listening on pgseal_catalog gets its notifications", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "LISTEN pgseal_catalog"); err != nil {
			t.Fatalf("LISTEN = %v", err)
		}
		before := e.notified()
		notify(catalogChannel)
		n, err := conn.WaitForNotification(ctx)
		if err != nil || n.Channel != catalogChannel {
			t.Fatalf("WaitForNotification() = %+v, %v, want channel %s", n, err, catalogChannel)
		}
		if e.notified() <= before {
			t.Fatalf("the session did not mark its catalog stale")
		}
	})
	t.Run("after the client's UNLISTEN * pgseal listens again", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "UNLISTEN *"); err != nil {
			t.Fatalf("UNLISTEN = %v", err)
		}
		if _, err := conn.Exec(ctx, "SELECT 1"); err != nil { // the next safe point
			t.Fatalf("SELECT 1 = %v", err)
		}
		before := e.notified()
		notify(catalogChannel)
		if !eventually(10*time.Second, func() bool { return e.notified() > before }) {
			t.Fatalf("the session saw no catalog notification after UNLISTEN *")
		}
		var one int
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("SELECT 1 = %v", err)
		}
	})
}
