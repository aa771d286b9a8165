package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
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

// FuzzDecodeBind: decodeBind reads a Bind exactly as pgproto3's Decode does (the same messages
// refused, the same fields), also into a struct still holding the previous message's slices.
func FuzzDecodeBind(f *testing.F) {
	f.Add(enc(&pgproto3.Bind{PreparedStatement: "s1", ParameterFormatCodes: []int16{1},
		Parameters: [][]byte{[]byte("x"), nil, {}}, ResultFormatCodes: []int16{0, 1}})[5:])
	f.Add(enc(&pgproto3.Bind{DestinationPortal: "p", PreparedStatement: "s1"})[5:])
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 'a'})
	var reused pgproto3.Bind
	if err := decodeBind(&reused, enc(&pgproto3.Bind{PreparedStatement: "prev", ParameterFormatCodes: []int16{1, 1, 1},
		Parameters: [][]byte{[]byte("a"), []byte("b"), []byte("c")}, ResultFormatCodes: []int16{1, 1}})[5:]); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want pgproto3.Bind
		wantErr := want.Decode(in)
		for _, got := range []*pgproto3.Bind{{}, &reused} {
			err := decodeBind(got, in)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("decodeBind error %v, Decode error %v", err, wantErr)
			}
			if err != nil {
				continue // a failed decode ends the session: what it left in got does not matter
			}
			if got.DestinationPortal != want.DestinationPortal || got.PreparedStatement != want.PreparedStatement ||
				!slices.Equal(got.ParameterFormatCodes, want.ParameterFormatCodes) ||
				!slices.Equal(got.ResultFormatCodes, want.ResultFormatCodes) || got.ResultFormatCodes == nil ||
				len(got.Parameters) != len(want.Parameters) {
				t.Fatalf("decodeBind = %+v, Decode = %+v", got, want)
			}
			for i, p := range want.Parameters {
				if (p == nil) != (got.Parameters[i] == nil) || !bytes.Equal(p, got.Parameters[i]) {
					t.Fatalf("parameter %d: decodeBind %q, Decode %q", i, got.Parameters[i], p)
				}
			}
		}
	})
}

// TestDecodeBindAllocateNothing pins what decodeBind is for: a session's Binds of the same
// statement, after the first, allocate nothing.
func TestDecodeBindAllocateNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	body := enc(&pgproto3.Bind{PreparedStatement: "P0_1", ParameterFormatCodes: []int16{0},
		Parameters: [][]byte{[]byte("42"), nil}, ResultFormatCodes: []int16{0}})[5:]
	var b pgproto3.Bind
	if n := testing.AllocsPerRun(200, func() {
		if err := decodeBind(&b, body); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("decodeBind allocates %v times per message, want 0", n)
	}
}

// FuzzDecodeExecute: decodeExecute reads an Execute as pgproto3's Decode does (the same
// messages refused, the same fields), also into a struct still holding another portal's name.
func FuzzDecodeExecute(f *testing.F) {
	f.Add(enc(&pgproto3.Execute{})[5:])
	f.Add(enc(&pgproto3.Execute{Portal: "p1", MaxRows: 7})[5:])
	f.Add([]byte{'p', 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, in []byte) {
		var want pgproto3.Execute
		wantErr := want.Decode(in)
		for _, got := range []*pgproto3.Execute{{}, {Portal: "p1", MaxRows: 3}} {
			err := decodeExecute(got, in)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("decodeExecute error %v, Decode error %v", err, wantErr)
			}
			if err == nil && *got != want {
				t.Fatalf("decodeExecute = %+v, Decode = %+v", got, want)
			}
		}
	})
}

// TestDecodeExecuteAllocateNothing: a session's Executes of one portal allocate nothing.
func TestDecodeExecuteAllocateNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	for _, name := range []string{"", "P0_1"} {
		body := enc(&pgproto3.Execute{Portal: name})[5:]
		var e pgproto3.Execute
		_ = decodeExecute(&e, body)
		if n := testing.AllocsPerRun(200, func() {
			if err := decodeExecute(&e, body); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("decodeExecute of portal %q allocates %v times per message, want 0", name, n)
		}
	}
}
