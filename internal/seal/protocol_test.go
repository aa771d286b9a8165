package seal

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestSealStatementsAreForgottenWithThePrepared(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for _, forget := range []string{"DEALLOCATE s1", "DEALLOCATE ALL", "DISCARD ALL"} {
		t.Run(forget+" lets the name be prepared again with another plan", func(t *testing.T) {
			pc := conn.PgConn()
			if _, err := pc.Prepare(ctx, "s1", "SELECT $1::text", nil); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{forget, "SET app.tenant = 'acme'"} {
				if err := pc.Exec(ctx, q).Close(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := pc.Prepare(ctx, "s1", "INSERT INTO users (email) VALUES ($1) RETURNING id", nil); err != nil {
				t.Fatal(err)
			}
			email := "forget-" + forget + "@x"
			res := pc.ExecPrepared(ctx, "s1", [][]byte{[]byte(email)}, nil, nil).Read()
			if res.Err != nil {
				t.Fatalf("ExecPrepared(s1) = %v", res.Err)
			}
			var id int
			if err := e.direct(t).QueryRow(ctx, "SELECT max(id) FROM users").Scan(&id); err != nil {
				t.Fatal(err)
			}
			e.storedEmail(t, id, email)
			if err := pc.Exec(ctx, "DEALLOCATE s1").Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// rawSession speaks the protocol by hand through the proxy (trust auth).
func rawSession(t *testing.T, e *sealEnv, tenant string) (*pgproto3.Frontend, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", e.p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fe := pgproto3.NewFrontend(c, c)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{
		"user": pgtest.Superuser, "database": e.db.Name, "options": "-c app.tenant=" + tenant}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("startup: %v", err)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			return fe, c
		}
		if er, ok := m.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("startup: %s", er.Message)
		}
	}
}

// receiveUntilReady collects messages (copies of DataRow values) up to ReadyForQuery.
func receiveUntilReady(t *testing.T, fe *pgproto3.Frontend) (types []byte, rows [][]byte) {
	t.Helper()
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("Receive() = %v", err)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			types = append(types, 'D')
			rows = append(rows, bytes.Clone(m.Values[0]))
		case *pgproto3.ErrorResponse:
			t.Fatalf("ErrorResponse %s: %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			return append(types, 'Z'), rows
		default:
			b, _ := m.Encode(nil)
			types = append(types, b[0])
		}
	}
}

func TestSealPortalWithRowLimitAndNoDescribe(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	for _, s := range []string{"r1@x", "r2@x", "r3@x"} {
		if _, err := conn.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", s); err != nil {
			t.Fatal(err)
		}
	}
	fe, _ := rawSession(t, e, "acme")
	// No Describe at all: pgseal must add its own before the first Execute. Rows come 2 at a time.
	fe.Send(&pgproto3.Parse{Name: "q", Query: "SELECT email FROM users ORDER BY id"})
	fe.Send(&pgproto3.Bind{PreparedStatement: "q", ResultFormatCodes: []int16{0}})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Execute{MaxRows: 2})
	fe.Send(&pgproto3.Close{ObjectType: 'S', Name: "q"})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	types, rows := receiveUntilReady(t, fe)
	if string(types) != "12DDsDC3Z" {
		t.Fatalf("messages = %q, want %q", types, "12DDsDC3Z")
	}
	if len(rows) != 3 || string(rows[0]) != "r1@x" || string(rows[2]) != "r3@x" {
		t.Fatalf("rows = %q, want r1@x r2@x r3@x", rows)
	}
	// Describe before Bind, binary results, statement re-used after Close of its portal.
	fe.Send(&pgproto3.Parse{Name: "q2", Query: "SELECT email FROM users WHERE email = $1"})
	fe.Send(&pgproto3.Describe{ObjectType: 'S', Name: "q2"})
	fe.Send(&pgproto3.Sync{})
	for range 2 {
		fe.Send(&pgproto3.Bind{PreparedStatement: "q2", Parameters: [][]byte{[]byte("r2@x")}, ResultFormatCodes: []int16{1}})
		fe.Send(&pgproto3.Execute{})
		fe.Send(&pgproto3.Close{ObjectType: 'P'})
		fe.Send(&pgproto3.Sync{})
	}
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if types, _ := receiveUntilReady(t, fe); string(types) != "1tTZ" {
		t.Fatalf("Parse+Describe messages = %q, want 1tTZ", types)
	}
	for range 2 {
		types, rows := receiveUntilReady(t, fe)
		if string(types) != "2DC3Z" || string(rows[0]) != "r2@x" {
			t.Fatalf("Bind+Execute = %q %q, want 2DC3Z r2@x", types, rows)
		}
	}
}
