package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestCancelMap(t *testing.T) {
	t.Run("a client gets the upstream's pid and a fresh secret of the upstream secret's length", func(t *testing.T) {
		for _, n := range []int{0, 4, 32, 256} {
			c := newCancelMap()
			up := backendKey{pid: 4242, secret: bytes.Repeat([]byte{7}, n)}
			k, err := c.add(up)
			if err != nil {
				t.Fatal(err)
			}
			if k.pid != up.pid || len(k.secret) != max(n, 4) || bytes.Equal(k.secret, up.secret) {
				t.Fatalf("add(pid 4242, %d-byte secret) = pid %d, %d-byte secret (equal to upstream's: %v), want pid 4242, %d bytes, fresh",
					n, k.pid, len(k.secret), bytes.Equal(k.secret, up.secret), max(n, 4))
			}
			if got, ok := c.lookup(k); !ok || got.pid != up.pid || !bytes.Equal(got.secret, up.secret) {
				t.Fatalf("lookup(client key) = %v, %v, want the upstream key", got, ok)
			}
		}
	})
	t.Run("a pid held by a live session sends the newcomer to a synthetic pid and both still route", func(t *testing.T) {
		c := newCancelMap()
		old, _ := c.add(backendKey{pid: 99, secret: []byte{1, 1, 1, 1}})
		k, err := c.add(backendKey{pid: 99, secret: []byte{2, 2, 2, 2}})
		if err != nil {
			t.Fatal(err)
		}
		if k.pid < syntheticPIDBase || k.pid >= 1<<31 {
			t.Fatalf("add(duplicate pid 99) = pid %d, want one in [2^30, 2^31)", k.pid)
		}
		if got, ok := c.lookup(old); !ok || got.secret[0] != 1 {
			t.Fatalf("lookup(older key) = %v, %v, want the older upstream key", got, ok)
		}
		if got, ok := c.lookup(k); !ok || got.pid != 99 || got.secret[0] != 2 {
			t.Fatalf("lookup(newcomer's key) = %v, %v, want pid 99 with the newer secret", got, ok)
		}
	})
	t.Run("pid 0 is never handed out", func(t *testing.T) {
		if k, _ := newCancelMap().add(backendKey{pid: 0, secret: []byte{1, 2, 3, 4}}); k.pid < syntheticPIDBase {
			t.Fatalf("add(pid 0) = pid %d, want a synthetic pid", k.pid)
		}
	})
	t.Run("forged keys find nothing", func(t *testing.T) {
		c := newCancelMap()
		up := backendKey{pid: 77, secret: []byte{9, 9, 9, 9}}
		k, _ := c.add(up)
		wrong := bytes.Clone(k.secret)
		wrong[3] ^= 1
		for _, f := range []struct {
			name string
			key  backendKey
		}{
			{"right pid, wrong secret", backendKey{pid: 77, secret: wrong}},
			{"right pid, the upstream's own secret", up},
			{"right pid, a prefix of the secret", backendKey{pid: 77, secret: k.secret[:3]}},
			{"right pid, the secret and one more byte", backendKey{pid: 77, secret: append(bytes.Clone(k.secret), 0)}},
			{"right secret, another pid", backendKey{pid: 78, secret: k.secret}},
		} {
			if got, ok := c.lookup(f.key); ok {
				t.Errorf("lookup(%s) = %v, true, want not found", f.name, got)
			}
		}
	})
	t.Run("remove drops only the entry with the key's secret", func(t *testing.T) {
		c := newCancelMap()
		k, _ := c.add(backendKey{pid: 5, secret: []byte{1, 2, 3, 4}})
		c.remove(backendKey{pid: 5, secret: []byte{0, 0, 0, 0}})
		if c.len() != 1 {
			t.Fatalf("len() after remove(wrong secret) = %d, want 1", c.len())
		}
		c.remove(k)
		if c.len() != 0 {
			t.Fatalf("len() after remove(key) = %d, want 0", c.len())
		}
	})
}

// realKeySetup is a proxy whose sessions take one of the relay paths.
type realKeySetup struct {
	name  string
	start func(t *testing.T) (p *testProxy, extra string)
	fast  bool // sessions must use the fast relay
}

