package value

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// convertCases are (cast type, column type, input) triples: `'in'::from` stored into a column
// of type to. Each is checked against the server, value and SQLSTATE.
var convertCases = []struct {
	from, to Type
	in       string
}{
	{Varchar, Text, "a@x"}, {Text, Varchar, "héllo "}, {Varchar, Text, ""},
	{Int8, Int4, "5"}, {Int8, Int4, "-2147483648"}, {Int8, Int4, "2147483648"}, {Int8, Int4, "9999999999"},
	{Int8, Int2, "32767"}, {Int8, Int2, "32768"}, {Int4, Int2, "-32769"}, {Int4, Int2, " 12 "},
	{Int2, Int8, "-32768"}, {Int2, Int8, "40000"}, {Int4, Int8, "2147483647"}, {Int4, Int8, "3000000000"},
	{Int8, Int4, "abc"}, {Int8, Int4, "99999999999999999999"}, {Int2, Int4, "1.5"},
}

// TestEncodeAsMatchesServerCasts checks EncodeAs against `SELECT ($1::from)::to`, which runs the
// same cast functions as an assignment of `$1::from` to a column of type to.
func TestEncodeAsMatchesServerCasts(t *testing.T) {
	pc := pgtest.New(t).Conn(t).PgConn()
	for _, c := range convertCases {
		t.Run(fmt.Sprintf("%q cast to %s into %s", c.in, c.from, c.to), func(t *testing.T) {
			checkConvert(t, pc, nil, c.from, c.to, c.in)
		})
	}
}

// pgConvert asks the server for ($1::from)::to in binary, or for its SQLSTATE.
func pgConvert(t *testing.T, pc *pgconn.PgConn, from, to Type, in string) ([]byte, string) {
	t.Helper()
	sql := fmt.Sprintf("SELECT ($1::%s)::%s", from, to)
	res := pc.ExecParams(context.Background(), sql, [][]byte{[]byte(in)}, nil, []int16{0}, []int16{1}).Read()
	if res.Err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(res.Err, &pgErr) {
			t.Fatalf("server: %v", res.Err)
		}
		return nil, pgErr.Code
	}
	return res.Rows[0][0], ""
}

func TestConvertRefusesOtherPairsAndBadInput(t *testing.T) {
	date, err := Encode(nil, Date, FormatText, []byte("2024-01-02"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		to    Type
		plain []byte
		code  string
	}{
		{"a date into text is not a conversion pgseal makes", Text, date, CodeFeatureNotSupported},
		{"an empty plaintext has no tag", Int4, nil, CodeDataCorrupted},
		{"an int8 tag with four bytes is corrupt", Int4, []byte{byte(Int8), 0, 0, 0, 1}, CodeDataCorrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(nil, tc.to, tc.plain, nil)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Errorf("Convert() = %v, want SQLSTATE %s", err, tc.code)
			}
		})
	}
}

