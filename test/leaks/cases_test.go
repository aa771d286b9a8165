package leaks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgseal/pgseal/internal/pgtest"
)

const insertNote = "INSERT INTO users (tenant, note) VALUES ('acme', 'MK')"

// poison is evil's session of case 1: its own format_type and = operators ahead of pg_catalog,
// then a new table, which makes pgseal's view of the catalog stale.
var poison = []string{
	"SET search_path = evil, pg_catalog",
	"CREATE FUNCTION evil.format_type(oid, integer) RETURNS text LANGUAGE sql STABLE AS $$SELECT 'text'::text$$",
	"CREATE FUNCTION evil.never(oid, oid) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT false$$",
	"CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.never)",
	"CREATE FUNCTION evil.never(name, name) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT false$$",
	"CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.never)",
	"CREATE FUNCTION evil.never(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT false$$",
	"CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.never)",
	"CREATE TABLE evil.stale (x int)",
	"SELECT 1",
}

// poisonFormatType shadows only format_type, so that a catalog read in evil's session still finds
// the tables but sees every column as text: the state of a configured column not yet migrated to
// bytea, which pgseal passes through as plaintext.
var poisonFormatType = []string{poison[0], poison[1], "CREATE TABLE evil.stale (x int)", "SELECT 1"}

func (e *env) catalogPoisoning(t *testing.T) {
	t.Run("evil's format_type alone does not make app_a's open session store users.note in plaintext", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		app := e.connect(t, db, roleA, "acme")
		steps(t, app, mk, "SELECT count(*) FROM users")
		steps(t, e.connect(t, db, roleEvil, ""), mk, poisonFormatType...)
		steps(t, app, mk, insertNote)
		assertNoLeak(t, db, mk)
		e.assertTenantKeysets(t, db)
	})
	t.Run("evil's format_type alone does not let evil's own session store users.note in plaintext", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		evil := e.connect(t, db, roleEvil, "acme")
		steps(t, evil, mk, poisonFormatType...)
		stepsAll(t, evil, mk, "INSERT INTO public.users (tenant, note) VALUES ('acme', 'MK')",
			"INSERT INTO sec.accounts (email, name) VALUES ('MK', 'n')")
		assertNoLeak(t, db, mk)
	})
	t.Run("evil's format_type and = do not make app_a's open session store users.note in plaintext", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		app := e.connect(t, db, roleA, "acme")
		steps(t, app, mk, "SELECT 1", "SELECT count(*) FROM users")
		evil := e.connect(t, db, roleEvil, "")
		steps(t, evil, mk, poison...)
		steps(t, app, mk, insertNote)
		steps(t, e.connect(t, db, roleA, "acme"), mk, insertNote)
		assertNoLeak(t, db, mk)
		e.assertTenantKeysets(t, db)
	})
	t.Run("evil's poisoned session itself cannot store users.note in plaintext", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		evil := e.connect(t, db, roleEvil, "acme")
		steps(t, evil, mk, poison...)
		stepsAll(t, evil, mk, "INSERT INTO public.users (tenant, note) VALUES ('acme', 'MK')",
			"SET search_path = evil, pg_catalog, public", insertNote)
		assertNoLeak(t, db, mk)
	})
	t.Run("a poisoned catalog in evil's session does not change what a new app_a session with the same search_path stores", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		steps(t, e.connect(t, db, roleEvil, ""), mk, poison...)
		app := e.connect(t, db, roleA, "acme")
		stepsAll(t, app, mk, "SET search_path = evil, pg_catalog, public", insertNote,
			"INSERT INTO users (tenant, email) VALUES ('acme', 'MK')")
		assertNoLeak(t, db, mk)
		e.assertTenantKeysets(t, db)
	})
}

// encodingPrefixes are, per client-only encoding, valid UTF-8 bytes that end in a lead byte of a
// two-byte character of that encoding whose trail can be 0x5c (backslash). PostgreSQL converts the
// query to UTF-8 before lexing, so there the backslash is part of a character; a proxy that reads
// the bytes as UTF-8 sees `\'`, an escaped quote. SJIS: c3 is a single-byte kana, 81 5c is one
// character. BIG5: e4 a1 is one character, a5 5c another. GBK and GB18030: e4 b8, then 81 5c. UHC has
// no such trail byte (its trails are 0x41–0x5a, 0x61–0x7a, 0x81–0xfe): there the bytes are a
// character and a real `\'`, which PostgreSQL refuses in a client-only encoding (22P06, "unsafe use
// of \' in a string literal") and logs with the statement, marker included: a leak to the log.
var encodingPrefixes = []struct {
	enc    string
	prefix []byte
}{
	{"SJIS", []byte{0xc3, 0x81}},
	{"BIG5", []byte{0xe4, 0xa1, 0xa5}},
	{"GBK", []byte{0xe4, 0xb8, 0x81}},
	{"GB18030", []byte{0xe4, 0xb8, 0x81}},
	{"UHC", []byte{0xc3, 0x81}},
}

// encodingAttack is `select E'<prefix>\' ; insert … ; select 1 --'`: valid UTF-8, and one string
// literal to a UTF-8 reader; a select, an insert and a comment to PostgreSQL in the encoding.
func encodingAttack(prefix []byte, mk string) []byte {
	q := append([]byte("select E'"), prefix...)
	return append(q, []byte(`\' ; insert into users(tenant,note) values ($$acme$$,$$`+mk+`$$) ; select 1 --'`)...)
}

// scsAttack is one string literal with standard_conforming_strings on (what a parser assumes by
// default) and a select, an insert and a comment with it off.
func scsAttack(mk string) []byte {
	return []byte(`select 'x\'' ; insert into users(tenant,note) values ($$acme$$,$$` + mk + `$$) ; select 1 --'`)
}

