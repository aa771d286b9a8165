package pgtest

import (
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// RawClient speaks the protocol by hand, for what pgx will not send (the relay's and the
// interceptor's tests).
type RawClient struct {
	T    *testing.T
	Conn net.Conn
	FE   *pgproto3.Frontend
}

// DialRaw connects to addr (a proxy) and completes a trust startup as the superuser into database
// db, with params added to the startup parameters. The conn closes when t ends.
func DialRaw(t *testing.T, addr, db string, params map[string]string) *RawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &RawClient{T: t, Conn: c, FE: pgproto3.NewFrontend(c, c)}
	all := map[string]string{"user": Superuser, "database": db}
	maps.Copy(all, params)
	rc.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: all})
	if got := rc.Until('Z'); !strings.HasSuffix(got, "Z") {
		t.Fatalf("startup = %q, want ReadyForQuery", got)
	}
	return rc
}

// Send sends msgs in one write.
func (rc *RawClient) Send(msgs ...pgproto3.FrontendMessage) {
	rc.T.Helper()
	for _, m := range msgs {
		rc.FE.Send(m)
	}
	if err := rc.FE.Flush(); err != nil {
		rc.T.Fatalf("send: %v", err)
	}
}

// Until reads messages up to and including one of type typ (or a FATAL) and returns their type
// letters.
func (rc *RawClient) Until(typ byte) string {
	rc.T.Helper()
	var got []byte
	for {
		m, err := rc.FE.Receive()
		if err != nil {
			rc.T.Fatalf("receive after %q: %v", got, err)
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
