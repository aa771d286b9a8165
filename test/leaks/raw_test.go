package leaks

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// rawConn is a hand-driven frontend, for the bytes a driver will not send: queries in a client
// encoding other than UTF-8, FunctionCall messages.
type rawConn struct {
	c  net.Conn
	fe *pgproto3.Frontend
}

// rawDial connects through the proxy and completes the startup with params (user and database
// are added). A startup that pgseal or PostgreSQL refuses is returned as the error.
func (e *env) rawDial(t *testing.T, db *pgtest.DB, user string, params map[string]string) (*rawConn, error) {
	t.Helper()
	return rawDialAddr(t, e.addr, db, user, params)
}

// rawDialAddr is rawDial to addr: the proxy, or PostgreSQL itself for the controls.
func rawDialAddr(t *testing.T, addr string, db *pgtest.DB, user string, params map[string]string) (*rawConn, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &rawConn{c: c, fe: pgproto3.NewFrontend(c, c)}
	p := map[string]string{"user": user, "database": db.Name}
	for k, v := range params {
		p[k] = v
	}
	r.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: p})
	if err := r.fe.Flush(); err != nil {
		return nil, err
	}
	if errs, err := r.untilReady(); err != nil {
		return nil, err
	} else if len(errs) > 0 {
		return nil, fmt.Errorf("startup refused: %v", errs)
	}
	return r, nil
}

// query sends one Query message with the exact bytes of sql and returns the errors of the answer.
func (r *rawConn) query(sql []byte) ([]string, error) {
	r.fe.Send(&pgproto3.Query{String: string(sql)})
	if err := r.fe.Flush(); err != nil {
		return nil, err
	}
	return r.untilReady()
}

// call sends a FunctionCall of function oid with text arguments.
func (r *rawConn) call(oid uint32, args ...string) ([]string, error) {
	m := &pgproto3.FunctionCall{Function: oid, ArgFormatCodes: []uint16{0}, ResultFormatCode: 0}
	for _, a := range args {
		m.Arguments = append(m.Arguments, []byte(a))
	}
	r.fe.Send(m)
	if err := r.fe.Flush(); err != nil {
		return nil, err
	}
	return r.untilReady()
}

// untilReady reads to ReadyForQuery and collects ErrorResponses as "SQLSTATE: message".
func (r *rawConn) untilReady() ([]string, error) {
	var errs []string
	for {
		msg, err := r.fe.Receive()
		if err != nil {
			return errs, fmt.Errorf("receive: %w (errors so far %v)", err, errs)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			errs = append(errs, m.Code+": "+m.Message)
		case *pgproto3.ReadyForQuery:
			return errs, nil
		case *pgproto3.AuthenticationCleartextPassword, *pgproto3.AuthenticationMD5Password, *pgproto3.AuthenticationSASL:
			return errs, fmt.Errorf("unexpected password request %T", m)
		}
	}
}

// rawSteps sends each query until one fails, logging the errors for the report.
func rawSteps(t *testing.T, r *rawConn, qs ...[]byte) {
	t.Helper()
	for _, q := range qs {
		errs, err := r.query(q)
		if err != nil {
			t.Logf("%q\n\t→ connection: %v", q, err)
			return
		}
		if len(errs) > 0 {
			// As in the SQL cases, an attack stops at its first refusal: the steps after a
			// refused SET run under the session's unchanged (safe) settings and are no attack.
			t.Logf("%q\n\t→ %v (the attack stops here)", q, errs)
			return
		}
	}
}
