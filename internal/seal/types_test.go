package seal

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/config"
)

// sealTypes are the supported plaintext types with a sample value each (as SQL literal text).
var sealTypes = []struct{ typ, lit string }{
	{"text", "héllo wörld"}, {"varchar", "v"}, {"int2", "-12"}, {"int4", "123456"}, {"int8", "-9000000000"},
	{"float4", "1.5"}, {"float8", "3.141592653589793"}, {"numeric", "12.3400"}, {"bool", "true"},
	{"date", "2024-02-29"}, {"timestamp", "2024-01-02 03:04:05.123456"}, {"timestamptz", "2024-01-02 03:04:05+02"},
	{"uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}, {"json", `{"b": 1, "a": [1, 2]}`}, {"jsonb", `{"b": 1, "a": [1, 2.50]}`},
	{"bytea", `\x0102ff`},
}

// TestSealEveryTypeMatchesPostgreSQL checks, byte for byte in text and binary result formats,
// that an encrypted column reads exactly like a plaintext column of the same type, whether the
// value was written as a literal, a text parameter or a binary parameter.
func TestSealEveryTypeMatchesPostgreSQL(t *testing.T) {
	var encCols, plainCols, names, lits []string
	var cols []config.Encrypt
	for _, ty := range sealTypes {
		name := "c_" + ty.typ
		names = append(names, name)
		encCols = append(encCols, name+" bytea")
		plainCols = append(plainCols, name+" "+ty.typ)
		lits = append(lits, "'"+strings.ReplaceAll(ty.lit, "'", "''")+"'")
		search := []string{"eq"}
		if ty.typ == "json" {
			search = nil
		}
		cols = append(cols, config.Encrypt{Table: "enc", Column: name, Type: ty.typ, Search: search})
	}
	schema := fmt.Sprintf("CREATE TABLE enc (id int, %s); CREATE TABLE pt (id int, %s); INSERT INTO pt VALUES (1, %s);",
		strings.Join(encCols, ", "), strings.Join(plainCols, ", "), strings.Join(lits, ", "))
	e := newSealEnv(t, "multi", schema, cols)
	conn := e.connect(t, "", "acme").PgConn()
	ctx := ctxT(t)
	list := strings.Join(names, ", ")
	placeholders := make([]string, len(names))
	for i := range names {
		placeholders[i] = fmt.Sprintf("$%d", i+2)
	}
	// Row 1: literals (simple protocol).
	if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO enc VALUES (1, %s)", strings.Join(lits, ", "))).ReadAll(); err != nil {
		t.Fatalf("INSERT literals = %v", err)
	}
	// Rows 2 and 3: the plaintext row's own text and binary values as parameters.
	for format := int16(0); format <= 1; format++ {
		res := conn.ExecParams(ctx, "SELECT "+list+" FROM pt", nil, nil, nil, []int16{format}).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		params := append([][]byte{[]byte(fmt.Sprint(2 + format))}, res.Rows[0]...)
		formats := make([]int16, len(params))
		for i := 1; i < len(formats); i++ {
			formats[i] = format
		}
		if r := conn.ExecParams(ctx, fmt.Sprintf("INSERT INTO enc VALUES ($1, %s)", strings.Join(placeholders, ", ")), params, nil, formats, nil).Read(); r.Err != nil {
			t.Fatalf("INSERT with format %d parameters = %v", format, r.Err)
		}
	}
	for id := 1; id <= 3; id++ {
		for format := int16(0); format <= 1; format++ {
			want := conn.ExecParams(ctx, "SELECT "+list+" FROM pt", nil, nil, nil, []int16{format}).Read()
			got := conn.ExecParams(ctx, "SELECT "+list+" FROM enc WHERE id = $1", [][]byte{[]byte(fmt.Sprint(id))}, nil, nil, []int16{format}).Read()
			if got.Err != nil || want.Err != nil || len(got.Rows) != 1 {
				t.Fatalf("row %d format %d: %v / %v, %d rows", id, format, got.Err, want.Err, len(got.Rows))
			}
			for i, name := range names {
				if !bytes.Equal(got.Rows[0][i], want.Rows[0][i]) {
					t.Errorf("row %d %s format %d = %q, want %q", id, name, format, got.Rows[0][i], want.Rows[0][i])
				}
				if got.FieldDescriptions[i].DataTypeOID != want.FieldDescriptions[i].DataTypeOID {
					t.Errorf("%s OID = %d, want %d", name, got.FieldDescriptions[i].DataTypeOID, want.FieldDescriptions[i].DataTypeOID)
				}
			}
		}
	}
	// A described statement: pgseal then asks PostgreSQL for the encrypted columns in binary and
	// answers in the format the client asked for (formats.go), one code for all or one per
	// column, mixed.
	// The plaintext id column comes first: its format must stay the client's.
	if _, err := conn.Prepare(ctx, "enc_by_id", "SELECT id, "+list+" FROM enc WHERE id = $1", nil); err != nil {
		t.Fatalf("Prepare = %v", err)
	}
	mixed := make([]int16, len(names)+1)
	for i := range mixed {
		mixed[i] = int16(i % 2)
	}
	before := upstreamBinary.Load()
	for _, codes := range [][]int16{nil, {0}, {1}, mixed} {
		for id := 1; id <= 3; id++ {
			arg := [][]byte{[]byte(fmt.Sprint(id))}
			want := conn.ExecParams(ctx, "SELECT $1::int, "+list+" FROM pt", arg, nil, nil, codes).Read()
			got := conn.ExecPrepared(ctx, "enc_by_id", arg, nil, codes).Read()
			if got.Err != nil || want.Err != nil || len(got.Rows) != 1 {
				t.Fatalf("prepared, row %d, codes %v: %v / %v, %d rows", id, codes, got.Err, want.Err, len(got.Rows))
			}
			for i, name := range append([]string{"id"}, names...) {
				if !bytes.Equal(got.Rows[0][i], want.Rows[0][i]) {
					t.Errorf("prepared, row %d %s codes %v = %q, want %q", id, name, codes, got.Rows[0][i], want.Rows[0][i])
				}
				if g, w := got.FieldDescriptions[i].Format, want.FieldDescriptions[i].Format; g != w {
					t.Errorf("prepared, %s codes %v: described format %d, want %d", name, codes, g, w)
				}
			}
		}
	}
	if upstreamBinary.Load()-before < 9 { // all but the all-binary code
		t.Errorf("%d Binds asked PostgreSQL for binary envelopes, want 9", upstreamBinary.Load()-before)
	}
	// Simple protocol text results and equality on every type with a term.
	rr := conn.Exec(ctx, "SELECT "+list+" FROM enc WHERE c_int8 = '-9000000000' AND c_numeric = 12.34 AND c_jsonb = '{\"a\": [1, 2.5], \"b\": 1}'")
	results, err := rr.ReadAll()
	if err != nil || len(results) != 1 || len(results[0].Rows) != 3 {
		t.Fatalf("simple SELECT with equality = %v, %v", results, err)
	}
	d := e.direct(t)
	var raw []byte
	if err := d.QueryRow(ctx, "SELECT c_text FROM enc WHERE id = 1").Scan(&raw); err != nil || bytes.Contains(raw, []byte("wörld")) {
		t.Fatalf("stored c_text = %x, %v, want ciphertext", raw, err)
	}
	_ = pgconn.CommandTag{}
}
