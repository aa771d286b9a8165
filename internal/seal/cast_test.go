package seal

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// castColumns are the encrypted columns of the cast tests with their plaintext types.
var castColumns = []struct {
	name, typ string
	mods      []int
}{
	{"t", "text", nil}, {"v", "varchar", nil}, {"s2", "int2", nil}, {"s4", "int4", nil}, {"s8", "int8", nil},
	{"d", "date", nil}, {"ts", "timestamp", nil}, {"tz", "timestamptz", nil}, {"v5", "varchar", []int{5}},
	{"f8", "float8", nil}, {"f4", "float4", nil},
}

// castCase is one statement run on the encrypted table enc through pgseal and on the plaintext
// table pt directly; %[1]s is the table. params nil: simple protocol.
type castCase struct {
	name    string
	id      int // the row an INSERT or UPDATE writes (0: none)
	sql     string
	params  [][]byte
	formats []int16
}

func int8Bytes(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// newCastEnv makes enc (bytea columns, encrypted with equality search) and pt (plaintext).
func newCastEnv(t *testing.T) (*sealEnv, *pgconn.PgConn, *pgconn.PgConn) {
	var enc, plain []string
	var cols []config.Encrypt
	for _, c := range castColumns {
		enc = append(enc, c.name+" bytea")
		typ := c.typ
		if c.mods != nil {
			typ += fmt.Sprintf("(%d)", c.mods[0])
		}
		plain = append(plain, c.name+" "+typ)
		cols = append(cols, config.Encrypt{Table: "enc", Column: c.name, Type: c.typ, Search: []string{"eq"}, Modifiers: c.mods})
	}
	schema := fmt.Sprintf("CREATE TABLE enc (id int, %s); CREATE TABLE pt (id int, %s);", strings.Join(enc, ", "), strings.Join(plain, ", "))
	e := newSealEnv(t, "multi", schema, cols)
	return e, e.connect(t, "", "acme").PgConn(), e.direct(t).PgConn()
}

// runOn runs c on table (simple protocol without params) and returns its rows in result format
// rf, or the SQLSTATE of its error.
func runOn(t *testing.T, pc *pgconn.PgConn, c castCase, table string, rf int16) ([][][]byte, string) {
	t.Helper()
	sql := fmt.Sprintf(c.sql, table)
	if c.params == nil {
		res, err := pc.Exec(ctxT(t), sql).ReadAll()
		if err != nil {
			return nil, sqlstateOf(t, err)
		}
		return res[len(res)-1].Rows, ""
	}
	res := pc.ExecParams(ctxT(t), sql, c.params, nil, c.formats, []int16{rf}).Read()
	if res.Err != nil {
		return nil, sqlstateOf(t, res.Err)
	}
	return res.Rows, ""
}

func sqlstateOf(t *testing.T, err error) string {
	t.Helper()
	pe := pgError(err)
	if pe.Code == "" {
		t.Fatalf("not a server error: %v", err)
	}
	return pe.Code
}

// sameAsPlain runs c on both tables and fails unless both give the same rows or the same SQLSTATE.
func sameAsPlain(t *testing.T, proxy, direct *pgconn.PgConn, c castCase) string {
	t.Helper()
	got, gotCode := runOn(t, proxy, c, "enc", 0)
	want, wantCode := runOn(t, direct, c, "pt", 0)
	if gotCode != wantCode || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("through pgseal = %q, SQLSTATE %q; plaintext table = %q, SQLSTATE %q", got, gotCode, want, wantCode)
	}
	return gotCode
}

// sameRow compares row id of enc (through pgseal) and pt (directly), text and binary, and checks
// that PostgreSQL holds only envelopes for it.
func sameRow(t *testing.T, proxy, direct *pgconn.PgConn, id int) {
	t.Helper()
	var names []string
	for _, c := range castColumns {
		names = append(names, c.name)
	}
	read := castCase{sql: "SELECT " + strings.Join(names, ", ") + " FROM %s WHERE id = $1", params: [][]byte{[]byte(fmt.Sprint(id))}}
	for rf := int16(0); rf <= 1; rf++ {
		got, gotCode := runOn(t, proxy, read, "enc", rf)
		want, wantCode := runOn(t, direct, read, "pt", rf)
		if gotCode != "" || wantCode != "" || len(got) != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("row %d format %d = %q (%s), want %q (%s)", id, rf, got, gotCode, want, wantCode)
		}
	}
	raw, code := runOn(t, direct, read, "enc", 1)
	if code != "" || len(raw) != 1 {
		t.Fatalf("direct read of enc row %d: %s, %d rows", id, code, len(raw))
	}
	for i, v := range raw[0] {
		if _, err := crypto.ParseHeader(v); v != nil && err != nil {
			t.Errorf("enc.%s of row %d = %x, want an envelope", names[i], id, v)
		}
	}
}

