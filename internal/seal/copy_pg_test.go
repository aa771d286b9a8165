package seal

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/rewrite"
)

// COPY streams checked against PostgreSQL itself (copy_test.go has the pure ones).

// copyRowsText renders rows as text-format COPY data, for building inputs in tests.
func copyRowsText(rows [][]*string) []byte {
	var b []byte
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b = append(b, '\t')
			}
			if v == nil {
				b = append(b, `\N`...)
			} else {
				b = copyTextEncode(b, []byte(*v), '\t')
			}
		}
		b = append(b, '\n')
	}
	return b
}

func copyStr(s string) *string { return &s }

func copyShow(v *string) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *v)
}

// copyPGCase is a COPY data format both as SQL options and as the description rewrite makes.
type copyPGCase struct {
	name, opts string
	c          *rewrite.Copy
}

func copyPGCases() []copyPGCase {
	return []copyPGCase{
		{"text defaults", "", copyText()},
		{"text with a custom delimiter and NULL", "(DELIMITER '|', NULL 'nil')",
			copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter, c.Null = "|", "nil" })},
		{"text with a header", "(HEADER)", copyWith(copyText(), func(c *rewrite.Copy) { c.Header = true })},
		{"CSV defaults", "(FORMAT csv)", copyCSV()},
		{"CSV with a custom delimiter, NULL, quote and escape", `(FORMAT csv, DELIMITER ';', NULL 'NULL', QUOTE '''', ESCAPE '\')`,
			copyWith(copyCSV(), func(c *rewrite.Copy) { c.Delimiter, c.Null, c.Quote, c.Escape = ";", "NULL", "'", `\` })},
		{"CSV with a tab delimiter and a header", `(FORMAT csv, DELIMITER E'\t', HEADER)`,
			copyWith(copyCSV(), func(c *rewrite.Copy) { c.Delimiter, c.Header = "\t", true })},
	}
}

// copyTricky are values that exercise every escaping rule of both formats.
var copyTricky = []*string{
	copyStr("plain"), copyStr(""), nil, copyStr("tab\there"), copyStr("new\nline"), copyStr("cr\rcrlf\r\n"),
	copyStr(`back\slash`), copyStr(`\N`), copyStr(`\.`), copyStr(`"quoted" and ''single''`),
	copyStr("comma,semi;pipe|"), copyStr("NULL"), copyStr("ünïcødé ✓ 😀"), copyStr(" padded "),
	copyStr(`\x41`), copyStr("\b\f\v\x01\x7f"), copyStr(`\`), copyStr(`"`), copyStr("'"), copyStr(`\\.`),
}

func copyPGSetup(t *testing.T) (context.Context, *pgconn.PgConn) {
	t.Helper()
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	for _, tbl := range []string{"src", "dst", "ref"} {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+tbl+" (id int PRIMARY KEY, a text, b text)"); err != nil {
			t.Fatalf("create table: %v", err)
		}
	}
	for i, v := range copyTricky {
		if _, err := conn.Exec(ctx, "INSERT INTO src VALUES ($1, $2, $3)", i, v, copyTricky[len(copyTricky)-1-i]); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	return ctx, conn.PgConn()
}

func copyPGTo(t *testing.T, ctx context.Context, pc *pgconn.PgConn, sql string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := pc.CopyTo(ctx, &buf, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return buf.Bytes()
}

func copyPGExec(t *testing.T, ctx context.Context, pc *pgconn.PgConn, sql string) {
	t.Helper()
	if err := pc.Exec(ctx, sql).Close(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// copyPGDiff counts the rows in which two tables differ (NULLs compare equal).
func copyPGDiff(t *testing.T, ctx context.Context, pc *pgconn.PgConn, x, y string) string {
	t.Helper()
	sql := fmt.Sprintf("SELECT count(*) FROM ((TABLE %s EXCEPT ALL TABLE %s) UNION ALL (TABLE %s EXCEPT ALL TABLE %s)) d", x, y, y, x)
	rr := pc.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if rr.Err != nil {
		t.Fatalf("%s: %v", sql, rr.Err)
	}
	return string(rr.Rows[0][0])
}

// copyChunks cuts b into pieces of n bytes, as a client's CopyData messages might.
func copyChunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func TestCopyThroughPostgreSQL(t *testing.T) {
	ctx, pc := copyPGSetup(t)
	all := copyFields(3, copyIdentity, 0, 1, 2)
	for _, tc := range copyPGCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := copyMustFormat(t, tc.c)
			copyPGExec(t, ctx, pc, "TRUNCATE dst, ref")
			raw := copyPGTo(t, ctx, pc, "COPY (SELECT * FROM src ORDER BY id) TO STDOUT "+tc.opts)

			// TO: re-encoding every field reproduces the server's bytes exactly.
			if got, _, err := copyRun(f, all, 0, copyChunks(raw, 1<<20)...); err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("identity COPY TO = %q, %v, want %q", got, err, raw)
			}
			upper := copyFields(3, copyUpperASCII, 1)
			want := copyPGTo(t, ctx, pc, `COPY (SELECT id, upper(a COLLATE "C") AS a, b FROM src ORDER BY id) TO STDOUT `+tc.opts)
			if got, _, err := copyRun(f, upper, 0, raw); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("upper COPY TO = %q, %v, want %q", got, err, want)
			}

			// FROM, in small chunks: the identity stores exactly what src holds.
			in, _, err := copyRun(f, all, 0, copyChunks(raw, 7)...)
			if err != nil {
				t.Fatalf("identity COPY FROM: %v", err)
			}
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(in), "COPY dst FROM STDIN "+tc.opts); err != nil {
				t.Fatalf("COPY dst FROM STDIN: %v", err)
			}
			if d := copyPGDiff(t, ctx, pc, "src", "dst"); d != "0" {
				t.Errorf("identity COPY FROM: %s rows differ from src, want 0", d)
			}

			// FROM with the upper-casing transform stores upper(a) and leaves the rest alone.
			copyPGExec(t, ctx, pc, "TRUNCATE dst; INSERT INTO ref SELECT id, upper(a COLLATE \"C\"), b FROM src")
			in, _, err = copyRun(f, upper, 0, copyChunks(raw, 5)...)
			if err != nil {
				t.Fatalf("upper COPY FROM: %v", err)
			}
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(in), "COPY dst FROM STDIN "+tc.opts); err != nil {
				t.Fatalf("COPY dst FROM STDIN: %v", err)
			}
			if d := copyPGDiff(t, ctx, pc, "ref", "dst"); d != "0" {
				t.Errorf("upper COPY FROM: %s rows differ from upper(src), want 0", d)
			}
		})
	}
}

