package catalog

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoad(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE SCHEMA app;
CREATE TABLE users (id int PRIMARY KEY, email bytea, name text, ssn bytea);
ALTER TABLE users DROP COLUMN name; ALTER TABLE users ADD COLUMN nick text;
CREATE TABLE app.notes (id int, body bytea);
CREATE TABLE plain (id int, email text)`)
	conn := db.Conn(t)
	ctx := context.Background()

	t.Run("configured bytea columns resolve with their origins and full column lists", func(t *testing.T) {
		info, err := Load(ctx, conn, []config.Encrypt{
			{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}},
			{Table: "public.users", Column: "ssn", Type: "text"},
			{Table: "app.notes", Column: "body", Type: "jsonb", Domain: "", Search: nil},
		})
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		users := info.Schema.Tables["public.users"]
		if users == nil || strings.Join(users.Columns, ",") != "id,email,ssn,nick" {
			t.Fatalf("users columns = %+v, want id,email,ssn,nick (dropped columns skipped)", users)
		}
		email := users.Encrypted["email"]
		if email == nil || !email.Eq || email.ID != "public.users.email" || email.Domain != "public.users.email" || email.Type != "text" {
			t.Fatalf("email = %+v", email)
		}
		var found int
		for attr, col := range info.ByAttr {
			if attr.Table == 0 || attr.Number <= 0 {
				t.Fatalf("origin %+v is not a real attribute", attr)
			}
			if col.ID == "public.users.email" && attr.Number == 2 || col.ID == "public.users.ssn" && attr.Number == 4 || col.ID == "app.notes.body" && attr.Number == 2 {
				found++
			}
		}
		if found != 3 {
			t.Fatalf("ByAttr = %+v, want email=2, ssn=4 (after a dropped column), body=2", info.ByAttr)
		}
		if _, ok := info.Schema.Tables["public.plain"]; ok {
			t.Fatal("a table with no encrypted column is in the schema")
		}
	})

	t.Run("a configured column that is not bytea yet is pending, not encrypted", func(t *testing.T) {
		info, err := Load(ctx, conn, []config.Encrypt{{Table: "plain", Column: "email", Type: "text", Search: []string{"eq"}}})
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		if info.Pending["public.plain.email"] != "text" || len(info.PendingAttr) != 1 || len(info.ByAttr) != 0 {
			t.Fatalf("Pending = %v, PendingAttr = %v, ByAttr = %v; want plain.email pending as text only", info.Pending, info.PendingAttr, info.ByAttr)
		}
		if _, ok := info.Schema.Tables["public.plain"]; ok {
			t.Fatal("a pending column's table is in the rewrite schema")
		}
	})

	t.Run("every configuration problem is reported at once", func(t *testing.T) {
		_, err := Load(ctx, conn, []config.Encrypt{
			{Table: "nope", Column: "email", Type: "text"},
			{Table: "users", Column: "nope", Type: "text"},
			{Table: "users", Column: "email", Type: "money"},
			{Table: "app.notes", Column: "body", Type: "json", Search: []string{"eq"}},
		})
		if err == nil {
			t.Fatal("Load() = nil, want errors")
		}
		for _, want := range []string{"table public.nope does not exist", "column nope does not exist", `type "money"`, "no equality search"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Load() error %q does not mention %q", err, want)
			}
		}
	})
}

func TestBuildFindsShadowColumns(t *testing.T) {
	cols := []config.Encrypt{{Table: "users", Column: "email", Type: "text"}}
	rows := []Row{
		{Kind: 'c', Schema: "public", Table: "users", TableOID: 10, Root: 10, Column: "id", Number: 1, Type: "integer"},
		{Kind: 'c', Schema: "public", Table: "users", TableOID: 10, Root: 10, Column: "email", Number: 2, Type: "text"},
		{Kind: 'c', Schema: "public", Table: "users", TableOID: 10, Root: 10, Column: "name__pgseal", Number: 3, Type: "bytea", Bytea: true},
		{Kind: 'c', Schema: "public", Table: "users", TableOID: 10, Root: 10, Column: "email__pgseal", Number: 4, Type: "bytea", Bytea: true},
	}
	info, err := Build(cols, rows)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if got := info.Shadow; len(got) != 1 || got[Attr{10, 4}] != "public.users.email" {
		t.Fatalf("Shadow = %v, want only attribute 4 for public.users.email", got)
	}
	if got := info.Columns[Attr{10, 3}]; got != "name__pgseal" || info.Tables[10] != "public.users" {
		t.Fatalf("Columns[3] = %q, Tables[10] = %q, want name__pgseal, public.users", got, info.Tables[10])
	}
}

// oidOf returns the OID of relation name.
func oidOf(t *testing.T, conn *pgx.Conn, name string) uint32 {
	t.Helper()
	var oid uint32
	if err := conn.QueryRow(context.Background(), "SELECT $1::regclass::oid", name).Scan(&oid); err != nil {
		t.Fatalf("oid of %s: %v", name, err)
	}
	return oid
}

func TestLoadFindsDescendantsViewsAndRules(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE SCHEMA other;
CREATE TABLE users (id int, junk int, email bytea, name text);
ALTER TABLE users DROP COLUMN junk;
CREATE TABLE users_child (extra int) INHERITS (users);
CREATE TABLE orders (id int, card bytea, region text) PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu') PARTITION BY LIST (id);
CREATE TABLE orders_eu_1 PARTITION OF orders_eu FOR VALUES IN (1);
CREATE TABLE other.orders_us (region text, id int, card bytea);
ALTER TABLE orders ATTACH PARTITION other.orders_us FOR VALUES IN ('us');
CREATE VIEW user_view AS SELECT id, email FROM users;
CREATE VIEW user_view2 AS SELECT * FROM user_view;
CREATE MATERIALIZED VIEW child_counts AS SELECT count(*) FROM users_child;
CREATE VIEW plain_view AS SELECT 1 AS x;
CREATE TABLE audit (x bytea);
CREATE RULE audit_copy AS ON INSERT TO audit DO ALSO INSERT INTO users (email) VALUES (new.x);
CREATE TABLE notes (id int, body bytea);
CREATE TABLE log (x bytea);
CREATE RULE notes_log AS ON INSERT TO notes DO ALSO INSERT INTO log VALUES (new.body);
CREATE TABLE drafts (id int, body text);
CREATE VIEW draft_view AS SELECT * FROM drafts;
CREATE TABLE events (id int, payload bytea, region text) PARTITION BY LIST (region);
CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
CREATE VIEW event_view AS SELECT id FROM events`)
	conn := db.Conn(t)
	info, err := Load(context.Background(), conn, []config.Encrypt{
		{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}},
		{Table: "orders", Column: "card", Type: "text"},
		{Table: "notes", Column: "body", Type: "text"},
		{Table: "drafts", Column: "body", Type: "text"},       // pending: its view is left alone
		{Table: "events_eu", Column: "payload", Type: "text"}, // a partition: its parent is refused
	})
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	email := info.Schema.Tables["public.users"].Encrypted["email"]
	card := info.Schema.Tables["public.orders"].Encrypted["card"]
	t.Run("descendants share their root's column and have their own origins", func(t *testing.T) {
		tests := []struct {
			table  string
			number int16
			col    *rewrite.Column
		}{
			{"users", 3, email}, {"users_child", 2, email}, // attnums differ: users has a dropped column
			{"orders", 2, card}, {"orders_eu", 2, card}, {"orders_eu_1", 2, card}, {"other.orders_us", 3, card},
		}
		for _, tt := range tests {
			oid := oidOf(t, conn, tt.table)
			if got := info.ByAttr[Attr{oid, tt.number}]; got != tt.col || got == nil {
				t.Errorf("ByAttr[%s.%d] = %+v, want %+v", tt.table, tt.number, got, tt.col)
			}
			key := tt.table
			if !strings.Contains(key, ".") {
				key = "public." + key
			}
			if tbl := info.Schema.Tables[key]; tbl == nil || tbl.Encrypted[tt.col.Name] != tt.col {
				t.Errorf("Schema.Tables[%s] = %+v, want the root's column %s", key, tbl, tt.col.ID)
			}
			if info.Tables[oid] != key {
				t.Errorf("Tables[%d] = %q, want %q", oid, info.Tables[oid], key)
			}
		}
		if got := info.ByAttr[Attr{oidOf(t, conn, "users"), 2}]; got != nil {
			t.Errorf("ByAttr[users.2] = %+v, want nil (a dropped column)", got)
		}
	})
	t.Run("views, nested views, materialized views, rules and ancestors are refused", func(t *testing.T) {
		want := map[string]string{
			"public.user_view":    "through a view",
			"public.user_view2":   "through a view",
			"public.child_counts": "through a view",
			"public.audit":        "rewrite rules",
			"public.notes":        "rewrite rules",
			"public.events":       "holds the rows of encrypted table events_eu",
			"public.event_view":   "through a view",
		}
		for key, msg := range want {
			if got := info.Schema.Refused[key]; !strings.Contains(got, msg) {
				t.Errorf("Refused[%s] = %q, want it to contain %q", key, got, msg)
			}
		}
		if len(info.Schema.Refused) != len(want) {
			t.Errorf("Refused = %v, want exactly %d entries (no plain_view, no draft_view)", info.Schema.Refused, len(want))
		}
	})
}