// TestSealCastsMatchPostgreSQL writes values cast to another type of the column's family (text
// and varchar; int2, int4 and int8) through pgseal and checks that what is stored and read back,
// and every error's SQLSTATE, match the same statement on a plaintext table.
func TestSealCastsMatchPostgreSQL(t *testing.T) {
	_, proxy, direct := newCastEnv(t)
	inserts := []castCase{
		{"CAST AS varchar into text and varchar", 1, "INSERT INTO %s (id, t, v) VALUES (1, CAST('a@x' AS varchar), 'héllo '::text)", nil, nil},
		{"typed literal varchar 'b' into text", 2, "INSERT INTO %s (id, t) VALUES (2, varchar 'b')", nil, nil},
		{"$N::varchar into text", 3, "INSERT INTO %s (id, t, v) VALUES ($1, $2::varchar, CAST($3 AS text))", [][]byte{[]byte("3"), []byte("x y"), []byte("z")}, nil},
		{"widening int2 and int4 literals", 4, "INSERT INTO %s (id, s4, s8) VALUES (4, '-32768'::int2, 2147483647::int4)", nil, nil},
		{"narrowing int8 literals that fit", 5, "INSERT INTO %s (id, s2, s4) VALUES (5, '32767'::int8, '-2147483648'::bigint)", nil, nil},
		{"narrowing an int8 literal out of int4 range", 6, "INSERT INTO %s (id, s4) VALUES (6, '2147483648'::int8)", nil, nil},
		{"narrowing an int4 literal out of int2 range", 7, "INSERT INTO %s (id, s2) VALUES (7, 40000::int4)", nil, nil},
		{"an int2 cast out of its own range into int8", 8, "INSERT INTO %s (id, s8) VALUES (8, '40000'::int2)", nil, nil},
		{"an invalid int8 literal into int4", 9, "INSERT INTO %s (id, s4) VALUES (9, 'abc'::int8)", nil, nil},
		{"$N::int8 into int4 and int2 (text)", 10, "INSERT INTO %s (id, s4, s2) VALUES ($1, $2::int8, $3::int8)", [][]byte{[]byte("10"), []byte("-5"), []byte("12")}, nil},
		{"$N::int8 out of int4 range (text)", 11, "INSERT INTO %s (id, s4) VALUES ($1, $2::int8)", [][]byte{[]byte("11"), []byte("3000000000")}, nil},
		{"$N::int8 into int4 (binary)", 12, "INSERT INTO %s (id, s4) VALUES ($1, $2::int8)", [][]byte{[]byte("12"), int8Bytes(77)}, []int16{0, 1}},
		{"$N::int8 out of int4 range (binary)", 13, "INSERT INTO %s (id, s4) VALUES ($1, $2::int8)", [][]byte{[]byte("13"), int8Bytes(1 << 40)}, []int16{0, 1}},
		{"$N::int2 into int8, out of int2 range", 14, "INSERT INTO %s (id, s8) VALUES ($1, $2::int2)", [][]byte{[]byte("14"), []byte("40000")}, nil},
		{"varchar(n) truncates an explicit cast", 15, "INSERT INTO %s (id, t, v) VALUES (15, 'abcdef'::varchar(3), CAST('日本語テキスト' AS character varying(4)))", nil, nil},
		{"$N::varchar(n) truncates", 16, "INSERT INTO %s (id, t, v) VALUES ($1, $2::varchar(2), $3::varchar(9))", [][]byte{[]byte("16"), []byte("héllo"), []byte("short")}, nil},
		{"NULL cast to the column's family", 17, "INSERT INTO %s (id, t, v, s4, d) VALUES (17, NULL::varchar, CAST(NULL AS text), NULL::int8, NULL::timestamptz)", nil, nil},
		{"NULL cast to the column's own type", 18, "INSERT INTO %s (id, t, s4) VALUES (18, NULL::text, NULL::int4)", nil, nil},
		{"UPDATE SET with casts", 4, "UPDATE %s SET s4 = $2::int8, t = $3::varchar WHERE id = $1", [][]byte{[]byte("4"), []byte("9"), []byte("u")}, nil},
		{"varchar(5) column: trailing spaces beyond 5 are cut", 19, "INSERT INTO %s (id, v5) VALUES (19, 'abcde   ')", nil, nil},
		{"varchar(5) column: a longer value is 22001", 20, "INSERT INTO %s (id, v5) VALUES (20, 'abcdef')", nil, nil},
		{"varchar(5) column: characters, not bytes", 21, "INSERT INTO %s (id, v5) VALUES ($1, $2)", [][]byte{[]byte("21"), []byte("héllö")}, nil},
		{"varchar(5) column: a longer parameter is 22001", 22, "INSERT INTO %s (id, v5) VALUES ($1, $2)", [][]byte{[]byte("22"), []byte("héllö!")}, nil},
		{"varchar(5) column: an explicit varchar(8) cast, then the assignment", 23, "INSERT INTO %s (id, v5) VALUES (23, 'abcdefghij'::varchar(8))", nil, nil},
		{"varchar(5) column: UPDATE SET too long", 19, "UPDATE %s SET v5 = 'xxxxxx' WHERE id = 19", nil, nil},
		// An unquoted 1.5 is a numeric constant: it reaches a float column as numeric_out's text
		// (no negative zero), a quoted one as written.
		{"unquoted numeric constants into float columns", 24, "INSERT INTO %s (id, f8, f4) VALUES (24, -0.0, 0.1)", nil, nil},
		{"unquoted numeric constants with exponents", 25, "INSERT INTO %s (id, f8, f4) VALUES (25, 1.5e1, -0.000)", nil, nil},
		{"an unquoted numeric constant beyond float8", 26, "INSERT INTO %s (id, f8) VALUES (26, 1e400)", nil, nil},
		{"an unquoted numeric constant beyond float4", 26, "INSERT INTO %s (id, f4) VALUES (26, 1e39)", nil, nil},
		{"quoted negative zeros stay negative", 27, "INSERT INTO %s (id, f8, f4) VALUES (27, '-0.0', '-0')", nil, nil},
		{"UPDATE SET an unquoted numeric constant", 27, "UPDATE %s SET f8 = -0.0, f4 = 2.5e-1 WHERE id = 27", nil, nil},
		{"unquoted decimals into integer columns round half away from zero", 28, "INSERT INTO %s (id, s2, s4, s8) VALUES (28, 2.5, -2.5, 1e3)", nil, nil},
		{"an unquoted decimal that rounds beyond int4", 29, "INSERT INTO %s (id, s4) VALUES (29, 2147483647.5)", nil, nil},
		{"UPDATE SET an integer column to a decimal", 28, "UPDATE %s SET s4 = 0.5 WHERE id = 28", nil, nil},
		{"unquoted numbers into text columns are numeric_out's text", 32, "INSERT INTO %s (id, t, v) VALUES (32, 1e3, 0099999999999)", nil, nil},
		{"UPDATE SET text columns to unquoted decimals", 32, "UPDATE %s SET t = 007.50, v = -0.0 WHERE id = 32", nil, nil},
		{"an unquoted decimal too long for varchar(5)", 33, "INSERT INTO %s (id, v5) VALUES (33, 123456.5)", nil, nil},
		{"an unquoted number into a date column is 42804", 34, "INSERT INTO %s (id, d) VALUES (34, 20200101)", nil, nil},
		{"a boolean into a timestamp column is 42804", 35, "UPDATE %s SET ts = true WHERE id = 1", nil, nil},
		{"a boolean into a text column is its text", 36, "INSERT INTO %s (id, t, v) VALUES (36, true, false)", nil, nil},
		{"decimals cast to integer types round half away from zero", 37, "INSERT INTO %s (id, s2, s4, s8) VALUES (37, 2.5::int2, 1.5::int8, CAST(-7.5e0 AS int4))", nil, nil},
		{"a decimal cast to int2 beyond its range is 22003", 38, "INSERT INTO %s (id, s8) VALUES (38, 32767.5::int2)", nil, nil},
		{"a decimal cast to int8 far beyond its range is 22003", 38, "INSERT INTO %s (id, s8) VALUES (38, 1e1000000::int8)", nil, nil},
	}
	for _, c := range inserts {
		t.Run(c.name, func(t *testing.T) {
			if sameAsPlain(t, proxy, direct, c) == "" {
				sameRow(t, proxy, direct, c.id)
			}
		})
	}
	t.Run("COPY into the varchar(5) column fits or fails like PostgreSQL", func(t *testing.T) {
		for _, c := range []struct{ data, code string }{{"30\tabcde  \n", ""}, {"31\tabcdef\n", "22001"}} {
			sql := "COPY %s (id, v5) FROM STDIN"
			_, gotErr := proxy.CopyFrom(ctxT(t), strings.NewReader(c.data), fmt.Sprintf(sql, "enc"))
			_, wantErr := direct.CopyFrom(ctxT(t), strings.NewReader(c.data), fmt.Sprintf(sql, "pt"))
			if pgError(gotErr).Code != c.code || pgError(wantErr).Code != c.code {
				t.Fatalf("COPY %q: through pgseal %v, direct %v; want SQLSTATE %q", c.data, gotErr, wantErr, c.code)
			}
		}
		sameRow(t, proxy, direct, 30)
	})
	selects := []castCase{
		{"text = literal::varchar", 0, "SELECT id FROM %s WHERE t = 'a@x'::varchar ORDER BY id", nil, nil},
		{"varchar = $N::text", 0, "SELECT id FROM %s WHERE v = $1::text ORDER BY id", [][]byte{[]byte("héllo ")}, nil},
		{"text IN (CAST AS varchar)", 0, "SELECT id FROM %s WHERE t IN (CAST($1 AS VARCHAR), 'b'::varchar) ORDER BY id", [][]byte{[]byte("x y")}, nil},
		{"int8 = literal::int4", 0, "SELECT id FROM %s WHERE s8 = '2147483647'::int4 ORDER BY id", nil, nil},
		{"int4 = $N::int2", 0, "SELECT id FROM %s WHERE s4 = $1::int2 ORDER BY id", [][]byte{[]byte("9")}, nil},
		{"int4 = $N::int2 out of int2 range", 0, "SELECT id FROM %s WHERE s4 = $1::int2 ORDER BY id", [][]byte{[]byte("40000")}, nil},
		{"int8 <> $N::int4", 0, "SELECT id FROM %s WHERE s8 <> $1::int4 ORDER BY id", [][]byte{[]byte("5")}, nil},
		{"text = $N::varchar(n)", 0, "SELECT id FROM %s WHERE t = $1::varchar(3) ORDER BY id", [][]byte{[]byte("abcxyz")}, nil},
		{"varchar IN literals cast to varchar(n)", 0, "SELECT id FROM %s WHERE v IN ('日本語テ…'::varchar(4), 'hé'::varchar(1)) ORDER BY id", nil, nil},
		{"int4 = $N::int8 in range", 0, "SELECT id FROM %s WHERE s4 = $1::int8 ORDER BY id", [][]byte{[]byte("9")}, nil},
		{"int4 = $N::int8 out of int4 range matches nothing", 0, "SELECT id FROM %s WHERE s4 = $1::int8 ORDER BY id", [][]byte{[]byte("3000000000")}, nil},
		{"int4 <> $N::int8 out of int4 range is true", 0, "SELECT id FROM %s WHERE s4 <> $1::int8 ORDER BY id", [][]byte{[]byte("-3000000000")}, nil},
		{"int4 = $N::int8 out of int8 range", 0, "SELECT id FROM %s WHERE s4 = $1::int8 ORDER BY id", [][]byte{[]byte("9999999999999999999")}, nil},
		{"int4 = $N::int8 out of int4 range (binary)", 0, "SELECT id FROM %s WHERE s4 = $1::int8 ORDER BY id", [][]byte{int8Bytes(1 << 40)}, []int16{1}},
		{"int2 IN literals cast to int4 and int8", 0, "SELECT id FROM %s WHERE s2 IN ('12'::int4, 70000::int4, '-9999999999'::int8) ORDER BY id", nil, nil},
		{"int2 NOT IN out of range", 0, "SELECT id FROM %s WHERE s2 NOT IN ('70000'::int4) ORDER BY id", nil, nil},
		{"int2 = ANY(ARRAY[…]) out of range", 0, "SELECT id FROM %s WHERE s2 = ANY(ARRAY['32767'::int8, 40000::int4]) ORDER BY id", nil, nil},
		{"literal casts in an extended statement", 0, "SELECT id FROM %s WHERE s4 = '3000000000'::int8 OR t = 'abcdef'::varchar(3) OR v = $1::varchar ORDER BY id", [][]byte{[]byte("z")}, nil},
		{"= NULL cast to the column's family", 0, "SELECT id FROM %s WHERE t = NULL::varchar OR s4 = CAST(NULL AS int8) ORDER BY id", nil, nil},
		{"comparison in the output", 0, "SELECT id, s4 = $1::int8, s4 <> $1::int8 FROM %s ORDER BY id", [][]byte{[]byte("3000000000")}, nil},
		{"int2 = a bare integer beyond int2 (int24eq) matches nothing", 0, "SELECT id FROM %s WHERE s2 = 70000 ORDER BY id", nil, nil},
		{"int2 <> a bare integer beyond int2 is true", 0, "SELECT id FROM %s WHERE s2 <> -70000 ORDER BY id", nil, nil},
		{"int4 = a bare integer beyond int4 (int48eq) matches nothing", 0, "SELECT id FROM %s WHERE s4 = 3000000000 ORDER BY id", nil, nil},
		{"int2 IN bare integers in and beyond range", 0, "SELECT id FROM %s WHERE s2 IN (12, 70000, 9000000000) ORDER BY id", nil, nil},
		{"a quoted constant beyond int2 is still 22003", 0, "SELECT id FROM %s WHERE s2 = '70000' ORDER BY id", nil, nil},
		{"float8 = unquoted numeric constants", 0, "SELECT id FROM %s WHERE f8 = -0.0 OR f8 = 1.5e1 ORDER BY id", nil, nil},
		{"float8 IN unquoted numeric constants", 0, "SELECT id FROM %s WHERE f8 IN (0.0, 15.0) ORDER BY id", nil, nil},
		{"float8 = an unquoted constant beyond float8", 0, "SELECT id FROM %s WHERE f8 = 1e400 ORDER BY id", nil, nil},
		// float4 = 0.25 compares in float8 on PostgreSQL's side, = ANY over two values in float4.
		{"float4 = numbers float4 holds exactly", 0, "SELECT id FROM %s WHERE f4 = 0.25 OR f4 = 16777216 ORDER BY id", nil, nil},
		{"float4 IN two numbers (compared as float4)", 0, "SELECT id FROM %s WHERE f4 IN (0.1, 2.5) ORDER BY id", nil, nil},
		{"float4 = a quoted number (compared as float4)", 0, "SELECT id FROM %s WHERE f4 = '0.1' ORDER BY id", nil, nil},
		{"float4 = a number cast to real (compared as float4)", 0, "SELECT id FROM %s WHERE f4 = 0.1::real ORDER BY id", nil, nil},
		{"float4 = a number float4 cannot hold (compared as float8)", 0, "SELECT id FROM %s WHERE f4 = 0.1 OR f4 = 16777217 ORDER BY id", nil, nil},
		{"float4 <> and IN one number float4 cannot hold", 0, "SELECT id FROM %s WHERE f4 <> 0.1 OR f4 IN (0.30000001) ORDER BY id", nil, nil},
		{"integers = whole decimals (compared as numeric)", 0, "SELECT id FROM %s WHERE s4 = 1.0 OR s8 = 1e3 OR s2 IN (3.0, 4) ORDER BY id", nil, nil},
		{"int4 = a whole decimal beyond int4 matches nothing", 0, "SELECT id FROM %s WHERE s4 = 1e10 OR s4 <> -1e10 ORDER BY id", nil, nil},
		{"int4 = a fractional decimal matches nothing", 0, "SELECT id FROM %s WHERE s4 = 1.5 OR s4 = -9.000001 ORDER BY id", nil, nil},
		{"int4 <> a fractional decimal is true", 0, "SELECT id FROM %s WHERE s4 <> 9.5 ORDER BY id", nil, nil},
		{"int4 = a decimal cast to int4 (rounded)", 0, "SELECT id FROM %s WHERE s4 = 1.5::int4 OR s8 IN (1999.5::int8, 3) ORDER BY id", nil, nil},
		{"int2 = a decimal cast to int2 beyond its range", 0, "SELECT id FROM %s WHERE s2 = 40000.1::int2", nil, nil},
		{"int8 = ANY(ARRAY[decimals cast to int8])", 0, "SELECT id FROM %s WHERE s8 = ANY(ARRAY[1999.5::int8, 2.4::int8]) ORDER BY id", nil, nil},
		{"int8 IN decimals and an integer", 0, "SELECT id FROM %s WHERE s8 IN (1999.5, 2) ORDER BY id", nil, nil},
		{"integers IN fractional decimals and ones beyond bigint", 0, "SELECT id FROM %s WHERE s8 IN (1e30, 1000.5, 1000) OR s2 NOT IN (-1e30, 12.5) ORDER BY id", nil, nil},
		{"int4 = a decimal beyond numeric's format is 22003", 0, "SELECT id FROM %s WHERE s4 = 1e-1000000", nil, nil},
		{"int8 = numbers beyond bigint", 0, "SELECT id FROM %s WHERE s8 = 9223372036854775808 OR s8 = -9223372036854775809.5 ORDER BY id", nil, nil},
		// No operator: 42883, as on the plaintext table.
		{"text = an unquoted number", 0, "SELECT id FROM %s WHERE t = 5", nil, nil},
		{"varchar IN unquoted numbers", 0, "SELECT id FROM %s WHERE v IN (1, 2)", nil, nil},
		{"text NOT IN an unquoted decimal", 0, "SELECT id FROM %s WHERE t NOT IN (1.5)", nil, nil},
		{"text IS DISTINCT FROM an unquoted number", 0, "SELECT id FROM %s WHERE t IS DISTINCT FROM 5", nil, nil},
		{"date = an unquoted number", 0, "SELECT id FROM %s WHERE d = 20200101", nil, nil},
		{"int4 = a boolean", 0, "SELECT id FROM %s WHERE s4 = true", nil, nil},
		{"an unquoted number = timestamp", 0, "SELECT id FROM %s WHERE 5 = ts", nil, nil},
	}
	for _, c := range selects {
		t.Run(c.name, func(t *testing.T) { sameAsPlain(t, proxy, direct, c) })
	}
}

