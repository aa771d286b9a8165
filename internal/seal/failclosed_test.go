package seal

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// Issue 10: whatever the session does, PostgreSQL never receives the plaintext of an encrypted
// column and the keyset pgseal uses agrees with the tenant PostgreSQL sees.

// answer reads up to ReadyForQuery (or a FATAL) and returns the first ErrorResponse, if any, and
// whether the session is still alive.
func (rc *rawClient) answer() (*pgproto3.ErrorResponse, bool) {
	rc.T.Helper()
	var first *pgproto3.ErrorResponse
	for {
		m, err := rc.FE.Receive()
		if err != nil {
			return first, false
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			if first == nil {
				c := *m
				first = &c
			}
			if m.Severity == "FATAL" {
				return first, false
			}
		case *pgproto3.ReadyForQuery:
			return first, true
		}
	}
}

// query sends a simple Query and returns its answer (see answer).
func (rc *rawClient) query(sql string) (*pgproto3.ErrorResponse, bool) {
	rc.T.Helper()
	rc.send(&pgproto3.Query{String: sql})
	return rc.answer()
}

func codeOf(er *pgproto3.ErrorResponse) string {
	if er == nil {
		return ""
	}
	return er.Code
}

// plainStored counts rows whose email column holds marker as plain bytes.
func (e *sealEnv) plainStored(t *testing.T, marker string) int {
	t.Helper()
	var n int
	err := e.direct(t).QueryRow(ctxT(t), "SELECT count(*) FROM users WHERE position(convert_to($1, 'UTF8') in email) > 0", marker).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSealEncodingAndStandardStrings(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	tenant := map[string]string{"options": "-c app.tenant=acme"}
	t.Run("SJIS swallows a backslash: refused, never stored, then SET back to UTF8", func(t *testing.T) {
		rc := e.p.dialRawWith(t, map[string]string{"options": "-c app.tenant=acme", "client_encoding": "SJIS"})
		attack := "select E'\xc3\x81\\' ; insert into users(tenant,email) values ($$acme$$,$$MK1$$) ; select 1 --'"
		er, alive := rc.query(attack)
		if codeOf(er) != sqlstate.FeatureNotSupported || !alive || !strings.Contains(er.Message, "client_encoding") {
			t.Fatalf("attack under SJIS = %+v (alive %v), want 0A000 naming client_encoding", er, alive)
		}
		if n := e.plainStored(t, "MK1"); n != 0 {
			t.Fatalf("plaintext MK1 stored in %d rows", n)
		}
		if er, _ := rc.query("SELECT 1"); codeOf(er) != sqlstate.FeatureNotSupported {
			t.Fatalf("SELECT 1 under SJIS = %+v, want 0A000", er)
		}
		if er, alive := rc.query("SET client_encoding TO 'UTF8'"); er != nil || !alive {
			t.Fatalf("SET client_encoding TO 'UTF8' under SJIS = %+v (alive %v), want success", er, alive)
		}
		if er, _ := rc.query("SELECT 1"); er != nil {
			t.Fatalf("SELECT 1 back in UTF8 = %+v", er)
		}
	})
	t.Run("SETs that leave UTF8 or SQL_ASCII are refused; spellings of UTF8, SQL_ASCII and standard strings off pass", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		for _, c := range []struct{ sql, code string }{
			{"SET client_encoding = 'SJIS'", sqlstate.FeatureNotSupported},
			{"SET NAMES 'SJIS'", sqlstate.FeatureNotSupported},
			{"SET LOCAL client_encoding TO 'LATIN1'", sqlstate.FeatureNotSupported},
			{"SELECT set_config('client_encoding', 'BIG5', false)", sqlstate.FeatureNotSupported},
			{"SET client_encoding = 'utf-8'", ""},
			{"SET NAMES 'unicode'", ""},
			{"SET client_encoding = 'sql_ascii'", ""},
			{"SET client_encoding = 'utf8'", ""},
			{"RESET client_encoding", ""},
			{"SET standard_conforming_strings = off", ""},
			{"SELECT set_config('standard_conforming_strings', 'on', true)", ""},
			{"SET standard_conforming_strings = on", ""},
		} {
			if er, alive := rc.query(c.sql); codeOf(er) != c.code || !alive {
				t.Fatalf("%s = %+v (alive %v), want %q", c.sql, er, alive, c.code)
			}
		}
		// Division by zero if either setting is not back (a DO block naming them is refused).
		if er, _ := rc.query("SELECT 1 / (current_setting('client_encoding') = 'UTF8' AND current_setting('standard_conforming_strings') = 'on')::int"); er != nil {
			t.Fatalf("settings after the SETs: %+v", er)
		}
	})
	t.Run("set_config with the value in a Bind parameter is checked at the Bind", func(t *testing.T) {
		conn := e.connect(t, "", "acme")
		ctx := ctxT(t)
		for _, v := range []string{"SJIS", "utf8"} {
			_, err := conn.Exec(ctx, "SELECT set_config('client_encoding', $1, false)", pgx.QueryExecModeExec, v)
			if want := map[string]string{"SJIS": sqlstate.FeatureNotSupported, "utf8": ""}[v]; stateOf(err) != want {
				t.Fatalf("set_config('client_encoding', $1 = %s) = %v, want %q", v, err, want)
			}
		}
	})
	scsAttack := func(mk string) string {
		return `select 'x\'' ; insert into users(tenant,email) values ($$acme$$,$$` + mk + `$$) ; select 1 --'`
	}
	t.Run("standard_conforming_strings off at startup: backslashes refused, the rest sealed", func(t *testing.T) {
		rc := e.p.dialRawWith(t, map[string]string{"options": "-c app.tenant=acme", "standard_conforming_strings": "off"})
		er, alive := rc.query(scsAttack("MK2"))
		if codeOf(er) != sqlstate.FeatureNotSupported || !alive || !strings.Contains(er.Message, "standard_conforming_strings") {
			t.Fatalf("attack with standard strings off = %+v (alive %v), want 0A000", er, alive)
		}
		for _, q := range []string{`select 'a\b'`, `select U&'d\0061t'`, `select u&'dat'`} {
			rc.send(&pgproto3.Parse{Query: q}, &pgproto3.Sync{})
			if er, _ := rc.answer(); codeOf(er) != sqlstate.FeatureNotSupported {
				t.Fatalf("Parse %s with standard strings off = %+v, want 0A000", q, er)
			}
		}
		rc.send(&pgproto3.Parse{Query: "select 1"}, &pgproto3.Sync{})
		if er, _ := rc.answer(); er != nil {
			t.Fatalf("Parse without a backslash = %+v, want success", er)
		}
		if er, _ := rc.query("insert into users(tenant,email) values ('acme','MK2b')"); er != nil {
			t.Fatalf("insert without a backslash = %+v", er)
		}
		if n := e.plainStored(t, "MK2"); n != 0 {
			t.Fatalf("plaintext MK2 stored in %d rows", n)
		}
		// The inserted ciphertext literal was read right under standard strings off: it opens.
		var n int
		if err := e.connect(t, "", "acme").QueryRow(ctxT(t), "SELECT count(*) FROM users WHERE email = 'MK2b'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows with email MK2b = %d, %v; want 1", n, err)
		}
	})
	t.Run("SET standard_conforming_strings = off pipelined with an attack: the attack is read as the server reads it", func(t *testing.T) {
		rc := e.p.dialRawWith(t, tenant)
		rc.send(&pgproto3.Query{String: "SET standard_conforming_strings = off"}, &pgproto3.Query{String: scsAttack("MK3")})
		if er, alive := rc.answer(); er != nil || !alive {
			t.Fatalf("SET = %+v (alive %v)", er, alive)
		}
		if er, alive := rc.answer(); codeOf(er) != sqlstate.FeatureNotSupported || !alive {
			t.Fatalf("attack behind the SET = %+v (alive %v), want 0A000", er, alive)
		}
		if er, _ := rc.query("SET standard_conforming_strings = on"); er != nil {
			t.Fatal(er)
		}
		if er, _ := rc.query(`select 'x\'`); er != nil {
			t.Fatalf("a backslash with standard strings back on = %+v", er)
		}
		if n := e.plainStored(t, "MK3"); n != 0 {
			t.Fatalf("plaintext MK3 stored in %d rows", n)
		}
	})
	t.Run("SQL_ASCII is read as sent: the SJIS attack stays one literal and values are sealed", func(t *testing.T) {
		rc := e.p.dialRawWith(t, map[string]string{"options": "-c app.tenant=acme", "client_encoding": "SQL_ASCII"})
		attack := "select E'\xc3\x81\\' ; insert into users(tenant,email) values ($$acme$$,$$MK4$$) ; select 1 --'"
		if er, alive := rc.query(attack); er != nil || !alive {
			t.Fatalf("one string literal under SQL_ASCII = %+v (alive %v), want success", er, alive)
		}
		if er, _ := rc.query("insert into users(tenant,email) values ('acme','MK4b')"); er != nil {
			t.Fatalf("insert under SQL_ASCII = %+v", er)
		}
		if n := e.plainStored(t, "MK4"); n != 0 {
			t.Fatalf("plaintext MK4 stored in %d rows", n)
		}
		var n int
		if err := e.connect(t, "", "acme").QueryRow(ctxT(t), "SELECT count(*) FROM users WHERE email IN ('MK4', 'MK4b')").Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows with email MK4 or MK4b = %d, %v; want 1 (MK4b)", n, err)
		}
	})
	t.Run("standard_conforming_strings turned off unseen ends the session", func(t *testing.T) {
		e.db.Exec(t, "CREATE FUNCTION sneaky_scs() RETURNS text LANGUAGE sql AS $$SELECT set_config('standard_conforming_strings', 'off', false)$$")
		rc := e.p.dialRawWith(t, tenant)
		er, alive := rc.query("SELECT sneaky_scs()")
		if alive || er == nil || er.Severity != "FATAL" || !strings.Contains(er.Message, "standard_conforming_strings") {
			t.Fatalf("SELECT sneaky_scs() = %+v (alive %v), want a FATAL naming standard_conforming_strings", er, alive)
		}
	})
	t.Run("a change pgseal could not predict ends the session", func(t *testing.T) {
		e.db.Exec(t, "CREATE FUNCTION sneaky() RETURNS text LANGUAGE sql AS $$SELECT set_config('client_encoding', 'SJIS', false)$$")
		rc := e.p.dialRawWith(t, tenant)
		er, alive := rc.query("SELECT sneaky()")
		if alive || er == nil || er.Severity != "FATAL" || !strings.Contains(er.Message, "client_encoding") {
			t.Fatalf("SELECT sneaky() = %+v (alive %v), want a FATAL naming client_encoding", er, alive)
		}
	})
}

