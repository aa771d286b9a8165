package seal

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// sealBinaryRows are Go values of every supported plaintext type, in sealTypes' order, as pgx
// sends them in binary; the last row is all NULL.
func sealBinaryRows(t *testing.T) [][]any {
	t.Helper()
	var num pgtype.Numeric
	if err := num.Scan("12.3400"); err != nil {
		t.Fatalf("Numeric.Scan() = %v", err)
	}
	var id pgtype.UUID
	if err := id.Scan("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"); err != nil {
		t.Fatalf("UUID.Scan() = %v", err)
	}
	full := []any{"héllo wörld", "v", int16(-12), int32(123456), int64(-9000000000), float32(1.5), 3.141592653589793, num, true,
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600)), id, `{"b": 1, "a": [1, 2]}`, `{"b": 1, "a": [1, 2.50]}`,
		[]byte{1, 2, 0, 0xff}}
	return [][]any{append([]any{int32(1)}, full...), append([]any{int32(2)}, make([]any, len(full))...)}
}

// sealBinaryEnv makes enc (encrypted columns of every type, stored as bytea) and pt (the same
// columns with their plaintext types).
func sealBinaryEnv(t *testing.T) (*sealEnv, []string) {
	var encCols, plainCols []string
	names := []string{"id"}
	var cols []config.Encrypt
	for _, ty := range sealTypes {
		name := "c_" + ty.typ
		names = append(names, name)
		encCols = append(encCols, name+" bytea")
		plainCols = append(plainCols, name+" "+ty.typ)
		cols = append(cols, config.Encrypt{Table: "enc", Column: name, Type: ty.typ})
	}
	schema := fmt.Sprintf("CREATE TABLE enc (id int, %s); CREATE TABLE pt (id int, %s);", strings.Join(encCols, ", "), strings.Join(plainCols, ", "))
	return newSealEnv(t, "multi", schema, cols), names
}

