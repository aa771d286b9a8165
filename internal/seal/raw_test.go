package seal

import (
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// rawClient speaks the protocol by hand, for what pgx will not send (as internal/wire's tests do).
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