func TestConvertibleIsWithinOneFamily(t *testing.T) {
	for from := Text; from <= Bytea; from++ {
		for to := Text; to <= Bytea; to++ {
			want := from == to || textual(from) && textual(to) || integral(from) && integral(to) || datetime(from) && datetime(to)
			if got := Convertible(from, to); got != want {
				t.Errorf("Convertible(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

// TestTruncateCharsMatchesServer checks TruncateChars against `SELECT $1::varchar(n)` under the
// test server's encoding, and that an unknown encoding fails closed.
func TestTruncateCharsMatchesServer(t *testing.T) {
	pc := pgtest.New(t).Conn(t).PgConn()
	s := &Session{}
	s.Set("server_encoding", pc.ParameterStatus("server_encoding"))
	for _, c := range []struct {
		in string
		n  int
	}{{"abcdef", 3}, {"abc", 3}, {"ab", 3}, {"héllo", 2}, {"日本語テキスト", 4}, {"a   ", 2}, {"", 1}} {
		t.Run(fmt.Sprintf("%q as varchar(%d)", c.in, c.n), func(t *testing.T) {
			res := pc.ExecParams(context.Background(), fmt.Sprintf("SELECT $1::varchar(%d)", c.n), [][]byte{[]byte(c.in)}, nil, nil, nil).Read()
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			plain, err := Encode(nil, Varchar, FormatText, []byte(c.in), s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TruncateChars(plain, c.n, s)
			if err != nil || string(got[1:]) != string(res.Rows[0][0]) || got[0] != byte(Varchar) {
				t.Errorf("TruncateChars() = %q, %v, want %q", got, err, res.Rows[0][0])
			}
		})
	}
	t.Run("an unknown server_encoding fails closed", func(t *testing.T) {
		var e *Error
		if _, err := TruncateChars([]byte{byte(Text), 'a'}, 1, &Session{}); !errors.As(err, &e) || e.Code != CodeFeatureNotSupported {
			t.Errorf("TruncateChars() = %v, want 0A000", err)
		}
	})
	t.Run("SQL_ASCII counts bytes", func(t *testing.T) {
		ascii := &Session{}
		ascii.Set("server_encoding", "SQL_ASCII")
		if got, err := TruncateChars([]byte("\x01héllo"), 2, ascii); err != nil || string(got[1:]) != "h\xc3" {
			t.Errorf("TruncateChars() = %q, %v, want %q", got, err, "h\xc3")
		}
	})
}

// TestConvertDatetimeMatchesServer checks date, timestamp and timestamptz casts against
// `SELECT ($1::from)::to` in several zones, around DST gaps (São Paulo had no midnight on
// 2018-11-04; New York skips 02:00 on 2024-03-10 and repeats 01:00 on 2024-11-03), infinities and
// the ends of the ranges.
func TestConvertDatetimeMatchesServer(t *testing.T) {
	conn := pgtest.New(t).Conn(t)
	pc := conn.PgConn()
	inputs := map[Type][]string{
		Date:        {"2024-01-02", "2018-11-04", "2024-03-10", "infinity", "-infinity", "4714-11-24 BC", "294276-12-31", "294277-01-01", "5874897-12-31", "0044-03-15 BC"},
		Timestamp:   {"2024-01-02 10:00", "2018-11-04 00:30", "2024-03-10 02:30", "2024-11-03 01:30", "infinity", "-infinity", "4714-11-24 00:00 BC", "294276-12-31 23:59:59.999999", "2024-01-02 23:59:59.5"},
		Timestamptz: {"2024-01-02 23:00+00", "2018-11-04 02:30+00", "2024-03-10 07:30+00", "2024-11-03 05:30+00", "infinity", "-infinity", "4714-11-24 12:00+00 BC", "294276-12-31 20:00+00"},
	}
	for _, zone := range []string{"UTC", "America/Sao_Paulo", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"} {
		if _, err := conn.Exec(context.Background(), "SET TimeZone = '"+zone+"'"); err != nil {
			t.Fatal(err)
		}
		s := &Session{}
		s.Set("TimeZone", pc.ParameterStatus("TimeZone"))
		for _, from := range []Type{Date, Timestamp, Timestamptz} {
			for _, to := range []Type{Date, Timestamp, Timestamptz} {
				if from == to {
					continue
				}
				for _, in := range inputs[from] {
					t.Run(fmt.Sprintf("%s %q as %s into %s", zone, in, from, to), func(t *testing.T) {
						checkConvert(t, pc, s, from, to, in)
					})
				}
			}
		}
	}
}

func checkConvert(t *testing.T, pc *pgconn.PgConn, s *Session, from, to Type, in string) {
	t.Helper()
	want, wantCode := pgConvert(t, pc, from, to, in)
	got, err := EncodeAs(nil, to, from, FormatText, []byte(in), s)
	if wantCode != "" {
		var e *Error
		if !errors.As(err, &e) || e.Code != wantCode {
			t.Fatalf("EncodeAs() error = %v, want SQLSTATE %s", err, wantCode)
		}
		return
	}
	if err != nil {
		t.Fatalf("EncodeAs() = %v, want success", err)
	}
	if dec, err := Decode(nil, to, got, FormatBinary, s); err != nil || !bytes.Equal(dec, want) {
		t.Errorf("EncodeAs() decodes to %x, %v, want %x", dec, err, want)
	}
}

func TestTypeByOIDInvertsOID(t *testing.T) {
	for typ := Text; typ <= Bytea; typ++ {
		if got, ok := TypeByOID(typ.OID()); !ok || got != typ {
			t.Errorf("TypeByOID(%d) = %s, %v, want %s", typ.OID(), got, ok, typ)
		}
		if got, ok := TypeByArrayOID(typ.ArrayOID()); !ok || got != typ {
			t.Errorf("TypeByArrayOID(%d) = %s, %v, want %s", typ.ArrayOID(), got, ok, typ)
		}
	}
	if got, ok := TypeByOID(1042); ok {
		t.Errorf("TypeByOID(bpchar) = %s, want none", got)
	}
	if got, ok := TypeByArrayOID(1014); ok {
		t.Errorf("TypeByArrayOID(bpchar[]) = %s, want none", got)
	}
}

// TestDatetimeOverflowEdge: a date or timestamp that Convert refuses for a timestamp type sorts
// next to that type's last finite value or -infinity, on the side of its sign, and the edge's
// order form is where PostgreSQL's cross-type comparison puts the value.
func TestDatetimeOverflowEdge(t *testing.T) {
	s := &Session{}
	enc := func(typ Type, text string) []byte {
		p, err := Encode(nil, typ, 0, []byte(text), s)
		if err != nil {
			t.Fatalf("Encode(%s, %q) = %v", typ, text, err)
		}
		return p
	}
	last := enc(Timestamp, "294276-12-31 23:59:59.999999")
	for _, tc := range []struct {
		name string
		to   Type
		in   []byte
		want []byte // the edge's plaintext in type to; nil: not applicable
	}{
		{"the last date", Timestamp, enc(Date, "5874897-12-31"), last},
		{"a date just beyond timestamps", Timestamptz, enc(Date, "294277-01-01"), append([]byte{byte(Timestamptz)}, last[1:]...)},
		{"the first timestamp", Timestamptz, enc(Timestamp, "4714-11-24 00:00:00 BC"), append([]byte{byte(Timestamptz)}, enc(Timestamp, "-infinity")[1:]...)},
		{"infinity converts", Timestamp, enc(Date, "infinity"), nil},
		{"not a date/time", Timestamp, enc(Int4, "5"), nil},
		{"into a date", Date, enc(Timestamp, "2024-01-01"), nil},
	} {
		got, ok := DatetimeOverflowEdge(tc.to, tc.in)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: DatetimeOverflowEdge = %x, %v; want %x", tc.name, got, ok, tc.want)
		}
	}
}
