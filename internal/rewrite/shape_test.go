package rewrite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShapeOf(t *testing.T) {
	cases := []struct {
		name, sql string
		key       string // NUL and class shown as <class>; "" = no shape
		values    []string
	}{
		{"strings and numbers become placeholders", "SELECT a FROM t WHERE b = 'x''y' AND c = 42 AND d = 1.50 AND e = 99999999999",
			"SELECT a FROM t WHERE b = <1> AND c = <2> AND d = <4> AND e = <3>", []string{"x'y", "42", "1.50", "99999999999"}},
		{"an int32 drops leading zeros as pg_query does", "SELECT 007", "SELECT <2>", []string{"7"}},
		{"a cast stays in the key", "SELECT 12::text, '5'::int", "SELECT <2>::text, <1>::int", []string{"12", "5"}},
		{"identifiers, parameters and comments stay", `SELECT "a'1", t2.x, $1 /* 'c' /* 9 */ */ -- 'd'` + "\nFROM t WHERE y = 3",
			`SELECT "a'1", t2.x, $1 /* 'c' /* 9 */ */ -- 'd'` + "\nFROM t WHERE y = <2>", []string{"3"}},
		{"a text without literals has no shape", "SELECT a FROM t WHERE b = $1", "", nil},
		{"E strings are left to the parser", "SELECT E'a\\n'", "", nil},
		{"backslashes are left to the parser", `SELECT 'a\'`, "", nil},
		{"U& strings are left to the parser", "SELECT U&'a'", "", nil},
		{"bit strings are left to the parser", "SELECT B'01'", "", nil},
		{"continued strings are left to the parser", "SELECT 'a'\n'b'", "", nil},
		{"continued strings after a comment are left to the parser", "SELECT 'a' -- c\n'b'", "", nil},
		{"dollar quotes are left to the parser", "SELECT $$a$$", "", nil},
		{"exponents are left to the parser", "SELECT 1e5", "", nil},
		{"hex numbers are left to the parser", "SELECT 0x1F", "", nil},
		{"underscores in numbers are left to the parser", "SELECT 1_000", "", nil},
		{"a leading dot is left to the parser", "SELECT .5", "", nil},
		{"a trailing dot is left to the parser", "SELECT 1.", "", nil},
		{"an unterminated string is left to the parser", "SELECT 'a", "", nil},
		{"an unterminated comment is left to the parser", "SELECT 1 /* x", "", nil},
		{"invalid UTF-8 is left to the parser", "SELECT '\xff'", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh, ok := ShapeOf(c.sql)
			if c.key == "" {
				if ok {
					t.Fatalf("ShapeOf(%q) = %q, want no shape", c.sql, showKey(sh.Key))
				}
				return
			}
			if !ok || showKey(sh.Key) != c.key {
				t.Fatalf("ShapeOf(%q) = %q, %v, want %q", c.sql, showKey(sh.Key), ok, c.key)
			}
			var values []string
			for _, l := range sh.lits {
				values = append(values, l.value)
			}
			if strings.Join(values, "|") != strings.Join(c.values, "|") {
				t.Errorf("ShapeOf(%q) values = %q, want %q", c.sql, values, c.values)
			}
		})
	}
}

func showKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] == 0 && i+1 < len(k) {
			b.WriteString("<" + string('0'+k[i+1]) + ">")
			i++
			continue
		}
		b.WriteByte(k[i])
	}
	return b.String()
}

// variants of each literal class: other values, lengths and escapes.
var variantTexts = map[byte][]string{
	litString:  {"''", "'another value, longer'", "'it''s'", "'{a,\"b c\"}'", "'ä€'"},
	litInt:     {"0", "7", "00042", "2147483647"},
	litBigInt:  {"2147483648", "123456789012345678901234567890"},
	litDecimal: {"0.5", "12345.000100"},
}

