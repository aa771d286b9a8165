package seal

import (
	"bytes"
	"fmt"
	osexec "os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
)

// catalogViewSchema has an encrypted table and its plaintext twin (same DDL, plaintext types).
const catalogViewSchema = `
CREATE TABLE users (id int NOT NULL, email bytea, born bytea, balance bytea, note text, seen bytea, nick bytea);
CREATE TABLE users_plain (id int NOT NULL, email varchar(120), born date, balance numeric(12,2), note text,
  seen timestamptz(3), nick varchar);
`

var catalogViewColumns = []config.Encrypt{
	{Table: "users", Column: "email", Type: "varchar", Search: []string{"eq"}, Modifiers: []int{120}},
	{Table: "users", Column: "born", Type: "date"},
	{Table: "users", Column: "balance", Type: "numeric", Modifiers: []int{12, 2}},
	{Table: "users", Column: "seen", Type: "timestamptz", Modifiers: []int{3}},
	{Table: "users", Column: "nick", Type: "varchar"},
}

// catalogViewQueries read the catalog the way ORMs and drivers do; %s is the table name.
var catalogViewQueries = []struct{ name, sql string }{
	{"pg_attribute with format_type", `SELECT attname, atttypid, atttypmod, pg_catalog.format_type(atttypid, atttypmod)
FROM pg_attribute WHERE attrelid = '%s'::regclass AND attnum > 0 ORDER BY attnum`},
	{"pg_catalog.pg_attribute aliased, a.* kept whole", `SELECT a.* FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '%s'::regclass AND a.attnum > 0 ORDER BY a.attnum`},
	{"ActiveRecord's column_definitions", `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
pg_get_expr(d.adbin, d.adrelid), a.attnotnull, a.atttypid, a.atttypmod,
c.collname, col_description(a.attrelid, a.attnum) AS comment, attidentity AS identity, attgenerated as attgenerated
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
LEFT JOIN pg_type t ON a.atttypid = t.oid
LEFT JOIN pg_collation c ON a.attcollation = c.oid AND a.attcollation <> t.typcollation
WHERE a.attrelid = '"%s"'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`},
	{"information_schema.columns type fields", `SELECT column_name, data_type, udt_name, character_maximum_length,
numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, is_nullable
FROM information_schema.columns WHERE table_name = '%s' ORDER BY ordinal_position`},
}

// catalogViewIgnored are the pg_attribute fields that differ between the twins on purpose:
// attrelid, and the storage fields, which stay bytea's (rewrite/catalogview.go).
var catalogViewIgnored = map[string]bool{"attrelid": true, "attlen": true, "attbyval": true, "attalign": true,
	"attstorage": true, "attcompression": true}