func (e *env) clientEncoding(t *testing.T) {
	tenant := "-c app.tenant=acme"
	for _, v := range encodingPrefixes {
		t.Run("client_encoding="+v.enc+" at startup does not hide an insert behind a backslash trail byte", func(t *testing.T) {
			t.Parallel()
			db := e.caseDB(t)
			mk := newMarker()
			r, err := e.rawDial(t, db, roleA, map[string]string{"client_encoding": v.enc, "options": tenant})
			if err != nil {
				t.Logf("startup with client_encoding=%s → %v", v.enc, err)
			} else {
				rawSteps(t, r, encodingAttack(v.prefix, mk))
			}
			assertNoLeak(t, db, mk)
			e.assertTenantKeysets(t, db)
		})
		t.Run("SET client_encoding = "+v.enc+" mid-session does not hide an insert behind a backslash trail byte", func(t *testing.T) {
			t.Parallel()
			db := e.caseDB(t)
			mk := newMarker()
			r, err := e.rawDial(t, db, roleA, map[string]string{"options": tenant})
			if err != nil {
				t.Fatal(err)
			}
			rawSteps(t, r, []byte("SET client_encoding = '"+v.enc+"'"), encodingAttack(v.prefix, mk))
			assertNoLeak(t, db, mk)
			e.assertTenantKeysets(t, db)
		})
	}
	t.Run("set_config('client_encoding', 'SJIS') does not hide an insert behind a backslash trail byte", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		r, err := e.rawDial(t, db, roleA, map[string]string{"options": tenant})
		if err != nil {
			t.Fatal(err)
		}
		rawSteps(t, r, []byte("SELECT set_config('client_encoding', 'SJIS', false)"), encodingAttack(encodingPrefixes[0].prefix, mk))
		assertNoLeak(t, db, mk)
		e.assertTenantKeysets(t, db)
	})
	t.Run("the encoding attacks leak the marker when sent straight to PostgreSQL", func(t *testing.T) {
		for _, v := range encodingPrefixes {
			db := e.caseDB(t)
			mk := newMarker()
			r, err := rawDialAddr(t, db.Server.Addr(), db, pgtest.Superuser, map[string]string{"client_encoding": v.enc})
			if err != nil {
				t.Fatal(err)
			}
			rawSteps(t, r, encodingAttack(v.prefix, mk))
			if len(leakHits(t, db, mk)) == 0 {
				t.Errorf("%s straight to PostgreSQL: marker not found, want it in the log or the table", v.enc)
			}
		}
		db := e.caseDB(t)
		mk := newMarker()
		r, err := rawDialAddr(t, db.Server.Addr(), db, pgtest.Superuser, map[string]string{"standard_conforming_strings": "off"})
		if err != nil {
			t.Fatal(err)
		}
		rawSteps(t, r, scsAttack(mk))
		if len(leakHits(t, db, mk)) == 0 {
			t.Errorf("standard_conforming_strings=off straight to PostgreSQL: marker not found, want it stored")
		}
	})
	// The settings pgseal follows rather than refuses: a statement without a backslash under
	// standard strings off, and any statement under SQL_ASCII, are read as the server reads them
	// and their values are sealed.
	for _, p := range []map[string]string{{"standard_conforming_strings": "off"}, {"client_encoding": "SQL_ASCII"}} {
		t.Run(fmt.Sprint(p)+" seals a literal read the same both ways", func(t *testing.T) {
			t.Parallel()
			db := e.caseDB(t)
			mk := newMarker()
			p["options"] = tenant
			r, err := e.rawDial(t, db, roleA, p)
			if err != nil {
				t.Fatal(err)
			}
			rawSteps(t, r, []byte("insert into users(tenant,note) values ('acme','"+mk+"')"))
			assertNoLeak(t, db, mk)
			var n int
			if err := db.Conn(t).QueryRow(context.Background(), "SELECT count(*) FROM users WHERE note IS NOT NULL").Scan(&n); err != nil || n != 1 {
				t.Fatalf("sealed rows = %d, %v; want 1", n, err)
			}
		})
	}
	scs := []struct {
		name   string
		params map[string]string
		before []string
	}{
		{"SET standard_conforming_strings = off", nil, []string{"SET standard_conforming_strings = off"}},
		{"set_config('standard_conforming_strings', 'off')", nil, []string{"SELECT set_config('standard_conforming_strings', 'off', false)"}},
		{"standard_conforming_strings=off at startup", map[string]string{"standard_conforming_strings": "off"}, nil},
		{"-c standard_conforming_strings=off in the startup options", map[string]string{"options": tenant + " -c standard_conforming_strings=off"}, nil},
	}
	for _, v := range scs {
		t.Run(v.name+" does not hide an insert behind a backslash-escaped quote", func(t *testing.T) {
			t.Parallel()
			db := e.caseDB(t)
			mk := newMarker()
			params := map[string]string{"options": tenant}
			for k, val := range v.params {
				params[k] = val
			}
			r, err := e.rawDial(t, db, roleA, params)
			if err != nil {
				t.Logf("startup %v → %v", params, err)
			} else {
				var qs [][]byte
				for _, b := range v.before {
					qs = append(qs, []byte(b))
				}
				rawSteps(t, r, append(qs, scsAttack(mk))...)
			}
			assertNoLeak(t, db, mk)
			e.assertTenantKeysets(t, db)
		})
	}
}

const insertAccount = "INSERT INTO accounts (email, name) VALUES ('MK', 'n')"