func TestSealCopyBinaryRoundTrip(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e, names := sealBinaryEnv(t)
	conn := e.connect(t, "", "acme")
	direct := e.direct(t)
	ctx := ctxT(t)
	rows := sealBinaryRows(t)
	// pgx's CopyFrom sends binary COPY: through pgseal into enc, directly into pt.
	if n, err := conn.CopyFrom(ctx, pgx.Identifier{"enc"}, names, pgx.CopyFromRows(rows)); err != nil || n != int64(len(rows)) {
		t.Fatalf("CopyFrom(enc) = %d, %v, want %d rows", n, err, len(rows))
	}
	if n, err := direct.CopyFrom(ctx, pgx.Identifier{"pt"}, names, pgx.CopyFromRows(rows)); err != nil || n != int64(len(rows)) {
		t.Fatalf("direct CopyFrom(pt) = %d, %v", n, err)
	}
	list := strings.Join(names, ", ")
	t.Run("rows read back through pgseal equal the plaintext table's, in both formats", func(t *testing.T) {
		for format := int16(0); format <= 1; format++ {
			got := conn.PgConn().ExecParams(ctx, "SELECT "+list+" FROM enc ORDER BY id", nil, nil, nil, []int16{format}).Read()
			want := direct.PgConn().ExecParams(ctx, "SELECT "+list+" FROM pt ORDER BY id", nil, nil, nil, []int16{format}).Read()
			if got.Err != nil || want.Err != nil || len(got.Rows) != len(rows) {
				t.Fatalf("SELECT format %d = %v / %v, %d rows", format, got.Err, want.Err, len(got.Rows))
			}
			for r := range got.Rows {
				for i, name := range names {
					if !bytes.Equal(got.Rows[r][i], want.Rows[r][i]) || (got.Rows[r][i] == nil) != (want.Rows[r][i] == nil) {
						t.Errorf("row %d %s format %d = %q, want %q", r, name, format, got.Rows[r][i], want.Rows[r][i])
					}
				}
			}
		}
	})
	t.Run("PostgreSQL stores only envelopes of the COPY's keyset", func(t *testing.T) {
		acme := e.keysetID(t, "acme")
		res := direct.PgConn().ExecParams(ctx, "SELECT "+strings.Join(names[1:], ", ")+" FROM enc WHERE id = 1", nil, nil, nil, []int16{1}).Read()
		if res.Err != nil || len(res.Rows) != 1 {
			t.Fatalf("direct SELECT = %v, %d rows", res.Err, len(res.Rows))
		}
		for i, v := range res.Rows[0] {
			if h, err := crypto.ParseHeader(v); err != nil || h.Keyset != acme {
				t.Errorf("stored %s = %x: header %v, %v, want an envelope of acme", names[i+1], v, h.Keyset, err)
			}
			if bytes.Contains(v, []byte("wörld")) {
				t.Errorf("stored %s holds plaintext", names[i+1])
			}
		}
	})
	for _, tc := range []struct{ name, via, ref string }{
		{"COPY TO binary of the table is byte-identical to the plaintext table's", "COPY enc TO STDOUT (FORMAT binary)", "COPY pt TO STDOUT (FORMAT binary)"},
		{"COPY TO binary with the legacy syntax and a column list", "COPY enc (c_jsonb, id, c_numeric) TO STDOUT WITH BINARY", "COPY pt (c_jsonb, id, c_numeric) TO STDOUT WITH BINARY"},
		{"COPY (query) TO binary", "COPY (SELECT c_text, c_timestamptz FROM enc ORDER BY id DESC) TO STDOUT (FORMAT binary)",
			"COPY (SELECT c_text, c_timestamptz FROM pt ORDER BY id DESC) TO STDOUT (FORMAT binary)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, want bytes.Buffer
			if _, err := conn.PgConn().CopyTo(ctx, &got, tc.via); err != nil {
				t.Fatalf("CopyTo() = %v", err)
			}
			if _, err := direct.PgConn().CopyTo(ctx, &want, tc.ref); err != nil {
				t.Fatalf("direct CopyTo() = %v", err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("CopyTo() = %x, want %x", got.Bytes(), want.Bytes())
			}
		})
	}
	t.Run("binary COPY TO of the stored rows loads back through pgseal", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := conn.PgConn().CopyTo(ctx, &out, "COPY enc TO STDOUT (FORMAT binary)"); err != nil {
			t.Fatalf("CopyTo() = %v", err)
		}
		// Two CopyData boundaries in odd places: the stream is re-chunked by the reader.
		if tag, err := conn.PgConn().CopyFrom(ctx, &oddReader{b: out.Bytes()}, "COPY enc FROM STDIN (FORMAT binary)"); err != nil || tag.RowsAffected() != int64(len(rows)) {
			t.Fatalf("CopyFrom() = %v, %v, want %d rows", tag, err, len(rows))
		}
	})
}

// oddReader hands out its bytes 7 at a time, so CopyData boundaries fall inside headers, counts,
// lengths and values.
type oddReader struct{ b []byte }

