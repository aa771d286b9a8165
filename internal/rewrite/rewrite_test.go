package rewrite

import (
	"errors"
	"strings"
	"testing"
)

func TestTermExpr(t *testing.T) {
	got := TermExpr("u.email")
	want := "substring(u.email from 24 for 16)"
	if got != want {
		t.Errorf("TermExpr() = %q, want %q", got, want)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		plan  Plan
		want  string
		isErr bool
	}{
		{name: "a plan without edits renders the text unchanged",
			plan: Plan{SQL: "SELECT 1"}, want: "SELECT 1"},
		{name: "edits apply in order with static and dynamic text",
			plan: Plan{SQL: "abc def ghi", Edits: []Edit{
				{Start: 0, End: 3, Kind: EditStatic, Text: "X"},
				{Start: 8, End: 11, Kind: EditEncrypt, Literal: "ghi", Column: &Column{ID: "c"}},
			}}, want: "X def <ghi>"},
		{name: "overlapping edits are an error",
			plan: Plan{SQL: "abcdef", Edits: []Edit{{Start: 0, End: 3}, {Start: 2, End: 4}}}, isErr: true},
		{name: "an edit past the end is an error",
			plan: Plan{SQL: "abc", Edits: []Edit{{Start: 1, End: 9}}}, isErr: true},
	}
	fill := func(e Edit) (string, error) { return "<" + e.Literal + ">", nil }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.plan.Render(fill)
			if (err != nil) != tt.isErr {
				t.Fatalf("Render() error = %v, want error %v", err, tt.isErr)
			}
			if got != tt.want {
				t.Errorf("Render() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderPropagatesFillError(t *testing.T) {
	p := Plan{SQL: "x", Edits: []Edit{{Start: 0, End: 1, Kind: EditTerm}}}
	want := errors.New("no keyset")
	if _, err := p.Render(func(Edit) (string, error) { return "", want }); !errors.Is(err, want) {
		t.Errorf("Render() error = %v, want %v", err, want)
	}
}

func TestPrefilter(t *testing.T) {
	s := loadSchema(t)
	tests := []struct {
		name string
		sql  string
		want bool
	}{
		{"a query on plaintext tables is skipped", "SELECT id, total FROM orders WHERE id = $1", false},
		{"an encrypted table name in any case is parsed", "select 1 from USERS", true},
		{"a quoted encrypted table name is parsed", `select 1 from "users"`, true},
		{"a setting change is parsed", "Set app.tenant = 'x'", true},
		{"set_config is parsed", "select SET_CONFIG('a', 'b', false)", true},
		{"DISCARD is parsed", "discard all", true},
		{"a U& identifier is parsed", `select * from U&"\0075sers"`, true},
		{"EXECUTE of a statement prepared elsewhere is parsed", "EXECUTE s1('MK3')", true},
		{"EXPLAIN EXECUTE is parsed", "explain analyze execute s1('MK3')", true},
		{"PREPARE is parsed", "prepare q as select 1", true},
		{"DEALLOCATE is parsed", "DEALLOCATE ALL", true},
		{"a DO block is parsed", "DO $$BEGIN NULL; END$$", true},
		{"a DO block with a plain string is parsed", "do'begin null; end'", true},
		{"a DO block after a comment is parsed", "/* x */DO LANGUAGE plpgsql $b$ $b$", true},
		{"do inside a longer word is not a DO block", "SELECT done, todo FROM orders", false},
		{"CREATE FUNCTION is parsed", "create function f() returns int language sql as 'select 1'", true},
		{"CREATE PROCEDURE is parsed", "CREATE PROCEDURE p() LANGUAGE sql AS $$ $$", true},
		{"CREATE TRIGGER is parsed", "CREATE TRIGGER t AFTER INSERT ON orders EXECUTE FUNCTION f()", true},
		{"CREATE RULE is parsed", "CREATE RULE r AS ON INSERT TO orders DO NOTHING", true},
		{"CREATE POLICY is parsed", "CREATE POLICY p ON orders", true},
		{"CREATE INDEX is parsed", "CREATE INDEX ON orders (id)", true},
		{"CREATE STATISTICS is parsed", "CREATE STATISTICS s ON id, total FROM orders", true},
		{"CREATE VIEW is parsed", "CREATE VIEW v AS SELECT 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mayMatter(tt.sql, s); got != tt.want {
				t.Errorf("mayMatter(%q) = %v, want %v", tt.sql, got, tt.want)
			}
		})
	}
}

func TestAnalyzeWithoutSchema(t *testing.T) {
	p, err := Analyze("SELECT email FROM users WHERE email = 'a'", nil)
	if err != nil {
		t.Fatalf("Analyze() error = %v", err)
	}
	if p.Touches() || len(p.Edits) != 0 {
		t.Errorf("Analyze() with a nil schema touches = %v, edits = %d, want nothing", p.Touches(), len(p.Edits))
	}
}

func TestUnicodeEscapedTableIsResolved(t *testing.T) {
	s := loadSchema(t)
	p, err := Analyze(`SELECT id FROM U&"\0075sers" WHERE email = 'secret-value'`, s)
	if err != nil {
		t.Fatalf("Analyze() error = %v", err)
	}
	out, err := p.Render(byteaFill)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "secret-value") {
		t.Errorf("Render() = %q, want the literal replaced", out)
	}
}

func TestErrorsNeverQuoteValues(t *testing.T) {
	s := loadSchema(t)
	for _, sql := range []string{
		"SELECT id FROM users WHERE lower(email) = 'top-secret'",
		"SELECT id FROM users WHERE email = 'top-secret' 'top-secret'",
		"INSERT INTO users (email) VALUES ('top-secret' || 'x')",
	} {
		_, err := Analyze(sql, s)
		var re *Error
		if !errors.As(err, &re) {
			t.Fatalf("Analyze(%q) error = %v, want *Error", sql, err)
		}
		if strings.Contains(re.Message, "top-secret") {
			t.Errorf("Analyze(%q) message = %q, want no literal", sql, re.Message)
		}
	}
}

func TestCanonicalType(t *testing.T) {
	tests := map[string]string{"bigint": "int8", "TEXT": "text", "timestamp with time zone": "timestamptz",
		"pg_catalog.int4": "int4", "integer": "int4"}
	for in, want := range tests {
		if got := canonicalType(in); got != want {
			t.Errorf("canonicalType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnalyzeIsSafeForConcurrentUse(t *testing.T) {
	s := loadSchema(t)
	const sql = "SELECT id, email FROM users WHERE email = 'concurrent@example.com'"
	want, err := Analyze(sql, s)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				p, err := Analyze(sql, s)
				if err == nil && (len(p.Edits) != len(want.Edits) || len(p.Statements[0].Outputs) != 1) {
					err = errors.New("different plan")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("Analyze() concurrently: %v", err)
		}
	}
}
