package migrate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
)

var tenants = []string{"acme", "globex", "initech"}

// writer is a concurrent application: it inserts rows and updates emails of random rows, first
// as plaintext and, once the column has become bytea, sealed like the proxy would (it switches
// when PostgreSQL rejects plaintext, as the proxy would after NOTIFY pgseal_catalog).
type writer struct {
	conn   *pgx.Conn
	col    Column
	snap   func() *keyring.Snapshot
	maxID  int64
	mu     sync.Mutex
	want   map[int64]string // id -> latest email the writer committed
	tenant map[int64]string // tenant of rows the writer inserted
	lat    []time.Duration
	sealed bool
	seq    int
}

func (w *writer) run(ctx context.Context, stop <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		w.seq++
		var err error
		t0 := time.Now()
		if w.seq%2 == 0 {
			err = w.insert(ctx)
		} else {
			err = w.update(ctx, 1+rng.Int64N(w.maxID))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !w.sealed && (isCode(err, "42804") || isCode(err, "23514")) {
				w.sealed = true // the column is encrypted now: write envelopes from here on
				continue
			}
			return fmt.Errorf("writer op %d: %w", w.seq, err)
		}
		w.mu.Lock()
		w.lat = append(w.lat, time.Since(t0))
		w.mu.Unlock()
	}
}

// arg is the value written for email: text, or an envelope under the tenant's keyset.
func (w *writer) arg(tenant, email string) (any, string, error) {
	if !w.sealed {
		return email, "$1::text", nil
	}
	ks, _ := w.snap().Keyset(tenant)
	env, err := w.col.Seal(nil, ks, append([]byte{byte(w.col.Type)}, email...))
	return env, "$1::bytea", err
}

func (w *writer) insert(ctx context.Context) error {
	tenant := tenants[w.seq%3]
	email := fmt.Sprintf("new%d@%s.example", w.seq, tenant)
	a, p, err := w.arg(tenant, email)
	if err != nil {
		return err
	}
	var id int64
	if err := w.conn.QueryRow(ctx, "INSERT INTO accounts (tenant_id, email, name) VALUES ($2, "+p+", 'n') RETURNING id",
		pgx.QueryExecModeExec, a, tenant).Scan(&id); err != nil {
		return err
	}
	w.mu.Lock()
	w.want[id], w.tenant[id] = email, tenant
	w.mu.Unlock()
	return nil
}

func (w *writer) update(ctx context.Context, id int64) error {
	tenant := tenants[id%3]
	email := fmt.Sprintf("upd%d-%d@%s.example", w.seq, id, tenant)
	a, p, err := w.arg(tenant, email)
	if err != nil {
		return err
	}
	tag, err := w.conn.Exec(ctx, "UPDATE accounts SET email = "+p+" WHERE id = $2", pgx.QueryExecModeExec, a, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		w.mu.Lock()
		w.want[id] = email
		w.mu.Unlock()
	}
	return nil
}

func (w *writer) latencies(from int) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := slices.Clone(w.lat[from:])
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func latencyLine(l []time.Duration) string {
	if len(l) == 0 {
		return "no ops"
	}
	return fmt.Sprintf("%d ops, p50 %s, p99 %s, max %s", len(l), pct(l, .5), pct(l, .99), l[len(l)-1])
}

// runWriter starts a writer on its own connection and returns a stop function that waits for it.
// sealed says whether the column is already encrypted (the writer then writes envelopes).
func runWriter(t *testing.T, f *fixture, col Column, maxID int64, sealed bool) (*writer, func() error) {
	t.Helper()
	conn, err := pgx.Connect(ctxT(t), f.db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	w := &writer{conn: conn, col: col, snap: f.snap, maxID: maxID, want: map[int64]string{}, tenant: map[int64]string{}, sealed: sealed}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- w.run(ctxT(t), stop) }()
	var once sync.Once
	var err2 error
	stopFn := func() error {
		once.Do(func() { close(stop); err2 = <-done })
		return err2
	}
	// Cleanups run last-in first-out: the writer stops before its connection closes, even when
	// the test fails half way.
	t.Cleanup(func() { _ = stopFn() })
	return w, stopFn
}

