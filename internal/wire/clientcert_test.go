package wire

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// certAuthority issues client certificates with a chosen common name.
type certAuthority struct {
	dir  string
	file string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCertAuthority(t *testing.T, name string) *certAuthority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &certAuthority{dir: t.TempDir(), cert: cert, key: key}
	ca.file = filepath.Join(ca.dir, name+".crt")
	writePEMFile(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes a client certificate for cn and returns its certificate and key files.
func (ca *certAuthority) issue(t *testing.T, cn string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	prefix := filepath.Join(ca.dir, cn+"-"+serial.String())
	writePEMFile(t, prefix+".crt", "CERTIFICATE", der)
	writePEMFile(t, prefix+".key", "EC PRIVATE KEY", keyDER)
	return prefix + ".crt", prefix + ".key"
}

func writePEMFile(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil && strings.HasSuffix(path, ".key") {
		t.Fatal(err)
	}
}

// A client that logs in with a certificate of its own reaches a server that requires one: pgseal
// verifies it and presents its own certificate upstream, for that client only.
func TestClientCertificateLogin(t *testing.T) {
	ca := newCertAuthority(t, "clients")
	hba := filepath.Join(ca.dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\nhostssl all certuser 127.0.0.1/32 cert\nhost all all 127.0.0.1/32 trust\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(ca.dir), ca.dir, ca.file, hba} {
		_ = os.Chmod(p, 0o755) // the server runs as another account when the tests run as root
	}
	srv := pgtest.Private(t, pgtest.Options{Settings: []string{"hba_file=" + hba, "ssl_ca_file=" + ca.file}})
	if srv.CertFile == "" {
		t.Skip("the test server has no TLS")
	}
	db := srv.NewDB(t)
	db.Exec(t, "CREATE ROLE certuser LOGIN; GRANT CONNECT ON DATABASE "+db.Name+" TO certuser")
	upCert, upKey := ca.issue(t, "certuser")
	p := startProxy(t, db, func(c *config.Config, _ *Options) {
		c.Server.TLSCertFile, c.Server.TLSKeyFile = srv.CertFile, srv.KeyFile
		c.Server.TLSClientCAFile = ca.file
		c.Upstream.TLS, c.Upstream.TLSCertFile, c.Upstream.TLSKeyFile = config.TLSRequire, upCert, upKey
	})
	url := func(user, cert, key string) string {
		u := "postgres://" + user + "@" + p.addr + "/" + db.Name + "?sslmode=require"
		if cert != "" {
			u += "&sslcert=" + cert + "&sslkey=" + key
		}
		return u
	}
	mine, mineKey := ca.issue(t, "certuser")
	other, otherKey := ca.issue(t, "someone")
	stranger := newCertAuthority(t, "strangers")
	forged, forgedKey := stranger.issue(t, "certuser")

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