var searchPathCases = []sqlCase{
	{name: "SET search_path = sec, public makes an unqualified accounts sec.accounts",
		sqls: []string{"SET search_path = sec, public", insertAccount}},
	{name: "SET search_path in the same query string as the insert",
		sqls: []string{"SET search_path = sec, public; " + insertAccount}},
	{name: "SET search_path with the marker as a bind parameter",
		sqls: []string{"SET search_path = sec, public"},
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			if err := exec(t, c, "INSERT INTO accounts (email, name) VALUES ($1, 'n')", mk); err != nil {
				t.Logf("insert with a parameter → %v", err)
			}
		}},
	{name: "a role default search_path set with ALTER ROLE … IN DATABASE",
		setup: []string{"ALTER ROLE app_a IN DATABASE DB SET search_path = sec"},
		sqls:  []string{insertAccount}},
	{name: "evil's role default search_path = sec",
		user: roleEvil, setup: []string{"ALTER ROLE evil IN DATABASE DB SET search_path = sec"},
		sqls: []string{insertAccount}},
	{name: "the role sec finds sec.accounts through \"$user\"",
		user: roleSec, sqls: []string{insertAccount}},
	{name: "-csearch_path=sec in the startup options",
		params: map[string]string{"options": "-c app.tenant=acme -csearch_path=sec"},
		sqls:   []string{insertAccount}},
	{name: "search_path=sec as a startup parameter",
		params: map[string]string{"options": "-c app.tenant=acme", "search_path": "sec"},
		sqls:   []string{insertAccount}},
	{name: "SET LOCAL search_path inside a transaction",
		sqls: []string{"BEGIN", "SET LOCAL search_path = sec", insertAccount, "COMMIT"}},
	{name: "set_config('search_path', 'sec', false)",
		sqls: []string{"SELECT set_config('search_path', 'sec', false)", insertAccount}},
	{name: "set_config('search_path') inside a DO block",
		sqls: []string{"DO $$BEGIN PERFORM set_config('search_path', 'sec', false); END$$", insertAccount}},
	{name: "search_path = sec restored by ROLLBACK TO SAVEPOINT",
		sqls: []string{"BEGIN", "SET search_path = sec", "SAVEPOINT s", "SET search_path = public", "ROLLBACK TO SAVEPOINT s",
			insertAccount, "COMMIT"}},
}

const prepareNote = "INSERT INTO users (tenant, note) VALUES ('acme', $1)"

// parse prepares name with the extended protocol (Parse/Describe/Sync), as a driver does.
func parse(name string) func(t *testing.T, c *pgx.Conn, mk string) {
	return func(t *testing.T, c *pgx.Conn, mk string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.PgConn().Prepare(ctx, name, prepareNote, nil); err != nil {
			t.Logf("Parse %s → %v", name, err)
		}
	}
}

func then(fs ...func(t *testing.T, c *pgx.Conn, mk string)) func(t *testing.T, c *pgx.Conn, mk string) {
	return func(t *testing.T, c *pgx.Conn, mk string) {
		for _, f := range fs {
			if !c.IsClosed() {
				f(t, c, mk)
			}
		}
	}
}

func sql(qs ...string) func(t *testing.T, c *pgx.Conn, mk string) {
	return func(t *testing.T, c *pgx.Conn, mk string) { steps(t, c, mk, qs...) }
}

// sqlAll is sql going on after errors (stepsAll).
func sqlAll(qs ...string) func(t *testing.T, c *pgx.Conn, mk string) {
	return func(t *testing.T, c *pgx.Conn, mk string) { stepsAll(t, c, mk, qs...) }
}

var executeCases = []sqlCase{
	{name: "SQL EXECUTE of a statement prepared with the extended protocol",
		run: then(parse("s1"), sql("EXECUTE s1('MK')"))},
	{name: "SQL EXECUTE of a statement prepared with the extended protocol, inside a transaction",
		run: then(parse("s1"), sql("BEGIN", "EXECUTE s1('MK')", "COMMIT"))},
	{name: "SQL PREPARE and EXECUTE",
		sqls: []string{"PREPARE s2(text) AS " + prepareNote, "EXECUTE s2('MK')"}},
	{name: "a PREPARE that fails with already exists leaves the extended-protocol statement for EXECUTE",
		run: then(parse("s1"), sqlAll("PREPARE s1 AS SELECT $1::text", "EXECUTE s1('MK')"))},
	{name: "a PREPARE that fails inside a transaction leaves the extended-protocol statement for EXECUTE",
		run: then(parse("s1"), sqlAll("BEGIN", "PREPARE s1 AS SELECT $1::text", "ROLLBACK", "EXECUTE s1('MK')"))},
	{name: "DEALLOCATE and PREPARE again under the same name in one query string",
		sqls: []string{"PREPARE s3 AS SELECT $1::text; DEALLOCATE s3; PREPARE s3(text) AS " + prepareNote + "; EXECUTE s3('MK')"}},
	{name: "EXECUTE of a SQL-prepared statement through a bind parameter",
		sqls: []string{"PREPARE s4(text) AS " + prepareNote},
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			if err := exec(t, c, "EXECUTE s4($1)", mk); err != nil {
				t.Logf("EXECUTE s4($1) → %v", err)
			}
		}},
}