// TestSealCastsPgsealCannotFollowAreRefused checks that casts whose result pgseal cannot
// reproduce exactly are refused with 0A000, and logs what PostgreSQL does with them.
func TestSealCastsPgsealCannotFollowAreRefused(t *testing.T) {
	_, proxy, direct := newCastEnv(t)
	cases := []castCase{
		{"date compared with a timestamp", 0, "SELECT id FROM %s WHERE d = '2024-01-02 10:00'::timestamp", nil, nil},
		{"bpchar drops trailing spaces", 0, "INSERT INTO %s (id, t) VALUES (4, 'a  '::bpchar)", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, code := runOn(t, proxy, c, "enc", 0)
			if code != sqlstate.FeatureNotSupported {
				t.Fatalf("through pgseal: SQLSTATE %q, want 0A000", code)
			}
			rows, want := runOn(t, direct, c, "pt", 0)
			t.Logf("PostgreSQL on a plaintext table: rows %q, SQLSTATE %q", rows, want)
		})
	}
	// For the record (doc.go): an explicit varchar(n) cast truncates, an assignment errors.
	for _, sql := range []string{"CREATE TEMP TABLE v3 (v varchar(3)); INSERT INTO v3 VALUES ('abcdef')"} {
		rows, code := runOn(t, direct, castCase{sql: sql + "%.0s"}, "", 0)
		t.Logf("PostgreSQL: %s = %q, SQLSTATE %q", sql, rows, code)
	}
}

