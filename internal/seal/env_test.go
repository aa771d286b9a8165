package seal

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// sealEnv is a database with encrypted columns, a keyring (file store in a temp dir) with
// keysets acme and globex granted to the test superuser, and a proxy in front.
type sealEnv struct {
	db  *pgtest.DB
	kr  *keyring.Keyring
	mgr *keyring.Manager
	p   *testProxy
}

const sealSchema = `
CREATE TABLE users (id serial PRIMARY KEY, tenant text, email bytea, name text, age bytea);
CREATE UNIQUE INDEX users_email_term ON users ((substring(email from 24 for 16)));
CREATE TABLE notes (id int PRIMARY KEY, body text);
`

var sealColumns = []config.Encrypt{
	{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}},
	{Table: "users", Column: "age", Type: "int4"},
	{Table: "notes", Column: "body", Type: "text", Search: []string{"eq"}}, // pending: still text
}

func newSealEnv(t testing.TB, mode, schema string, cols []config.Encrypt) *sealEnv {
	t.Helper()
	return newSealEnvIn(t, pgtest.New(t), mode, schema, cols)
}

// newSealEnvIn is newSealEnv in a database of the test's choice (e.g. of a private server).
func newSealEnvIn(t testing.TB, db *pgtest.DB, mode, schema string, cols []config.Encrypt) *sealEnv {
	t.Helper()
	key := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	kcfg := config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "K"}
	getenv := func(k string) string {
		if k == "K" {
			return key
		}
		return ""
	}
	return newSealEnvKeyring(t, db, mode, schema, cols, kcfg, getenv)
}

// newSealEnvKeyring is newSealEnvIn with a keyring configuration of the test's choice (e.g. a
// master key in a KMS); the keyring is created in it.
func newSealEnvKeyring(t testing.TB, db *pgtest.DB, mode, schema string, cols []config.Encrypt, kcfg config.Keyring, getenv func(string) string) *sealEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db.Exec(t, schema)
	m, err := keyring.OpenManager(ctx, kcfg, getenv)
	if err != nil {
		t.Fatalf("OpenManager() = %v", err)
	}
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Init() = %v", err)
	}
	_ = m.Close()
	kr, err := keyring.Open(ctx, kcfg, getenv, nil)
	if err != nil {
		t.Fatalf("keyring.Open() = %v", err)
	}
	t.Cleanup(func() { _ = kr.Close() })
	e := &sealEnv{db: db, kr: kr, mgr: kr.Manager()}
	for _, ks := range []string{"acme", "globex"} {
		if _, err := e.mgr.CreateKeyset(ctx, ks, ""); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", ks, err)
		}
	}
	e.client(t, pgtest.Superuser, "acme", "globex")
	opt := func(c *config.Config, o *proxyOptions) {
		c.Encrypt = cols
		c.Tenancy = config.Tenancy{Setting: "app.tenant", Mode: mode}
		o.Keyring = kr
	}
	if tt, ok := t.(*testing.T); ok {
		e.p = startProxy(tt, db, opt)
	} else {
		e.p = startProxyNoCleanup(t, db, opt)
		t.Cleanup(func() { e.p.cancel(); <-e.p.done })
	}
	return e
}

// client creates a keyring client (granted default) and grants it keysets.
func (e *sealEnv) client(t testing.TB, name string, keysets ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.mgr.CreateClient(ctx, name, true); err != nil {
		t.Fatalf("CreateClient(%s) = %v", name, err)
	}
	for _, ks := range keysets {
		if err := e.mgr.Grant(ctx, ks, name); err != nil {
			t.Fatalf("Grant(%s, %s) = %v", ks, name, err)
		}
	}
}

// connect opens a pgx connection through the proxy as user ("" = superuser) with the tenant set
// at startup ("" = none).
func (e *sealEnv) connect(t testing.TB, user, tenant string) *pgx.Conn {
	t.Helper()
	extra := ""
	if tenant != "" {
		extra = "options=" + strings.ReplaceAll(url.QueryEscape("-c app.tenant="+tenant), "+", "%20")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, e.p.url(user, "", extra))
	if err != nil {
		t.Fatalf("connect through proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// direct opens a connection straight to PostgreSQL.
func (e *sealEnv) direct(t *testing.T) *pgx.Conn { return e.db.Conn(t) }

// allModes are the pgx query modes the end-to-end tests run in.
var allModes = []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec,
	pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec}

// pgError returns the server error in err (a zero one when there is none).
func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return &pgconn.PgError{}
}
