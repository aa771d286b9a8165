package migrate

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/value"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a database of the test's own plus a file keyring with the given keysets.
type fixture struct {
	db     *pgtest.DB
	conn   *pgx.Conn
	kcfg   config.Keyring
	getenv func(string) string
	kr     *keyring.Keyring
	mgr    *keyring.Manager
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newFixture(t testing.TB, keysets ...string) *fixture {
	t.Helper()
	ctx := ctxT(t)
	master := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
	f := &fixture{db: pgtest.New(t),
		kcfg:   config.Keyring{Store: "file", Path: filepath.Join(t.TempDir(), "keyring.json"), MasterKeyEnv: "TEST_MASTER"},
		getenv: func(k string) string { return map[string]string{"TEST_MASTER": master}[k] }}
	f.conn = f.db.Conn(t)
	m, err := keyring.OpenManager(ctx, f.kcfg, f.getenv)
	if err != nil {
		t.Fatalf("OpenManager() = %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if _, err := m.Init(ctx); err != nil {
		t.Fatalf("Init() = %v", err)
	}
	for _, k := range keysets {
		if _, err := m.CreateKeyset(ctx, k, ""); err != nil {
			t.Fatalf("CreateKeyset(%s) = %v", k, err)
		}
	}
	f.kr, err = keyring.Open(ctx, f.kcfg, f.getenv, nil)
	if err != nil {
		t.Fatalf("keyring.Open() = %v", err)
	}
	t.Cleanup(func() { f.kr.Close() })
	f.mgr = f.kr.Manager()
	return f
}

func (f *fixture) snap() *keyring.Snapshot { return f.kr.Snapshot() }

func (f *fixture) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := f.conn.Exec(ctxT(t), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func (f *fixture) count(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.conn.QueryRow(ctxT(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// decryptAll reads pk and the encrypted column and decrypts every value to its text form.
func (f *fixture) decryptAll(t testing.TB, col Column, pk string) map[string]*string {
	t.Helper()
	rows, err := f.conn.Query(ctxT(t), "SELECT "+q(pk)+"::text, "+q(col.Name)+" FROM "+
		pgx.Identifier{col.Schema, col.Table}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*string{}
	for rows.Next() {
		var k string
		var env []byte
		if err := rows.Scan(&k, &env); err != nil {
			t.Fatal(err)
		}
		if env == nil {
			out[k] = nil
			continue
		}
		plain, _, _, err := col.Open(nil, f.snap(), env, nil)
		if err != nil {
			t.Fatalf("OpenValue(row %s) = %v", k, err)
		}
		txt, err := value.Decode(nil, col.Type, plain, value.FormatText, nil)
		if err != nil {
			t.Fatalf("Decode(row %s) = %v", k, err)
		}
		s := string(txt)
		out[k] = &s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// plainAll reads pk and a plaintext column as text.
func (f *fixture) plainAll(t testing.TB, table, pk, col string) map[string]*string {
	t.Helper()
	rows, err := f.conn.Query(ctxT(t), "SELECT "+q(pk)+"::text, "+q(col)+"::text FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*string{}
	for rows.Next() {
		var k string
		var v *string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// EnvelopesByID reads the (id, bytea) rows sql selects as stored: each row's envelope by id.
// Exported for the external test package too (rotateindex_proxy_test.go).
func EnvelopesByID(t testing.TB, conn *pgx.Conn, sql string, args ...any) map[int][]byte {
	t.Helper()
	rows, err := conn.Query(ctxT(t), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]byte{}
	for rows.Next() {
		var id int
		var env []byte
		if err := rows.Scan(&id, &env); err != nil {
			t.Fatal(err)
		}
		out[id] = env
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustColumn(t testing.TB, e config.Encrypt) Column {
	t.Helper()
	c, err := column.FromConfig(e)
	if err != nil {
		t.Fatalf("column.FromConfig() = %v", err)
	}
	return c
}

func configEncrypt(table, column, typ string, eq bool) config.Encrypt {
	e := config.Encrypt{Table: table, Column: column, Type: typ}
	if eq {
		e.Search = []string{"eq"}
	}
	return e
}
