package pgtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewGivesAnEmptyDatabaseOfItsOwn(t *testing.T) {
	db := New(t)
	var name string
	if err := db.Conn(t).QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != db.Name {
		t.Fatalf("current_database() = %q, want %q", name, db.Name)
	}
}

func TestRolesMustUseTheirAuthMethod(t *testing.T) {
	db := New(t)
	srv := db.Server
	for _, method := range []string{AuthMD5, AuthSCRAM, AuthPassword} {
		t.Run(method+" role logs in with its password and not without", func(t *testing.T) {
			role := srv.CreateRole(t, "r", "secret", method)
			ctx := context.Background()
			good := "postgres://" + role + ":secret@" + srv.Addr() + "/" + db.Name + "?sslmode=disable"
			conn, err := pgx.Connect(ctx, good)
			if err != nil {
				t.Fatalf("connect with password: %v", err)
			}
			conn.Close(ctx)
			bad := "postgres://" + role + ":wrong@" + srv.Addr() + "/" + db.Name + "?sslmode=disable"
			if conn, err := pgx.Connect(ctx, bad); err == nil {
				conn.Close(ctx)
				t.Fatal("connect with a wrong password succeeded, want an error")
			}
		})
	}
}

func TestServerSpeaksVerifiedTLS(t *testing.T) {
	srv := Shared(t)
	if srv.External {
		t.Skip("external server")
	}
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg, err := pgx.ParseConfig(srv.URL(Superuser, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("TLS connect: %v", err)
	}
	defer conn.Close(context.Background())
	var ssl bool
	if err := conn.QueryRow(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("pg_stat_ssl.ssl = %v (%v), want true", ssl, err)
	}
}

func TestPrivateServerTakesSettingsAndWritesItsLog(t *testing.T) {
	srv := Private(t, Options{Settings: []string{"log_statement=all", "application_name=pgtest_private"}, LogFile: true})
	db := srv.NewDB(t)
	ctx := context.Background()
	conn := db.Conn(t)
	var setting string
	if err := conn.QueryRow(ctx, "SELECT current_setting('log_statement')").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "all" {
		t.Fatalf("current_setting('log_statement') = %q, want all", setting)
	}
	if _, err := conn.Exec(ctx, "SELECT 'pgtest-log-probe'"); err != nil {
		t.Fatal(err)
	}
	log, err := srv.Log()
	if err != nil {
		t.Fatalf("Log() = %v", err)
	}
	if !strings.Contains(string(log), "pgtest-log-probe") {
		t.Fatalf("Log() = %q, want the logged statement", lastLines(log))
	}
}
