package wire

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func enc(m interface{ Encode([]byte) ([]byte, error) }) []byte {
	b, err := m.Encode(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzStartup feeds arbitrary bytes to a session's startup phase over net.Pipe. The upstream dial
// always fails, so no database is needed; the session must end (no hang) and never panic.
func FuzzStartup(f *testing.F) {
	startup := enc(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u"}})
	f.Add(startup)
	f.Add(append(enc(&pgproto3.SSLRequest{}), startup...))
	f.Add(append(enc(&pgproto3.GSSEncRequest{}), startup...))
	f.Add(enc(&pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{1, 2, 3, 4}}))
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 5})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 9, 0, 3, 0, 0, 0})
	cfg := config.Default()
	cfg.Server.StartupTimeout = config.Duration(time.Second)
	srv, err := NewServer(Options{Config: cfg, Logger: zap.NewNop(), Metrics: metrics.New(),
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no upstream in fuzzing")
		}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		s := newSession(srv, server)
		done := make(chan struct{})
		go func() { defer close(done); s.run() }()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end within 5s of its client closing")
		}
	})
}

// FuzzClientMessages sends arbitrary bytes as post-startup client messages through a real proxy
// (with the refusal interceptor, so the decode paths run) to a real server. The proxy must never
// panic, must end or keep the session cleanly, and must keep serving others.
func FuzzClientMessages(f *testing.F) {
	for _, msgs := range [][]pgproto3.FrontendMessage{
		{&pgproto3.Query{String: "SELECT 1"}},
		{&pgproto3.Query{String: "SELECT 'forbidden'"}},
		{&pgproto3.Parse{Name: "a", Query: "SELECT $1::int"}, &pgproto3.Bind{PreparedStatement: "a", Parameters: [][]byte{[]byte("1")}}, &pgproto3.Execute{}, &pgproto3.Sync{}},
		{&pgproto3.Parse{Query: "SELECT 1"}, &pgproto3.Describe{ObjectType: 'S'}, &pgproto3.Close{ObjectType: 'S'}, &pgproto3.Flush{}, &pgproto3.Sync{}},
		{&pgproto3.Query{String: "COPY (SELECT 1) TO STDOUT"}, &pgproto3.CopyData{Data: []byte("x")}, &pgproto3.CopyDone{}},
		{&pgproto3.Bind{PreparedStatement: refusedStatement}, &pgproto3.Sync{}, &pgproto3.Terminate{}},
	} {
		var b []byte
		for _, m := range msgs {
			b = append(b, enc(m)...)
		}
		f.Add(b)
	}
	f.Add([]byte{'Q', 0, 0, 0, 3})
	f.Add([]byte{'P', 0, 0, 0, 4})
	f.Add([]byte{'C', 0, 0, 0, 5, 'X'})
	f.Add([]byte{'B', 0, 0, 0, 6, 0, 0})
	db := pgtest.New(f)
	p := startProxyNoCleanup(f, db, func(_ *config.Config, o *Options) { withRefuser(nil, o) })
	f.Cleanup(func() { p.cancel(); <-p.done })
	startup := enc(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": pgtest.Superuser, "database": db.Name, "options": "-c statement_timeout=2000"}})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(append(append([]byte{}, startup...), in...)); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("session did not end within 10s of its client closing")
			}
		}
	})
}
