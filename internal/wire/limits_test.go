package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestCancelRequestReachesTheRightUpstream(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	conn := p.connect(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	// pgx's default context handler only sets a deadline on a cancel, so this half checks that the
	// session gives way; TestRealBackendKeys cancels with pgx's CancelRequest handler.
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(20)")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled query ran %v, want well under 10s", d)
	}
	if err == nil {
		t.Fatalf("Exec(pg_sleep) = nil, want cancellation")
	}
	// pgx closes the conn on a context cancel; check the server-side error on a raw pgconn instead.
	pc, err := pgconn.Connect(ctxT(t), p.url("", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = pc.CancelRequest(context.Background())
	}()
	_, err = pc.Exec(ctxT(t), "SELECT pg_sleep(20)").ReadAll()
	if got := sqlstate(err); got != "57014" {
		t.Fatalf("Exec(pg_sleep) after CancelRequest = %v, want SQLSTATE 57014", err)
	}
}

func TestUnknownCancelKeyIsDroppedQuietly(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg, _ := (&pgproto3.CancelRequest{ProcessID: 1234, SecretKey: []byte{1, 2, 3, 4}}).Encode(nil)
	_, _ = c.Write(msg)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 16)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read() after unknown cancel = %d, %v, want 0, EOF", n, err)
	}
}

func TestLargeValuesStream(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	conn := p.connect(t)
	ctx := ctxT(t)

	t.Run("a 16 MiB row arrives intact", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
		var got []byte
		if err := conn.QueryRow(ctx, "SELECT $1::bytea", big).Scan(&got); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("QueryRow(16 MiB) = %d bytes, %v, want %d bytes back", len(got), err, len(big))
		}
	})
	t.Run("a million-row result streams completely", func(t *testing.T) {
		rows, err := conn.Query(ctxTimeout(t, time.Minute), "SELECT i FROM generate_series(1, 1000000) i")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() != nil || n != 1000000 {
			t.Fatalf("rows = %d, %v, want 1000000", n, rows.Err())
		}
	})
}

func TestMaxMessageSizeIsEnforced(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db, func(c *config.Config, _ *Options) { c.Server.MaxMessageSize = 1 << 20 })
	conn := p.connect(t)
	_, err := conn.Exec(ctxT(t), "SELECT $1::text", strings.Repeat("x", 2<<20))
	if got := sqlstate(err); got != CodeProtocolViolation {
		t.Fatalf("Exec(2 MiB parameter) = %v, want SQLSTATE 08P01", err)
	}
	// A server message over the limit ends the session with a clean FATAL too.
	conn2 := p.connect(t)
	_, err = conn2.Exec(ctxT(t), "SELECT repeat('x', 2000000)")
	if got := sqlstate(err); got != CodeProtocolViolation {
		t.Fatalf("Exec(2 MB result) = %v, want SQLSTATE 08P01", err)
	}
	// The proxy keeps serving.
	conn3 := p.connect(t)
	if _, err := conn3.Exec(ctxT(t), "SELECT 1"); err != nil {
		t.Fatalf("Exec() on a new session = %v", err)
	}
}

func TestBadInputGetsAFatalAndTheProxyKeepsServing(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db, func(c *config.Config, _ *Options) { c.Server.StartupTimeout = config.Duration(500 * time.Millisecond) })
	startup := func() []byte {
		b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": pgtest.Superuser, "database": db.Name}}).Encode(nil)
		return b
	}
	tests := []struct {
		name     string
		send     []byte
		wantCode string // "" = closed without a message
	}{
		{"garbage bytes get 08P01", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), CodeProtocolViolation},
		{"a truncated startup times out and closes", []byte{0, 0, 0, 40, 0, 3}, ""},
		{"a startup packet over 10000 bytes gets 08P01", []byte{0, 0, 0x30, 0, 0, 3, 0, 0}, CodeProtocolViolation},
		{"protocol version 2 gets 08P01", []byte{0, 0, 0, 8, 0, 2, 0, 0}, CodeProtocolViolation},
		{"a startup without a user gets 28000", []byte{0, 0, 0, 9, 0, 3, 0, 0, 0}, CodeInvalidAuthorization},
		{"a message with a negative length after startup gets 08P01", append(startup(), 'Q', 0xff, 0xff, 0xff, 0xff), CodeProtocolViolation},
		{"an oversized message after startup gets 08P01", append(startup(), 'Q', 0x7f, 0xff, 0xff, 0xff), CodeProtocolViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			code, err := lastFatal(c)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			if code != tt.wantCode {
				t.Fatalf("FATAL code = %q, want %q", code, tt.wantCode)
			}
		})
	}
	if _, err := p.connect(t).Exec(ctxT(t), "SELECT 1"); err != nil {
		t.Fatalf("Exec() after bad input = %v, want the proxy to keep serving", err)
	}
}