func TestEncryptOnlineWithWriterKilledAndResumed(t *testing.T) {
	const rows = 200_000
	f := newFixture(t, tenants...)
	f.exec(t, `CREATE TABLE accounts (id bigserial PRIMARY KEY, tenant_id text NOT NULL, email text UNIQUE, name text)`)
	f.exec(t, `INSERT INTO accounts (tenant_id, email, name)
SELECT (ARRAY['acme','globex','initech'])[i % 3 + 1], 'user' || i || '@example.com', 'name ' || i FROM generate_series(1, $1) i`, rows)
	f.exec(t, `UPDATE accounts SET email = NULL WHERE id % 1000 = 7`)
	f.exec(t, `ANALYZE accounts`)
	colsBefore := f.columnNames(t, "accounts")
	want := f.plainAll(t, "accounts", "id", "email")
	col := mustColumn(t, configEncrypt("accounts", "email", "text", true))

	w, stopWriter := runWriter(t, f, col, rows, false)
	waitOps(t, w, 300)
	base := w.latencies(0)

	// First run: killed (context cancelled) after 100 batches of 1,000 rows.
	ctx1, kill := context.WithCancel(ctxT(t))
	conn1, _ := pgx.Connect(ctxT(t), f.db.ConnString())
	opts := EncryptOptions{TenantColumn: "tenant_id", Options: Options{Batch: 1000, AfterBatch: func(n int) {
		if n == 100 {
			kill()
		}
	}}}
	mark := len(w.latencies(0))
	_, err := Encrypt(ctx1, conn1, f.snap(), col, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Encrypt(killed) = %v, want context.Canceled", err)
	}
	var done int64
	if err := f.conn.QueryRow(ctxT(t), `SELECT rows_done FROM pgseal.migration WHERE table_name = 'public.accounts'`).Scan(&done); err != nil || done < 50_000 || done > 150_000 {
		t.Fatalf("rows_done after the kill = %d (%v), want about 100000", done, err)
	}

	// Second run resumes; the writer keeps going until after the cut-over.
	opts.AfterBatch = nil
	t0 := time.Now()
	rep, err := Encrypt(ctxT(t), f.conn, f.snap(), col, opts)
	if err != nil {
		t.Fatalf("Encrypt(resumed) = %v", err)
	}
	el := time.Since(t0)
	during := w.latencies(mark)
	waitOps(t, w, len(w.latencies(0))+200) // some sealed writes after the cut-over
	if err := stopWriter(); err != nil {
		t.Fatal(err)
	}
	if !rep.Resumed || rep.Backfilled > rows-done+int64(len(w.want)) {
		t.Errorf("Encrypt(resumed) = resumed %v backfilled %d, want a resume of the remaining ~%d rows", rep.Resumed, rep.Backfilled, rows-done)
	}
	t.Logf("resumed run: %d rows backfilled in %s (%.0f rows/s), skipped %d, swept %d, final %d, cut-over %d ms in %d attempt(s)",
		rep.Backfilled, el.Round(time.Millisecond), rep.RowsPerSecond, rep.Skipped, rep.Swept, rep.FinalSwept, rep.CutoverMillis, rep.LockAttempts)
	t.Logf("writer latency baseline: %s", latencyLine(base))
	t.Logf("writer latency during migration: %s", latencyLine(during))
	if !w.sealed {
		t.Fatalf("the writer never saw the encrypted column")
	}

	for id, e := range w.want {
		e := e
		want[fmt.Sprint(id)] = &e
	}
	f.checkEncrypted(t, col, want, colsBefore)
}

// waitOps polls until the writer has done n operations.
func waitOps(t *testing.T, w *writer, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for len(w.latencies(0)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("writer did only %d ops, want %d", len(w.latencies(0)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) columnNames(t *testing.T, table string) []string {
	t.Helper()
	rows, err := f.conn.Query(ctxT(t), `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkEncrypted asserts: no plaintext left, every row under its tenant's keyset and decrypting
// to want, column order unchanged, the unique constraint still enforced.
func (f *fixture) checkEncrypted(t *testing.T, col Column, want map[string]*string, colsBefore []string) {
	t.Helper()
	if got := f.columnNames(t, "accounts"); !slices.Equal(got, colsBefore) {
		t.Errorf("columns = %v, want %v", got, colsBefore)
	}
	if n := f.count(t, `SELECT count(*) FROM accounts WHERE email IS NOT NULL AND (get_byte(email, 0) <> 1 OR length(email) < 67)`); n != 0 {
		t.Errorf("rows that are not envelopes = %d, want 0", n)
	}
	for _, tn := range tenants {
		ks, _ := f.snap().Keyset(tn)
		n := f.count(t, `SELECT count(*) FROM accounts WHERE tenant_id = $1 AND substring(email from 4 for 16) <> $2`, tn, ks.ID[:])
		if n != 0 {
			t.Errorf("rows of tenant %s under another keyset = %d, want 0", tn, n)
		}
	}
	got := f.decryptAll(t, col, "id")
	if len(got) != len(want) {
		t.Errorf("rows = %d, want %d", len(got), len(want))
	}
	bad := 0
	for k, v := range want {
		g := got[k]
		if (v == nil) != (g == nil) || (v != nil && *v != *g) {
			if bad++; bad < 5 {
				t.Errorf("row %s = %v, want %v", k, deref(g), deref(v))
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d rows differ", bad)
	}
	ks, _ := f.snap().Keyset("globex")
	env, err := col.Seal(nil, ks, append([]byte{byte(col.Type)}, "user1@example.com"...)) // row 1 is globex's
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.conn.Exec(ctxT(t), `INSERT INTO accounts (tenant_id, email) VALUES ('globex', $1)`, env); !isCode(err, "23505") {
		t.Errorf("insert of a duplicate email = %v, want 23505", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