func TestSealTenantAgreesWithKeyset(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema+`
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON users USING (tenant = current_setting('app.tenant', true));
`, sealColumns)
	role := "acmeonly_" + strings.ToLower(e.db.Name[len(e.db.Name)-8:])
	e.db.Exec(t, "CREATE ROLE "+role+" LOGIN; GRANT ALL ON users TO "+role+"; GRANT USAGE ON SEQUENCE users_id_seq TO "+role)
	t.Cleanup(func() {
		_ = e.db.Server.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role)
	})
	e.client(t, role, "acme")
	ctx := ctxT(t)
	tenantIs := func(t *testing.T, conn *pgx.Conn, want string) {
		t.Helper()
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting('app.tenant', true)", pgx.QueryExecModeSimpleProtocol).Scan(&got); err != nil || got != want {
			t.Fatalf("app.tenant = %q, %v, want %q", got, err, want)
		}
	}
	t.Run("SETs naming a keyset the client may not use, or disagreeing, are refused", func(t *testing.T) {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			conn := e.connect(t, role, "acme")
			for _, sql := range []string{
				"SET app.tenant = 'globex'",
				"SET app.tenant = 'nosuch'",
				"SELECT set_config('app.tenant', 'globex', false)",
				"SET pgseal.keyset = 'globex'",
			} {
				if _, err := conn.Exec(ctx, sql, mode); stateOf(err) != sqlstate.InsufficientPrivilege {
					t.Fatalf("%s (%v) = %v, want 42501", sql, mode, err)
				}
				tenantIs(t, conn, "acme")
				// The RLS check (tenant = acme) stops a globex row; pgseal never saw globex.
				if _, err := conn.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ('globex', 'x@globex')", mode); err == nil {
					t.Fatalf("INSERT of a globex row after %s succeeded", sql)
				}
			}
			// pgseal.keyset agreeing with the tenant is fine; a tenant then moving away is not.
			if _, err := conn.Exec(ctx, "SET pgseal.keyset = 'acme'", mode); err != nil {
				t.Fatalf("SET pgseal.keyset = 'acme' (%v) = %v", mode, err)
			}
			if _, err := conn.Exec(ctx, "SET app.tenant = 'globex'", mode); stateOf(err) != sqlstate.InsufficientPrivilege {
				t.Fatalf("SET app.tenant = 'globex' under pgseal.keyset acme (%v) = %v, want 42501", mode, err)
			}
			tenantIs(t, conn, "acme")
			if _, err := conn.Exec(ctx, "SELECT set_config('app.tenant', $1, false)", pgx.QueryExecModeExec, "globex"); stateOf(err) != sqlstate.InsufficientPrivilege {
				t.Fatalf("set_config with a parameter = %v, want 42501", err)
			}
			tenantIs(t, conn, "acme")
		}
		su := e.connect(t, "", "acme") // granted both keysets
		if _, err := su.Exec(ctx, "SET pgseal.keyset = 'acme'"); err != nil {
			t.Fatal(err)
		}
		if _, err := su.Exec(ctx, "SET app.tenant = 'globex'"); stateOf(err) != sqlstate.InsufficientPrivilege {
			t.Fatalf("SET app.tenant disagreeing with pgseal.keyset = %v, want 42501", err)
		}
		tenantIs(t, su, "acme")
	})
	t.Run("a direct startup parameter beats options, in PostgreSQL and in pgseal", func(t *testing.T) {
		extra := "app.tenant=globex&options=-c%20app.tenant%3Dacme"
		c, err := pgx.Connect(ctx, e.p.url(role, "", extra))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		tenantIs(t, c, "globex")
		if _, err := c.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ('globex', 'MK4')"); stateOf(err) != sqlstate.InsufficientPrivilege {
			t.Fatalf("INSERT as globex without its keyset = %v, want 42501", err)
		}
	})
	t.Run("a role default for the tenant counts, as PostgreSQL applies it", func(t *testing.T) {
		r2 := role + "_d"
		e.db.Exec(t, "CREATE ROLE "+r2+" LOGIN; GRANT ALL ON users TO "+r2+"; GRANT USAGE ON SEQUENCE users_id_seq TO "+r2+
			"; ALTER ROLE "+r2+" SET app.tenant = 'globex'")
		t.Cleanup(func() {
			_ = e.db.Server.Exec(context.Background(), "DROP OWNED BY "+r2+"; DROP ROLE IF EXISTS "+r2)
		})
		e.client(t, r2, "acme")
		conn := e.connect(t, r2, "")
		tenantIs(t, conn, "globex")
		if _, err := conn.Exec(ctx, "SET pgseal.keyset = 'acme'"); stateOf(err) != sqlstate.InsufficientPrivilege {
			t.Fatalf("SET pgseal.keyset = 'acme' under a role default tenant globex = %v, want 42501", err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ('globex', 'MK5')"); stateOf(err) != sqlstate.InsufficientPrivilege {
			t.Fatalf("INSERT under a role default tenant globex = %v, want 42501", err)
		}
	})
	t.Run("FunctionCall is refused except for large objects", func(t *testing.T) {
		rc := e.p.dialRawWith(t, map[string]string{"user": role, "options": "-c app.tenant=acme"})
		rc.send(&pgproto3.FunctionCall{Function: 2078, // set_config(text, text, bool)
			ArgFormatCodes: []uint16{0}, Arguments: [][]byte{[]byte("app.tenant"), []byte("globex"), []byte("false")}})
		if er, alive := rc.answer(); codeOf(er) != sqlstate.FeatureNotSupported || !alive {
			t.Fatalf("FunctionCall set_config = %+v (alive %v), want 0A000", er, alive)
		}
		// lo_creat(INV_READ|INV_WRITE), binary int4 argument.
		rc.send(&pgproto3.FunctionCall{Function: 957, ArgFormatCodes: []uint16{1}, Arguments: [][]byte{{0, 6, 0, 0}}})
		if er, alive := rc.answer(); er != nil || !alive {
			t.Fatalf("FunctionCall lo_creat = %+v (alive %v), want success", er, alive)
		}
		if er, _ := rc.query("SELECT 1 / (current_setting('app.tenant') = 'acme')::int"); er != nil {
			t.Fatalf("app.tenant after the refused FunctionCall: %+v", er)
		}
	})
	t.Run("the large-object OIDs are pg_proc's", func(t *testing.T) {
		rows, _ := e.direct(t).Query(ctx, "SELECT oid::int8, proname FROM pg_proc WHERE oid::int8 = ANY($1)", keysOf(loFunctions))
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
			OID  int64
			Name string
		}])
		if err != nil || len(got) != len(loFunctions) {
			t.Fatalf("pg_proc rows for the large-object OIDs = %v, %v, want %d", got, err, len(loFunctions))
		}
		for _, r := range got {
			if !strings.HasPrefix(r.Name, "lo") {
				t.Errorf("OID %d is %s, not a large-object function", r.OID, r.Name)
			}
		}
	})
	var n int
	if err := e.direct(t).QueryRow(ctx, "SELECT count(*) FROM users WHERE tenant = 'globex'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows with tenant globex = %d, %v, want 0", n, err)
	}
}