// lastFatal reads backend messages until EOF and returns the code of a FATAL ErrorResponse, if any.
func lastFatal(c net.Conn) (string, error) {
	data, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		return "", err
	}
	code := ""
	for len(data) >= 5 {
		n := int(binary.BigEndian.Uint32(data[1:5]))
		if n < 4 || len(data) < 1+n {
			break
		}
		if data[0] == 'E' {
			var e pgproto3.ErrorResponse
			if e.Decode(data[5:1+n]) == nil && e.Severity == "FATAL" {
				code = e.Code
			}
		}
		data = data[1+n:]
	}
	return code, nil
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

func TestClientVanishingMidQueryEndsTheUpstreamSession(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	rc := p.dialRaw(t)
	rc.send(&pgproto3.Query{String: "SELECT pg_sleep(30) /* vanish */"})
	admin := db.Conn(t)
	ctx := ctxT(t)
	count := func() int {
		var n int
		_ = admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%/* vanish */' AND pid <> pg_backend_pid()").Scan(&n)
		return n
	}
	if !eventually(5*time.Second, func() bool { return count() == 1 }) {
		t.Fatalf("the query never started upstream")
	}
	rc.Conn.Close()
	if !eventually(5*time.Second, func() bool { return count() == 0 }) {
		t.Fatalf("upstream backend still running 5s after its client vanished")
	}
	if !eventually(5*time.Second, func() bool { return p.srv.ActiveSessions() == 0 }) {
		t.Fatalf("ActiveSessions() = %d, want 0", p.srv.ActiveSessions())
	}
}

func TestUpstreamKilledMidResult(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	conn := p.connect(t)
	ctx := ctxT(t)
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctxTimeout(t, 10*time.Second), "SELECT i, pg_sleep(CASE WHEN i = 1000 THEN 30 ELSE 0 END) FROM generate_series(1, 2000) i")
	if err != nil {
		t.Fatal(err)
	}
	admin := db.Conn(t)
	killed := make(chan error, 1)
	time.AfterFunc(500*time.Millisecond, func() {
		var ok bool
		err := admin.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&ok)
		if err == nil && !ok {
			var n string
			_ = admin.QueryRow(context.Background(), "SELECT string_agg(pid::text || ':' || coalesce(query, ''), ' | ') FROM pg_stat_activity").Scan(&n)
			err = fmt.Errorf("pg_terminate_backend(%d) returned false; %s", pid, n)
		}
		killed <- err
	})
	for rows.Next() {
	}
	kerr := <-killed // the killer uses admin; wait for it before cleanup closes admin
	if got := sqlstate(rows.Err()); got != CodeAdminShutdown {
		t.Fatalf("rows.Err() = %v (terminate: %v), want SQLSTATE 57P01 from the server", rows.Err(), kerr)
	}
	if _, err := p.connect(t).Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("Exec() on another session = %v, want the proxy to keep serving", err)
	}
}

func TestManyConnectionsOpenedAndDroppedAtOnce(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)
	keep := p.connect(t)
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": pgtest.Superuser, "database": db.Name}}).Encode(nil)
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				return
			}
			if i%2 == 0 { // half get as far as a startup message, half drop at once
				_, _ = c.Write(startup)
			}
			c.Close()
		}()
	}
	wg.Wait()
	if _, err := keep.Exec(ctxT(t), "SELECT 1"); err != nil {
		t.Fatalf("Exec() on a live session = %v", err)
	}
	if !eventually(10*time.Second, func() bool { return p.srv.ActiveSessions() == 1 && p.srv.keys.len() == 1 }) {
		t.Fatalf("ActiveSessions() = %d, cancel keys = %d, want 1, 1", p.srv.ActiveSessions(), p.srv.keys.len())
	}
}

func TestMaxConnectionsRefusesWith53300(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db, func(c *config.Config, _ *Options) { c.Server.MaxConnections = 2 })
	p.connect(t)
	p.connect(t)
	_, err := pgx.Connect(ctxT(t), p.url("", "", ""))
	if got := sqlstate(err); got != CodeTooManyConnections {
		t.Fatalf("third Connect() = %v, want SQLSTATE 53300", err)
	}
}

func TestGracefulShutdownEndsLingeringSessionsWith57P01(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db, func(c *config.Config, _ *Options) { c.Server.ShutdownTimeout = config.Duration(300 * time.Millisecond) })
	idle := p.connect(t)
	busy, err := pgconn.Connect(ctxT(t), p.url("", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close(context.Background())
	res := make(chan error, 1)
	go func() { _, err := busy.Exec(context.Background(), "SELECT pg_sleep(30)").ReadAll(); res <- err }()
	time.Sleep(100 * time.Millisecond) // let the query reach the server; not a correctness wait
	start := time.Now()
	p.stop(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Serve() returned after %v, want about the 300ms shutdown timeout", d)
	}
	if got := sqlstate(<-res); got != CodeAdminShutdown {
		t.Fatalf("busy session error = %q, want 57P01", got)
	}
	_, err = idle.Exec(context.Background(), "SELECT 1")
	if err == nil {
		t.Fatalf("Exec() on the idle session after shutdown = nil, want an error")
	}
	p.done = make(chan error, 1) // already stopped; let Cleanup's stop return at once
	p.done <- nil
}