// withLiterals returns sql with its literals replaced by variant v of their class.
func withLiterals(sql string, sh Shape, v int) string {
	var b strings.Builder
	prev := 0
	for i, l := range sh.lits {
		texts := variantTexts[l.class]
		b.WriteString(sql[prev:l.start])
		b.WriteString(texts[(v+i)%len(texts)])
		prev = l.end
	}
	b.WriteString(sql[prev:])
	return b.String()
}

// checkTemplate asserts that a template made from sql's plan gives, for sql and for variants of
// its literals, exactly the plan Analyze gives (or that Analyze fails where it made none).
func checkTemplate(t *testing.T, s *Schema, sql string) (made bool) {
	t.Helper()
	sh, ok := ShapeOf(sql)
	if !ok {
		return false
	}
	p, err := Analyze(sql, s)
	if err != nil {
		return false
	}
	tmpl, ok := NewTemplate(p, sh, s)
	if !ok {
		return false
	}
	for v := -1; v < 6; v++ {
		text := sql
		if v >= 0 {
			text = withLiterals(sql, sh, v)
		}
		sh2, ok := ShapeOf(text)
		if !ok || sh2.Key != sh.Key {
			t.Fatalf("ShapeOf(%q) key = %q, want %q", text, showKey(sh2.Key), showKey(sh.Key))
		}
		want, err := Analyze(text, s)
		if err != nil {
			t.Errorf("Analyze(%q) = %v, but the template of %q made a plan", text, err, sql)
			continue
		}
		got := tmpl.Plan(text, sh2)
		if g, w := planJSON(t, got), planJSON(t, want); g != w || got.valueDep != want.valueDep {
			t.Errorf("Template.Plan(%q) = %s, want %s", text, g, w)
		}
	}
	return true
}

func planJSON(t *testing.T, p *Plan) string {
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTemplateAgreesWithAnalyze runs every golden input and the cases below through templates.
func TestTemplateAgreesWithAnalyze(t *testing.T) {
	s := loadSchema(t)
	inputs, err := filepath.Glob(filepath.Join("testdata", "*", "input.sql"))
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{
		"INSERT INTO users (id, email, name) VALUES (12, 12::text, 'n') ON CONFLICT DO NOTHING",
		"SELECT id, email, name FROM users WHERE email = 'a@x' AND id = 3",
		"SELECT id, email FROM users WHERE email = ANY('{a,b}')",
		"UPDATE users SET email = 'x', name = 'y' WHERE id = 1; DELETE FROM users WHERE email = 'z'",
		"SELECT email, id FROM users ORDER BY 2 LIMIT 10",
		"SELECT email FROM users WHERE email = -5::text",
		"SELECT email FROM users WHERE email = text 'typed'",
		"SELECT set_config('app.tenant', 'acme', false), email FROM users",
		"SELECT email FROM users WHERE email = 'a' -- 'b'\n AND id = 7",
	}
	made := 0
	check := func(name, sql string) {
		t.Run(name, func(t *testing.T) {
			if checkTemplate(t, s, sql) {
				made++
			}
		})
	}
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		check(filepath.Base(filepath.Dir(in)), string(b))
	}
	for _, sql := range extra {
		check(sql, sql)
	}
	t.Logf("templates made for %d of %d texts", made, len(inputs)+len(extra))
	if made < 10 {
		t.Errorf("templates made = %d, want the common statements covered", made)
	}
}

func TestTemplateRefusesValueDependentPlans(t *testing.T) {
	s := loadSchema(t)
	for _, sql := range []string{
		"SELECT email, id FROM users ORDER BY 2",
		"SELECT set_config('app.tenant', 'acme', false) FROM users",
		"SET app.tenant = 'acme'",
		"SELECT email FROM users WHERE email = -5::text",
		"SELECT email FROM users WHERE email = text 'typed'",
	} {
		t.Run(sql, func(t *testing.T) {
			sh, ok := ShapeOf(sql)
			if !ok {
				return
			}
			p, err := Analyze(sql, s)
			if err != nil {
				return
			}
			if _, ok := NewTemplate(p, sh, s); ok {
				t.Errorf("NewTemplate(%q) = ok, want no template", sql)
			}
		})
	}
}