// TestQueryIsImmuneToTheSessionsState runs the catalog query in a session that shadows, through
// its search_path, the functions, operators and type names an unqualified query would use, and
// quotes every identifier: the answer must not change (issue 10: a poisoned catalog read shared
// with every session would turn encrypted columns into "pending" plaintext).
func TestQueryIsImmuneToTheSessionsState(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE users (id int, email bytea, name text);
CREATE TABLE users_child () INHERITS (users);
CREATE VIEW user_view AS SELECT email FROM users;
CREATE SCHEMA evil;
CREATE FUNCTION evil.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$SELECT 'text'$$;
CREATE TYPE evil.bytea AS (x int);
CREATE FUNCTION evil.f_oid(oid, oid) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.f_oid);
CREATE FUNCTION evil.f_name(name, name) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.f_name);
CREATE FUNCTION evil.f_nametext(name, text) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = text, FUNCTION = evil.f_nametext);
CREATE FUNCTION evil.f_int(int2, int4) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.> (LEFTARG = int2, RIGHTARG = int4, FUNCTION = evil.f_int);
CREATE FUNCTION evil.f_int2(int2, int2) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.> (LEFTARG = int2, RIGHTARG = int2, FUNCTION = evil.f_int2)`)
	conn := db.Conn(t)
	ctx := context.Background()
	cols := []config.Encrypt{{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}}}
	if _, err := conn.Exec(ctx, `SET search_path = evil, pg_catalog; SET quote_all_identifiers = on;
