package rewrite

import (
	"fmt"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// leakMarker starts every literal the generator places where it would reach an encrypted column
// (assigned to one, compared with one, or inside an expression that is). Literals that cannot
// reach one are spelt differently ('plain…'), so any leakMarker in rendered SQL is a leak.
const leakMarker = "MKfz"

// numMarker starts every number the generator places where it would reach payments.amount, an
// encrypted int8 column with equality search.
const numMarker = "7357000"

// FuzzLeak generates statements mixing encrypted columns with the constructs of issue 10
// (FILTER, OVER, HAVING, data-modifying CTEs, MERGE, DO, CREATE FUNCTION, CREATE INDEX,
// PREPARE/EXECUTE, subqueries, casts, CASE, COALESCE, arrays, row constructors, VALUES lists,
// ON CONFLICT) from the fuzz bytes, and asserts that Analyze either refuses the text or renders
// it without any marker literal. A marker may only survive as an argument of an EXECUTE the plan
// reports (ExecuteName): the wire decides about those.
func FuzzLeak(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01\x02\x03", "\x0a\x00\x05\x01", "\x06\x03\x02\x01",
		"\x07\x01\x04", "\x08\x02", "\x09\x05\x06", "\x0b\x0c\x0d\x0e\x0f", "\x10\x11\x12\x13\x14\x15",
		"\x04\x01\x00\x02\x03", "\x05\x04\x03\x02\x01\x00", "\x0c\x08\x07\x06", "\x02\x09\x09\x09\x09",
		"\x0f", "\x0f\x00\x00\x03\x01", "\x0f\x01\x02\x02\x00\x03", "\x0f\x03\x03\x00\x05\x02"} {
		f.Add([]byte(seed))
	}
	s := loadSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &leakGen{data: data}
		sql := g.statements()
		checkNoLeak(t, s, sql)
	})
}

// checkNoLeak is FuzzLeak's oracle for one text.
func checkNoLeak(t *testing.T, s *Schema, sql string) {
	t.Helper()
	p, err := Analyze(sql, s)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("Analyze(%q) error %T, want *Error", sql, err)
		}
		// A refusal goes to the client and to pgseal's log: it names no value.
		for _, text := range []string{e.Message, e.Hint, e.Detail} {
			if strings.Contains(text, leakMarker) || strings.Contains(text, numMarker) {
				t.Fatalf("Analyze(%q) refusal %q names a value", sql, text)
			}
		}
		return
	}
	hexFill := func(e Edit) (string, error) {
		if e.Kind == EditTermArray {
			return `ARRAY['\x0011'::bytea]`, nil
		}
		if e.Kind == EditKeyset {
			return strings.ReplaceAll(e.Text, KeysetPlaceholder, `'\x0011'::bytea`), nil
		}
		return `'\x00` + fmt.Sprintf("%x", len(e.Literal)) + `'::bytea`, nil
	}
	out, err := p.Render(hexFill)
	if err != nil {
		t.Fatalf("Render() error %v for %q", err, sql)
	}
	if len(p.Edits) > 0 {
		if _, err := pg.Parse(out); err != nil {
			t.Fatalf("rendered SQL does not reparse: %v\nin:  %q\nout: %q", err, sql, out)
		}
		checkHidden(t, sql, out, p)
	}
	if len(p.Statements) == 0 {
		if strings.Contains(out, leakMarker) || strings.Contains(out, numMarker) {
			t.Fatalf("text with a marker skipped by the prefilter\nin: %q", sql)
		}
		return
	}
	for _, st := range p.Statements {
		if st.ExecuteName != "" {
			continue
		}
		seg, err := renderRange(p, st.Start, st.End, hexFill)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(seg, leakMarker) || strings.Contains(seg, numMarker) {
			t.Fatalf("rendered SQL contains a marker literal\nin:  %q\nout: %q", sql, out)
		}
	}
}