func (r *oddReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// sealBinaryStream renders a binary COPY stream of (id int4, c_int4, c_text) tuples from raw
// field bytes (nil = NULL).
func sealBinaryStream(tuples ...[][]byte) []byte {
	b := copyBinHeaderBytes()
	for _, tu := range tuples {
		b = append(b, copyBinTuple(tu...)...)
	}
	return append(b, copyBinTrailer...)
}

func TestSealCopyBinaryRefusesMalformedStreams(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e, _ := sealBinaryEnv(t)
	conn := e.connect(t, "", "acme")
	direct := e.direct(t)
	ctx := ctxT(t)
	one := [][]byte{{0, 0, 0, 1}, {0, 0, 0, 42}, []byte("secret-text")}
	good := sealBinaryStream(one)
	hdr := len(copyBinHeaderBytes())
	tests := []struct {
		name string
		data []byte
		code string // what PostgreSQL says for the same data into the plaintext table
	}{
		{"a stream cut inside a value", good[:len(good)-6], "22P04"},
		{"a stream cut inside a field length", good[:hdr+2+4+4+2], "22P04"},
		{"a field length below -1", append(append(sealBinaryStream()[:hdr], 0, 3, 0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0), copyBinTrailer...), "22P04"},
		{"a wrong field count", sealBinaryStream(one[:2]), "22P04"},
		{"a wrong signature", append([]byte("PGCOPY\n\377\r\n\001"), good[11:]...), "22P04"},
		{"data after the trailer", append(good, 0, 3), "22P04"},
		{"an int4 of five bytes in the second tuple", sealBinaryStream(one, [][]byte{{0, 0, 0, 2}, {0, 0, 0, 0, 1}, nil}), "22P03"},
		{"a bad first tuple followed by much more data", append(sealBinaryStream([][]byte{{0, 0, 0, 2}, {0, 0, 0, 0, 1}, nil}), bytes.Repeat(copyBinTuple(one...), 40000)...), "22P03"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := direct.PgConn().CopyFrom(ctx, bytes.NewReader(tc.data), "COPY pt (id, c_int4, c_text) FROM STDIN (FORMAT binary)")
			if got := stateOf(err); got != tc.code {
				t.Fatalf("direct CopyFrom() = %v, want SQLSTATE %s (the test's premise)", err, tc.code)
			}
			_, err = conn.PgConn().CopyFrom(ctx, &oddReader{b: tc.data}, "COPY enc (id, c_int4, c_text) FROM STDIN (FORMAT binary)")
			if got := stateOf(err); got != tc.code {
				t.Fatalf("CopyFrom() = %v, want SQLSTATE %s as PostgreSQL says", err, tc.code)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(pgError(err).Detail, "secret") {
				t.Fatalf("CopyFrom() error %q holds a value", err)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM enc").Scan(&n); err != nil || n != 0 {
				t.Fatalf("SELECT count(*) after the COPY = %d, %v, want 0 and a usable session", n, err)
			}
		})
	}
	t.Run("binary COPY in the extended protocol is prepared", func(t *testing.T) {
		for _, sql := range []string{"COPY enc FROM STDIN (FORMAT binary)", "COPY enc TO STDOUT (FORMAT binary)"} {
			if _, err := conn.PgConn().Prepare(ctx, "", sql, nil); err != nil {
				t.Fatalf("Prepare(%s) = %v", sql, err)
			}
		}
	})
	t.Run("an int4 of three bytes is a bad binary value", func(t *testing.T) {
		// PostgreSQL says 08P01 "insufficient data left in message" here (int4recv's pq_getmsgint);
		// pgseal's value package reports the data error 22P03, and the session stays usable.
		_, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(sealBinaryStream([][]byte{{0, 0, 0, 2}, {0, 0, 1}, nil})),
			"COPY enc (id, c_int4, c_text) FROM STDIN (FORMAT binary)")
		if got := stateOf(err); got != "22P03" {
			t.Fatalf("CopyFrom() = %v, want SQLSTATE 22P03", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM enc").Scan(&n); err != nil || n != 0 {
			t.Fatalf("SELECT count(*) after the COPY = %d, %v, want 0", n, err)
		}
	})
	t.Run("a row of another keyset fails binary COPY TO and the session stays usable", func(t *testing.T) {
		g := e.connect(t, "", "globex")
		if _, err := g.Exec(ctx, "INSERT INTO enc (id, c_text) VALUES (9, 'g')"); err != nil {
			t.Fatalf("INSERT as globex = %v", err)
		}
		_, err := conn.PgConn().CopyTo(ctx, &bytes.Buffer{}, "COPY enc (id, c_text) TO STDOUT (FORMAT binary)")
		if got := stateOf(err); got != "42501" {
			t.Fatalf("CopyTo() = %v, want SQLSTATE 42501", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM enc").Scan(&n); err != nil || n != 1 {
			t.Fatalf("SELECT count(*) after the COPY = %d, %v, want 1", n, err)
		}
	})
}
