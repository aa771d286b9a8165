package wire

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// rawClient speaks the protocol by hand, for what pgx will not send.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	fe   *pgproto3.Frontend
}

// dialRaw connects to the proxy and completes a trust startup as the superuser.
func (p *testProxy) dialRaw(t *testing.T) *rawClient {
	t.Helper()
	return p.dialRawWith(t, nil)
}

// dialRawWith is dialRaw with more startup parameters.
func (p *testProxy) dialRawWith(t *testing.T, params map[string]string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawClient{t: t, conn: c, fe: pgproto3.NewFrontend(c, c)}
	all := map[string]string{"user": pgtest.Superuser, "database": p.db.Name}
	maps.Copy(all, params)
	rc.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: all})
	if got := rc.until('Z'); !strings.HasSuffix(got, "Z") {
		t.Fatalf("startup = %q, want ReadyForQuery", got)
	}
	return rc
}

func (rc *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	rc.t.Helper()
	for _, m := range msgs {
		rc.fe.Send(m)
	}
	if err := rc.fe.Flush(); err != nil {
		rc.t.Fatalf("send: %v", err)
	}
}

// until reads messages up to and including one of type typ and returns their type letters.
func (rc *rawClient) until(typ byte) string {
	rc.t.Helper()
	var got []byte
	for {
		m, err := rc.fe.Receive()
		if err != nil {
			rc.t.Fatalf("receive after %q: %v", got, err)
		}
		b, _ := m.Encode(nil)
		got = append(got, b[0])
		if e, ok := m.(*pgproto3.ErrorResponse); ok && e.Severity == "FATAL" {
			return string(got)
		}
		if b[0] == typ {
			return string(got)
		}
	}
}

func TestRawProtocolFeatures(t *testing.T) {
	db := pgtest.New(t)
	checkGoroutines(t)
	p := startProxy(t, db)

	t.Run("a portal row limit suspends and resumes the portal", func(t *testing.T) {
		rc := p.dialRaw(t)
		rc.send(&pgproto3.Parse{Query: "SELECT generate_series(1, 5)"}, &pgproto3.Bind{},
			&pgproto3.Execute{MaxRows: 2}, &pgproto3.Execute{MaxRows: 2}, &pgproto3.Execute{}, &pgproto3.Sync{})
		if got, want := rc.until('Z'), "12DDsDDsDCZ"; got != want {
			t.Fatalf("responses = %q, want %q", got, want)
		}
	})
	t.Run("a function call returns its result", func(t *testing.T) {
		rc := p.dialRaw(t)
		// 1397 is abs(int4).
		rc.send(&pgproto3.FunctionCall{Function: 1397, ArgFormatCodes: []uint16{0},
			Arguments: [][]byte{[]byte("-7")}, ResultFormatCode: 0})
		if got, want := rc.until('Z'), "VZ"; got != want {
			t.Fatalf("responses = %q, want %q", got, want)
		}
	})
	t.Run("a describe of a statement returns parameter and row descriptions", func(t *testing.T) {
		rc := p.dialRaw(t)
		rc.send(&pgproto3.Parse{Name: "s1", Query: "SELECT $1::int"}, &pgproto3.Describe{ObjectType: 'S', Name: "s1"},
			&pgproto3.Close{ObjectType: 'S', Name: "s1"}, &pgproto3.Sync{})
		if got, want := rc.until('Z'), "1tT3Z"; got != want {
			t.Fatalf("responses = %q, want %q", got, want)
		}
	})
	t.Run("terminate closes the session", func(t *testing.T) {
		rc := p.dialRaw(t)
		rc.send(&pgproto3.Terminate{})
		if m, err := rc.fe.Receive(); err == nil {
			t.Fatalf("Receive() after Terminate = %#v, want EOF", m)
		}
	})
}

// TestServerEOFAfterTerminateIsTheClients: on the goroutine relay the server loop can see the
// server close (after it got the Terminate) before the client loop reports the Terminate; that
// must end the session as the client's doing, not as a lost upstream (a FATAL 08006 the client
// would receive after its Terminate).
func TestServerEOFAfterTerminateIsTheClients(t *testing.T) {
	s := &session{ctx: context.Background()}
	var lost *upstreamLost
	if err := s.serverReadErr(io.EOF); !errors.As(err, &lost) {
		t.Fatalf("server EOF = %v, want upstreamLost", err)
	}
	s.terminated.Store(true)
	if err := s.serverReadErr(io.EOF); !errors.Is(err, errClientTerminated) {
		t.Fatalf("server EOF after Terminate = %v, want errClientTerminated", err)
	}
}
