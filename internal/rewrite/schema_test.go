package rewrite

import (
	"strings"
	"testing"
)

// nameSchema has two encrypted tables named accounts (sec and ops), one encrypted table whose
// name is unique (billing.cards), a plain known table, a refused view and a refused table.
func nameSchema(t *testing.T) *Schema {
	t.Helper()
	s := NewSchema()
	for _, tbl := range []string{"sec.accounts", "ops.accounts", "billing.cards", "app.users"} {
		sch, name, _ := strings.Cut(tbl, ".")
		s.AddTable(sch, name, []string{"id", "email"})
		if _, err := s.AddColumn(Column{Table: tbl, Name: "email", Type: "text"}); err != nil {
			t.Fatal(err)
		}
	}
	s.AddTable("public", "notes", []string{"id", "body"})
	s.AddTable("public", "cards", []string{"id", "email"}) // a same-named plain table elsewhere
	s.Refused = map[string]string{
		"public.user_view": "relation user_view reads or writes encrypted table app.users through a view; use the table",
		"app.users":        "relation users has rewrite rules that involve encrypted table app.users",
	}
	return s
}

func TestUnqualifiedNamesIgnoreTheSearchPath(t *testing.T) {
	s := nameSchema(t)
	tests := []struct {
		name    string
		sql     string
		wantErr string // substring of the 0A000 message; "" = analysed
		wantEnc string // with no error: the column ID of the one encrypted literal
	}{
		{name: "a name unique among encrypted tables resolves to it, not to a same-named plain table",
			sql: "INSERT INTO cards (id, email) VALUES (1, 'MK2')", wantEnc: "billing.cards.email"},
		{name: "a name two encrypted tables share is refused",
			sql: "INSERT INTO accounts (email, id) VALUES ('MK2', 1)", wantErr: "relation name accounts is ambiguous among encrypted tables; schema-qualify it"},
		{name: "a shared name is refused in a subquery too",
			sql: "SELECT 1 FROM notes WHERE EXISTS (SELECT 1 FROM accounts)", wantErr: "ambiguous"},
		{name: "a schema-qualified name resolves exactly",
			sql: "INSERT INTO sec.accounts (email, id) VALUES ('MK2', 1)", wantEnc: "sec.accounts.email"},
		{name: "the other schema's table resolves exactly",
			sql: "UPDATE ops.accounts SET email = 'MK2'", wantEnc: "ops.accounts.email"},
		{name: "a plain table keeps working",
			sql: "INSERT INTO notes (id, body) VALUES (1, 'x')"},
		{name: "a refused view is refused when read",
			sql: "SELECT email FROM user_view", wantErr: "through a view; use the table"},
		{name: "a refused view is refused when qualified and written",
			sql: "INSERT INTO public.user_view (email) VALUES ('MK2')", wantErr: "through a view"},
		{name: "a refused view is refused inside a CTE",
			sql: "WITH x AS (SELECT * FROM user_view) SELECT 1", wantErr: "through a view"},
		{name: "a refused view is refused by COPY",
			sql: "COPY user_view FROM STDIN", wantErr: "through a view"},
		{name: "a refused view is refused by TRUNCATE",
			sql: "TRUNCATE user_view", wantErr: "through a view"},
		{name: "an encrypted table with rules is refused",
			sql: "INSERT INTO users (email) VALUES ('MK2')", wantErr: "rewrite rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Analyze(tt.sql, s)
			if tt.wantErr != "" {
				re, ok := err.(*Error)
				if !ok || re.Code != CodeFeatureNotSupported || !strings.Contains(re.Message, tt.wantErr) {
					t.Fatalf("Analyze(%q) = %v, want 0A000 containing %q", tt.sql, err, tt.wantErr)
				}
				if re.Offset < 0 || re.Offset >= len(tt.sql) {
					t.Errorf("Analyze(%q) position = %d, want inside the text", tt.sql, re.Offset)
				}
				return
			}
			if err != nil {
				t.Fatalf("Analyze(%q) = %v, want a plan", tt.sql, err)
			}
			var got []string
			for _, e := range p.Edits {
				if e.Kind == EditEncrypt {
					got = append(got, e.Column.ID)
				}
			}
			want := []string{}
			if tt.wantEnc != "" {
				want = []string{tt.wantEnc}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Analyze(%q) encrypts %v, want %v", tt.sql, got, want)
			}
		})
	}
}

func TestUniqueEncryptedNameResolvesInAnySchema(t *testing.T) {
	s := NewSchema()
	s.AddTable("sec", "accounts", []string{"email", "name"})
	if _, err := s.AddColumn(Column{Table: "sec.accounts", Name: "email", Type: "text"}); err != nil {
		t.Fatal(err)
	}
	// The session may have SET search_path = sec, public, or logged in as role "sec" ("$user"),
	// or a public.accounts may exist: the literal is encrypted in every case.
	p, err := Analyze("INSERT INTO accounts (email, name) VALUES ('MK2', 'n')", s)
	if err != nil {
		t.Fatalf("Analyze() = %v", err)
	}
	if len(p.Edits) != 1 || p.Edits[0].Kind != EditEncrypt || p.Edits[0].Column.ID != "sec.accounts.email" {
		t.Fatalf("Analyze() edits = %+v, want one EditEncrypt for sec.accounts.email", p.Edits)
	}
}

func TestPrefilterParsesRefusedNamesAndParseWords(t *testing.T) {
	s := nameSchema(t)
	s.ParseWords = []string{"savepoint"}
	for _, sql := range []string{"select * from USER_VIEW", "SAVEPOINT a"} {
		if !MayMatter(sql, s) {
			t.Errorf("MayMatter(%q) = false, want true", sql)
		}
	}
	if MayMatter("select * from notes", s) {
		t.Error(`MayMatter("select * from notes") = true, want false (a plain table)`)
	}
}