var relationCases = []sqlCase{
	{name: "an insert through an updatable view over users",
		sqls: []string{"INSERT INTO users_v (tenant, note) VALUES ('acme', 'MK')"}},
	{name: "an insert through a view with the marker as a bind parameter",
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			if err := exec(t, c, "INSERT INTO users_v (tenant, note) VALUES ('acme', $1)", mk); err != nil {
				t.Logf("insert with a parameter → %v", err)
			}
		}},
	{name: "an insert into the sub-partition events_2025_h1 with the marker as a bind parameter",
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			if err := exec(t, c, "INSERT INTO events_2025_h1 (at, payload) VALUES ('2025-03-01', $1)", mk); err != nil {
				t.Logf("insert with a parameter → %v", err)
			}
		}},
	{name: "an insert through a view over a view over users",
		sqls: []string{"INSERT INTO users_vv (tenant, note) VALUES ('acme', 'MK')"}},
	{name: "an insert through a view that renames note",
		sqls: []string{"INSERT INTO users_r (who, memo) VALUES ('acme', 'MK')"}},
	{name: "an update through a view",
		sqls: []string{"INSERT INTO users (tenant, note) VALUES ('acme', 'x')", "UPDATE users_v SET note = 'MK' WHERE tenant = 'acme'"}},
	{name: "an insert through a view the session creates itself",
		sqls: []string{"CREATE VIEW app_v AS SELECT tenant, note AS n FROM users", "INSERT INTO app_v (tenant, n) VALUES ('acme', 'MK')"}},
	{name: "an insert into the partitioned table events",
		sqls: []string{"INSERT INTO events (at, payload) VALUES ('2025-03-01', 'MK')"}},
	{name: "an insert into the partition events_2025 named directly",
		sqls: []string{"INSERT INTO events_2025 (at, payload) VALUES ('2025-03-01', 'MK')"}},
	{name: "an insert into the sub-partition events_2025_h1 named directly",
		sqls: []string{"INSERT INTO events_2025_h1 (at, payload) VALUES ('2025-03-01', 'MK')"}},
	{name: "an insert into the default partition events_other named directly",
		sqls: []string{"INSERT INTO events_other (at, payload) VALUES ('2030-03-01', 'MK')"}},
	{name: "an insert into an inheritance child of users",
		sqls: []string{"INSERT INTO users_child (tenant, note, extra) VALUES ('acme', 'MK', 1)"}},
	{name: "an insert into a partition of events the session creates",
		user: pgtest.Superuser,
		sqls: []string{"CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
			"INSERT INTO events_2026 (at, payload) VALUES ('2026-03-01', 'MK')"}},
	{name: "an insert into a table the session attaches as a partition of events",
		user: pgtest.Superuser,
		sqls: []string{"CREATE TABLE events_new (id int, at date NOT NULL, payload bytea)",
			"ALTER TABLE events ATTACH PARTITION events_new FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
			"INSERT INTO events_new (at, payload) VALUES ('2027-03-01', 'MK')"}},
	{name: "an insert into an inheritance child of users the session creates",
		user: pgtest.Superuser,
		sqls: []string{"CREATE TABLE users_kid () INHERITS (users)", "INSERT INTO users_kid (tenant, note) VALUES ('acme', 'MK')"}},
}

var functionCases = []sqlCase{
	{name: "a DO block inserting a literal into users.note",
		sqls: []string{"DO $$BEGIN INSERT INTO users (tenant, note) VALUES ('acme', 'MK'); END$$"}},
	{name: "a DO block whose EXECUTE concatenates the table name",
		sqls: []string{"DO $$BEGIN EXECUTE 'INSERT INTO us' || 'ers (tenant, note) VALUES (''acme'', ''MK'')'; END$$"}},
	{name: "a SQL function whose body inserts a literal, then called",
		sqls: []string{"CREATE FUNCTION f1() RETURNS void LANGUAGE sql AS $$" + insertNote + "$$", "SELECT f1()"}},
	{name: "a PL/pgSQL function called with the literal as its argument",
		sqls: []string{"CREATE FUNCTION f2(x text) RETURNS void LANGUAGE plpgsql AS $$BEGIN INSERT INTO users (tenant, note) VALUES ('acme', convert_to(x, 'UTF8')); END$$",
			"SELECT f2('MK')"}},
	{name: "a procedure called with the literal as its argument",
		sqls: []string{"CREATE PROCEDURE p1(x text) LANGUAGE sql AS $$INSERT INTO users (tenant, note) VALUES ('acme', convert_to(x, 'UTF8'))$$",
			"CALL p1('MK')"}},
	{name: "a function whose EXECUTE format() hides the table name, called with the literal",
		sqls: []string{"CREATE FUNCTION f3(x text) RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE format('INSERT INTO %I (tenant, note) VALUES ($1, $2)', 'us' || 'ers') USING 'acme', convert_to(x, 'UTF8'); END$$",
			"SELECT f3('MK')"}},
}

var aggregateCases = []sqlCase{
	{name: "count(email) FILTER (WHERE email = literal)", sqls: []string{"SELECT count(email) FILTER (WHERE email = 'MK') FROM users"}},
	{name: "count(*) OVER (PARTITION BY email = literal)", sqls: []string{"SELECT count(*) OVER (PARTITION BY email = 'MK') FROM users"}},
	{name: "HAVING bool_or(email = literal)", sqls: []string{"SELECT tenant FROM users GROUP BY tenant HAVING bool_or(email = 'MK')"}},
	{name: "FILTER on the unsearchable note", sqls: []string{"SELECT count(*) FILTER (WHERE note = 'MK') FROM users"}},
	{name: "ORDER BY email = literal", sqls: []string{"SELECT id FROM users ORDER BY email = 'MK'"}},
	{name: "CASE WHEN email = literal", sqls: []string{"SELECT CASE WHEN email = 'MK' THEN 1 END FROM users"}},
	{name: "a scalar subquery with email = literal", sqls: []string{"SELECT (SELECT count(*) FROM users WHERE email = 'MK')"}},
	{name: "email compared with a column of a VALUES list", sqls: []string{"SELECT count(*) FROM users u, (VALUES ('MK')) v(m) WHERE u.email = v.m"}},
	{name: "email IS NOT DISTINCT FROM literal", sqls: []string{"SELECT count(*) FROM users WHERE email IS NOT DISTINCT FROM 'MK'"}},
	{name: "email LIKE literal", sqls: []string{"SELECT count(*) FROM users WHERE email LIKE 'MK%'"}},
	{name: "coalesce(email, literal) and nullif(note, literal)", sqls: []string{"SELECT coalesce(email, 'MK'), nullif(note, 'MK') FROM users"}},
	{name: "doc = a jsonb literal inside FILTER", sqls: []string{`SELECT count(*) FILTER (WHERE doc = '{"k": "MK"}') FROM users`}},
}