// renderRange renders SQL[start:end] with the plan's edits inside it.
func renderRange(p *Plan, start, end int, fill func(Edit) (string, error)) (string, error) {
	sub := &Plan{SQL: p.SQL[start:end]}
	for _, e := range p.Edits {
		if e.Start >= start && e.End <= end {
			e.Start, e.End = e.Start-start, e.End-start
			sub.Edits = append(sub.Edits, e)
		}
	}
	return sub.Render(fill)
}

// leakGen turns fuzz bytes into SQL: each choice consumes one byte (0 once they run out), so
// short inputs give the first alternative of every rule and the fuzzer explores by mutation.
type leakGen struct {
	data  []byte
	n     int // markers made so far (each is unique)
	depth int
}

func (g *leakGen) pick(n int) int {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return int(b) % n
}

func (g *leakGen) marker() string {
	g.n++
	return fmt.Sprintf("%s%04d", leakMarker, g.n)
}

func (g *leakGen) statements() string {
	n := 1 + g.pick(2)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = g.statement()
	}
	return strings.Join(parts, "; ")
}

func (g *leakGen) statement() string {
	switch g.pick(17) {
	case 0:
		return g.selectStmt()
	case 1:
		return g.insertStmt()
	case 2:
		set := g.ecolName() + " = " + g.val()
		if g.pick(2) == 1 {
			set = "(name, " + g.ecolName() + ") = " + g.pickWord("(", "ROW(", "(SELECT ") + "'plain', " + g.val() + ")"
		}
		return "UPDATE users SET " + set + " WHERE " + g.pred("users")
	case 3:
		return "DELETE FROM users WHERE " + g.pred("users") + g.returning()
	case 4:
		return "WITH x AS (" + g.dml() + " RETURNING id) SELECT * FROM x" + g.optWhere("x")
	case 5:
		return g.mergeStmt()
	case 6:
		return "DO $$ BEGIN " + g.dml() + "; END $$"
	case 7:
		return g.functionStmt()
	case 8:
		return g.indexStmt()
	case 9:
		return "PREPARE p" + g.pickWord("1", "2") + " AS " + g.dml() + "; EXECUTE p1(" + g.quoted() + ")"
	case 10:
		return "EXECUTE s1(" + g.quoted() + ", " + g.val() + ")"
	case 11:
		return "SELECT count(email) FILTER (WHERE " + g.pred("users") + ")" + g.over() + " FROM users" + g.windowClause()
	case 12:
		return "SELECT tenant_id FROM users GROUP BY tenant_id HAVING count(" + g.pickWord("*", "email", "id") +
			") FILTER (WHERE " + g.pred("users") + ") > 0" + g.pickWord("", " AND bool_or("+g.pred("users")+")")
	case 13:
		wrap := g.pickWord("CREATE VIEW v AS %s", "CREATE MATERIALIZED VIEW v AS %s", "CREATE TABLE t2 AS %s",
			"EXPLAIN ANALYZE %s", "COPY (%s) TO STDOUT", "DECLARE c CURSOR FOR %s", "SELECT id INTO t3 FROM (%s) s")
		return fmt.Sprintf(wrap, "SELECT id FROM users WHERE "+g.pred("users"))
	case 14:
		return g.ddlStmt()
	case 15:
		return g.searchStmt()
	default:
		return g.oddStmt()
	}
}