func keysOf(m map[uint32]bool) []int64 {
	var out []int64
	for k := range m {
		out = append(out, int64(k))
	}
	return out
}

func TestSealSQLExecuteOfProtocolStatement(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	rc := e.p.dialRawWith(t, map[string]string{"options": "-c app.tenant=acme"})
	rc.send(&pgproto3.Parse{Name: "s1", Query: "insert into users(tenant,email) values ('acme',$1)"}, &pgproto3.Sync{})
	if er, _ := rc.answer(); er != nil {
		t.Fatalf("Parse s1 = %+v", er)
	}
	steps := []struct{ sql, code string }{
		{"execute s1('MK3')", sqlstate.FeatureNotSupported},
		{"EXPLAIN ANALYZE EXECUTE s1('MK3')", sqlstate.FeatureNotSupported},
		{"CREATE TABLE t2 AS EXECUTE s1('MK3')", sqlstate.FeatureNotSupported},
		{"PREPARE s1 AS SELECT $1::text", "42P05"}, // already exists: must not whitelist s1
		{"execute s1('MK3')", sqlstate.FeatureNotSupported},
		{"execute s1", "42601"}, // without arguments it reaches the server (which wants one)
		{"PREPARE p2 AS SELECT $1::text", ""},
		{"execute p2('x')", ""},
		{"DEALLOCATE p2", ""},
		{"PREPARE p3 AS SELECT $1::text", ""},
		{"DEALLOCATE ALL", ""},
		{"execute p3('x')", sqlstate.FeatureNotSupported},
		{"PREPARE t AS SELECT set_config('app.tenant', $1, false)", sqlstate.FeatureNotSupported},
		{"PREPARE t AS SELECT set_config('app.tenant', 'globex', false)", sqlstate.FeatureNotSupported},
	}
	for _, s := range steps {
		if er, alive := rc.query(s.sql); codeOf(er) != s.code || !alive {
			t.Fatalf("%s = %+v (alive %v), want %q", s.sql, er, alive, s.code)
		}
	}
	rc.send(&pgproto3.Parse{Name: "p2", Query: "insert into users(tenant,email) values ('acme',$1)"}, &pgproto3.Sync{})
	if er, _ := rc.answer(); er != nil {
		t.Fatalf("Parse p2 = %+v", er)
	}
	if er, _ := rc.query("execute p2('MK3')"); codeOf(er) != sqlstate.FeatureNotSupported {
		t.Fatalf("execute of the protocol p2 after DEALLOCATE = %+v, want 0A000", er)
	}
	rc.send(&pgproto3.Parse{Query: "execute s1('MK3')"}, &pgproto3.Sync{})
	if er, _ := rc.answer(); codeOf(er) != sqlstate.FeatureNotSupported {
		t.Fatalf("Parse of execute s1('MK3') = %+v, want 0A000", er)
	}
	if n := e.plainStored(t, "MK3"); n != 0 {
		t.Fatalf("plaintext MK3 stored in %d rows", n)
	}
}
