package seal

import (
	"slices"
	"testing"

	"github.com/pgseal/pgseal/internal/rewrite"
)

func TestUpstreamFormats(t *testing.T) {
	ef := &encFields{n: 3, enc: []bool{false, true, false}} // id, email (encrypted), age
	cases := []struct {
		name  string
		codes []int16
		want  []int16 // nil: send the client's codes
	}{
		{"no codes: all text, the encrypted one binary", nil, []int16{0, 1, 0}},
		{"one text code for all", []int16{0}, []int16{0, 1, 0}},
		{"one binary code for all: nothing to change", []int16{1}, nil},
		{"per column, encrypted in text", []int16{1, 0, 1}, []int16{1, 1, 1}},
		{"per column, encrypted already binary", []int16{0, 1, 0}, nil},
		{"a count the server will refuse: left to it", []int16{0, 0}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := upstreamFormats(c.codes, ef); !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("upstreamFormats(%v) = %v, want %v", c.codes, got, c.want)
			}
		})
	}
	if got := upstreamFormats(nil, nil); got != nil {
		t.Fatalf("without a description: %v, want nil", got)
	}
}

// TestUpstreamAgrees: rows may be answered only if every field whose format pgseal changed is
// one it decrypts; otherwise (the result changed shape since the Describe) the statement fails.
func TestUpstreamAgrees(t *testing.T) {
	col := &rewrite.Column{ID: "public.users.email", Table: "users", Name: "email", Type: "text"}
	enc := &layout{fields: []layField{{}, {col: col}, {}}}
	moved := &layout{fields: []layField{{col: col}, {}, {}}} // the encrypted column moved
	up := []int16{0, 1, 0}
	cases := []struct {
		name  string
		codes []int16
		lay   *layout
		want  bool
	}{
		{"the changed field is encrypted", nil, enc, true},
		{"the changed field is plaintext now", nil, moved, false},
		{"no encrypted field any more", nil, nil, false},
		{"nothing changed for the client", []int16{0, 1, 0}, moved, true},
		{"fewer fields than formats", nil, &layout{fields: []layField{{}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := upstreamAgrees(up, c.codes, c.lay); got != c.want {
				t.Fatalf("upstreamAgrees = %v, want %v", got, c.want)
			}
		})
	}
}

// TestShapeFixed: only texts whose own words fix the result's columns are given an earlier
// description's formats.
func TestShapeFixed(t *testing.T) {
	cases := []struct {
		sql  string
		kind rewrite.StmtKind
		want bool
	}{
		{"SELECT id, email FROM users WHERE id = $1", rewrite.StmtSelect, true},
		{"UPDATE users SET age = $1 RETURNING email", rewrite.StmtUpdate, true},
		{"SELECT my_table.email FROM my_table", rewrite.StmtSelect, true},
		{"SELECT * FROM users", rewrite.StmtSelect, false},
		{"SELECT u.* FROM users u", rewrite.StmtSelect, false},
		{"DELETE FROM users RETURNING *", rewrite.StmtDelete, false},
		{"TABLE users", rewrite.StmtSelect, false},
		{"WITH x AS (SELECT 1) table\nusers", rewrite.StmtSelect, false},
		{"EXECUTE p", rewrite.StmtExecute, false},
		{"FETCH 10 FROM c", rewrite.StmtFetch, false},
	}
	for _, c := range cases {
		sp := &stmtPlan{plan: &rewrite.Plan{SQL: c.sql}, exec: stmtExec{st: &rewrite.Statement{Kind: c.kind}}}
		if got := shapeFixed(sp); got != c.want {
			t.Errorf("shapeFixed(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}