// oddStmt covers name spellings and scoping tricks: a WITH query named like the target table,
// quoted, upper-case, qualified and Unicode-escaped names, comments between tokens.
func (g *leakGen) oddStmt() string {
	switch g.pick(9) {
	case 5:
		return g.numStmt()
	case 6:
		inner, alias := g.pickWord("email AS e", "email e", "email"), "s(e)"
		if inner != "email" {
			alias = g.pickWord("s", "AS s", "s(e)")
		}
		return "SELECT s.e FROM (SELECT " + inner + " FROM users) " + alias + " WHERE " + g.pickWord("s.e", "e") + " = " + g.val()
	case 7:
		return "WITH c(e) AS (SELECT email FROM users" + g.pickWord("", " UNION ALL SELECT email FROM users") +
			") SELECT e FROM c WHERE " + g.pickWord("c.e", "e") + " = " + g.val()
	case 8:
		return "SELECT 1 FROM users u, LATERAL (SELECT u.email AS le) l WHERE " + g.pickWord("l.le", "le") + " = " + g.val()
	case 0:
		// The WITH query does not hide the target table; subqueries would see it, so none here.
		return "WITH users AS (SELECT 1 AS x) " + g.pickWord(
			"UPDATE users SET email = "+g.val()+" WHERE "+g.ecol("users")+" = "+g.val(),
			"DELETE FROM users WHERE "+g.ecol("users")+" = "+g.val()+g.returning(),
			"INSERT INTO users (email) VALUES ("+g.val()+") ON CONFLICT (id) DO UPDATE SET name = 'plain' WHERE users.email = "+g.val())
	case 1:
		// In FROM the WITH query hides the table unless the name is qualified.
		return "WITH users AS (SELECT 'plain' AS x) SELECT id FROM " + g.pickWord("public.users", `public."users"`) +
			" WHERE " + g.ecol("users") + " = " + g.val()
	case 2:
		return "UPDATE " + g.tbl() + " /* c */ SET email = " + g.val() + " WHERE id = 1"
	case 3:
		return "INSERT INTO " + g.tbl() + " (id, email) VALUES (1, " + g.val() + ")"
	}
	return "SELECT id FROM users u WHERE u.id IN (SELECT user_id FROM orders WHERE note = 'plain') AND " + g.pred("u")
}

// numStmt puts number markers where they reach payments.amount.
func (g *leakGen) numStmt() string {
	switch g.pick(4) {
	case 0:
		return "INSERT INTO payments (id, amount) VALUES (1, " + g.num() + ")"
	case 1:
		return "UPDATE payments SET amount = " + g.num() + " WHERE amount " + g.pickWord("=", "<>", "IN (", "< ") + g.num() +
			g.pickWord("", ")")
	case 2:
		return "SELECT id FROM payments p WHERE p.amount = ANY(ARRAY[" + g.num() + ", " + g.num() + "])"
	}
	return "SELECT count(amount) FILTER (WHERE amount = " + g.num() + ") FROM payments"
}

func (g *leakGen) num() string {
	g.n++
	m := fmt.Sprintf("%s%04d", numMarker, g.n)
	return g.pickWord(m, "-"+m, m+"::int8", m+"::bigint", "'"+m+"'", "'"+m+"'::int8", m+".0", "+"+m, "("+m+")",
		"CAST("+m+" AS int8)", m+"::numeric", m+" + 0", m+"::int4", "'"+m+"'::int2", "'"+m+"'::int8::int4")
}

// tbl spells the table users.
func (g *leakGen) tbl() string {
	return g.pickWord("users", "USERS", `"users"`, "public.users", `U&"\0075sers"`, `public."users"`)
}

func (g *leakGen) pickWord(words ...string) string { return words[g.pick(len(words))] }

func (g *leakGen) selectStmt() string {
	from := g.pickWord("users", "users u", "public.users", "users JOIN orders o ON o.user_id = users.id",
		"users, LATERAL (SELECT 1 AS one) l", "(SELECT * FROM users) users")
	q := "users"
	if strings.HasPrefix(from, "users u") {
		q = "u"
	}
	sql := "SELECT " + g.pickWord("id", "email", "count(*)", "email, id", "*", "CASE WHEN "+g.pred(q)+" THEN 1 END") +
		" FROM " + from + " WHERE " + g.pred(q)
	switch g.pick(4) {
	case 1:
		sql += " ORDER BY " + g.pickWord("id", g.pred(q))
	case 2:
		sql += " LIMIT (SELECT count(*) FROM invites i WHERE " + g.pred("i") + ")"
	case 3:
		sql = "WITH w AS (" + sql + ") SELECT * FROM w"
	}
	return sql
}

