package rewrite

import (
	"errors"
	"testing"
)

func TestBodyRule(t *testing.T) {
	plain := NewSchema()
	plain.AddTable("public", "orders", []string{"id", "note"})
	enc := NewSchema()
	if _, err := enc.AddColumn(Column{Table: "public.users", Name: "email", Type: "text"}); err != nil {
		t.Fatal(err)
	}
	tracked := NewSchema()
	tracked.TrackedSettings = []string{"App.Tenant"}
	if _, err := tracked.AddColumn(Column{Table: "public.users", Name: "email", Type: "text"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		s      *Schema
		sql    string
		refuse bool
	}{
		{"a schema without encrypted columns lets any body through", plain,
			"DO $$ BEGIN INSERT INTO users (email) VALUES ('x'); EXECUTE 'x'; END $$", false},
		{"a schema without encrypted columns lets any language through", plain,
			"DO LANGUAGE plperl $$ 1 $$", false},
		{"a body naming an encrypted table in upper case is refused", enc, "DO $$ BEGIN DELETE FROM USERS; END $$", true},
		{"a built-in tracked setting is refused without TrackedSettings", enc,
			"DO $$ BEGIN SET search_path = evil; END $$", true},
		{"a tracked setting is matched case-insensitively", tracked,
			"DO $$ BEGIN SET app.tenant = 'b'; END $$", true},
		{"an untracked setting passes", tracked, "DO $$ BEGIN SET work_mem = '1MB'; END $$", false},
		{"an E'' body is tested after unescaping", enc, `DO E'BEGIN DELETE FROM \x75sers; END'`, true},
		{"a procedure in an unknown language is refused", enc,
			"CREATE PROCEDURE p() LANGUAGE plpython3u AS $$ pass $$", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Analyze(tt.sql, tt.s)
			var re *Error
			if tt.refuse {
				if !errors.As(err, &re) || re.Code != CodeFeatureNotSupported {
					t.Fatalf("Analyze(%q) error = %v, want 0A000", tt.sql, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Analyze(%q) error = %v, want none", tt.sql, err)
			}
			if len(p.Edits) != 0 {
				t.Errorf("Analyze(%q) edits = %v, want none", tt.sql, p.Edits)
			}
		})
	}
}