// TestSealCastParamsInEveryPgxMode runs cast parameters through pgx's query modes: the modes
// that describe first encode Go values by the parameter types pgseal reports (the cast's type,
// as PostgreSQL would), so an int64 for `$2::int8` reaches an int4 column with its range checked.
func TestSealCastParamsInEveryPgxMode(t *testing.T) {
	e, _, _ := newCastEnv(t)
	proxy := e.connect(t, "", "acme")
	direct := e.direct(t)
	ctx := ctxT(t)
	for i, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			for _, v := range []int64{-5, 3000000000} {
				sql := "INSERT INTO %s (id, s4, t) VALUES ($1, $2::int8, $3::varchar)"
				_, gotErr := proxy.Exec(ctx, fmt.Sprintf(sql, "enc"), mode, i, v, "m")
				_, wantErr := direct.Exec(ctx, fmt.Sprintf(sql, "pt"), mode, i, v, "m")
				if pgError(gotErr).Code != pgError(wantErr).Code || (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("INSERT %d = %v, want %v", v, gotErr, wantErr)
				}
			}
			var got, want int32
			sql := "SELECT s4 FROM %s WHERE id = $1 AND t = $2::varchar AND s4 = $3::int2"
			if err := proxy.QueryRow(ctx, fmt.Sprintf(sql, "enc"), mode, i, "m", int16(-5)).Scan(&got); err != nil {
				t.Fatalf("SELECT through pgseal = %v", err)
			}
			if err := direct.QueryRow(ctx, fmt.Sprintf(sql, "pt"), mode, i, "m", int16(-5)).Scan(&want); err != nil {
				t.Fatalf("SELECT direct = %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SELECT = %v, want %v", got, want)
			}
			any := "SELECT count(*) FROM %s WHERE t = ANY($1::varchar[]) AND id = $2"
			if err := proxy.QueryRow(ctx, fmt.Sprintf(any, "enc"), mode, []string{"x", "m"}, i).Scan(&got); err != nil {
				t.Fatalf("= ANY($1::varchar[]) through pgseal = %v", err)
			}
			if err := direct.QueryRow(ctx, fmt.Sprintf(any, "pt"), mode, []string{"x", "m"}, i).Scan(&want); err != nil {
				t.Fatalf("= ANY($1::varchar[]) direct = %v", err)
			}
			if got != want || got != 1 {
				t.Errorf("= ANY($1::varchar[]) count = %d, want %d (and 1)", got, want)
			}
		})
	}
}