// catalogRows runs sql in mode and returns its column names and rows as text, blanking the
// fields catalogViewIgnored names.
func catalogRows(t *testing.T, conn *pgx.Conn, mode pgx.QueryExecMode, sql string) ([]string, [][]string) {
	t.Helper()
	names, rows := queryValues(t, conn, mode, sql)
	var out [][]string
	for _, vals := range rows {
		row := make([]string, len(vals))
		for i, v := range vals {
			if !catalogViewIgnored[names[i]] {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return names, out
}

// TestCatalogViewShowsPlaintextTypes: through pgseal, catalog introspection of the encrypted
// table reads exactly like a direct read of its plaintext twin, in every query mode; directly,
// the encrypted columns are still bytea.
func TestCatalogViewShowsPlaintextTypes(t *testing.T) {
	e := newSealEnv(t, "multi", catalogViewSchema, catalogViewColumns)
	proxy, direct := e.connect(t, "", "acme"), e.direct(t)
	for _, q := range catalogViewQueries {
		for _, mode := range allModes {
			t.Run(q.name+"/"+mode.String(), func(t *testing.T) {
				gotNames, got := catalogRows(t, proxy, mode, fmt.Sprintf(q.sql, "users"))
				wantNames, want := catalogRows(t, direct, mode, fmt.Sprintf(q.sql, "users_plain"))
				if !reflect.DeepEqual(gotNames, wantNames) {
					t.Errorf("columns through pgseal = %v, want %v", gotNames, wantNames)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("rows through pgseal = %v, want the plaintext twin's %v", got, want)
				}
			})
		}
	}
	t.Run("a direct connection still sees bytea", func(t *testing.T) {
		_, rows := catalogRows(t, direct, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(catalogViewQueries[0].sql, "users"))
		if len(rows) != 7 || rows[1][3] != "bytea" || rows[2][3] != "bytea" || rows[3][3] != "bytea" {
			t.Errorf("direct pg_attribute of users = %v, want email, born and balance bytea", rows)
		}
	})
	t.Run("COPY (query) and SQL PREPARE are patched too", func(t *testing.T) {
		const q = `SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'users'::regclass AND attname = 'email'`
		var buf bytes.Buffer
		if _, err := proxy.PgConn().CopyTo(ctxT(t), &buf, "COPY ("+q+") TO STDOUT"); err != nil {
			t.Fatalf("COPY TO = %v", err)
		}
		if got := buf.String(); got != "character varying(120)\n" {
			t.Errorf("COPY TO through pgseal = %q, want character varying(120)", got)
		}
		if _, err := proxy.Exec(ctxT(t), "PREPARE catalog_q AS "+q); err != nil {
			t.Fatalf("PREPARE = %v", err)
		}
		_, rows := catalogRows(t, proxy, pgx.QueryExecModeSimpleProtocol, "EXECUTE catalog_q")
		if len(rows) != 1 || rows[0][0] != "character varying(120)" {
			t.Errorf("EXECUTE through pgseal = %v, want character varying(120)", rows)
		}
	})
	t.Run("every column of information_schema.columns is kept in order", func(t *testing.T) {
		const sql = "SELECT * FROM information_schema.columns WHERE false"
		got, _ := catalogRows(t, proxy, pgx.QueryExecModeSimpleProtocol, sql)
		want, _ := catalogRows(t, direct, pgx.QueryExecModeSimpleProtocol, sql)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("columns through pgseal = %v, want %v", got, want)
		}
	})
}

// TestCatalogViewPsqlDescribe: psql's \d through pgseal prints the plaintext twin's table.
func TestCatalogViewPsqlDescribe(t *testing.T) {
	psql, err := osexec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	e := newSealEnv(t, "multi", catalogViewSchema, catalogViewColumns)
	run := func(url, cmd string) string {
		out, err := osexec.CommandContext(ctxT(t), psql, "-X", "--no-psqlrc", "-d", url, "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("psql -c %q: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	got := run(e.p.url("", "", "options="+strings.ReplaceAll("-c%20app.tenant%3Dacme", " ", "%20")), `\d users`)
	want := strings.Replace(run(e.db.ConnString(), `\d users_plain`), `"public.users_plain"`, `"public.users"`, 1)
	// The title is centred over the table: only its indentation may differ.
	if trimLines(got) != trimLines(want) {
		t.Errorf("psql \\d users through pgseal =\n%s\nwant the plaintext twin's\n%s", got, want)
	}
	if direct := run(e.db.ConnString(), `\d users`); !strings.Contains(direct, "bytea") {
		t.Errorf("psql \\d users directly =\n%s\nwant bytea columns", direct)
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// TestCatalogViewIgnoresSessionObjects: the patch means the same under a search_path whose
// operators match everything (rewrite/catalogview.go qualifies every operator and function).
func TestCatalogViewIgnoresSessionObjects(t *testing.T) {
	e := newSealEnv(t, "multi", catalogViewSchema+`
CREATE SCHEMA evil;
CREATE FUNCTION evil.yes(oid, oid) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION evil.yes(int2, int2) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION evil.yes(name, name) RETURNS bool LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.yes);
CREATE OPERATOR evil.= (LEFTARG = int2, RIGHTARG = int2, FUNCTION = evil.yes);
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.yes);
`, catalogViewColumns)
	proxy, direct := e.connect(t, "", "acme"), e.direct(t)
	if _, err := proxy.Exec(ctxT(t), "SET search_path = evil, pg_catalog, public"); err != nil {
		t.Fatalf("SET search_path = %v", err)
	}
	queries := []string{
		`SELECT attname, pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute
WHERE attrelid OPERATOR(pg_catalog.=) '%s.%s'::pg_catalog.regclass AND attnum OPERATOR(pg_catalog.>) 0 ORDER BY attnum`,
		`SELECT column_name, data_type, udt_name, numeric_precision FROM information_schema.columns
WHERE table_schema::pg_catalog.text OPERATOR(pg_catalog.=) '%s' AND table_name::pg_catalog.text OPERATOR(pg_catalog.=) '%s'
ORDER BY ordinal_position`,
	}
	// pg_catalog.pg_class: a patch matching too much would change other relations' columns.
	twins := [][2]string{{"users", "users_plain"}, {"pg_class", "pg_class"}}
	for _, q := range queries {
		for _, tw := range twins {
			sch := "public"
			if tw[0] == "pg_class" {
				sch = "pg_catalog"
			}
			_, got := catalogRows(t, proxy, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(q, sch, tw[0]))
			_, want := catalogRows(t, direct, pgx.QueryExecModeSimpleProtocol, fmt.Sprintf(q, sch, tw[1]))
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("under a hostile search_path, %s rows through pgseal = %v, want %v", tw[0], got, want)
			}
		}
	}
}