var ddlCases = []sqlCase{
	{name: "an index on the expression (email = literal)", user: pgtest.Superuser,
		sqls: []string{"CREATE INDEX i1 ON users ((email = 'MK'))"}},
	{name: "an index WHERE predicate on email", user: pgtest.Superuser,
		sqls: []string{"CREATE INDEX i2 ON users (id) WHERE email = 'MK'"}},
	{name: "a CHECK constraint on note", user: pgtest.Superuser,
		sqls: []string{"ALTER TABLE users ADD CONSTRAINT c1 CHECK (note <> 'MK')"}},
	{name: "a DEFAULT of note", user: pgtest.Superuser,
		sqls: []string{"ALTER TABLE users ALTER COLUMN note SET DEFAULT 'MK'"}},
	{name: "a DEFAULT of email", user: pgtest.Superuser,
		sqls: []string{"ALTER TABLE users ALTER COLUMN email SET DEFAULT 'MK'"}},
	{name: "a policy USING email = literal", user: pgtest.Superuser,
		sqls: []string{"CREATE POLICY p1 ON users USING (email = 'MK')"}},
	{name: "extended statistics on (email = literal)", user: pgtest.Superuser,
		sqls: []string{"CREATE STATISTICS s1 ON (email = 'MK'), tenant FROM users"}},
	{name: "a view WHERE email = literal", user: pgtest.Superuser,
		sqls: []string{"CREATE VIEW v1 AS SELECT id FROM users WHERE email = 'MK'"}},
	{name: "a materialized view WHERE email = literal", user: pgtest.Superuser,
		sqls: []string{"CREATE MATERIALIZED VIEW mv1 AS SELECT id FROM users WHERE email = 'MK'"}},
	{name: "a rule WHERE new.note = literal", user: pgtest.Superuser,
		sqls: []string{"CREATE RULE r1 AS ON UPDATE TO users WHERE new.note = 'MK' DO INSTEAD NOTHING"}},
	{name: "a trigger WHEN new.email = literal", user: pgtest.Superuser,
		sqls: []string{"CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN new; END$$",
			"CREATE TRIGGER t1 BEFORE INSERT ON users FOR EACH ROW WHEN (new.email = 'MK') EXECUTE FUNCTION tf()"}},
}

var statementCases = []sqlCase{
	{name: "a data-modifying CTE", sqls: []string{"WITH x AS (" + insertNote + " RETURNING id) SELECT count(*) FROM x"}},
	{name: "a CTE of VALUES feeding an insert", sqls: []string{"WITH v(n) AS (VALUES ('MK')) INSERT INTO users (tenant, note) SELECT 'acme', n FROM v"}},
	{name: "INSERT … SELECT of a literal", sqls: []string{"INSERT INTO users (tenant, note) SELECT 'acme', 'MK'"}},
	{name: "INSERT … SELECT … UNION ALL of a literal", sqls: []string{"INSERT INTO users (tenant, note) SELECT 'acme', 'x' UNION ALL SELECT 'acme', 'MK'"}},
	{name: "UPDATE … FROM (VALUES …)", sqls: []string{"INSERT INTO users (tenant, note) VALUES ('acme', 'x')",
		"UPDATE users SET note = v.n FROM (VALUES ('MK')) v(n) WHERE users.tenant = 'acme'"}},
	{name: "MERGE with a VALUES source", sqls: []string{
		"MERGE INTO users u USING (VALUES ('acme', 'MK')) s(t, n) ON false WHEN NOT MATCHED THEN INSERT (tenant, note) VALUES (s.t, s.n)"}},
	{name: "MERGE … WHEN MATCHED THEN UPDATE SET note = literal", sqls: []string{"INSERT INTO users (tenant, note) VALUES ('acme', 'x')",
		"MERGE INTO users u USING (SELECT 1) s ON u.tenant = 'acme' WHEN MATCHED THEN UPDATE SET note = 'MK'"}},
	{name: "CREATE TABLE AS with email = literal", sqls: []string{"CREATE TABLE ctas AS SELECT id FROM users WHERE email = 'MK'"}},
	{name: "SELECT INTO with note = literal", sqls: []string{"SELECT id INTO si FROM users WHERE note = 'MK'"}},
	// From the second time on, a simple Query whose shape returned 32 rows or more goes to
	// PostgreSQL as an unnamed extended sequence (internal/seal/formats.go): the same text.
	{name: "simple Queries with long results, the later ones sent as extended sequences", sqls: []string{
		"INSERT INTO users (tenant, note) VALUES " + strings.TrimSuffix(strings.Repeat("('acme', 'x'), ", 40), ", "),
		"UPDATE users SET note = 'MK' WHERE tenant = 'acme' RETURNING id, note",
		"UPDATE users SET note = 'MK' WHERE tenant = 'acme' RETURNING id, note",
		"SELECT id, email, note FROM users WHERE email = 'MK' OR tenant = 'acme'",
		"SELECT id, email, note FROM users WHERE email = 'MK' OR tenant = 'acme'",
		"UPDATE users SET note = 'MK' WHERE tenant = 'acme' RETURNING id, note"}},
	{name: "COPY users FROM STDIN", user: pgtest.Superuser, copyIn: []copyStep{{"COPY users (tenant, note) FROM STDIN", "acme\tMK\n"}}},
	{name: "COPY users FROM STDIN in CSV", user: pgtest.Superuser, copyIn: []copyStep{{"COPY users (tenant, note) FROM STDIN (FORMAT csv)", "acme,\"MK\"\n"}}},
	{name: "COPY users FROM STDIN without a column list", user: pgtest.Superuser, copyIn: []copyStep{{"COPY users FROM STDIN", "1000\tacme\t\\N\t\\N\tMK\t\\N\n"}}},
	{name: "COPY users FROM STDIN sharing its query with a SET and a SELECT", user: pgtest.Superuser,
		copyIn: []copyStep{{"SET app.tenant = 'acme'; SELECT 1; COPY users (tenant, note) FROM STDIN", "acme\tMK\n"}}},
	{name: "COPY users FROM STDIN after a COPY of a plain table in its query", user: pgtest.Superuser,
		copyIn: []copyStep{{"COPY contacts (email) FROM STDIN; COPY users (tenant, note) FROM STDIN", "MK\n"}}},
	{name: "COPY into the sub-partition events_2025_h1", copyIn: []copyStep{{"COPY events_2025_h1 (at, payload) FROM STDIN", "2025-03-01\tMK\n"}}},
	{name: "COPY into the inheritance child users_child", copyIn: []copyStep{{"COPY users_child (tenant, note) FROM STDIN", "acme\tMK\n"}}},
	{name: "COPY into accounts through search_path", sqls: []string{"SET search_path = sec"},
		copyIn: []copyStep{{"COPY accounts (email, name) FROM STDIN", "MK\tn\n"}}},
	{name: "COPY users FROM STDIN in binary (pgx CopyFrom)", user: pgtest.Superuser,
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := c.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"tenant", "note"}, pgx.CopyFromRows([][]any{{"acme", mk}})); err != nil {
				t.Logf("binary CopyFrom → %v", err)
			}
		}},
	{name: "COPY users FROM STDIN in the extended protocol (libpq's PQexecParams)", user: pgtest.Superuser,
		run: func(t *testing.T, c *pgx.Conn, mk string) {
			fe := c.PgConn().Frontend()
			fe.SendParse(&pgproto3.Parse{Query: "COPY users (tenant, note) FROM STDIN"})
			fe.SendBind(&pgproto3.Bind{})
			fe.SendExecute(&pgproto3.Execute{})
			fe.SendSync(&pgproto3.Sync{})
			fe.Send(&pgproto3.CopyData{Data: []byte("acme\t" + mk + "\n")})
			fe.Send(&pgproto3.CopyDone{})
			fe.SendSync(&pgproto3.Sync{})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
			_ = c.PgConn().Conn().SetDeadline(time.Now().Add(20 * time.Second))
			for {
				m, err := fe.Receive()
				if err != nil {
					t.Fatalf("extended COPY → %v", err)
				}
				if e, ok := m.(*pgproto3.ErrorResponse); ok {
					t.Logf("extended COPY → %s %s", e.Code, e.Message)
				}
				if _, ok := m.(*pgproto3.ReadyForQuery); ok {
					break
				}
			}
		}},
}