var realKeySetups = []realKeySetup{
	{"on the fast relay", func(t *testing.T) (*testProxy, string) {
		return startProxy(t, pgtest.New(t)), ""
	}, true},
	{"on the goroutine relay", func(t *testing.T) (*testProxy, string) {
		return startProxy(t, pgtest.New(t), func(_ *config.Config, o *Options) { o.GoroutineRelay = true }), ""
	}, false},
	// internal/seal's interceptor cannot be imported here (it imports wire); a session with any
	// interceptor runs on the event loop too.
	{"with an interceptor", func(t *testing.T) (*testProxy, string) {
		return startProxy(t, pgtest.New(t), func(_ *config.Config, o *Options) { withRefuser(nil, o) }), ""
	}, true},
}

// TestRealBackendKeys checks, on each relay path, that the client holds PostgreSQL's real process
// id, that cancels are routed by (pid, pgseal secret) and that pg_terminate_backend of that pid
// reaches the client (what pgx's TestFatalTxError and pool health checks rely on).
func TestRealBackendKeys(t *testing.T) {
	for _, s := range realKeySetups {
		t.Run(s.name, func(t *testing.T) {
			pgtest.Shared(t) // started once per binary: its goroutines are not a leak
			checkGoroutines(t)
			p, extra := s.start(t)
			k := realKeyEnv{p: p, url: p.url("", "", extra), admin: p.db.Conn(t)}
			t.Run("pg_backend_pid() is the pid the client holds", func(t *testing.T) { k.checkPID(t, s.fast) })
			t.Run("a context cancel cancels the session's query", k.checkCancel)
			t.Run("a forged cancel key does nothing", k.checkForgedCancel)
			t.Run("a synthetic pid given on a collision cancels the right query", k.checkSyntheticCancel)
			t.Run("pg_terminate_backend(pid) reaches the client as 57P01", k.checkTerminate)
		})
	}
}

type realKeyEnv struct {
	p     *testProxy
	url   string
	admin *pgx.Conn // straight to PostgreSQL
}

