package wire

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// newClientCA makes a throwaway CA in a directory of its own.
func newClientCA(t *testing.T) *pgtest.CA {
	t.Helper()
	dir := t.TempDir()
	ca, err := pgtest.NewCAIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue writes a client certificate for cn under ca and returns its certificate and key files.
func issue(t *testing.T, ca *pgtest.CA, cn string) (string, string) {
	t.Helper()
	p, err := ca.Issue(filepath.Join(t.TempDir(), cn), cn)
	if err != nil {
		t.Fatal(err)
	}
	return p.CertFile, p.KeyFile
}

// A client that logs in with a certificate of its own reaches a server that requires one: pgseal
// verifies it and presents its own certificate upstream, for that client only.
func TestClientCertificateLogin(t *testing.T) {
	ca := newClientCA(t)
	dir := filepath.Dir(ca.File)
	hba := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\nhostssl all certuser 127.0.0.1/32 cert\nhost all all 127.0.0.1/32 trust\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(dir), dir, ca.File, hba} {
		_ = os.Chmod(p, 0o755) // the server runs as another account when the tests run as root
	}
	srv := pgtest.Private(t, pgtest.Options{Settings: []string{"hba_file=" + hba, "ssl_ca_file=" + ca.File}})
	if srv.CertFile == "" {
		t.Skip("the test server has no TLS")
	}
	db := srv.NewDB(t)
	db.Exec(t, "CREATE ROLE certuser LOGIN; GRANT CONNECT ON DATABASE "+db.Name+" TO certuser")
	upCert, upKey := issue(t, ca, "certuser")
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Server.TLSCertFile, c.Server.TLSKeyFile = srv.CertFile, srv.KeyFile
		c.Server.TLSClientCAFile = ca.File
		c.Upstream.TLS, c.Upstream.TLSCertFile, c.Upstream.TLSKeyFile = config.TLSRequire, upCert, upKey
	})
	url := func(user, cert, key string) string {
		u := "postgres://" + user + "@" + p.addr + "/" + db.Name + "?sslmode=require"
		if cert != "" {
			u += "&sslcert=" + cert + "&sslkey=" + key
		}
		return u
	}
	mine, mineKey := issue(t, ca, "certuser")
	other, otherKey := issue(t, ca, "someone")
	forged, forgedKey := issue(t, newClientCA(t), "certuser")

	t.Run("a verified certificate for the user logs in over TLS on both legs", func(t *testing.T) {
		c, err := pgconn.Connect(ctxT(t), url("certuser", mine, mineKey))
		if err != nil {
			t.Fatalf("Connect = %v", err)
		}
		defer c.Close(context.Background())
		rows, err := c.Exec(ctxT(t), "SELECT ssl::text, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()").ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0].Rows) != 1 {
			t.Fatalf("pg_stat_ssl = %v, %v", rows, err)
		}
		if got := rows[0].Rows[0]; string(got[0]) != "true" || string(got[1]) != "/CN=certuser" {
			t.Fatalf("ssl, client_dn = %s, %s; want true, /CN=certuser", got[0], got[1])
		}
	})
	for _, c := range []struct{ name, cert, key string }{
		{"no certificate", "", ""},
		{"a certificate for another user", other, otherKey},
	} {
		t.Run(c.name+": pgseal presents none, the server refuses", func(t *testing.T) {
			_, err := pgconn.Connect(ctxT(t), url("certuser", c.cert, c.key))
			if got := sqlstate(err); got != CodeInvalidAuthorization {
				t.Fatalf("Connect = %v, want the server's 28000", err)
			}
		})
	}
	t.Run("a certificate from an unknown CA fails the handshake", func(t *testing.T) {
		if _, err := pgconn.Connect(ctxT(t), url("certuser", forged, forgedKey)); err == nil {
			t.Fatal("Connect with a forged certificate succeeded")
		}
	})
	t.Run("other users log in as before", func(t *testing.T) {
		c, err := pgconn.Connect(ctxT(t), url(pgtest.Superuser, "", ""))
		if err != nil {
			t.Fatalf("Connect = %v", err)
		}
		c.Close(context.Background())
	})
}
