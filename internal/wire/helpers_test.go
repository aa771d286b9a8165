package wire

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testProxy is a Server in front of a test database, serving on 127.0.0.1:0.
type testProxy struct {
	srv    *Server
	db     *pgtest.DB
	addr   string
	m      *metrics.Metrics
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan error
}

type proxyOpt func(*config.Config, *Options)

// startProxy starts a proxy for db, stopped when t ends.
func startProxy(t *testing.T, db *pgtest.DB, opts ...proxyOpt) *testProxy {
	t.Helper()
	p := startProxyNoCleanup(t, db, opts...)
	t.Cleanup(func() { p.stop(t) })
	return p
}

// useGoroutineRelay keeps the proxies of the tests off the fast relay (TestGoroutineRelay). The
// tests of this package do not run in parallel.
var useGoroutineRelay bool

// startProxyNoCleanup starts a proxy that runs until the process ends (for fuzzing).
func startProxyNoCleanup(t testing.TB, db *pgtest.DB, opts ...proxyOpt) *testProxy {
	t.Helper()
	cfg := config.Default()
	cfg.Upstream.Address = db.Server.Addr()
	cfg.Upstream.TLS = config.TLSDisable
	cfg.Server.ShutdownTimeout = config.Duration(2 * time.Second)
	core, logs := observer.New(zap.DebugLevel)
	o := Options{Config: cfg, Logger: zap.New(core), Metrics: metrics.New(), GoroutineRelay: useGoroutineRelay}
	for _, f := range opts {
		f(cfg, &o)
	}
	srv, err := NewServer(o)
	if err != nil {
		t.Fatalf("NewServer() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &testProxy{srv: srv, db: db, addr: ln.Addr().String(), m: o.Metrics, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- srv.Serve(ctx, ln) }()
	return p
}

// stop cancels Serve and waits for it (idempotent enough for Cleanup after an explicit stop).
func (p *testProxy) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	defer func() {
		if t.Failed() {
			for _, e := range p.logs.All() {
				t.Logf("log: %s %v", e.Message, e.ContextMap())
			}
		}
	}()
	select {
	case err, ok := <-p.done:
		if ok && err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
		close(p.done)
	case <-time.After(15 * time.Second):
		t.Fatalf("Serve() did not return within 15s of cancel")
	}
}

// url is a connection string through the proxy for user (the superuser when empty).
func (p *testProxy) url(user, password, extra string) string {
	if user == "" {
		user = pgtest.Superuser
	}
	cred := user
	if password != "" {
		cred += ":" + password
	}
	s := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cred, p.addr, p.db.Name)
	if extra != "" {
		s += "&" + extra
	}
	return s
}

// connect opens a pgx connection through the proxy, closed when t ends.
func (p *testProxy) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.url("", "", ""))
	if err != nil {
		t.Fatalf("connect through proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// checkGoroutines is pgtest.CheckGoroutines.
func checkGoroutines(t *testing.T) { t.Helper(); pgtest.CheckGoroutines(t) }

// eventually is pgtest.Eventually.
func eventually(d time.Duration, cond func() bool) bool { return pgtest.Eventually(d, cond) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
