package seal

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
)

// TestUpstreamBinaryUnnamed: an unnamed statement executed without a Describe S (Parse, Bind,
// Describe P, Execute: pgx's Exec mode, pgbench -M extended) gets, from its second execution on,
// its encrypted columns in binary from PostgreSQL (what the first description of the same text
// said), and the client still receives exactly what a plaintext table gives it: the same bytes
// and the same formats in the RowDescription, in every combination of result format codes
// (none, one for all, one per column: all text, all binary, mixed). The plaintext columns keep
// the client's formats.
func TestUpstreamBinaryUnnamed(t *testing.T) {
	const rows = 500 // several batches, helpers included
	schema := `CREATE TABLE encf (id int, a bytea, n int, b bytea);
CREATE TABLE plainf (id int, a text, n int, b int4);
INSERT INTO plainf SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'vålue ' || g END, g * 3,
  CASE WHEN g % 11 = 0 THEN NULL ELSE g - 250 END FROM generate_series(1, ` + fmt.Sprint(rows) + `) g;`
	e := newSealEnv(t, "multi", schema, []config.Encrypt{
		{Table: "encf", Column: "a", Type: "text"}, {Table: "encf", Column: "b", Type: "int4"}})
	conn := e.connect(t, "", "acme").PgConn()
	ctx := ctxT(t)
	direct := e.direct(t).PgConn()
	// Copy the plaintext rows in through pgseal, in binary parameters.
	src := direct.ExecParams(ctx, "SELECT id, a, n, b FROM plainf ORDER BY id", nil, nil, nil, []int16{1}).Read()
	if src.Err != nil || len(src.Rows) != rows {
		t.Fatalf("read plainf = %d rows, %v", len(src.Rows), src.Err)
	}
	for _, r := range src.Rows {
		if res := conn.ExecParams(ctx, "INSERT INTO encf VALUES ($1, $2, $3, $4)", r, []uint32{23, 25, 23, 23}, []int16{1}, nil).Read(); res.Err != nil {
			t.Fatalf("INSERT = %v", res.Err)
		}
	}
	var stored []byte
	if err := e.direct(t).QueryRow(ctx, "SELECT a FROM encf WHERE id = 1").Scan(&stored); err != nil || bytes.Contains(stored, []byte("value")) {
		t.Fatalf("stored a = %x, %v, want ciphertext", stored, err)
	}
	const encSQL, plainSQL = "SELECT id, a, n, b FROM encf ORDER BY id", "SELECT id, a, n, b FROM plainf ORDER BY id"
	cases := []struct {
		name   string
		codes  []int16
		binary bool // pgseal asks PostgreSQL for other formats than the client's
	}{
		{"no codes (all text)", nil, true},
		{"one text code", []int16{0}, true},
		{"one binary code", []int16{1}, false},
		{"per column, all text", []int16{0, 0, 0, 0}, true},
		{"per column, all binary", []int16{1, 1, 1, 1}, false},
		{"mixed, encrypted text", []int16{1, 0, 1, 0}, true},
		{"mixed, a binary, b text", []int16{0, 1, 0, 0}, true},
		{"mixed, encrypted binary", []int16{0, 1, 0, 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := direct.ExecParams(ctx, plainSQL, nil, nil, nil, c.codes).Read()
			if want.Err != nil {
				t.Fatal(want.Err)
			}
			for run := range 3 { // the first execution learns the description
				before := upstreamBinary.Load()
				got := conn.ExecParams(ctx, encSQL, nil, nil, nil, c.codes).Read()
				if got.Err != nil || len(got.Rows) != rows {
					t.Fatalf("run %d: %d rows, %v", run, len(got.Rows), got.Err)
				}
				for i := range got.FieldDescriptions {
					g, w := got.FieldDescriptions[i], want.FieldDescriptions[i]
					if g.Format != w.Format || g.DataTypeOID != w.DataTypeOID {
						t.Fatalf("run %d, field %d: format %d OID %d, want format %d OID %d", run, i, g.Format, g.DataTypeOID, w.Format, w.DataTypeOID)
					}
				}
				for r := range got.Rows {
					for i := range got.Rows[r] {
						if !bytes.Equal(got.Rows[r][i], want.Rows[r][i]) || (got.Rows[r][i] == nil) != (want.Rows[r][i] == nil) {
							t.Fatalf("run %d, row %d, field %d = %q, want %q (the plaintext table's)", run, r, i, got.Rows[r][i], want.Rows[r][i])
						}
					}
				}
				if n := upstreamBinary.Load() - before; run > 0 && (n > 0) != c.binary {
					t.Fatalf("run %d: %d Binds asked for binary envelopes, want them: %v", run, n, c.binary)
				}
			}
		})
	}
	// A text that does not fix its columns (`*`) keeps the client's codes.
	for run := range 2 {
		before := upstreamBinary.Load()
		if got := conn.ExecParams(ctx, "SELECT * FROM encf ORDER BY id", nil, nil, nil, nil).Read(); got.Err != nil || len(got.Rows) != rows {
			t.Fatalf("SELECT *: %d rows, %v", len(got.Rows), got.Err)
		}
		if upstreamBinary.Load() != before {
			t.Fatalf("SELECT * run %d asked for binary envelopes", run)
		}
	}
}