const insertGlobex = "INSERT INTO users (tenant, note) VALUES ('globex', 'MK')"

func (e *env) tenantOutOfStep(t *testing.T) {
	e.runCases(t, []sqlCase{
		{name: "SET pgseal.keyset = 'acme' then SET app.tenant = 'globex'", tenant: "-",
			sqls: []string{"SET pgseal.keyset = 'acme'", "SET app.tenant = 'globex'", insertGlobex}},
		{name: "SET pgseal.keyset = 'acme' and SET app.tenant = 'globex', then an insert with bind parameters", tenant: "-",
			sqls: []string{"SET pgseal.keyset = 'acme'", "SET app.tenant = 'globex'"},
			run: func(t *testing.T, c *pgx.Conn, mk string) {
				if err := exec(t, c, "INSERT INTO users (tenant, note) VALUES ($1, $2)", "globex", mk); err != nil {
					t.Logf("insert with parameters → %v", err)
				}
			}},
		{name: "SET app.tenant = 'globex' then SET pgseal.keyset = 'acme'", tenant: "-",
			sqls: []string{"SET app.tenant = 'globex'", "SET pgseal.keyset = 'acme'", insertGlobex}},
		{name: "startup app.tenant=globex with options -c app.tenant=acme",
			params: map[string]string{"app.tenant": "globex", "options": "-c app.tenant=acme"},
			sqls:   []string{insertGlobex}},
		{name: "startup pgseal.keyset=acme with app.tenant=globex",
			params: map[string]string{"app.tenant": "globex", "pgseal.keyset": "acme"},
			sqls:   []string{insertGlobex}},
		{name: "set_config('app.tenant', 'globex') inside a DO block",
			sqls: []string{"DO $$BEGIN PERFORM set_config('app.tenant', 'globex', false); END$$", insertGlobex}},
		{name: "set_config('app.tenant') through SQL PREPARE and EXECUTE",
			sqls: []string{"PREPARE st AS SELECT set_config('app.tenant', $1, false)", "EXECUTE st('globex')", insertGlobex}},
		{name: "set_config('app.tenant') with a computed value",
			sqls: []string{"SELECT set_config('app.tenant', 'glo' || 'bex', false)", insertGlobex}},
		{name: "a role default app.tenant = 'globex' with SET pgseal.keyset = 'acme'", tenant: "-",
			setup: []string{"ALTER ROLE app_a IN DATABASE DB SET app.tenant = 'globex'"},
			sqls:  []string{"SET pgseal.keyset = 'acme'", insertGlobex}},
		{name: "a SQL function calling set_config('app.tenant', 'globex') before the insert",
			sqls: []string{"CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $$SELECT set_config('app.tenant', 'globex', false)$$", "SELECT g()", insertGlobex}},
		{name: "SET app.tenant = 'globex' released with its savepoint",
			sqls: []string{"BEGIN", "SAVEPOINT s", "SET app.tenant = 'globex'", "RELEASE SAVEPOINT s", insertGlobex, "COMMIT"}},
	})
	t.Run("set_config('app.tenant', 'globex') through a FunctionCall message", func(t *testing.T) {
		t.Parallel()
		db := e.caseDB(t)
		mk := newMarker()
		var oid uint32
		if err := direct(t, db).QueryRow(context.Background(), "SELECT 'set_config(text,text,boolean)'::regprocedure::oid").Scan(&oid); err != nil {
			t.Fatal(err)
		}
		r, err := e.rawDial(t, db, roleA, map[string]string{"options": "-c app.tenant=acme"})
		if err != nil {
			t.Fatal(err)
		}
		if errs, err := r.call(oid, "app.tenant", "globex", "false"); err != nil || len(errs) > 0 {
			t.Logf("FunctionCall set_config → %v %v", errs, err)
		}
		rawSteps(t, r, []byte(withMarker(insertGlobex, mk)))
		assertNoLeak(t, db, mk)
		e.assertTenantKeysets(t, db)
	})
}

