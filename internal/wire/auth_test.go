package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestPassThroughAuthentication(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	for _, method := range []string{pgtest.AuthMD5, pgtest.AuthSCRAM, pgtest.AuthPassword} {
		role := db.Server.CreateRole(t, "auth_"+strings.ReplaceAll(method, "-", "_"), "s3cret pw", method)
		t.Run(method+" with the right password logs in as that role", func(t *testing.T) {
			c, err := pgx.Connect(ctxT(t), p.url(role, "s3cret%20pw", ""))
			if err != nil {
				t.Fatalf("Connect(%s) = %v", method, err)
			}
			defer c.Close(context.Background())
			var who string
			if err := c.QueryRow(ctxT(t), "SELECT current_user").Scan(&who); err != nil || who != role {
				t.Fatalf("current_user = %q, %v, want %q", who, err, role)
			}
		})
		t.Run(method+" with a wrong password fails with 28P01", func(t *testing.T) {
			_, err := pgx.Connect(ctxT(t), p.url(role, "wrong", ""))
			if got := sqlstate(err); got != "28P01" {
				t.Fatalf("Connect(wrong password) = %v, want SQLSTATE 28P01", err)
			}
		})
	}
}

// proxyCert issues the proxy's server certificate under a throwaway CA and returns the CA file.
func proxyCert(t *testing.T) (string, pgtest.CertPair) {
	t.Helper()
	dir := t.TempDir()
	caFile, issue, err := pgtest.NewCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := issue(filepath.Join(dir, "proxy"))
	if err != nil {
		t.Fatal(err)
	}
	return caFile, pair
}

// tlsProxy runs a proxy with TLS on both legs: client->proxy with a pgtest CA, proxy->server
// verify-full against the server's CA.
func tlsProxy(t *testing.T, db *pgtest.DB) (*testProxy, string) {
	caFile, pair := proxyCert(t)
	if db.Server.CAFile == "" {
		t.Skip("the test server has no TLS")
	}
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Server.TLSCertFile, c.Server.TLSKeyFile = pair.CertFile, pair.KeyFile
		c.Upstream.TLS, c.Upstream.CAFile = config.TLSVerifyFull, db.Server.CAFile
		c.Upstream.ServerName = "localhost"
	})
	return p, caFile
}

func TestTLSOnBothLegs(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p, caFile := tlsProxy(t, db)
	url := strings.Replace(p.url("", "", ""), "sslmode=disable", "sslmode=verify-full&sslrootcert="+caFile, 1)
	url = strings.Replace(url, "127.0.0.1", "localhost", 1)
	c, err := pgx.Connect(ctxT(t), url)
	if err != nil {
		t.Fatalf("Connect(verify-full) = %v", err)
	}
	defer c.Close(context.Background())
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("client conn is %T, want *tls.Conn", c.PgConn().Conn())
	}
	var ssl bool
	if err := c.QueryRow(ctxT(t), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("upstream pg_stat_ssl.ssl = %v, %v, want true", ssl, err)
	}
}

func TestUpstreamVerifyFullRejectsAnUnknownCA(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	dir := t.TempDir()
	otherCA, _, err := pgtest.NewCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Upstream.TLS, c.Upstream.CAFile = config.TLSVerifyFull, otherCA
	})
	_, err = pgx.Connect(ctxT(t), p.url("", "", ""))
	if got := sqlstate(err); got != CodeUnableToConnect {
		t.Fatalf("Connect() = %v, want SQLSTATE 08001", err)
	}
	if err := p.srv.CheckUpstream(ctxT(t)); err == nil {
		t.Fatalf("CheckUpstream() = nil, want a certificate error")
	}
}

func TestSCRAMPlusIsStrippedForTLSClients(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p, caFile := tlsProxy(t, db)
	role := db.Server.CreateRole(t, "plus", "pw", pgtest.AuthSCRAM)
	base := strings.Replace(p.url(role, "pw", ""), "sslmode=disable", "sslmode=verify-full&sslrootcert="+caFile, 1)
	base = strings.Replace(base, "127.0.0.1", "localhost", 1)

	t.Run("a client requiring channel binding is told the server does not offer it", func(t *testing.T) {
		_, err := pgconn.Connect(ctxT(t), base+"&channel_binding=require")
		if err == nil || !strings.Contains(err.Error(), "SCRAM-SHA-256-PLUS") {
			t.Fatalf("Connect(channel_binding=require) = %v, want a client-side 'server does not support SCRAM-SHA-256-PLUS'", err)
		}
	})
	t.Run("a client with channel binding disabled logs in with plain SCRAM", func(t *testing.T) {
		c, err := pgconn.Connect(ctxT(t), base+"&channel_binding=disable")
		if err != nil {
			t.Fatalf("Connect(channel_binding=disable) = %v", err)
		}
		c.Close(context.Background())
	})
	t.Run("a client offering binding to a TLS upstream gets a clear 28000 with a hint", func(t *testing.T) {
		_, err := pgconn.Connect(ctxT(t), base)
		var pe *pgconn.PgError
		if !errorsAs(err, &pe) || pe.Code != CodeInvalidAuthorization || pe.Hint == "" {
			t.Fatalf("Connect(channel_binding=prefer) = %v, want SQLSTATE 28000 with a hint", err)
		}
	})
}

func TestSCRAMPlusCrossesWithTheServersCertificate(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	if db.Server.CertFile == "" {
		t.Skip("the test server has no TLS")
	}
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Server.TLSCertFile, c.Server.TLSKeyFile = db.Server.CertFile, db.Server.KeyFile
		c.Upstream.TLS, c.Upstream.CAFile = config.TLSVerifyFull, db.Server.CAFile
		c.Upstream.ServerName = "localhost"
	})
	role := db.Server.CreateRole(t, "plusok", "pw", pgtest.AuthSCRAM)
	base := strings.Replace(p.url(role, "pw", ""), "sslmode=disable", "sslmode=verify-full&sslrootcert="+db.Server.CAFile, 1)
	base = strings.Replace(base, "127.0.0.1", "localhost", 1)
	for _, binding := range []string{"require", "prefer"} {
		t.Run("channel_binding="+binding+" logs in", func(t *testing.T) {
			// require succeeds only if SCRAM-SHA-256-PLUS ran end to end: the server checked the
			// binding against its own certificate, which pgseal presented to the client.
			c, err := pgconn.Connect(ctxT(t), base+"&channel_binding="+binding)
			if err != nil {
				t.Fatalf("Connect(channel_binding=%s) = %v", binding, err)
			}
			c.Close(context.Background())
		})
	}
}

func TestSCRAMOverTLSClientToPlainUpstream(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	caFile, pair := proxyCert(t)
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Server.TLSCertFile, c.Server.TLSKeyFile = pair.CertFile, pair.KeyFile
	})
	role := db.Server.CreateRole(t, "tlsplain", "pw", pgtest.AuthSCRAM)
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)
	cfg, err := pgconn.ParseConfig(strings.Replace(p.url(role, "pw", ""), "sslmode=disable", "sslmode=require", 1))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	c, err := pgconn.ConnectConfig(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("Connect(TLS client, plain upstream, SCRAM) = %v", err)
	}
	c.Close(context.Background())
}
