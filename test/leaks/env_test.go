package leaks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/wire"
)

// Roles of the setup (cluster-wide; the cluster is this test binary's own). app_a is the keyring
// client granted acme; app_n and evil are clients without grants; "sec" is a role whose "$user"
// schema is the configured schema sec.
const (
	roleA    = "app_a"
	roleN    = "app_n"
	roleEvil = "evil"
	roleSec  = "sec"
)

// serverSettings make PostgreSQL write every statement, every parse/bind/execute step and every
// bind parameter, also on error, to its log: anything pgseal forwards is in the file.
var serverSettings = []string{
	"log_statement=all",
	"log_min_duration_statement=0",
	"log_parameter_max_length=-1",
	"log_parameter_max_length_on_error=-1",
	"log_min_error_statement=error",
	"log_min_messages=warning",
}

// columns is the [[encrypt]] configuration of the setup.
var columns = []config.Encrypt{
	{Table: "public.users", Column: "email", Type: "text", Search: []string{"eq"}},
	{Table: "public.users", Column: "born", Type: "date"},
	{Table: "public.users", Column: "note", Type: "text"},
	{Table: "public.users", Column: "doc", Type: "jsonb", Search: []string{"eq"}},
	{Table: "sec.accounts", Column: "email", Type: "text"},
	{Table: "public.events", Column: "payload", Type: "text"},
	{Table: "public.people", Column: "name", Type: "text", Search: []string{"ord", "match"}, AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"},
	{Table: "public.people", Column: "age", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "public.people", Column: "seen", Type: "timestamptz", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
	{Table: "public.people", Column: "score", Type: "int8", Search: []string{"eq"}},
}

// roles are created once per cluster.
var roles = `
CREATE ROLE app_a LOGIN;
CREATE ROLE app_n LOGIN;
CREATE ROLE evil LOGIN;
CREATE ROLE sec LOGIN;
`

// schema is the template every case database is copied from. Encrypted columns are bytea.
var schema = `
CREATE SCHEMA sec;
CREATE SCHEMA evil AUTHORIZATION evil;
CREATE TABLE public.users (id serial PRIMARY KEY, tenant text, email bytea, born bytea, note bytea, doc bytea);
CREATE TABLE public.contacts (id serial PRIMARY KEY, email text);
CREATE TABLE public.people (id serial PRIMARY KEY, tenant text, name bytea, age bytea, seen bytea, score bytea);
` + searchIndexes + `
CREATE TABLE sec.accounts (id serial PRIMARY KEY, email bytea, name text);
CREATE TABLE public.events (id serial, at date NOT NULL DEFAULT '2025-03-01', payload bytea) PARTITION BY RANGE (at);
CREATE TABLE public.events_2025 PARTITION OF public.events
	FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (at);
CREATE TABLE public.events_2025_h1 PARTITION OF public.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE TABLE public.events_2025_h2 PARTITION OF public.events_2025 FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');
CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;
CREATE TABLE public.users_child (extra int) INHERITS (public.users);
CREATE VIEW public.users_v AS SELECT * FROM public.users;
CREATE VIEW public.users_vv AS SELECT id, tenant, note FROM public.users_v;
CREATE VIEW public.users_r (who, memo) AS SELECT tenant, note FROM public.users;
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON public.users
	USING (current_setting('app.tenant', true) = tenant)
	WITH CHECK (current_setting('app.tenant', true) = tenant);
GRANT USAGE ON SCHEMA sec TO PUBLIC;
GRANT CREATE ON SCHEMA public TO app_a;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, sec TO app_a, app_n, sec;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public, sec TO evil;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, sec TO PUBLIC;
`

// searchIndexes are pgseal's order and match indexes of people (docs/search.md §5), which make
// its ord and match searches usable through the proxy.
var searchIndexes = fmt.Sprintf(`CREATE INDEX %s ON public.people ((%s));
CREATE INDEX %s ON public.people ((%s));
CREATE INDEX %s ON public.people ((%s));
CREATE INDEX %s ON public.people USING gin ((%s));`,
	catalog.SearchIndexName("public.people.name", catalog.IndexOrd), rewrite.OrdExpr("name", false),
	catalog.SearchIndexName("public.people.age", catalog.IndexOrd), rewrite.OrdExpr("age", false),
	catalog.SearchIndexName("public.people.seen", catalog.IndexOrd), rewrite.OrdExpr("seen", false),
	catalog.SearchIndexName("public.people.name", catalog.IndexMatch), rewrite.MatchExpr("name", false))

const templateDB = "leaks_template"

var (
	clusterOnce sync.Once
	cluster     *pgtest.Server
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

// server is the package's private cluster, with the logging settings and the template database.
// Without PostgreSQL it skips, or fails under CI (as pgtest.Shared does).
func server(t *testing.T) *pgtest.Server {
	t.Helper()
	clusterOnce.Do(func() {
		cluster, clusterErr = pgtest.StartWith(pgtest.Options{Settings: serverSettings, LogFile: true})
		if clusterErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		clusterErr = prepareTemplate(ctx, cluster)
	})
	if clusterErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: PostgreSQL is required under CI: %v", clusterErr)
		}
		t.Skipf("pgtest: no PostgreSQL for this test: %v", clusterErr)
	}
	return cluster
}

func prepareTemplate(ctx context.Context, s *pgtest.Server) error {
	if err := s.Exec(ctx, roles); err != nil {
		return fmt.Errorf("roles: %w", err)
	}
	if err := s.Exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, s.URL(pgtest.Superuser, templateDB))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

// checkGoroutines is pgtest.CheckGoroutines.
func checkGoroutines(t *testing.T) { t.Helper(); pgtest.CheckGoroutines(t) }

// env is a keyring and a pgseal proxy in front of the package's cluster.
type env struct {
	srv    *pgtest.Server
	kcfg   config.Keyring
	master string
	kr     *keyring.Keyring
	names  map[crypto.KeysetID]string
	addr   string
	stopFn func()
}

// newEnv makes a file keyring (keysets acme and globex; app_a granted acme; app_n, evil and sec
// clients without grants; the superuser granted both, for the DDL cases) and starts a proxy.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{srv: server(t)}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	e.master = base64.StdEncoding.EncodeToString(key)
	dir := t.TempDir()
	// StatePath as config.Load defaults it for the file store (<path>.state): the epoch guard
	// that survives restarts (case 10).
	e.kcfg = config.Keyring{Store: "file", Path: filepath.Join(dir, "keyring.json"),
		StatePath: filepath.Join(dir, "keyring.json.state"), MasterKeyEnv: "K"}
	ctx := context.Background()
	m, err := keyring.OpenManager(ctx, e.kcfg, e.getenv)
	if err != nil {
		t.Fatalf("keyring.OpenManager() = %v", err)
	}
	defer m.Close()
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Manager.Init() = %v", err)
	}
	for _, ks := range []string{"acme", "globex"} {
		if _, err := m.CreateKeyset(ctx, ks, "leak-hunting tenant"); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", ks, err)
		}
	}
	grants := map[string][]string{roleA: {"acme"}, roleN: nil, roleEvil: nil, roleSec: nil, pgtest.Superuser: {"acme", "globex"}}
	for client, kss := range grants {
		if _, err := m.CreateClient(ctx, client, false); err != nil {
			t.Fatalf("CreateClient(%s) = %v", client, err)
		}
		for _, ks := range kss {
			if err := m.Grant(ctx, ks, client); err != nil {
				t.Fatalf("Grant(%s, %s) = %v", ks, client, err)
			}
		}
	}
	if err := e.start(t); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(e.stop)
	return e
}

