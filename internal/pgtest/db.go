package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB is a database of one test's own on the shared server.
type DB struct {
	Server *Server
	Name   string
}

// New creates a fresh database for tb, dropped (with its connections) when tb ends.
func New(tb testing.TB) *DB {
	tb.Helper()
	return Shared(tb).NewDB(tb)
}

// NewDB creates a fresh database for tb on s, dropped (with its connections) when tb ends.
func (s *Server) NewDB(tb testing.TB) *DB {
	tb.Helper()
	srv := s
	name := "t_" + sanitize(tb.Name()) + "_" + randHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return &DB{Server: srv, Name: name}
}

// ConnString connects to the database as the superuser, without TLS.
func (d *DB) ConnString() string {
	if d.Server.External {
		cfg, _ := pgx.ParseConfig(d.Server.AdminURL())
		return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, d.Server.Addr(), d.Name)
	}
	return d.Server.URL(Superuser, d.Name)
}

// Conn opens a connection to the database, closed when tb ends.
func (d *DB) Conn(tb testing.TB) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), d.ConnString())
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// Exec runs SQL on the database as the superuser, failing tb on error.
func (d *DB) Exec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	conn := d.Conn(tb)
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("pgtest: exec %q: %v", sql, err)
	}
	_ = conn.Close(context.Background())
}

// Auth methods for CreateRole.
const (
	AuthTrust    = ""
	AuthMD5      = "md5"
	AuthSCRAM    = "scram-sha-256"
	AuthPassword = "password"
)

// CreateRole makes a login role that must authenticate over TCP with method (see the package doc),
// dropped when tb ends. Roles are cluster-wide, so the name gets a random suffix; the real name is
// returned.
func (s *Server) CreateRole(tb testing.TB, name, password, method string) string {
	tb.Helper()
	if s.External && method != AuthTrust {
		tb.Skipf("pgtest: auth method %s needs the private cluster", method)
	}
	name = name + "_" + randHex(3)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.AdminURL())
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	enc := "scram-sha-256"
	if method == AuthMD5 {
		enc = "md5"
	}
	group := map[string]string{AuthMD5: GroupMD5, AuthSCRAM: GroupSCRAM, AuthPassword: GroupPassword}[method]
	stmts := []string{"SET password_encryption = '" + enc + "'",
		fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD %s", pgx.Identifier{name}.Sanitize(), quote(password))}
	if group != "" {
		stmts = append(stmts, fmt.Sprintf("GRANT %s TO %s", group, pgx.Identifier{name}.Sanitize()))
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			tb.Fatalf("pgtest: create role: %v", err)
		}
	}
	tb.Cleanup(func() {
		_ = s.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
	return name
}

// Main runs a package's tests and stops the private cluster afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if started != nil {
		started.Stop()
	}
	os.Exit(code)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
