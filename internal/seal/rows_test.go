package seal

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// The batch row path (rows.go) is exercised with results far larger than one batch.

const manyRows = 3000

// rowEmail is the email stored at id.
func rowEmail(id int) string { return fmt.Sprintf("u%05d@example.com", id) }

// fillUsers inserts ids 1..manyRows (email, age = id) through conn; ids in foreign go through
// other (another keyset) instead.
func fillUsers(t *testing.T, conn, other *pgx.Conn, foreign map[int]bool) {
	t.Helper()
	ctx := ctxT(t)
	var vals []string
	var args []any
	flush := func(c *pgx.Conn) {
		if len(vals) == 0 {
			return
		}
		sql := "INSERT INTO users (id, email, age) VALUES " + strings.Join(vals, ",")
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("INSERT = %v", err)
		}
		vals, args = vals[:0], args[:0]
	}
	for id := 1; id <= manyRows; id++ {
		if foreign[id] {
			flush(conn)
			if _, err := other.Exec(ctx, "INSERT INTO users (id, email, age) VALUES ($1, $2, $3)", id, rowEmail(id), id); err != nil {
				t.Fatalf("INSERT foreign = %v", err)
			}
			continue
		}
		n := len(args)
		vals = append(vals, fmt.Sprintf("($%d, $%d, $%d)", n+1, n+2, n+3))
		args = append(args, id, rowEmail(id), id)
		if len(vals) == 500 {
			flush(conn)
		}
	}
	flush(conn)
}

// readUsers runs sql and checks every row it returns is (id, email, age) of the next id from
// first; it returns the number of rows read and the query's error.
func readUsers(t *testing.T, conn *pgx.Conn, mode pgx.QueryExecMode, sql string, first int) (int, error) {
	t.Helper()
	rows, err := conn.Query(ctxT(t), sql, mode)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, age int32
		var email string
		if err := rows.Scan(&id, &email, &age); err != nil {
			t.Fatalf("Scan() = %v", err)
		}
		want := first + n
		if int(id) != want || email != rowEmail(want) || int(age) != want {
			t.Fatalf("row %d (%v) = (%d, %q, %d), want (%d, %q, %d)", n, mode, id, email, age, want, rowEmail(want), want)
		}
		n++
	}
	return n, rows.Err()
}

// sealModes cover the text (simple protocol) and binary (extended, int4 in binary) formats, and
// pgx's default statement cache, whose named statements get their envelopes from PostgreSQL in
// binary while pgx reads the e-mail as text (formats.go).
var sealModes = []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheDescribe,
	pgx.QueryExecModeCacheStatement}

// withRowHelpers runs f with the server loop decrypting alone and with three helpers per batch
// (more than this machine has cores, so that helpers get descheduled mid-chunk too).
func withRowHelpers(t *testing.T, f func(t *testing.T, helpers int)) {
	for _, h := range []int{0, 3} {
		t.Run(fmt.Sprintf("helpers=%d", h), func(t *testing.T) {
			rowHelpers = h
			t.Cleanup(func() { rowHelpers = -1 })
			f(t, h)
		})
	}
}

func TestSealRowsLargeResultKeepsOrder(t *testing.T) {
	withRowHelpers(t, testSealRowsLargeResultKeepsOrder)
}

func testSealRowsLargeResultKeepsOrder(t *testing.T, helpers int) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	fillUsers(t, conn, nil, nil)
	for _, mode := range sealModes {
		batches, helped, ups := rowBatchesRun.Load(), rowsHelped.Load(), upstreamBinary.Load()
		n, err := readUsers(t, conn, mode, "SELECT id, email, age FROM users ORDER BY id", 1)
		if err != nil || n != manyRows {
			t.Fatalf("SELECT all (%v) = %d rows, %v, want %d", mode, n, err, manyRows)
		}
		if rowBatchesRun.Load() == batches {
			t.Fatalf("SELECT all (%v) ran no batch, want several", mode)
		}
		if mode == pgx.QueryExecModeCacheStatement && upstreamBinary.Load() == ups {
			t.Fatalf("SELECT all (%v): pgseal asked for no binary envelopes", mode)
		}
		// Whether a helper gets to a chunk before the server loop is up to the scheduler; with
		// none allowed, none may.
		if helpers == 0 && rowsHelped.Load() != helped {
			t.Fatalf("SELECT all (%v): helpers decrypted %d rows with rowHelpers = 0", mode, rowsHelped.Load()-helped)
		}
		t.Logf("%v: helpers decrypted %d of %d rows", mode, rowsHelped.Load()-helped, n)
	}
}