// connect opens a pgx conn through the proxy whose context cancel sends a CancelRequest (pgx's
// default only sets a deadline).
func (k realKeyEnv) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(k.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 10 * time.Second}
	}
	c, err := pgx.ConnectConfig(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("connect through proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (k realKeyEnv) checkPID(t *testing.T, fast bool) {
	before := k.p.srv.fastUsed.Load()
	c := k.connect(t)
	var pid uint32
	if err := c.QueryRow(ctxT(t), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if held := c.PgConn().PID(); pid != held {
		t.Fatalf("pg_backend_pid() = %d, client's BackendKeyData pid = %d, want equal", pid, held)
	}
	up, ok := k.p.srv.keys.lookup(backendKey{pid: pid, secret: c.PgConn().SecretKey()})
	if !ok || up.pid != pid || bytes.Equal(up.secret, c.PgConn().SecretKey()) {
		t.Fatalf("cancel entry for the client's key = %v, %v, want the upstream pid with a secret unlike the client's", up.pid, ok)
	}
	if used := k.p.srv.fastUsed.Load() > before; used != (fast && fastRelayPossible()) {
		t.Fatalf("session on the fast relay = %v, want %v", used, fast && fastRelayPossible())
	}
}

func (k realKeyEnv) checkCancel(t *testing.T) {
	c := k.connect(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	k.whenSleeping(t, c.PgConn().PID(), cancel)
	_, err := c.Exec(ctx, "SELECT pg_sleep(10)")
	if got := sqlstate(err); got != "57014" {
		t.Fatalf("Exec(pg_sleep(10)) after a context cancel = %v, want SQLSTATE 57014", err)
	}
	if _, err := c.Exec(ctxT(t), "SELECT 1"); err != nil {
		t.Fatalf("Exec(SELECT 1) after the cancel = %v, want the session usable", err)
	}
}

func (k realKeyEnv) checkForgedCancel(t *testing.T) {
	c := k.connect(t)
	pid, secret := c.PgConn().PID(), c.PgConn().SecretKey()
	up, _ := k.p.srv.keys.lookup(backendKey{pid: pid, secret: secret})
	wrong := bytes.Clone(secret)
	wrong[0] ^= 0x80
	k.whenSleeping(t, pid, func() {
		for _, forged := range [][]byte{wrong, up.secret, secret[:len(secret)-1]} {
			k.sendCancel(t, pid, forged)
		}
		if !k.sleeping(t, pid) {
			t.Errorf("the query stopped after forged cancels, want it running")
		}
	})
	if _, err := c.Exec(ctxT(t), "SELECT pg_sleep(2)"); err != nil {
		t.Fatalf("Exec(pg_sleep(2)) with forged cancels sent = %v, want nil", err)
	}
	// The same raw CancelRequest with the client's key does cancel: the forged ones were heard.
	k.whenSleeping(t, pid, func() { k.sendCancel(t, pid, secret) })
	if _, err := c.Exec(ctxT(t), "SELECT pg_sleep(10)"); sqlstate(err) != "57014" {
		t.Fatalf("Exec(pg_sleep(10)) with the client's own key sent = %v, want SQLSTATE 57014", err)
	}
}

// checkSyntheticCancel registers the session's upstream key a second time, as a session whose
// upstream pid collided would, and cancels through the synthetic key that gives.
func (k realKeyEnv) checkSyntheticCancel(t *testing.T) {
	c := k.connect(t)
	up, _ := k.p.srv.keys.lookup(backendKey{pid: c.PgConn().PID(), secret: c.PgConn().SecretKey()})
	syn, err := k.p.srv.keys.add(up)
	if err != nil || syn.pid < syntheticPIDBase {
		t.Fatalf("add(a live upstream key) = pid %d, %v, want a synthetic pid", syn.pid, err)
	}
	defer k.p.srv.keys.remove(syn)
	k.whenSleeping(t, c.PgConn().PID(), func() { k.sendCancel(t, syn.pid, syn.secret) })
	if _, err := c.Exec(ctxT(t), "SELECT pg_sleep(10)"); sqlstate(err) != "57014" {
		t.Fatalf("Exec(pg_sleep(10)) with the synthetic key sent = %v, want SQLSTATE 57014", err)
	}
}

func (k realKeyEnv) checkTerminate(t *testing.T) {
	c := k.connect(t)
	pid := c.PgConn().PID()
	var ok bool
	if err := k.admin.QueryRow(ctxT(t), "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v, want true", pid, ok, err)
	}
	if !eventually(10*time.Second, func() bool { return k.backendGone(t, pid) && k.p.srv.keys.len() == 0 }) {
		t.Fatalf("backend %d or its cancel entry (%d entries) still there 10s after pg_terminate_backend", pid, k.p.srv.keys.len())
	}
	if _, err := c.Exec(ctxT(t), "SELECT 1"); sqlstate(err) != CodeAdminShutdown {
		t.Fatalf("Exec() after pg_terminate_backend = %v, want SQLSTATE 57P01", err)
	}
}

// whenSleeping runs f in the background once backend pid is in pg_sleep, and waits for it when t ends.
func (k realKeyEnv) whenSleeping(t *testing.T, pid uint32, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if eventually(10*time.Second, func() bool { return k.sleeping(t, pid) }) {
			f()
		}
	}()
	t.Cleanup(func() { <-done })
}

// sleeping reports whether backend pid is running pg_sleep; it uses its own direct connection,
// as the admin conn may be in use by the test.
func (k realKeyEnv) sleeping(t *testing.T, pid uint32) bool {
	c, err := pgx.Connect(context.Background(), k.p.db.ConnString())
	if err != nil {
		return false
	}
	defer c.Close(context.Background())
	var n int
	_ = c.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'", pid).Scan(&n)
	return n == 1
}

func (k realKeyEnv) backendGone(t *testing.T, pid uint32) bool {
	var n int
	_ = k.admin.QueryRow(ctxT(t), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n)
	return n == 0
}

// sendCancel sends a raw CancelRequest to the proxy and waits for the proxy to close the
// connection, which it does once the request is handled.
func (k realKeyEnv) sendCancel(t *testing.T, pid uint32, secret []byte) {
	c, err := net.Dial("tcp", k.p.addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	msg, _ := (&pgproto3.CancelRequest{ProcessID: pid, SecretKey: secret}).Encode(nil)
	_, _ = c.Write(msg)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Read() after CancelRequest = %d, %v, want 0, EOF", n, err)
	}
}
