package check

import (
	"context"
	"encoding/base64"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/wire"
)

// The tests share one private cluster that loads pg_stat_statements (pgtest's shared server does
// not); pgtest.Options' Settings are its -c settings, so the launcher needs no change.
var (
	statsOnce sync.Once
	statsSrv  *pgtest.Server
	statsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if statsSrv != nil {
		statsSrv.Stop()
	}
	os.Exit(code)
}

// statsDB returns a fresh database, with the pg_stat_statements extension, on the shared cluster.
func statsDB(t *testing.T) *pgtest.DB {
	t.Helper()
	statsOnce.Do(func() {
		statsSrv, statsErr = pgtest.StartWith(pgtest.Options{Settings: []string{
			"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=top"}})
	})
	if statsErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: PostgreSQL is required under CI: %v", statsErr)
		}
		t.Skipf("pgtest: no PostgreSQL for this test: %v", statsErr)
	}
	db := statsSrv.NewDB(t)
	db.Exec(t, "CREATE EXTENSION pg_stat_statements")
	return db
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// testProxy is a real pgseal (wire.Server with the encryption interceptor) in front of db.
type testProxy struct {
	addr string
	db   *pgtest.DB
	m    *metrics.Metrics
}

// startProxy starts pgseal for cols in front of db, with a keyring whose keysets are granted to
// the test's superuser.
func startProxy(t *testing.T, db *pgtest.DB, cols []config.Encrypt, keysets ...string) (*testProxy, *config.Config) {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(k string) string {
		if k == "K" {
			return key
		}
		return ""
	}
	mgr, err := keyring.OpenManager(ctx, kcfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.CreateClient(ctx, pgtest.Superuser, true); err != nil {
		t.Fatal(err)
	}
	for _, ks := range keysets {
		if _, err := mgr.CreateKeyset(ctx, ks, ""); err != nil {
			t.Fatal(err)
		}
		if err := mgr.Grant(ctx, ks, pgtest.Superuser); err != nil {
			t.Fatal(err)
		}
	}
	_ = mgr.Close()
	kr, err := keyring.Open(ctx, kcfg, getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kr.Close() })
	cfg := config.Default()
	cfg.Upstream.Address = db.Server.Addr()
	cfg.Upstream.TLS = config.TLSDisable
	cfg.Server.ShutdownTimeout = config.Duration(2 * time.Second)
	cfg.Encrypt = cols
	cfg.Tenancy = config.Tenancy{Setting: "app.tenant", Mode: "multi"}
	m := metrics.New()
	icpt, err := seal.ForConfig(cfg, kr, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := wire.NewServer(wire.Options{Config: cfg, Interceptor: icpt, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testProxy{addr: ln.Addr().String(), db: db, m: m}, cfg
}

// url connects through the proxy as the superuser, with the tenant set at startup.
func (p *testProxy) url(tenant string) string {
	u := "postgres://" + pgtest.Superuser + "@" + p.addr + "/" + p.db.Name + "?sslmode=disable"
	if tenant != "" {
		u += "&options=" + strings.ReplaceAll(url.QueryEscape("-c app.tenant="+tenant), "+", "%20")
	}
	return u
}

func (p *testProxy) connect(t *testing.T, tenant string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctxT(t, 30*time.Second), p.url(tenant))
	if err != nil {
		t.Fatalf("connect through pgseal: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// refusals is the proxy's count of refused requests, all SQLSTATEs.
func (p *testProxy) refusals() float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { p.m.Refusals.Collect(ch); close(ch) }()
	n := 0.0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err == nil && d.Counter != nil {
			n += d.Counter.GetValue()
		}
	}
	return n
}