func TestSealRowsFailureMidResult(t *testing.T) {
	withRowHelpers(t, func(t *testing.T, _ int) { testSealRowsFailureMidResult(t) })
}

func testSealRowsFailureMidResult(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	const foreignID, tamperedID = 1000, 2000
	fillUsers(t, conn, e.connect(t, "", "globex"), map[int]bool{foreignID: true})
	// Flip the last byte of the tag: the envelope still parses, authentication fails.
	if _, err := e.direct(t).Exec(ctxT(t), "UPDATE users SET email = set_byte(email, length(email) - 1, get_byte(email, length(email) - 1) # 1) WHERE id = $1", tamperedID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, sql   string
		first, rows int
		code        string
	}{
		{"a tampered value fails with XX001 after the rows before it", fmt.Sprintf("SELECT id, email, age FROM users WHERE id > %d ORDER BY id", foreignID), foreignID + 1, tamperedID - foreignID - 1, sqlstate.DataCorrupted},
		{"another keyset's value fails with 42501 after the rows before it", "SELECT id, email, age FROM users ORDER BY id", 1, foreignID - 1, sqlstate.InsufficientPrivilege},
	}
	for _, c := range cases {
		for _, mode := range sealModes {
			audits := e.p.logs.FilterMessage("audit: value of another keyset refused").Len()
			n, err := readUsers(t, conn, mode, c.sql, c.first)
			if n != c.rows || stateOf(err) != c.code {
				t.Fatalf("%s (%v): %d rows, %v; want %d rows, %s", c.name, mode, n, err, c.rows, c.code)
			}
			got := e.p.logs.FilterMessage("audit: value of another keyset refused").Len() - audits
			if want := map[string]int{sqlstate.DataCorrupted: 0, sqlstate.InsufficientPrivilege: 1}[c.code]; got != want {
				t.Fatalf("%s (%v): %d audit lines, want %d", c.name, mode, got, want)
			}
			if n, err := readUsers(t, conn, mode, "SELECT id, email, age FROM users WHERE id BETWEEN 1 AND 50 ORDER BY id", 1); n != 50 || err != nil {
				t.Fatalf("%s (%v): the next SELECT = %d rows, %v, want 50", c.name, mode, n, err)
			}
		}
	}
}

func TestSealRowsRowLimitedPortal(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	fillUsers(t, e.connect(t, "", "acme"), nil, nil)
	rc := e.p.dialRawTenant(t, "acme")
	const limit = 700
	msgs := []pgproto3.FrontendMessage{
		&pgproto3.Parse{Query: "SELECT id, email, age FROM users ORDER BY id"},
		&pgproto3.Bind{ResultFormatCodes: []int16{1, 0, 1}},
		&pgproto3.Describe{ObjectType: 'P'},
	}
	for range manyRows/limit + 1 {
		msgs = append(msgs, &pgproto3.Execute{MaxRows: limit})
	}
	rc.send(append(msgs, &pgproto3.Sync{})...)
	n, suspended := 0, 0
	for {
		m, err := rc.FE.Receive()
		if err != nil {
			t.Fatalf("Receive() after %d rows = %v", n, err)
		}
		switch m := m.(type) {
		case *pgproto3.DataRow:
			n++
			id, email, age := binary.BigEndian.Uint32(m.Values[0]), string(m.Values[1]), binary.BigEndian.Uint32(m.Values[2])
			if int(id) != n || email != rowEmail(n) || int(age) != n {
				t.Fatalf("row %d = (%d, %q, %d), want (%d, %q, %d)", n, id, email, age, n, rowEmail(n), n)
			}
		case *pgproto3.PortalSuspended:
			suspended++
			if n != suspended*limit {
				t.Fatalf("PortalSuspended after %d rows, want %d", n, suspended*limit)
			}
		case *pgproto3.ErrorResponse:
			t.Fatalf("ErrorResponse %s: %s", m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			if n != manyRows || suspended != manyRows/limit {
				t.Fatalf("portal gave %d rows in %d suspensions, want %d in %d", n, suspended, manyRows, manyRows/limit)
			}
			return
		}
	}
}

// dialRawTenant connects to the proxy by hand as the superuser with app.tenant set at startup.
func (p *testProxy) dialRawTenant(t *testing.T, tenant string) *rawClient {
	t.Helper()
	return p.dialRawWith(t, map[string]string{"options": "-c app.tenant=" + tenant})
}