SET standard_conforming_strings = off`); err != nil {
		t.Fatal(err)
	}
	// Raw simple protocol, as the proxy sends it (pgx refuses standard_conforming_strings=off).
	res, err := conn.PgConn().Exec(ctx, Query(Tables(cols))).ReadAll()
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("Query() under a hostile search_path: %v %+v", err, res)
	}
	var rows []Row
	for _, f := range res[0].Rows {
		r, err := ParseRow(f)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	info, err := Build(cols, rows)
	if err != nil {
		t.Fatalf("Build() under a hostile search_path = %v", err)
	}
	if len(info.Pending) != 0 {
		t.Errorf("Pending = %v, want none: users.email is bytea", info.Pending)
	}
	if len(info.ByAttr) != 2 {
		t.Errorf("ByAttr = %v, want users.email and users_child.email", info.ByAttr)
	}
	if _, ok := info.Schema.Refused["public.user_view"]; !ok || len(info.Schema.Refused) != 1 {
		t.Errorf("Refused = %v, want public.user_view", info.Schema.Refused)
	}
	// The session's operators really are hostile: an unqualified comparison uses them.
	res, err = conn.PgConn().Exec(ctx, "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'users'").ReadAll()
	if err != nil || len(res) != 1 || res[0].Err != nil || string(res[0].Rows[0][0]) != "0" {
		t.Fatalf("unqualified relname = 'users': %v %+v, want a count of 0: the test's operators do not shadow", err, res)
	}
}

func TestBuildDescendantsAndRefusals(t *testing.T) {
	cols := []config.Encrypt{{Table: "users", Column: "email", Type: "text"}, {Table: "notes", Column: "body", Type: "text"}}
	c := func(table string, oid, root uint32, col string, n int16, bytea bool) Row {
		return Row{Kind: 'c', Schema: "public", Table: table, TableOID: oid, Root: root, Column: col, Number: n, Bytea: bytea}
	}
	rows := []Row{
		{Kind: 'a', Schema: "public", Table: "all_users", TableOID: 5, Root: 10, Relkind: "p"},
		c("both", 30, 10, "email", 1, true), c("both", 30, 10, "body", 2, true),
		c("both", 30, 20, "email", 1, true), c("both", 30, 20, "body", 2, true),
		c("c1", 40, 10, "x", 1, false), c("c1", 40, 10, "email", 2, true),
		c("notes", 20, 20, "body", 1, true),
		c("users", 10, 10, "email", 1, true),
		{Kind: 'r', Schema: "public", Table: "v", TableOID: 50, Root: 10, Relkind: "v"},
	}
	info, err := Build(cols, rows)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	email := info.Schema.Tables["public.users"].Encrypted["email"]
	if got := info.ByAttr[Attr{40, 2}]; got != email {
		t.Errorf("ByAttr[c1.email] = %+v, want users' column", got)
	}
	if _, ok := info.ByAttr[Attr{30, 1}]; ok {
		t.Error("a child of two encrypted tables got an encrypted column, want it refused only")
	}
	tests := []struct{ key, want string }{
		{"public.both", "inherits from several encrypted tables"},
		{"public.v", "through a view"},
		{"public.all_users", "holds the rows of encrypted table users"},
	}
	for _, tt := range tests {
		if got := info.Schema.Refused[tt.key]; !strings.Contains(got, tt.want) {
			t.Errorf("Refused[%s] = %q, want %q", tt.key, got, tt.want)
		}
	}
	info.RefuseTable("public.users", "demoted")
	for _, key := range []string{"public.users", "public.c1", "public.v"} {
		if info.Schema.Refused[key] != "demoted" {
			t.Errorf("after RefuseTable, Refused[%s] = %q, want demoted", key, info.Schema.Refused[key])
		}
	}
	if info.Schema.Refused["public.notes"] != "" {
		t.Error("RefuseTable(users) refused notes")
	}
}

// TestLoadReadsTheDatabaseCType: ILIKE's case folding follows the database's LC_CTYPE, which the
// catalog reports (CTypeIsC for C and POSIX).
func TestLoadReadsTheDatabaseCType(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE users (id int, email bytea)`)
	conn := db.Conn(t)
	ctx := context.Background()
	var ctype string
	if err := conn.QueryRow(ctx, "SELECT datctype FROM pg_database WHERE datname = current_database()").Scan(&ctype); err != nil {
		t.Fatal(err)
	}
	info, err := Load(ctx, conn, []config.Encrypt{{Table: "users", Column: "email", Type: "text"}})
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if want := ctype == "C" || ctype == "POSIX"; info.CTypeIsC != want {
		t.Fatalf("CTypeIsC = %v for datctype %q, want %v", info.CTypeIsC, ctype, want)
	}
	rows := []Row{{Kind: 'd', Type: "POSIX"}}
	if info, err := Build(nil, rows); err != nil || !info.CTypeIsC {
		t.Fatalf("Build(POSIX) CTypeIsC = %v, %v, want true", info != nil && info.CTypeIsC, err)
	}
}