func (e *env) getenv(k string) string {
	if k == "K" {
		return e.master
	}
	return ""
}

// start opens the keyring and starts a proxy on 127.0.0.1:0, as `proxy serve` does; stop undoes it.
// A keyring that refuses to open is returned as the error.
func (e *env) start(t *testing.T) error {
	ctx := context.Background()
	kr, err := keyring.Open(ctx, e.kcfg, e.getenv, zap.NewNop())
	if err != nil {
		return fmt.Errorf("keyring.Open() = %w", err)
	}
	e.kr = kr
	e.names = map[crypto.KeysetID]string{}
	for _, ks := range kr.Snapshot().Keysets() {
		e.names[ks.ID] = ks.Name
	}
	cfg := config.Default()
	cfg.Upstream.Address = e.srv.Addr()
	cfg.Upstream.TLS = config.TLSDisable
	cfg.Server.ShutdownTimeout = config.Duration(2 * time.Second)
	cfg.Encrypt = columns
	cfg.Tenancy = config.Tenancy{Setting: "app.tenant", Mode: "multi"}
	icpt, err := seal.ForConfig(cfg, kr, zap.NewNop(), nil)
	if err != nil {
		_ = kr.Close()
		return fmt.Errorf("seal.ForConfig() = %w", err)
	}
	ps, err := wire.NewServer(wire.Options{Config: cfg, Logger: zap.NewNop(), Interceptor: icpt})
	if err != nil {
		_ = kr.Close()
		return fmt.Errorf("wire.NewServer() = %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = kr.Close()
		return err
	}
	e.addr = ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ps.Serve(sctx, ln) }()
	e.stopFn = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve() = %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Serve() did not return within 15s of cancel")
		}
		_ = kr.Close()
	}
	return nil
}