func TestCopyNonCanonicalInputLoadsLikeTheRawInput(t *testing.T) {
	ctx, pc := copyPGSetup(t)
	all := copyFields(3, copyIdentity, 0, 1, 2)
	tests := []struct{ name, opts, in string }{
		{"text escapes of every kind", "", "1\t\\x41\\101\\q\\\\\t\\N\n2\t\ta\\\nb\n3\t\\b\\f\\v\\x7\tend\n"},
		{"text CRLF line ends", "", "1\ta\tb\r\n2\t\\r\\n\tc\r\n"},
		{"text CR line ends", "", "1\ta\tb\r2\t\\\\N\tc\r"},
		{"text last row without a line end", "", "1\ta\tb\n2\tc\td"},
		{"text end marker after a row's data", "", "1\ta\tb\n2\tc\td\\.\n3\tnever\tstored\n"},
		{"text end marker on its own line", "", "1\ta\tb\n\\.\n3\tnever\tstored\n"},
		{"CSV quoting of every kind", "(FORMAT csv)", "1,\"a\"\"b\",\"\"\n2,,\"x\ny\"\n3,\"\\.\",z\"q\"z\n4,a\"b,c\"d,\n"},
		{"CSV CRLF line ends and quoted CRLF", "(FORMAT csv)", "1,\"a\r\nb\",c\r\n2,d,\r\n"},
		{"CSV end marker", "(FORMAT csv)", "1,a,b\n\\.\n3,never,stored\n"},
		{"CSV last row without a line end", "(FORMAT csv)", "1,a,b\n2,\"c\nd\",\"\""},
		{"CSV with a backslash escape", `(FORMAT csv, ESCAPE '\')`, "1,\"a\\\"b\\\\\",\"c\\d\"\n2,\"\\\\\",\"\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := copyText()
			if strings.Contains(tt.opts, "csv") {
				c = copyCSV()
				if strings.Contains(tt.opts, "ESCAPE") {
					c.Escape = `\`
				}
			}
			copyPGExec(t, ctx, pc, "TRUNCATE dst, ref")
			if _, err := pc.CopyFrom(ctx, strings.NewReader(tt.in), "COPY ref FROM STDIN "+tt.opts); err != nil {
				t.Fatalf("COPY ref FROM STDIN (raw input): %v", err)
			}
			in, _, err := copyRun(copyMustFormat(t, c), all, 0, copyChunks([]byte(tt.in), 3)...)
			if err != nil {
				t.Fatalf("identity(%q): %v", tt.in, err)
			}
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(in), "COPY dst FROM STDIN "+tt.opts); err != nil {
				t.Fatalf("COPY dst FROM STDIN (%q): %v", in, err)
			}
			if d := copyPGDiff(t, ctx, pc, "ref", "dst"); d != "0" {
				t.Errorf("identity(%q) = %q: %s rows differ from the raw load, want 0", tt.in, in, d)
			}
		})
	}
}

func TestCopyByteaHexLandsAsTheRightBytes(t *testing.T) {
	db := pgtest.New(t)
	conn := db.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pc := conn.PgConn()
	copyPGExec(t, ctx, pc, "CREATE TABLE bin (id int PRIMARY KEY, b bytea)")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := [][]byte{{}, all, []byte(`\x41`), []byte("a\tb\n,\"\\"), nil}
	for _, tc := range []copyPGCase{{"text", "", copyText()}, {"CSV", "(FORMAT csv)", copyCSV()}} {
		t.Run(tc.name, func(t *testing.T) {
			f := copyMustFormat(t, tc.c)
			copyPGExec(t, ctx, pc, "TRUNCATE bin")
			// The client sends placeholders; the transform swaps in each row's bytes, as encryption would.
			var src []byte
			for i := range values {
				src = fmt.Appendf(src, "%d%sv\n", i, tc.c.Delimiter)
			}
			row := 0
			seal := func(_ int, in []byte, null bool) ([]byte, bool, error) {
				v := values[row]
				row++
				return column.AppendByteaHex(nil, v), v == nil, nil
			}
			in, _, err := copyRun(f, []copyField{nil, seal}, 0, src)
			if err != nil {
				t.Fatalf("copyStream(bytea): %v", err)
			}
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(in), "COPY bin FROM STDIN "+tc.opts); err != nil {
				t.Fatalf("COPY bin FROM STDIN (%q): %v", in, err)
			}
			for _, output := range []string{"hex", "escape"} {
				copyPGExec(t, ctx, pc, "SET bytea_output = "+output)
				raw := copyPGTo(t, ctx, pc, "COPY (SELECT * FROM bin ORDER BY id) TO STDOUT "+tc.opts)
				var got [][]byte
				open := func(_ int, in []byte, null bool) ([]byte, bool, error) {
					b, err := column.DecodeByteaText(nil, in)
					if null {
						b = nil
					} else if b == nil {
						b = []byte{}
					}
					got = append(got, b)
					return in, null, err
				}
				if _, _, err := copyRun(f, []copyField{nil, open}, 0, raw); err != nil {
					t.Fatalf("copyStream(COPY TO, bytea_output=%s): %v", output, err)
				}
				if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", values) {
					t.Errorf("bytea_output=%s: stored %#v, want %#v", output, got, values)
				}
			}
		})
	}
}

func BenchmarkCopyStream(b *testing.B) {
	var rows []byte
	for i := 0; i < 1000; i++ {
		rows = fmt.Appendf(rows, "%d\tuser%d@example.com\tsome plain text, with a tab\\t and more\n", i, i)
	}
	benches := []struct {
		name string
		tr   []copyField
	}{
		{"pass-through", copyFields(3, nil)},
		{"one field transformed", copyFields(3, copyIdentity, 1)},
		{"every field transformed", copyFields(3, copyIdentity, 0, 1, 2)},
	}
	f := copyMustFormat(b, copyText())
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(rows)))
			b.ReportAllocs()
			emit := func([]byte) error { return nil }
			for i := 0; i < b.N; i++ {
				s := newCopyStream(f, bb.tr, 1<<20)
				for _, c := range copyChunks(rows, 8192) {
					if err := s.feed(c, emit); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.finish(emit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
