package seal

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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

// TestQueryAsExtended: a simple Query of one statement whose shape returned a long result with
// encrypted fields before is sent as an extended sequence asking for them in binary (a short one
// is not), and the client still gets
// exactly a Query's answers on the plaintext table: text formats, the same types and bytes, no
// ParseComplete or BindComplete. Literals of an encrypted column (sealed into the text) and of
// other columns vary from run to run (one shape). Errors and a binary cursor keep a Query's
// behaviour, and the connection stays usable.
func TestQueryAsExtended(t *testing.T) {
	const rows = 300
	schema := `CREATE TABLE encq (id int, a bytea, n int, b bytea);
CREATE TABLE plainq (id int, a text, n int, b int4);
INSERT INTO plainq SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'vålue ' || g END, g * 3,
  CASE WHEN g % 11 = 0 THEN NULL ELSE g - 150 END FROM generate_series(1, ` + fmt.Sprint(rows) + `) g;`
	e := newSealEnv(t, "multi", schema, []config.Encrypt{
		{Table: "encq", Column: "a", Type: "text", Search: []string{"eq"}}, {Table: "encq", Column: "b", Type: "int4"}})
	conn := e.connect(t, "", "acme").PgConn()
	ctx := ctxT(t)
	direct := e.direct(t).PgConn()
	src := direct.ExecParams(ctx, "SELECT id, a, n, b FROM plainq ORDER BY id", nil, nil, nil, []int16{1}).Read()
	if src.Err != nil {
		t.Fatal(src.Err)
	}
	for _, r := range src.Rows {
		if res := conn.ExecParams(ctx, "INSERT INTO encq VALUES ($1, $2, $3, $4)", r, []uint32{23, 25, 23, 23}, []int16{1}, nil).Read(); res.Err != nil {
			t.Fatalf("INSERT = %v", res.Err)
		}
	}
	same := func(t *testing.T, run int, sql string) {
		t.Helper()
		got, err := conn.Exec(ctx, strings.ReplaceAll(sql, "{t}", "encq")).ReadAll()
		want, werr := direct.Exec(ctx, strings.ReplaceAll(sql, "{t}", "plainq")).ReadAll()
		if err != nil || werr != nil || len(got) != 1 || len(want) != 1 {
			t.Fatalf("run %d: %v / %v", run, err, werr)
		}
		g, w := got[0], want[0]
		if !strings.Contains(sql, "ORDER BY") { // the tables' physical orders differ
			for _, rows := range [][][][]byte{g.Rows, w.Rows} {
				slices.SortFunc(rows, func(a, b [][]byte) int { return bytes.Compare(bytes.Join(a, []byte{0}), bytes.Join(b, []byte{0})) })
			}
		}
		if len(g.FieldDescriptions) != len(w.FieldDescriptions) || len(g.Rows) != len(w.Rows) || string(g.CommandTag.String()) != w.CommandTag.String() {
			t.Fatalf("run %d: %d fields, %d rows, %q; want %d, %d, %q", run, len(g.FieldDescriptions), len(g.Rows), g.CommandTag, len(w.FieldDescriptions), len(w.Rows), w.CommandTag)
		}
		for i := range g.FieldDescriptions {
			gf, wf := g.FieldDescriptions[i], w.FieldDescriptions[i]
			if gf.Format != 0 || gf.DataTypeOID != wf.DataTypeOID || gf.Name != wf.Name {
				t.Fatalf("run %d, field %d: %q format %d OID %d, want %q text OID %d", run, i, gf.Name, gf.Format, gf.DataTypeOID, wf.Name, wf.DataTypeOID)
			}
		}
		for r := range g.Rows {
			for i := range g.Rows[r] {
				if !bytes.Equal(g.Rows[r][i], w.Rows[r][i]) || (g.Rows[r][i] == nil) != (w.Rows[r][i] == nil) {
					t.Fatalf("run %d, row %d, field %d = %q, want %q", run, r, i, g.Rows[r][i], w.Rows[r][i])
				}
			}
		}
	}
	cases := []struct {
		name string
		sql  string // %d: the run
	}{
		{"by id", "SELECT id, a, n, b FROM {t} WHERE id <= 2%02d ORDER BY id"},
		{"encrypted literal", "SELECT a, b, id FROM {t} WHERE a = 'vålue 1%d' OR id > 25%d"},
		{"expression", "SELECT b, a AS x, n + 1 FROM {t} WHERE n > %d ORDER BY id LIMIT 50"},
		{"returning", "UPDATE {t} SET n = n WHERE id BETWEEN 1%d AND 60 RETURNING a, id, b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for run := range 4 { // the first Query learns that the shape's results are long
				before := queriesExtended.Load()
				sql := c.sql
				for strings.Contains(sql, "%d") || strings.Contains(sql, "%02d") {
					sql = fmt.Sprintf(strings.Replace(strings.Replace(sql, "%02d", "%02[1]d", 1), "%d", "%[1]d", -1), run)
				}
				same(t, run, sql)
				if n := queriesExtended.Load() - before; (n > 0) != (run > 0) {
					t.Fatalf("run %d: %d Queries sent as extended, want them: %v", run, n, run > 0)
				}
			}
		})
	}
	// Short results stay simple Queries: the extended sequence costs more than it saves.
	for run := range 3 {
		before := queriesExtended.Load()
		same(t, run, fmt.Sprintf("SELECT id, a, b FROM {t} WHERE id BETWEEN %d AND 40", 10+run))
		if n := queriesExtended.Load() - before; n != 0 {
			t.Fatalf("a 30-row result went as an extended sequence (run %d)", run)
		}
	}
	// An error in a Query sent as extended: the client gets it (and only it, before ReadyForQuery),
	// the session goes on, and the shape is learnt again.
	for run := range 4 {
		// Even runs succeed (300 rows) and teach the shape; odd runs go as extended and fail at
		// id 100, which forgets it.
		before := queriesExtended.Load()
		_, err := conn.Exec(ctx, fmt.Sprintf("SELECT id, a FROM encq WHERE n / (id - %d) > 0", 100*(run%2))).ReadAll()
		var pgErr *pgconn.PgError
		if failed := errors.As(err, &pgErr) && pgErr.Code == "22012"; failed != (run%2 == 1) || (!failed && err != nil) {
			t.Fatalf("run %d: %v, want division by zero: %v", run, err, run%2 == 1)
		}
		if n := queriesExtended.Load() - before; (n > 0) != (run%2 == 1) {
			t.Fatalf("run %d: %d Queries sent as extended", run, n)
		}
		same(t, run, "SELECT id, a FROM {t} WHERE id = 5")
		same(t, run, fmt.Sprintf("SELECT id, a FROM {t} WHERE n / (id + %d) > 0", run))
	}
	// Inside a transaction, with a failed statement: as a Query would.
	if _, err := conn.Exec(ctx, "BEGIN").ReadAll(); err != nil {
		t.Fatal(err)
	}
	same(t, 0, "SELECT id, a FROM {t} WHERE id = 6")
	if _, err := conn.Exec(ctx, "SELECT id, a FROM encq WHERE n / (id - 1) > 0").ReadAll(); err == nil {
		t.Fatal("division by zero succeeded")
	}
	_, err := conn.Exec(ctx, "SELECT id, a FROM encq WHERE id = 7").ReadAll()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25P02" {
		t.Fatalf("in a failed transaction: %v, want 25P02", err)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		t.Fatal(err)
	}
	// The unnamed statement and portal are gone after a Query sent as extended, as after a Query.
	same(t, 1, "SELECT id, a FROM {t} WHERE id = 8")
	if res := conn.ExecPrepared(ctx, "", nil, nil, nil).Read(); res.Err == nil {
		t.Fatal("Bind of the unnamed statement after a Query succeeded")
	}
	// A binary cursor's FETCH keeps the binary formats it asked for.
	res, err := conn.Exec(ctx, "BEGIN; DECLARE c BINARY CURSOR FOR SELECT b FROM encq WHERE id = 1; FETCH 1 FROM c; COMMIT").ReadAll()
	if err != nil || len(res) != 4 || len(res[2].Rows) != 1 || res[2].FieldDescriptions[0].Format != 1 || !bytes.Equal(res[2].Rows[0][0], []byte{0xff, 0xff, 0xff, 0x6b}) {
		t.Fatalf("binary cursor: %v %+v", err, res)
	}
}