// TestSealDatetimeCastsFollowTimeZone stores date, timestamp and timestamptz values cast to one of
// the others under several session time zones (set through pgseal, which follows them) and
// compares with PostgreSQL on a plaintext table, around DST gaps and at the ends of the ranges.
func TestSealDatetimeCastsFollowTimeZone(t *testing.T) {
	_, proxy, direct := newCastEnv(t)
	id := 0
	for _, zone := range []string{"UTC", "America/Sao_Paulo", "Asia/Kolkata", "America/New_York"} {
		for _, pc := range []*pgconn.PgConn{proxy, direct} {
			if _, err := pc.Exec(ctxT(t), "SET TimeZone = '"+zone+"'").ReadAll(); err != nil {
				t.Fatal(err)
			}
		}
		p := func(vs ...string) [][]byte {
			id++
			out := [][]byte{[]byte(fmt.Sprint(id))}
			for _, v := range vs {
				out = append(out, []byte(v))
			}
			return out
		}
		for _, c := range []castCase{
			{"literals", 0, "INSERT INTO %s (id, d, ts, tz) VALUES ($1, '2024-01-02 23:30+00'::timestamptz, '2018-11-04'::date, '2024-03-10 02:30'::timestamp)", p(), nil},
			{"parameters", 0, "INSERT INTO %s (id, d, ts, tz) VALUES ($1, $2::timestamptz, $3::date, CAST($4 AS timestamp))", p("2018-11-04 02:30+00", "2024-03-10", "2018-11-04 00:15"), nil},
			{"timestamptz into timestamp and timestamp into date", 0, "INSERT INTO %s (id, ts, d) VALUES ($1, $2::timestamptz, $3::timestamp)", p("2024-11-03 05:30+00", "2024-01-02 23:59:59.999999"), nil},
			{"date into timestamptz", 0, "INSERT INTO %s (id, tz) VALUES ($1, $2::date)", p("2018-11-04"), nil},
			{"infinities", 0, "INSERT INTO %s (id, d, ts, tz) VALUES ($1, 'infinity'::timestamptz, '-infinity'::date, $2::timestamp)", p("infinity"), nil},
			{"a date beyond timestamps", 0, "INSERT INTO %s (id, ts) VALUES ($1, '5874897-12-31'::date)", p(), nil},
		} {
			fmt.Sscan(string(c.params[0]), &c.id) // p numbered the row
			t.Run(zone+" "+c.name, func(t *testing.T) {
				if sameAsPlain(t, proxy, direct, c) == "" {
					sameRow(t, proxy, direct, c.id)
				}
			})
		}
		// Compared, a date or timestamp converts to the timestamp or timestamptz column's type
		// (psycopg2 writes a naive datetime as '…'::timestamp); beyond its range it equals
		// nothing and fails nothing.
		for _, c := range []castCase{
			{"timestamptz = a timestamp literal", 0, "SELECT id FROM %s WHERE tz = '2018-11-04 00:15'::timestamp OR tz = '2024-03-10 02:30'::timestamp ORDER BY id", nil, nil},
			{"timestamptz IN timestamp parameters", 0, "SELECT id FROM %s WHERE tz IN ($1::timestamp, $2::timestamp) ORDER BY id", [][]byte{[]byte("2018-11-04 00:15"), []byte("2024-03-10 02:30")}, nil},
			{"timestamptz = a date", 0, "SELECT id FROM %s WHERE tz = '2018-11-04'::date OR tz <> $1::date ORDER BY id", [][]byte{[]byte("2018-11-04")}, nil},
			{"timestamp = a date", 0, "SELECT id FROM %s WHERE ts = '2018-11-04'::date OR ts = $1::date ORDER BY id", [][]byte{[]byte("2024-03-10")}, nil},
			{"timestamp = a date beyond timestamps", 0, "SELECT id FROM %s WHERE ts = '5874897-12-31'::date OR ts <> $1::date ORDER BY id", [][]byte{[]byte("5874897-12-31")}, nil},
			{"timestamptz = infinite dates and timestamps", 0, "SELECT id FROM %s WHERE tz = 'infinity'::date OR tz = '-infinity'::timestamp ORDER BY id", nil, nil},
		} {
			t.Run(zone+" "+c.name, func(t *testing.T) { sameAsPlain(t, proxy, direct, c) })
		}
	}
	// The column's side would be converted: refused, not guessed.
	for _, sql := range []string{"SELECT id FROM enc WHERE ts = '2024-01-02 10:00+00'::timestamptz", "SELECT id FROM enc WHERE d = '2024-01-02'::timestamp"} {
		if _, err := proxy.Exec(ctxT(t), sql).ReadAll(); sqlstateOf(t, err) != sqlstate.FeatureNotSupported {
			t.Errorf("%s: %v, want 0A000", sql, err)
		}
	}
}

