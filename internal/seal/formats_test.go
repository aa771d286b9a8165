package seal

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

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
		if got := shapeFixed(c.kind, c.sql); got != c.want {
			t.Errorf("shapeFixed(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

// TestQueryDescribed: a Query sent as an extended sequence shows the client text formats; a field
// PostgreSQL sends in binary that pgseal does not decrypt (the table changed since the shape was
// described) refuses the result instead of reaching a client that reads text; a Query pgseal did
// not send as extended (a binary cursor's FETCH) keeps the server's formats.
func TestQueryDescribed(t *testing.T) {
	enc := layField{col: &rewrite.Column{Table: "t", Name: "a"}}
	rd := func(formats ...int16) *pgproto3.RowDescription {
		out := &pgproto3.RowDescription{}
		for _, f := range formats {
			out.Fields = append(out.Fields, pgproto3.FieldDescription{Format: f})
		}
		return out
	}
	cases := []struct {
		name     string
		extended bool
		rd       *pgproto3.RowDescription
		lay      *layout
		codes    []int16
		refused  bool
	}{
		{"encrypted field in binary", true, rd(0, 1), &layout{fields: []layField{{}, enc}}, textCodes, false},
		{"plaintext field in binary", true, rd(1, 1), &layout{fields: []layField{{}, enc}}, nil, true},
		{"no encrypted field any more", true, rd(0, 1), nil, nil, true},
		{"binary cursor", false, rd(1, 1), &layout{fields: []layField{{}, enc}}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ss := &Session{}
			qp := &queryPlan{extended: c.extended, memo: "k", memoVersion: 1}
			codes, pe := ss.queryDescribed(qp, c.rd, c.lay)
			if (pe != nil) != c.refused || !slices.Equal(codes, c.codes) {
				t.Fatalf("queryDescribed = %v, %v; want %v, refused %v", codes, pe, c.codes, c.refused)
			}
			if pe != nil && !ss.stale.Load() {
				t.Fatalf("refusal %v without a catalog reload", pe)
			}
		})
	}
}

// TestQueryDone: what a Query's CommandComplete leaves for the next Query of its shape: its
// encrypted fields and whether its result was long enough for the extended sequence.
func TestQueryDone(t *testing.T) {
	enc := layField{col: &rewrite.Column{Table: "t", Name: "a"}}
	lay := &layout{fields: []layField{{}, enc}}
	cases := []struct {
		tag  string
		lay  *layout
		long bool
	}{
		{"SELECT 31", lay, false},
		{"SELECT 32", lay, true},
		{"UPDATE 1000", lay, true},
		{"INSERT 0 40", lay, true},
		{"SELECT 1000", nil, true},
		{"SELECT 1", lay, false},
	}
	ss := &Session{}
	for _, c := range cases {
		qp := &queryPlan{memo: "k", memoVersion: 1, lay: c.lay}
		ss.queryDone(qp, c.tag)
		m := ss.recallMemo("k", 1)
		if m == nil || m.long != c.long || !m.ef.same(c.lay) {
			t.Fatalf("%s: remembered %+v", c.tag, m)
		}
		if ss.recallMemo("k", 2) != nil {
			t.Fatalf("%s: recalled under another catalog version", c.tag)
		}
	}
	if n := ss.encN.Load(); n != 1 {
		t.Fatalf("%d entries counted for one key", n)
	}
}