// TestTemplateNeverCoversCodeOrPreparedStatements: a DO body, a function body, a DDL
// expression or an EXECUTE argument is a literal to the shape lexer, so a template made from a
// harmless text would give a harmful text of the same shape its plan without the body rule.
func TestTemplateNeverCoversCodeOrPreparedStatements(t *testing.T) {
	s := loadSchema(t)
	for _, sql := range []string{
		"DO 'begin null; end'",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
		"CREATE PROCEDURE p() LANGUAGE plpgsql AS 'begin null; end'",
		"EXECUTE s1('x')",
		"EXPLAIN ANALYZE EXECUTE s1('x')",
		"CREATE TABLE t2 AS EXECUTE s1('x')",
		"PREPARE q AS SELECT 'x' FROM orders",
		"COMMENT ON COLUMN users.email IS 'x'",
		"CREATE INDEX ON users (id) WHERE tenant_id = 5",
		"SELECT 1 FROM users WHERE email = 'a'; DO 'begin null; end'",
	} {
		t.Run(sql, func(t *testing.T) {
			sh, ok := ShapeOf(sql)
			if !ok {
				t.Fatalf("ShapeOf(%q) = no shape, want one", sql)
			}
			p, err := Analyze(sql, s)
			if err != nil {
				t.Fatalf("Analyze(%q) error = %v, want a plan", sql, err)
			}
			if _, ok := NewTemplate(p, sh, s); ok {
				t.Errorf("NewTemplate(%q) = ok, want no template", sql)
			}
		})
	}
}

func FuzzTemplate(f *testing.F) {
	for _, sql := range []string{
		"SELECT id, email FROM users WHERE email = 'a' AND id = 1",
		"INSERT INTO users (id, email) VALUES (1, '2'), (3, 4::text)",
		"UPDATE users SET email = 'x' WHERE id = 1.5 RETURNING email",
	} {
		f.Add(sql)
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*", "input.sql"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(string(b))
		}
	}
	s := loadSchema(f)
	f.Fuzz(func(t *testing.T, sql string) {
		checkTemplate(t, s, sql)
	})
}

// TestMayMatterIsASubstringSearch: the one-pass prefilter says true exactly when one of its
// words or names occurs in the text, ignoring ASCII case ("do" only as a word of its own).
func TestMayMatterIsASubstringSearch(t *testing.T) {
	s := loadSchema(t)
	needles := append(append([]string(nil), prefilterWords...), s.encryptedNames()...)
	if s.Catalog.active() {
		needles = append(needles, catalogWords...)
	}
	texts := []string{"", "s", "SE", "SELECT 1", "select * from USERS", "RESET x", "u&\"x\"", "DisCard all",
		"SELECT a FROM orders WHERE b = 'x'", "users", "xusersx", "UsErS", "do", "DO$$x$$", "select done",
		"select 1 -- todo", "x;Do 'y'", "do_x", "o.d o", "EXECUTE s1", "x.preview"}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*", "input.sql"))
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	for _, text := range texts {
		if got, want := mayMatter(text, s), refMayMatter(text, needles); got != want {
			t.Errorf("mayMatter(%q) = %v, want %v", text, got, want)
		}
		if got, want := mayMatter(text, nil), refMayMatter(text, prefilterWords); got != want {
			t.Errorf("mayMatter(%q, nil) = %v, want %v", text, got, want)
		}
	}
}

// refMayMatter is the prefilter's specification, written the slow and obvious way.
func refMayMatter(text string, needles []string) bool {
	lower := strings.ToLower(text)
	for _, n := range needles {
		if n != "do" {
			if strings.Contains(lower, n) {
				return true
			}
			continue
		}
		for i := 0; i+2 <= len(lower); i++ {
			if lower[i:i+2] == "do" && (i == 0 || !isWordByte(lower[i-1])) && (i+2 == len(lower) || !isWordByte(lower[i+2])) {
				return true
			}
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
}