func (g *leakGen) insertStmt() string {
	sql := "INSERT INTO users (id, " + g.ecolName() + ") "
	switch g.pick(4) {
	case 0:
		sql += "VALUES (1, " + g.val() + ")"
	case 1:
		sql += "VALUES (1, " + g.val() + "), (2, " + g.val() + ")"
	case 2:
		sql += "SELECT 1, " + g.val() + g.pickWord("", " UNION ALL SELECT 2, "+g.val())
	default:
		sql += "SELECT id, " + g.val() + " FROM orders WHERE note = 'plain'"
	}
	switch g.pick(3) {
	case 1:
		sql += " ON CONFLICT (id) DO UPDATE SET email = " + g.val() + g.pickWord("", " WHERE "+g.pred("users"))
	case 2:
		sql += " ON CONFLICT (email) DO NOTHING"
	}
	return sql + g.returning()
}

func (g *leakGen) dml() string {
	switch g.pick(3) {
	case 0:
		return "INSERT INTO users (" + g.ecolName() + ") VALUES (" + g.val() + ")"
	case 1:
		return "UPDATE users SET " + g.ecolName() + " = " + g.val() + " WHERE " + g.pred("users")
	}
	return "DELETE FROM users WHERE " + g.pred("users")
}

func (g *leakGen) returning() string {
	return g.pickWord("", " RETURNING id", " RETURNING email")
}

func (g *leakGen) mergeStmt() string {
	return "MERGE INTO users u USING orders o ON " + g.pickWord("u.id = o.user_id", g.pred("u")) +
		" WHEN MATCHED THEN UPDATE SET email = " + g.val() +
		" WHEN NOT MATCHED THEN INSERT (id, email) VALUES (o.user_id, " + g.val() + ")"
}

func (g *leakGen) functionStmt() string {
	lang := g.pickWord("sql", "plpgsql", "SQL")
	body := g.dml()
	if lang == "plpgsql" {
		body = "BEGIN " + body + "; END"
	}
	switch g.pick(3) {
	case 1:
		return "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC " + g.dml() + "; END"
	case 2:
		return "CREATE OR REPLACE PROCEDURE p() LANGUAGE " + lang + " AS $b$ " + body + " $b$"
	}
	return "CREATE FUNCTION f() RETURNS void LANGUAGE " + lang + " AS $$ " + body + " $$"
}

func (g *leakGen) indexStmt() string {
	switch g.pick(3) {
	case 0:
		return "CREATE INDEX ON users ((" + g.pred("users") + "))"
	case 1:
		return "CREATE INDEX ON users (id) WHERE " + g.pred("users")
	}
	return "CREATE UNIQUE INDEX ON users ((substring(email from 24 for 16))) WHERE " + g.pred("users")
}

func (g *leakGen) ddlStmt() string {
	switch g.pick(5) {
	case 0:
		return "ALTER TABLE users ADD CHECK (" + g.pred("users") + ")"
	case 1:
		return "ALTER TABLE users ALTER COLUMN email SET DEFAULT " + g.val()
	case 2:
		return "CREATE POLICY p ON users USING (" + g.pred("users") + ")"
	case 3:
		return "CREATE RULE r AS ON INSERT TO orders DO ALSO INSERT INTO users (email) VALUES (" + g.val() + ")"
	}
	return "ALTER TABLE users ADD COLUMN e2 text DEFAULT " + g.val()
}

func (g *leakGen) over() string {
	return g.pickWord("", " OVER ()", " OVER (PARTITION BY id)", " OVER (PARTITION BY email)",
		" OVER (ORDER BY email)", " OVER w")
}

func (g *leakGen) windowClause() string {
	return g.pickWord(" WINDOW w AS (PARTITION BY tenant_id)", " WINDOW w AS (ORDER BY email)")
}

func (g *leakGen) optWhere(q string) string {
	if g.pick(2) == 0 {
		return ""
	}
	return " WHERE " + q + ".id IN (SELECT id FROM users WHERE " + g.pred("users") + ")"
}

// ecolName is an encrypted column of users as an INSERT/UPDATE target.
func (g *leakGen) ecolName() string { return g.pickWord("email", "ssn", `"email"`) }