// TestSealDeclaredParamTypesConvert declares parameter types in Parse (as JDBC does: int4 for
// setInt, int8 for setLong) other than the statement's, and checks rows, SQLSTATEs and the
// described parameter types against the same statements on a plaintext table.
func TestSealDeclaredParamTypesConvert(t *testing.T) {
	_, proxy, direct := newCastEnv(t)
	const int2, int4, int8, tstz, timestamp, date, numeric, float8 = 21, 23, 20, 1184, 1114, 1082, 1700, 701
	const int4Arr, int8Arr, numericArr, float8Arr, timestampArr, dateArr = 1007, 1016, 1231, 1022, 1115, 1182
	cases := []struct {
		name   string
		sql    string
		oids   []uint32
		params []string
	}{
		{"int4 declared for $N::int8 into int4", "INSERT INTO %s (id, s4) VALUES ($1, $2::int8)", []uint32{int4, int4}, []string{"1", "2147483647"}},
		{"int8 declared into int4", "INSERT INTO %s (id, s4) VALUES ($1, $2)", []uint32{int4, int8}, []string{"2", "-7"}},
		{"int8 declared into int4, out of range", "INSERT INTO %s (id, s4) VALUES ($1, $2)", []uint32{int4, int8}, []string{"3", "3000000000"}},
		{"int2 declared into int8", "INSERT INTO %s (id, s8) VALUES ($1, $2)", []uint32{int4, int2}, []string{"4", "-32768"}},
		{"timestamptz declared into date", "INSERT INTO %s (id, d) VALUES ($1, $2)", []uint32{int4, tstz}, []string{"5", "2024-01-02 23:30+00"}},
		{"float8 declared into float4", "INSERT INTO %s (id, f4) VALUES ($1, $2), ($3, $4)", []uint32{int4, float8, int4, float8}, []string{"6", "0.1", "7", "NaN"}},
		{"int4 declared into float4 (rounded to 16777216)", "INSERT INTO %s (id, f4) VALUES ($1, $2)", []uint32{int4, int4}, []string{"9", "16777217"}},
		{"int4 = int8 declared, out of range", "SELECT id FROM %s WHERE s4 = $1 ORDER BY id", []uint32{int8}, []string{"3000000000"}},
		{"int4 = int8 declared, in range", "SELECT id FROM %s WHERE s4 = $1 ORDER BY id", []uint32{int8}, []string{"-7"}},
		{"int4 = int8 declared cast to int2, out of range", "SELECT id FROM %s WHERE s4 = $1::int2", []uint32{int8}, []string{"70000"}},
		{"int8 <> int4 declared", "SELECT id FROM %s WHERE s8 <> $1 ORDER BY id", []uint32{int4}, []string{"5"}},
		{"int4 = numeric declared, whole", "SELECT id FROM %s WHERE s4 = $1 ORDER BY id", []uint32{numeric}, []string{"-7.000"}},
		{"int4 = numeric declared, fractional", "SELECT id FROM %s WHERE s4 = $1 OR s4 <> $2 ORDER BY id", []uint32{numeric, numeric}, []string{"-7.5", "9.25"}},
		{"int8 = numeric declared, beyond bigint and NaN", "SELECT id FROM %s WHERE s8 = $1 OR s8 = $2 ORDER BY id", []uint32{numeric, numeric}, []string{"1e40", "NaN"}},
		{"int4 = numeric declared, not a number", "SELECT id FROM %s WHERE s4 = $1", []uint32{numeric}, []string{"abc"}},
		{"float4 = float8 declared (compared as float8)", "SELECT id FROM %s WHERE f4 = $1 OR f4 = $2 ORDER BY id", []uint32{float8, float8}, []string{"0.1", "NaN"}},
		{"float4 <> float8 declared", "SELECT id FROM %s WHERE f4 <> $1 ORDER BY id", []uint32{float8}, []string{"0.1"}},
		{"float8 declared into float8, then = numeric declared", "INSERT INTO %s (id, f8) VALUES ($1, $2)", []uint32{int4, float8}, []string{"8", "0.1"}},
		{"float8 = numeric declared", "SELECT id FROM %s WHERE f8 = $1 OR f8 = $2 ORDER BY id", []uint32{numeric, numeric}, []string{"0.1", "-0.0"}},
		{"float8 = numeric declared beyond float8", "SELECT id FROM %s WHERE f8 = $1", []uint32{numeric}, []string{"1e400"}},
		{"int4 = numeric declared cast to int4 (rounds)", "SELECT id FROM %s WHERE s4 = $1::int4 ORDER BY id", []uint32{numeric}, []string{"-7.4"}},
		{"int4 = int8 declared cast to int4, out of range", "SELECT id FROM %s WHERE s4 = $1::int4", []uint32{int8}, []string{"3000000000"}},
		{"float4 = numeric declared (compared as float8)", "SELECT id FROM %s WHERE f4 = $1 OR f4 = $2 ORDER BY id", []uint32{numeric, numeric}, []string{"0.1", "NaN"}},
		{"float4 = numeric declared, float4's own 0.1", "SELECT id FROM %s WHERE f4 = $1 ORDER BY id", []uint32{numeric}, []string{"0.100000001490116119384765625"}},
		{"float4 = int4 and int8 declared (compared as float8)", "SELECT id FROM %s WHERE f4 = $1 OR f4 = $2 ORDER BY id", []uint32{int4, int8}, []string{"16777217", "9007199254740993"}},
		{"timestamp declared into timestamptz", "INSERT INTO %s (id, tz, ts) VALUES ($1, $2, $3)", []uint32{int4, timestamp, date}, []string{"10", "2024-03-10 02:30", "2024-03-10"}},
		{"timestamptz = timestamp declared", "SELECT id FROM %s WHERE tz = $1 ORDER BY id", []uint32{timestamp}, []string{"2024-03-10 02:30"}},
		{"timestamptz = date declared", "SELECT id FROM %s WHERE tz = $1 OR tz <> $2 ORDER BY id", []uint32{date, date}, []string{"2024-03-10", "5874897-12-31"}},
		{"timestamp = date declared", "SELECT id FROM %s WHERE ts = $1 ORDER BY id", []uint32{date}, []string{"2024-03-10"}},
		{"timestamp = date declared beyond timestamps", "SELECT id FROM %s WHERE ts = $1 OR ts <> $1 ORDER BY id", []uint32{date}, []string{"5874897-12-31"}},
		{"timestamp = date declared cast to timestamp, beyond timestamps", "SELECT id FROM %s WHERE ts = $1::timestamp", []uint32{date}, []string{"5874897-12-31"}},
		{"int8 = ANY(int4[] declared)", "SELECT id FROM %s WHERE s8 = ANY($1) ORDER BY id", []uint32{int4Arr}, []string{"{-32768,2,NULL}"}},
		{"int4 = ANY(int8[] declared) beyond int4", "SELECT id FROM %s WHERE s4 = ANY($1) ORDER BY id", []uint32{int8Arr}, []string{"{3000000000,-7}"}},
		{"int4 = ANY(numeric[] declared)", "SELECT id FROM %s WHERE s4 = ANY($1) ORDER BY id", []uint32{numericArr}, []string{"{-7.0,1.5,NaN}"}},
		{"float4 = ANY(numeric[] declared) (compared as float8)", "SELECT id FROM %s WHERE f4 = ANY($1) ORDER BY id", []uint32{numericArr}, []string{"{0.1,16777216,NaN}"}},
		{"float4 = ANY(float8[] declared)", "SELECT id FROM %s WHERE f4 = ANY($1) ORDER BY id", []uint32{float8Arr}, []string{"{0.1,0.100000001490116119384765625}"}},
		{"timestamptz = ANY(timestamp[] declared)", "SELECT id FROM %s WHERE tz = ANY($1) ORDER BY id", []uint32{timestampArr}, []string{`{"2024-03-10 02:30","2018-11-04 00:15"}`}},
		{"timestamp = ANY(date[] declared) beyond timestamps", "SELECT id FROM %s WHERE ts = ANY($1) ORDER BY id", []uint32{dateArr}, []string{"{2024-03-10,5874897-12-31}"}},
		{"int4 = ANY(int8[] declared), not an integer", "SELECT id FROM %s WHERE s4 = ANY($1)", []uint32{int8Arr}, []string{"{x}"}},
		{"int8 IN int4 declared and undeclared (common type int8)", "SELECT id FROM %s WHERE s8 IN ($1, $2) ORDER BY id", []uint32{int4, 0}, []string{"-32768", "-7"}},
		{"float4 IN float8 declared (compared as float8)", "SELECT id FROM %s WHERE f4 IN ($1, $2) ORDER BY id", []uint32{float8, float8}, []string{"16777217", "0.1"}},
		{"float4 <> int4 declared", "SELECT id FROM %s WHERE f4 <> $1 ORDER BY id", []uint32{int4}, []string{"16777217"}},
		{"float4 = numeric declared cast to float4", "SELECT id FROM %s WHERE f4 = $1::float4 ORDER BY id", []uint32{numeric}, []string{"0.1"}},
		{"float4 <> numeric declared", "SELECT id FROM %s WHERE f4 <> $1 ORDER BY id", []uint32{numeric}, []string{"0.1"}},
		{"float4 = numeric declared beyond float8", "SELECT id FROM %s WHERE f4 = $1", []uint32{numeric}, []string{"1e400"}},
		{"float4 = numeric declared, not a number", "SELECT id FROM %s WHERE f4 = $1", []uint32{numeric}, []string{"x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := make([][]byte, len(c.params))
			for i, p := range c.params {
				params[i] = []byte(p)
			}
			run := func(pc *pgconn.PgConn, table string) (string, []uint32) {
				sql := fmt.Sprintf(c.sql, table)
				sd, err := pc.Prepare(ctxT(t), "", sql, c.oids)
				if err != nil {
					return "error " + sqlstateOf(t, err), nil
				}
				res := pc.ExecParams(ctxT(t), sql, params, c.oids, nil, nil).Read()
				if res.Err != nil {
					return "error " + sqlstateOf(t, res.Err), sd.ParamOIDs
				}
				return fmt.Sprint(res.Rows), sd.ParamOIDs
			}
			got, gotOIDs := run(proxy, "enc")
			want, wantOIDs := run(direct, "pt")
			if got != want || fmt.Sprint(gotOIDs) != fmt.Sprint(wantOIDs) {
				t.Fatalf("through pgseal = %s, parameter types %v; plaintext table = %s, %v", got, gotOIDs, want, wantOIDs)
			}
		})
	}
	for id := 1; id <= 10; id++ {
		if id != 3 { // row 3 failed with 22003 on both
			sameRow(t, proxy, direct, id)
		}
	}
	t.Run("a binary int4[] and numeric[] for = ANY on int8 and float4 columns", func(t *testing.T) {
		m := pgtype.NewMap()
		for _, c := range []struct {
			sql  string
			oid  uint32
			vals any
		}{
			{"SELECT id FROM %s WHERE s8 = ANY($1) ORDER BY id", int4Arr, []int32{-32768, 2}},
			{"SELECT id FROM %s WHERE f4 = ANY($1) ORDER BY id", numericArr, []float64{0.1, 16777216}},
		} {
			arr, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.vals, nil)
			if err != nil {
				t.Fatal(err)
			}
			run := func(pc *pgconn.PgConn, table string) string {
				res := pc.ExecParams(ctxT(t), fmt.Sprintf(c.sql, table), [][]byte{arr}, []uint32{c.oid}, []int16{1}, nil).Read()
				if res.Err != nil {
					return "error " + sqlstateOf(t, res.Err)
				}
				return fmt.Sprint(res.Rows)
			}
			if got, want := run(proxy, "enc"), run(direct, "pt"); got != want {
				t.Errorf("%s: through pgseal %s, plaintext %s", c.sql, got, want)
			}
		}
	})
	t.Run("IN lists whose common type pgseal cannot tell are refused", func(t *testing.T) {
		// An integer or numeric on float4: float4, or float8 when another item is a float8
		// (cast.go); a wider type with an undeclared parameter, which PostgreSQL infers as the
		// wider type; a float8 with a literal on float4 (paramtypes.go).
		for _, c := range []struct {
			sql  string
			oids []uint32
		}{
			{"SELECT id FROM enc WHERE f4 IN ($1, $2)", []uint32{int4, float8}},
			{"SELECT id FROM enc WHERE f4 IN ($1, $2)", []uint32{numeric, numeric}},
			{"SELECT id FROM enc WHERE s4 IN ($1, $2)", []uint32{int8, 0}},
			{"SELECT id FROM enc WHERE s4 IN ($1, $2, 5)", []uint32{0, numeric}},
			{"SELECT id FROM enc WHERE f4 IN ($1, 0.1)", []uint32{float8}},
		} {
			_, err := proxy.Prepare(ctxT(t), "", c.sql, c.oids)
			if got := sqlstateOf(t, err); got != sqlstate.DatatypeMismatch {
				t.Fatalf("Prepare(%s, %v) SQLSTATE = %s, want 42804", c.sql, c.oids, got)
			}
		}
	})
	t.Run("a declared timestamptz compared with a date or timestamp column is refused", func(t *testing.T) {
		for _, sql := range []string{"SELECT id FROM enc WHERE d = $1", "SELECT id FROM enc WHERE ts = $1"} {
			_, err := proxy.Prepare(ctxT(t), "", sql, []uint32{tstz})
			if got := sqlstateOf(t, err); got != sqlstate.DatatypeMismatch {
				t.Fatalf("Prepare(%s) SQLSTATE = %s, want 42804", sql, got)
			}
		}
	})
}
