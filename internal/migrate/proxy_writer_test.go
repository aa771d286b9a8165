package migrate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// appWriter is the application during the migration: one connection through pgseal (pgx's
// default mode, cached prepared statements), each write a batch "SET app.tenant = …" + one
// statement, as an app that picks the tenant per request does. It writes plaintext only; pgseal
// relays it while the column is pending and must seal it once the column is bytea. A failed
// write is retried once, as an application would; what still fails is reported, not hidden.
type appWriter struct {
	url   string
	conn  *pgx.Conn
	maxID int64 // updates pick ids in 1..maxID
	seq   int

	mu       sync.Mutex
	want     map[int64]string // id -> latest email pgseal acknowledged
	tenant   map[int64]string // tenant of the rows the writer inserted
	ops      []op             // acknowledged writes, in order
	retried  int              // writes whose first attempt failed and whose retry succeeded
	failed   int              // writes that failed twice (the application got an error)
	codes    map[string]int   // SQLSTATE of every failed attempt
	firstErr time.Time        // first failed attempt
	reconn   int              // reconnects after a closed connection
}

// op is one acknowledged write: when it finished and how long the application waited for it
// (both attempts when it was retried).
type op struct {
	at  time.Time
	lat time.Duration
}

func (w *appWriter) run(ctx context.Context, stop <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		w.seq++
		var do func() error
		if w.seq%2 == 0 {
			do = w.insert(w.seq)
		} else {
			do = w.update(w.seq, 1+rng.Int64N(w.maxID))
		}
		t0 := time.Now()
		err := w.attempt(ctx, do)
		if err != nil && ctx.Err() == nil {
			err = w.attempt(ctx, do) // the application's one retry
			w.mu.Lock()
			if err == nil {
				w.retried++
			} else {
				w.failed++
			}
			w.mu.Unlock()
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			w.mu.Lock()
			w.ops = append(w.ops, op{at: time.Now(), lat: time.Since(t0)})
			w.mu.Unlock()
		}
	}
}

// attempt runs one try of a write, reconnecting first when the connection was closed.
func (w *appWriter) attempt(ctx context.Context, do func() error) error {
	if w.conn == nil || w.conn.IsClosed() {
		c, err := pgx.Connect(ctx, w.url)
		if err != nil {
			return w.noteFailure(err)
		}
		if w.conn != nil {
			w.reconn++
		}
		w.conn = c
	}
	if err := do(); err != nil {
		return w.noteFailure(err)
	}
	return nil
}

func (w *appWriter) noteFailure(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	code := sqlState(err)
	if code == "" {
		code = "non-server: " + err.Error()
	}
	w.codes[code]++
	if w.firstErr.IsZero() {
		w.firstErr = time.Now()
	}
	return err
}

// insert returns the write of a new row of one of the tenants.
func (w *appWriter) insert(seq int) func() error {
	tenant := proxyTenants[seq%3]
	email := fmt.Sprintf("new%d@%s.example", seq, tenant)
	return func() error {
		var id int64
		b := &pgx.Batch{}
		b.Queue("SET app.tenant = '" + tenant + "'")
		b.Queue("INSERT INTO accounts (tenant_id, email, name) VALUES ($1, $2, 'n') RETURNING id", tenant, email).
			QueryRow(func(r pgx.Row) error { return r.Scan(&id) })
		if err := w.conn.SendBatch(context.Background(), b).Close(); err != nil {
			return err
		}
		w.mu.Lock()
		w.want[id], w.tenant[id] = email, tenant
		w.mu.Unlock()
		return nil
	}
}

// update returns the write of a new email for row id, under the row's tenant (initial rows
// belong to proxyTenants[id%3]).
func (w *appWriter) update(seq int, id int64) func() error {
	tenant := proxyTenants[id%3]
	email := fmt.Sprintf("upd%d-%d@%s.example", seq, id, tenant)
	return func() error {
		b := &pgx.Batch{}
		b.Queue("SET app.tenant = '" + tenant + "'")
		var n int64
		b.Queue("UPDATE accounts SET email = $1 WHERE id = $2 AND tenant_id = $3", email, id, tenant).
			Exec(func(ct pgconn.CommandTag) error { n = ct.RowsAffected(); return nil })
		if err := w.conn.SendBatch(context.Background(), b).Close(); err != nil {
			return err
		}
		if n == 1 {
			w.mu.Lock()
			w.want[id] = email
			w.mu.Unlock()
		}
		return nil
	}
}

func (w *appWriter) nOps() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ops)
}

// opsSince returns the acknowledged writes that finished after t.
func (w *appWriter) opsSince(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := sort.Search(len(w.ops), func(i int) bool { return w.ops[i].at.After(t) })
	return len(w.ops) - i
}

// firstAfter returns when the first acknowledged write after t finished (zero when none did).
func (w *appWriter) firstAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := sort.Search(len(w.ops), func(i int) bool { return w.ops[i].at.After(t) }); i < len(w.ops) {
		return w.ops[i].at
	}
	return time.Time{}
}

// latencies returns the sorted latencies of the writes that finished in [from, to).
func (w *appWriter) latencies(from, to time.Time) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var l []time.Duration
	for _, o := range w.ops {
		if !o.at.Before(from) && o.at.Before(to) {
			l = append(l, o.lat)
		}
	}
	slices.Sort(l)
	return l
}

func (w *appWriter) failures() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d writes retried successfully, %d failed twice, %d reconnects, failed attempts by SQLSTATE %v",
		w.retried, w.failed, w.reconn, w.codes)
}

// startAppWriter runs an appWriter until the returned stop function is called.
func startAppWriter(t *testing.T, e *proxyEnv, maxID int64) (*appWriter, func()) {
	t.Helper()
	w := &appWriter{url: e.proxyURL(), maxID: maxID, want: map[int64]string{}, tenant: map[int64]string{}, codes: map[string]int{}}
	ctx, cancel := context.WithCancel(testCtx(t))
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- w.run(ctx, stop) }()
	stopped := false
	halt := func() {
		if stopped {
			return
		}
		stopped = true
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
		cancel()
		if w.conn != nil {
			_ = w.conn.Close(context.Background())
		}
	}
	t.Cleanup(halt)
	return w, halt
}

func pctl(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func latencySummary(l []time.Duration) string {
	if len(l) == 0 {
		return "no writes"
	}
	return fmt.Sprintf("%d writes, p50 %s, p99 %s, max %s", len(l), pctl(l, .5), pctl(l, .99), l[len(l)-1])
}
