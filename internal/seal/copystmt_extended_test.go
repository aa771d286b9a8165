package seal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// COPY in the extended protocol, as libpq sends it for PQexecParams: Parse, Bind, Describe,
// Execute and Sync at once, the copy data after CopyInResponse, then CopyDone and a second Sync.
// The first Sync reaches the server in COPY IN mode and is ignored; pgseal must not wait for its
// ReadyForQuery (internal/wire's state_copy.go).
func TestSealCopyInTheExtendedProtocol(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	tenant := map[string]string{"options": "-c app.tenant=acme"}
	execute := func(rc *rawClient, sql string) {
		rc.send(&pgproto3.Parse{Query: sql}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'},
			&pgproto3.Execute{}, &pgproto3.Sync{})
	}
	t.Run("COPY FROM STDIN seals every field and the session stays in step", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		execute(rc, "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)")
		if got := rc.until('G'); got != "12nG" {
			t.Fatalf("responses = %q, want ParseComplete, BindComplete, NoData, CopyInResponse", got)
		}
		rc.send(&pgproto3.CopyData{Data: []byte(sealCopyCSV())}, &pgproto3.CopyDone{}, &pgproto3.Sync{})
		if got := rc.until('Z'); got != "CZ" {
			t.Fatalf("responses = %q, want CommandComplete, ReadyForQuery", got)
		}
		if er, alive := rc.query("SELECT 1"); er != nil || !alive {
			t.Fatalf("SELECT 1 after the COPY = %+v (alive %v)", er, alive)
		}
		e.checkCopiedRows(t, e.connect(t, "", "acme"))
	})
	t.Run("COPY TO STDOUT decrypts every field", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		execute(rc, "COPY (SELECT email FROM users WHERE email IS NOT NULL ORDER BY id) TO STDOUT")
		var out bytes.Buffer
		var got []byte
		for {
			m, err := rc.FE.Receive()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := m.Encode(nil)
			got = append(got, b[0])
			if d, ok := m.(*pgproto3.CopyData); ok {
				out.Write(d.Data)
			}
			if b[0] == 'Z' {
				break
			}
		}
		if !strings.HasPrefix(string(got), "12nH") || !strings.HasSuffix(string(got), "cCZ") {
			t.Fatalf("responses = %q, want ParseComplete … CopyOutResponse … CopyDone, CommandComplete, ReadyForQuery", got)
		}
		if !strings.Contains(out.String(), "plain@example.com\n") || bytes.Contains(out.Bytes(), []byte(`\\x01`)) {
			t.Fatalf("COPY TO data = %q, want plaintext", out.String())
		}
	})
	t.Run("a bad field fails the COPY; the session stays usable and nothing is written", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		execute(rc, "COPY users (tenant, email, age) FROM STDIN (FORMAT csv)")
		rc.until('G')
		rc.send(&pgproto3.CopyData{Data: []byte("acme,bad@x,not-a-number\n")}, &pgproto3.CopyDone{}, &pgproto3.Sync{})
		if er, alive := rc.answer(); codeOf(er) != "22P02" || !alive {
			t.Fatalf("COPY with a bad field = %+v (alive %v), want 22P02", er, alive)
		}
		if er, alive := rc.query("SELECT 1"); er != nil || !alive {
			t.Fatalf("SELECT 1 after the failed COPY = %+v (alive %v)", er, alive)
		}
		if n := e.plainStored(t, "bad@x"); n != 0 {
			t.Fatalf("plaintext stored in %d rows", n)
		}
	})
	t.Run("a COPY that never starts leaves its pipelined Sync answered", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		if er, _ := rc.query("BEGIN"); er != nil {
			t.Fatal(er)
		}
		if er, _ := rc.query("SELECT 1/0"); codeOf(er) != "22012" {
			t.Fatalf("SELECT 1/0 = %+v", er)
		}
		execute(rc, "COPY users (tenant, email) FROM STDIN (FORMAT csv)")
		if er, alive := rc.answer(); codeOf(er) != sqlstate.InFailedSQLTransaction || !alive {
			t.Fatalf("COPY in a failed block = %+v (alive %v), want 25P02", er, alive)
		}
		for _, sql := range []string{"ROLLBACK", "SELECT 1"} {
			if er, alive := rc.query(sql); er != nil || !alive {
				t.Fatalf("%s after = %+v (alive %v)", sql, er, alive)
			}
		}
	})
}