func (e *env) stop() {
	if e.stopFn != nil {
		e.stopFn()
		e.stopFn = nil
	}
}

// caseDB is a fresh copy of the template database, dropped when t ends.
func (e *env) caseDB(t *testing.T) *pgtest.DB {
	t.Helper()
	name := "leak_" + randHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+templateDB+""); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.srv.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return &pgtest.DB{Server: e.srv, Name: name}
}

// proxyURL is a connection string through the proxy for user, with runtime parameters.
func (e *env) proxyURL(db *pgtest.DB, user string, params map[string]string) string {
	q := url.Values{"sslmode": {"disable"}}
	for k, v := range params {
		q.Set(k, v)
	}
	return "postgres://" + user + "@" + e.addr + "/" + db.Name + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

// tenantParams sets app.tenant at startup the usual way (options=-c app.tenant=…); none for "".
func tenantParams(tenant string) map[string]string {
	if tenant == "" {
		return nil
	}
	return map[string]string{"options": "-c app.tenant=" + tenant}
}

// dial opens a pgx connection through the proxy; the error is returned (pgseal may refuse).
func (e *env) dial(t *testing.T, db *pgtest.DB, user string, params map[string]string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, e.proxyURL(db, user, params))
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, nil
}

// connect is dial as user with app.tenant set to tenant at startup, failing t if it cannot connect.
func (e *env) connect(t *testing.T, db *pgtest.DB, user, tenant string) *pgx.Conn {
	t.Helper()
	c, err := e.dial(t, db, user, tenantParams(tenant))
	if err != nil {
		t.Fatalf("connect through pgseal as %s: %v", user, err)
	}
	return c
}

// exec runs sql through the simple protocol (pgx sends a statement without arguments as one
// Query message, several statements included) and returns the error, which may be a refusal.
func exec(t *testing.T, c *pgx.Conn, sql string, args ...any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, sql, args...)
	return err
}

// steps runs the statements in order on c and stops at the first error: a refusal by pgseal ends
// the attack (and a statement sent after a refused one would only test what PostgreSQL does with
// a half-done setup, e.g. an insert into a view whose CREATE was refused). It logs what was
// refused, for the report.
func steps(t *testing.T, c *pgx.Conn, mk string, sqls ...string) {
	t.Helper()
	runSteps(t, c, mk, false, sqls)
}

// stepsAll is steps going on after errors: for attacks whose later statements stand on their own,
// or whose earlier statement is meant to fail (a PREPARE under a name already taken).
func stepsAll(t *testing.T, c *pgx.Conn, mk string, sqls ...string) {
	t.Helper()
	runSteps(t, c, mk, true, sqls)
}

func runSteps(t *testing.T, c *pgx.Conn, mk string, keepGoing bool, sqls []string) {
	t.Helper()
	for i, s := range sqls {
		s = withMarker(s, mk)
		err := exec(t, c, s)
		if err == nil {
			continue
		}
		t.Logf("%s\n\t→ %v", s, err)
		if c.IsClosed() || (!keepGoing && i < len(sqls)-1) {
			t.Logf("the remaining %d statement(s) are not sent", len(sqls)-1-i)
			return
		}
	}
}

// withMarker puts the case's marker where a statement says MK.
func withMarker(sql, mk string) string { return strings.ReplaceAll(sql, "MK", mk) }

// newMarker is a unique plaintext: "MK" and 12 random hex digits.
func newMarker() string { return "MK" + randHex(6) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sqlstate(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// direct opens a superuser connection straight to PostgreSQL (no proxy), closed when t ends.
func direct(t *testing.T, db *pgtest.DB) *pgx.Conn {
	t.Helper()
	return db.Conn(t)
}