// numberConstants: unquoted numbers, which pgseal types and converts as PostgreSQL does (a
// decimal into an integer column rounds, as does one cast to an integer type; compared with an
// integer column it compares as numeric; into a text column it becomes numeric_out's text; a
// number into a date column or compared with a text one is PostgreSQL's error), reach PostgreSQL
// only as envelopes and terms, or not at all. The marker is digits, so that a constant carries
// it.
func (e *env) numberConstants(t *testing.T) {
	db := e.caseDB(t)
	mk := fmt.Sprintf("7357%05d", time.Now().UnixNano()%100000) // nine digits, within int4
	c := e.connect(t, db, roleA, "acme")
	execMarked(t, c, mk, []string{
		"INSERT INTO people (tenant, name, age) VALUES ('acme', 'x', MK.4)",
		"INSERT INTO users (tenant, email) VALUES ('acme', MKe0)",
		"INSERT INTO users (tenant, born) VALUES ('acme', MK)",
		"SELECT id FROM people WHERE age <= MK.0 OR age > MKe0",
		"SELECT id FROM people WHERE age > MK.5",
		"SELECT id FROM people WHERE age = MK OR MK.0 = age OR seen = '2024-01-02 10:00:00.MK+00'",
		"SELECT id FROM people WHERE age <> MK AND MK.0 != age AND seen <> '2024-01-02 10:00:00.MK+00'",
		"SELECT id FROM people WHERE age IN (MK, MK1, -MK.0) OR seen IN ('2024-01-02 10:00:00.MK+00', '2024-01-03 10:00:00.MK+00')",
		"SELECT id FROM people WHERE age NOT IN (MK, MK1, -MK.0) AND seen NOT IN ('2024-01-02 10:00:00.MK+00')",
		"SELECT id FROM people WHERE age = ANY('{MK,MK1}') OR age = ANY(ARRAY[MK2, -MK.5]) OR seen = ANY('{2024-01-02 10:00:00.MK+00}')",
		"SELECT id FROM people WHERE age IS DISTINCT FROM MK OR MK.0 IS NOT DISTINCT FROM age OR seen IS DISTINCT FROM '2024-01-02 10:00:00.MK+00'",
		"SELECT id FROM people WHERE age BETWEEN -MK.25 AND MK000000000000",
		"SELECT id FROM people WHERE age NOT BETWEEN MK.5 AND MKe30",
		"INSERT INTO people (tenant, name, age) VALUES ('acme', 'x', MK.4::int4)",
		"SELECT id FROM people WHERE age < CAST(MK.4 AS int8)",
		"SELECT id FROM users WHERE email = MK",
		"UPDATE users SET email = MK.50 WHERE email = 'MK'",
	})
	// Parameters declared numeric (JDBC's setBigDecimal), bare (compared as numeric) and cast
	// to the column's type (rounded first).
	const numericOID = 1700
	execDeclared(t, c, numericOID, mk+".4", []string{"SELECT id FROM people WHERE age <= $1", "SELECT id FROM people WHERE age > $1::int8", "SELECT id FROM people WHERE age = $1", "SELECT id FROM people WHERE age <> $1", "SELECT id FROM people WHERE age IN ($1, 5)", "SELECT id FROM people WHERE age NOT IN ($1, 5)", "SELECT id FROM people WHERE age IS DISTINCT FROM $1",
		"SELECT id FROM people WHERE age < $1::int8", "INSERT INTO people (tenant, name, age) VALUES ('acme', 'x', $1::int8)"})
	// Arrays of another element type for = ANY, each element compared as a scalar would be.
	const int4ArrayOID, numericArrayOID = 1007, 1231
	execDeclared(t, c, int4ArrayOID, "{"+mk+",2}", []string{"SELECT id FROM people WHERE score = ANY($1)"})
	execDeclared(t, c, numericArrayOID, "{"+mk+".5,"+mk+"}", []string{"SELECT id FROM people WHERE score = ANY($1)"})
	assertNoLeak(t, db, mk)
}

// execMarked runs each statement with MK replaced by mk and logs what was refused.
func execMarked(t *testing.T, c *pgx.Conn, mk string, sqls []string) {
	t.Helper()
	for _, sql := range sqls {
		if err := exec(t, c, strings.ReplaceAll(sql, "MK", mk)); err != nil {
			t.Logf("%s\n\t→ %s", sql, sqlstate(err))
		}
	}
}

// execDeclared runs each statement with its one parameter declared as type oid in Parse (as
// JDBC and psycopg 3 declare them) and logs what was refused.
func execDeclared(t *testing.T, c *pgx.Conn, oid uint32, param string, sqls []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, sql := range sqls {
		if res := c.PgConn().ExecParams(ctx, sql, [][]byte{[]byte(param)}, []uint32{oid}, nil, nil).Read(); res.Err != nil {
			t.Logf("%s\n\t→ %s", sql, sqlstate(res.Err))
		}
	}
}

