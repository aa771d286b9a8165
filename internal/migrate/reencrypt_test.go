package migrate

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRotateReencryptUnderLoadThenRetire(t *testing.T) {
	const rows = 20_000
	f := newFixture(t, tenants...)
	f.exec(t, `CREATE TABLE accounts (id bigserial PRIMARY KEY, tenant_id text NOT NULL, email text UNIQUE, name text)`)
	f.exec(t, `INSERT INTO accounts (tenant_id, email, name)
SELECT (ARRAY['acme','globex','initech'])[i % 3 + 1], 'user' || i || '@example.com', 'name ' || i FROM generate_series(1, $1) i`, rows)
	colsBefore := f.columnNames(t, "accounts")
	want := f.plainAll(t, "accounts", "id", "email")
	col := mustColumn(t, configEncrypt("accounts", "email", "text", true))
	if _, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{TenantColumn: "tenant_id"}); err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	if _, err := f.mgr.Rotate(ctxT(t), "acme"); err != nil {
		t.Fatalf("Rotate() = %v", err)
	}
	acme, _ := f.snap().Keyset("acme")
	if acme.PrimaryGeneration() != 2 {
		t.Fatalf("PrimaryGeneration() = %d, want 2", acme.PrimaryGeneration())
	}
	cols := []Column{col, mustColumn(t, configEncrypt("public.nosuch", "x", "text", false))}
	if err := CheckRetire(ctxT(t), f.conn, cols, acme.ID, 1); err == nil {
		t.Fatalf("CheckRetire(gen 1) = nil before reencrypt, want a refusal")
	} else {
		t.Logf("refusal: %v", err)
	}

	w, stopWriter := runWriter(t, f, col, rows, true)
	waitOps(t, w, 100)
	mark := len(w.latencies(0))

	ctx1, kill := context.WithCancel(ctxT(t))
	_, err := Reencrypt(ctx1, f.db.Conn(t), f.snap(), ReencryptOptions{Keyset: "acme", Columns: cols, Batch: 500,
		AfterBatch: func(n int) {
			if n == 5 {
				kill()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Reencrypt(killed) = %v, want context.Canceled", err)
	}
	if err := CheckRetire(ctxT(t), f.conn, cols, acme.ID, 1); err == nil {
		t.Fatalf("CheckRetire(gen 1) = nil after a killed reencrypt, want a refusal")
	}
	// The killed run's session holds the column's migration lock until its backend has gone,
	// which pgx's cancellation leaves to happen asynchronously; an operator would retry.
	waitMigrationLockFree(t, f, col)
	t0 := time.Now()
	rep, err := Reencrypt(ctxT(t), f.conn, f.snap(), ReencryptOptions{Keyset: "acme", Columns: cols, Batch: 500})
	if err != nil {
		t.Fatalf("Reencrypt() = %v", err)
	}
	t.Logf("reencrypt resumed: %v in %s; writer %s", rep.Columns, time.Since(t0).Round(time.Millisecond), latencyLine(w.latencies(mark)))
	if got := rep.Columns[col.ID]; got < rows/3-3500 || got > rows/3-2500 { // the writer rewrites some itself
		t.Errorf("Reencrypt().Columns[%s] = %d, want the ~%d acme rows left after the killed run", col.ID, got, rows/3-2500)
	}
	if err := stopWriter(); err != nil {
		t.Fatal(err)
	}
	if err := CheckRetire(ctxT(t), f.conn, cols, acme.ID, 1); err != nil {
		t.Fatalf("CheckRetire(gen 1) = %v after reencrypt, want nil", err)
	}
	if _, err := f.mgr.RetireGeneration(ctxT(t), "acme", 1); err != nil {
		t.Fatalf("RetireGeneration() = %v", err)
	}
	for id, e := range w.want {
		e := e
		want[itoa(id)] = &e
	}
	f.checkEncrypted(t, col, want, colsBefore) // every value still decrypts, terms still unique
}

// waitMigrationLockFree waits until no session holds col's migration lock (acquireLock), for up to
// ten seconds.
func waitMigrationLockFree(t *testing.T, f *fixture, col Column) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		release, err := acquireLock(ctxT(t), f.conn, col.QualifiedTable(), col.Name)
		if err == nil {
			release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed run's migration lock is still held after 10 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
