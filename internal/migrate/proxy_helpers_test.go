package migrate_test

// This file is in the external test package so that it can start a proxy (internal/wire and
// internal/seal) the way cmd/proxy does, as a client of this package. The package's
// TestMain (helpers_test.go, pgtest.Main) serves this binary too.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/wire"
)

var proxyTenants = []string{"acme", "globex", "initech"}

// proxyEnv is a test database, a file keyring whose keysets acme, globex and initech are granted
// to the test superuser, and an in-process pgseal (wire.Server) in front of the database with
// the given [[encrypt]] columns and multi-tenant tenancy on app.tenant.
type proxyEnv struct {
	db     *pgtest.DB
	kr     *keyring.Keyring
	addr   string
	logs   *observer.ObservedLogs
	direct *pgx.Conn
}

func newProxyEnv(t *testing.T, cols []config.Encrypt) *proxyEnv {
	t.Helper()
	ctx := testCtx(t)
	e := &proxyEnv{db: pgtest.New(t)}
	e.direct = e.db.Conn(t)
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(k string) string { return map[string]string{"K": key}[k] }
	m, err := keyring.OpenManager(ctx, kcfg, getenv)
	if err != nil {
		t.Fatalf("OpenManager() = %v", err)
	}
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Init() = %v", err)
	}
	_ = m.Close()
	if e.kr, err = keyring.Open(ctx, kcfg, getenv, nil); err != nil {
		t.Fatalf("keyring.Open() = %v", err)
	}
	t.Cleanup(func() { _ = e.kr.Close() })
	mgr := e.kr.Manager()
	if _, err := mgr.CreateClient(ctx, pgtest.Superuser, true); err != nil {
		t.Fatalf("CreateClient() = %v", err)
	}
	for _, ks := range proxyTenants {
		if _, err := mgr.CreateKeyset(ctx, ks, ""); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", ks, err)
		}
		if err := mgr.Grant(ctx, ks, pgtest.Superuser); err != nil {
			t.Fatalf("Grant(%s) = %v", ks, err)
		}
	}
	e.startProxy(t, cols)
	return e
}

// startProxy serves a wire.Server on 127.0.0.1:0 until the test ends; its logs are printed when
// the test failed.
func (e *proxyEnv) startProxy(t *testing.T, cols []config.Encrypt) {
	t.Helper()
	cfg := config.Default()
	cfg.Upstream.Address = e.db.Server.Addr()
	cfg.Upstream.TLS = config.TLSDisable
	cfg.Server.ShutdownTimeout = config.Duration(2 * time.Second)
	cfg.Encrypt = cols
	cfg.Tenancy = config.Tenancy{Setting: "app.tenant", Mode: "multi"}
	core, logs := observer.New(zap.InfoLevel)
	e.logs = logs
	log, m := zap.New(core), metrics.New()
	icpt, err := seal.ForConfig(cfg, e.kr, log, m)
	if err != nil {
		t.Fatalf("seal.ForConfig() = %v", err)
	}
	srv, err := wire.NewServer(wire.Options{Config: cfg, Logger: log, Metrics: m, Interceptor: icpt})
	if err != nil {
		t.Fatalf("wire.NewServer() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve() = %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Serve() did not return within 15s of cancel")
		}
		if t.Failed() {
			for _, l := range e.logs.All() {
				t.Logf("proxy log: %s %v", l.Message, l.ContextMap())
			}
		}
	})
}

// proxyURL is a connection string through pgseal, as the application would use it.
func (e *proxyEnv) proxyURL() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", pgtest.Superuser, e.addr, e.db.Name)
}

// connect opens a connection through pgseal (the default pgx mode: cached prepared statements),
// closed when the test ends.
func (e *proxyEnv) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(testCtx(t), e.proxyURL())
	if err != nil {
		t.Fatalf("connect through pgseal: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (e *proxyEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.direct.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func (e *proxyEnv) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.direct.QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sqlState is the SQLSTATE of a server (or pgseal) error, "" for others.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// waitFor polls cond until it holds or d passes; it reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