// ecol is a reference to an encrypted column visible through qualifier q.
func (g *leakGen) ecol(q string) string {
	if q == "i" {
		return g.pickWord("email", "i.email")
	}
	return g.pickWord("email", q+".email", "ssn", `"email"`, q+`."email"`)
}

// pred is a condition that compares an encrypted column (through q) with a marker somewhere.
func (g *leakGen) pred(q string) string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.ecol(q) + " = " + g.val()
	}
	c := g.ecol(q)
	switch g.pick(18) {
	case 0:
		return c + " " + g.pickWord("=", "<>", "IS DISTINCT FROM", "IS NOT DISTINCT FROM", "<", "LIKE", ">=") + " " + g.val()
	case 1:
		return g.val() + " = " + c
	case 2:
		return c + g.pickWord(" IN (", " NOT IN (") + g.val() + ", " + g.val() + ")"
	case 3:
		return c + " = ANY(ARRAY[" + g.val() + "])"
	case 4:
		return c + " = ANY(" + g.quoted() + g.pickWord("", "::text[]") + ")"
	case 5:
		return "(" + c + ", id) = (" + g.val() + ", 1)"
	case 6:
		return "CASE WHEN " + g.pred(q) + " THEN true ELSE false END"
	case 7:
		return "COALESCE(" + c + ", " + g.val() + ") = " + g.val()
	case 8:
		return c + " = (SELECT " + g.val() + ")"
	case 9:
		return "EXISTS (SELECT 1 FROM invites i WHERE " + g.pred("i") + ")"
	case 10:
		return g.pred(q) + g.pickWord(" AND ", " OR ") + g.pred(q)
	case 11:
		return "NOT (" + g.pred(q) + ")"
	case 12:
		return "id IN (SELECT id FROM users WHERE " + g.pred("users") + ")"
	case 13:
		return "CASE " + c + " WHEN " + g.val() + " THEN true END"
	case 14:
		return "ROW(" + c + ") = ROW(" + g.val() + ")"
	case 15:
		return c + " = " + g.val() + " AND tenant_id = " + g.pickWord("1", "'plain'", "$1")
	case 16:
		return c + " BETWEEN " + g.val() + " AND " + g.val()
	}
	return c + " IN (VALUES (" + g.val() + "))"
}

// quoted is a bare marker string constant.
func (g *leakGen) quoted() string { return "'" + g.marker() + "'" }

// val is a marker in one of the spellings and wrappers a value can take.
func (g *leakGen) val() string {
	m := g.marker()
	switch g.pick(21) {
	case 0:
		return "'" + m + "'"
	case 1:
		return "'" + m + "'::text"
	case 2:
		return "CAST('" + m + "' AS text)"
	case 3:
		return "text '" + m + "'"
	case 4:
		return "E'" + m + "'"
	case 5:
		return "$$" + m + "$$"
	case 6:
		return "('" + m + "')"
	case 7:
		return "COALESCE('" + m + "', 'plain')"
	case 8:
		return "CASE WHEN true THEN '" + m + "' END"
	case 9:
		return "'" + m + "' || ''"
	case 10:
		return "ARRAY['" + m + "']"
	case 11:
		return "ROW('" + m + "')"
	case 12:
		return "(SELECT '" + m + "')"
	case 13:
		return "lower('" + m + "')"
	case 14:
		return g.pickWord("'"+m+"'::varchar", "'"+m+"'::varchar(40)", "CAST('"+m+"' AS character varying)", "varchar '"+m+"'")
	case 15:
		return "U&'" + m + "'"
	case 16:
		return "'" + m + "' COLLATE \"C\""
	case 17:
		return "$1"
	case 18:
		return "$tag$" + m + "$tag$"
	case 19:
		return g.pickWord("'"+m+"' /* c */ ::text", "'"+m[:3]+"'\n'"+m[3:]+"'", "'"+m+"'  ::  text", "(('"+m+"'))::text")
	}
	return "NULLIF('" + m + "', 'plain')"
}
