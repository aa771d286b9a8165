package wire

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// rawClient speaks the protocol by hand, for what pgx will not send (pgtest.RawClient).
type rawClient struct{ *pgtest.RawClient }

// dialRaw connects to the proxy and completes a trust startup as the superuser.
func (p *testProxy) dialRaw(t *testing.T) *rawClient {
	t.Helper()
	return p.dialRawWith(t, nil)
}

// dialRawWith is dialRaw with more startup parameters.
func (p *testProxy) dialRawWith(t *testing.T, params map[string]string) *rawClient {
	t.Helper()
	return &rawClient{pgtest.DialRaw(t, p.addr, p.db.Name, params)}
}

func (rc *rawClient) send(msgs ...pgproto3.FrontendMessage) { rc.T.Helper(); rc.Send(msgs...) }

func (rc *rawClient) until(typ byte) string { rc.T.Helper(); return rc.Until(typ) }

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
		if m, err := rc.FE.Receive(); err == nil {
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