// datetimeConstants: a date or timestamp compared with a timestamptz column is converted in the
// session's zone (psycopg2 writes a naive datetime as '…'::timestamp, psycopg 3 declares it
// timestamp), also beyond the column type's range, and reaches PostgreSQL only as a term. The
// marker is nine fractional digits, which PostgreSQL rounds to microseconds, so only the
// statement's own text can carry it.
func (e *env) datetimeConstants(t *testing.T) {
	db := e.caseDB(t)
	mk := fmt.Sprintf("7358%05d", time.Now().UnixNano()%100000)
	c := e.connect(t, db, roleA, "acme")
	execMarked(t, c, mk, []string{
		"SET TimeZone = 'Asia/Kolkata'",
		"INSERT INTO people (tenant, name, age, seen) VALUES ('acme', 'x', 1, '2024-01-02 10:00:00.MK'::timestamp)",
		"SELECT id FROM people WHERE seen > '2024-01-02 10:00:00.MK'::timestamp OR seen < '2024-01-02'::date",
		"SELECT id FROM people WHERE seen BETWEEN '2024-01-02 10:00:00.MK'::timestamp AND '5874897-12-31'::date",
		"SELECT id FROM people WHERE seen >= '4714-11-24 00:00:00.MK BC'::timestamp ORDER BY seen",
	})
	const timestampOID = 1114
	execDeclared(t, c, timestampOID, "2024-01-02 10:00:00."+mk, []string{"SELECT id FROM people WHERE seen <= $1", "SELECT id FROM people WHERE seen > $1::timestamp"})
	assertNoLeak(t, db, mk)
}

// searchCases: literals and parameters compared by order or matched by LIKE with the ord and
// match columns of people (docs/search.md) reach PostgreSQL only as terms and tokens, also when
// the statement is refused, and the values written carry no plaintext at rest.
var searchCases = []sqlCase{
	{name: "INSERT into ord and match columns", sqls: []string{"INSERT INTO people (tenant, name, age) VALUES ('acme', 'MK', 7)"}},
	{name: "ranges with a literal", sqls: []string{"SELECT id FROM people WHERE name > 'MK'", "SELECT id FROM people WHERE name <= 'MK' AND age < 5",
		"SELECT id FROM people WHERE 'MK' < name", "SELECT id FROM people WHERE name BETWEEN 'MK' AND 'MKz'",
		"SELECT id FROM people WHERE name NOT BETWEEN 'MK' AND 'MKz'", "SELECT id FROM people WHERE name BETWEEN SYMMETRIC 'MKz' AND 'MK'"}},
	// Bounds longer than ord_max_bytes (64) become the term of their cut form (column.OrdBound).
	{name: "ranges with literals longer than ord_max_bytes", sqls: []string{
		"SELECT id FROM people WHERE name < 'MK" + strings.Repeat("x", 80) + "'",
		"SELECT id FROM people WHERE name BETWEEN 'MK' AND 'MK" + strings.Repeat("x", 80) + "'"}},
	{name: "ranges with parameters longer than ord_max_bytes in every mode", run: func(t *testing.T, c *pgx.Conn, mk string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
			rows, err := c.Query(ctx, "SELECT id FROM people WHERE name >= $1", mode, mk+strings.Repeat("x", 80))
			if err == nil {
				rows.Close()
				err = rows.Err()
			}
			if err != nil {
				t.Errorf("a long bound (%v) = %v, want it answered", mode, err)
			}
		}
	}},
	{name: "ORDER BY, windows and min/max next to a literal", sqls: []string{
		"SELECT id, min(name) OVER (ORDER BY name) FROM people WHERE name >= 'MK' ORDER BY name DESC NULLS LAST",
		"SELECT min(name), max(name) FROM people WHERE name < 'MK'"}},
	{name: "LIKE, ILIKE and NOT LIKE with a literal", sqls: []string{"SELECT * FROM people WHERE name LIKE '%MK%'",
		"SELECT id FROM people WHERE name ILIKE 'MK%' ORDER BY name", "SELECT id FROM people WHERE name NOT LIKE '%MK'",
		"SELECT id FROM people WHERE name LIKE 'MK!%' ESCAPE '!'", "SELECT id FROM people WHERE name NOT ILIKE '_MK_'"}},
	{name: "LIKE refused under LIMIT, OR, count and in a subquery", sqls: []string{"SELECT id FROM people WHERE name LIKE '%MK%' LIMIT 1",
		"SELECT id FROM people WHERE name LIKE '%MK%' OR age > 1", "SELECT count(*) FROM people WHERE name LIKE '%MK%'",
		"SELECT id FROM people WHERE id IN (SELECT id FROM people WHERE name LIKE '%MK%')",
		"UPDATE people SET age = 1 WHERE name LIKE '%MK%'", "DELETE FROM people WHERE name ILIKE 'MK'"}},
	{name: "ranges and LIKE with parameters in every mode", run: func(t *testing.T, c *pgx.Conn, mk string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
			for _, sql := range []string{"SELECT id FROM people WHERE name < $1", "SELECT id FROM people WHERE name BETWEEN $1 AND $1",
				"SELECT id FROM people WHERE name LIKE $1", "SELECT id FROM people WHERE name NOT ILIKE $1",
				"INSERT INTO people (tenant, name) VALUES ('acme', $1)", "SELECT id FROM people WHERE name LIKE $1 LIMIT 2"} {
				rows, err := c.Query(ctx, sql, mode, "%"+mk+"%")
				if err == nil {
					rows.Close()
					err = rows.Err()
				}
				// All but the last run: the check must see the searches work, not only refusals.
				if refused := strings.HasSuffix(sql, "LIMIT 2"); (err != nil) != refused {
					t.Errorf("%s (%v) = %v", sql, mode, err)
				}
			}
		}
	}},
}
