package value

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTypeAcceptsNamesAndAliases(t *testing.T) {
	tests := []struct {
		name string
		want Type
	}{
		{"text", Text}, {"VARCHAR", Varchar}, {"character  varying", Varchar}, {"int2", Int2}, {"smallint", Int2},
		{"int", Int4}, {"Integer", Int4}, {"int4", Int4}, {"bigint", Int8}, {"real", Float4}, {"float4", Float4},
		{"double precision", Float8}, {"float", Float8}, {"decimal", Numeric}, {"numeric", Numeric},
		{"boolean", Bool}, {"bool", Bool}, {"date", Date}, {"timestamp", Timestamp},
		{"timestamp without time zone", Timestamp}, {"Timestamp With Time Zone", Timestamptz},
		{"timestamptz", Timestamptz}, {"uuid", UUID}, {"json", JSON}, {"jsonb", JSONB}, {"bytea", Bytea},
		{"pg_catalog.int8", Int8}, {" text ", Text},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is "+tt.want.String(), func(t *testing.T) {
			got, err := ParseType(tt.name)
			if err != nil || got != tt.want {
				t.Errorf("ParseType(%q) = %v, %v, want %v", tt.name, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "money", "int16", "text[]", "varchar(10)"} {
		t.Run(bad+" is rejected", func(t *testing.T) {
			if got, err := ParseType(bad); err == nil {
				t.Errorf("ParseType(%q) = %v, want an error", bad, got)
			}
		})
	}
}

func TestTypeCatalogMatchesPgType(t *testing.T) {
	tests := []struct {
		t          Type
		oid, array uint32
		size       int16
		eq         bool
	}{
		{Text, 25, 1009, -1, true}, {Varchar, 1043, 1015, -1, true}, {Int2, 21, 1005, 2, true},
		{Int4, 23, 1007, 4, true}, {Int8, 20, 1016, 8, true}, {Float4, 700, 1021, 4, true},
		{Float8, 701, 1022, 8, true}, {Numeric, 1700, 1231, -1, true}, {Bool, 16, 1000, 1, true},
		{Date, 1082, 1182, 4, true}, {Timestamp, 1114, 1115, 8, true}, {Timestamptz, 1184, 1185, 8, true},
		{UUID, 2950, 2951, 16, true}, {JSON, 114, 199, -1, false}, {JSONB, 3802, 3807, -1, true},
		{Bytea, 17, 1001, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.t.String()+" has its catalog entry", func(t *testing.T) {
			if tt.t.OID() != tt.oid || tt.t.ArrayOID() != tt.array || tt.t.Size() != tt.size || tt.t.SupportsEquality() != tt.eq {
				t.Errorf("%s: OID() = %d, ArrayOID() = %d, Size() = %d, SupportsEquality() = %v, want %d, %d, %d, %v",
					tt.t, tt.t.OID(), tt.t.ArrayOID(), tt.t.Size(), tt.t.SupportsEquality(), tt.oid, tt.array, tt.size, tt.eq)
			}
		})
	}
}

func TestTagsAreStable(t *testing.T) {
	// The tags are stored in ciphertexts: this table must never change.
	want := map[Type]uint8{Text: 1, Varchar: 2, Int2: 3, Int4: 4, Int8: 5, Float4: 6, Float8: 7, Numeric: 8, Bool: 9,
		Date: 10, Timestamp: 11, Timestamptz: 12, UUID: 13, JSON: 14, JSONB: 15, Bytea: 16}
	for typ, tag := range want {
		if uint8(typ) != tag {
			t.Errorf("%s tag = %d, want %d", typ, uint8(typ), tag)
		}
	}
}

func zone(t *testing.T, name string) *Session {
	t.Helper()
	s := &Session{}
	s.Set("TimeZone", name)
	if _, err := s.location(); err != nil {
		t.Fatalf("Set(TimeZone, %q): %v", name, err)
	}
	return s
}

func TestTextRoundTrips(t *testing.T) {
	ny, kolkata := zone(t, "America/New_York"), zone(t, "Asia/Kolkata")
	escape := &Session{}
	escape.Set("bytea_output", "escape")
	tests := []struct {
		name string
		t    Type
		in   string
		s    *Session
		want string
	}{
		{"empty text stays empty", Text, "", nil, ""},
		{"unicode text is kept", Text, "héllo 😀", nil, "héllo 😀"},
		{"int2 minimum", Int2, "-32768", nil, "-32768"},
		{"int4 with spaces and sign", Int4, " +42 ", nil, "42"},
		{"int8 maximum", Int8, "9223372036854775807", nil, "9223372036854775807"},
		{"varchar is kept", Varchar, "ünï", nil, "ünï"},
		{"int4 maximum", Int4, "2147483647", nil, "2147483647"},
		{"int8 minimum", Int8, "-9223372036854775808", nil, "-9223372036854775808"},
		{"float8 exponent input", Float8, "1e3", nil, "1000"},
		{"float8 infinity", Float8, "Infinity", nil, "Infinity"},
		{"float8 hex input", Float8, "0x1p-2", nil, "0.25"},
		{"numeric infinity", Numeric, "-Infinity", nil, "-Infinity"},
		{"timestamp infinity", Timestamp, "-infinity", nil, "-infinity"},
		{"timestamp microseconds", Timestamp, "2024-01-02T03:04:05.000001", nil, "2024-01-02 03:04:05.000001"},
		{"timestamp BC", Timestamp, "0044-03-15 12:00 BC", nil, "0044-03-15 12:00:00 BC"},
		{"timestamptz BC in UTC", Timestamptz, "0100-01-01 00:00:00+00 BC", nil, "0100-01-01 00:00:00+00 BC"},
		{"float8 large uses exponent", Float8, "1e15", nil, "1e+15"},
		{"float8 small uses exponent", Float8, "0.00001", nil, "1e-05"},
		{"float8 negative zero", Float8, "-0", nil, "-0"},
		{"float8 NaN", Float8, "nan", nil, "NaN"},
		{"float4 infinity", Float4, "-inf", nil, "-Infinity"},
		{"float4 shortest", Float4, "0.1", nil, "0.1"},
		{"numeric keeps its scale", Numeric, "1.500", nil, "1.500"},
		{"numeric negative zero is zero", Numeric, "-0.00", nil, "0.00"},
		{"numeric exponent", Numeric, "1.5e-3", nil, "0.0015"},
		{"numeric NaN", Numeric, "NaN", nil, "NaN"},
		{"numeric huge", Numeric, "1e100", nil, "1" + strings.Repeat("0", 100)},
		{"numeric tiny", Numeric, "1e-30", nil, "0." + strings.Repeat("0", 29) + "1"},
		{"bool yes", Bool, "yes", nil, "t"},
		{"bool off", Bool, " OFF ", nil, "f"},
		{"date BC", Date, "0044-03-15 BC", nil, "0044-03-15 BC"},
		{"date infinity", Date, "infinity", nil, "infinity"},
		{"date from MDY", Date, "1/2/24", nil, "2024-01-02"},
		{"timestamp fraction trimmed", Timestamp, "2024-01-02 03:04:05.120", nil, "2024-01-02 03:04:05.12"},
		{"timestamp ignores zone", Timestamp, "2024-01-02 03:04:05+05", nil, "2024-01-02 03:04:05"},
		{"timestamptz UTC", Timestamptz, "2024-01-02 03:04:05Z", nil, "2024-01-02 03:04:05+00"},
		{"timestamptz in New York winter", Timestamptz, "2024-01-02 03:04:05Z", ny, "2024-01-01 22:04:05-05"},
		{"timestamptz in New York summer", Timestamptz, "2024-07-02 03:04:05Z", ny, "2024-07-01 23:04:05-04"},
		{"timestamptz without zone uses the session zone", Timestamptz, "2024-07-02 03:04:05", ny, "2024-07-02 03:04:05-04"},
		{"timestamptz spring-forward gap takes the earlier offset", Timestamptz, "2024-03-10 02:30", ny, "2024-03-10 03:30:00-04"},
		{"timestamptz fall-back takes the later offset", Timestamptz, "2024-11-03 01:30", ny, "2024-11-03 01:30:00-05"},
		{"timestamptz in Kolkata", Timestamptz, "2024-01-02 03:04:05.5Z", kolkata, "2024-01-02 08:34:05.5+05:30"},
		{"timestamptz before standard time uses LMT", Timestamptz, "1800-01-01 00:00Z", ny, "1799-12-31 19:03:58-04:56:02"},
		{"uuid braces and capitals", UUID, "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}", nil, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{"json is kept verbatim", JSON, `{"b": 1,  "a":2}`, nil, `{"b": 1,  "a":2}`},
		{"jsonb is normalised", JSONB, `{"b":1,"a":[1.0,true],"b":2}`, nil, `{"a": [1.0, true], "b": 2}`},
		{"bytea hex", Bytea, `\xDEADBEEF`, nil, `\xdeadbeef`},
		{"bytea escape input", Bytea, `a\\b\000`, nil, `\x615c6200`},
		{"bytea escape output", Bytea, `\x615c6200ff`, escape, `a\\b\000\377`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := Encode(nil, tt.t, FormatText, []byte(tt.in), tt.s)
			if err != nil {
				t.Fatalf("Encode(%s, %q) = %v", tt.t, tt.in, err)
			}
			got, err := Decode(nil, tt.t, plain, FormatText, tt.s)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Decode(Encode(%q)) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
			bin, err := Decode(nil, tt.t, plain, FormatBinary, tt.s)
			if err != nil {
				t.Fatalf("Decode(binary) = %v", err)
			}
			again, err := Encode(nil, tt.t, FormatBinary, bin, tt.s)
			if err != nil || !bytes.Equal(again, plain) {
				t.Errorf("Encode(Decode(binary)) = %x, %v, want %x", again, err, plain)
			}
		})
	}
}

func TestInvalidInputIsAnErrorWithSQLStateAndNoValue(t *testing.T) {
	tests := []struct {
		name string
		t    Type
		in   string
		code string
	}{
		{"letters in an integer", Int4, "secret42", CodeInvalidTextRepresentation},
		{"int2 overflow", Int2, "99999", CodeNumericValueOutOfRange},
		{"float overflow", Float8, "1e999", CodeNumericValueOutOfRange},
		{"bad date", Date, "2023-02-29", CodeDatetimeFieldOverflow},
		{"date garbage", Date, "secret-day", CodeInvalidDatetimeFormat},
		{"timestamp out of range", Timestamp, "294277-01-01", CodeDatetimeFieldOverflow},
		{"bad uuid", UUID, "secret", CodeInvalidTextRepresentation},
		{"bad json", JSON, `{"secret":}`, CodeInvalidTextRepresentation},
		{"jsonb NUL escape", JSONB, `"secret\u0000"`, CodeUntranslatableCharacter},
		{"bad bytea escape", Bytea, `secret\q`, CodeInvalidTextRepresentation},
		{"invalid UTF-8 text", Text, "secret\xff", CodeCharacterNotInRepertoire},
		{"NUL in text", Text, "secret\x00", CodeCharacterNotInRepertoire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := Encode(dst, tt.t, FormatText, []byte(tt.in), nil)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("Encode(%s, %q) error = %v, want SQLSTATE %s", tt.t, tt.in, err, tt.code)
			}
			if strings.Contains(e.Message, "secret") || strings.Contains(e.Message, "\n") {
				t.Errorf("Encode() error message %q leaks the value or is not one line", e.Message)
			}
			if string(got) != "prefix" {
				t.Errorf("Encode() on error returned %q, want the untouched dst", got)
			}
		})
	}
}

func TestBinaryInputIsValidated(t *testing.T) {
	tests := []struct {
		name string
		t    Type
		in   []byte
	}{
		{"int4 of three bytes", Int4, []byte{0, 0, 1}},
		{"uuid of fifteen bytes", UUID, make([]byte, 15)},
		{"numeric digit of 10000", Numeric, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10}},
		{"numeric with a bad sign", Numeric, []byte{0, 0, 0, 0, 0x12, 0x34, 0, 0}},
		{"numeric with a short body", Numeric, []byte{0, 2, 0, 0, 0, 0, 0, 0, 0, 1}},
		{"date beyond the end", Date, []byte{0x7f, 0xff, 0xff, 0xfe}},
		{"timestamp beyond the end", Timestamp, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
		{"jsonb of a wrong version", JSONB, []byte("\x02{}")},
		{"json that is not json", JSON, []byte("{")},
		{"text with invalid UTF-8", Text, []byte{0xc3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Encode(nil, tt.t, FormatBinary, tt.in, nil); err == nil {
				t.Errorf("Encode(%s, binary %x) = %x, want an error", tt.t, tt.in, got)
			}
		})
	}
}

func TestBinaryNumericIsCanonicalised(t *testing.T) {
	// 0001.2000 with dscale 2 and padding digits: numeric_recv truncates and strips to 1.20.
	in := []byte{0, 4, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0x07, 0xD0, 0, 0}
	plain, err := Encode(nil, Numeric, FormatBinary, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Decode(nil, Numeric, plain, FormatText, nil)
	if string(got) != "1.20" {
		t.Errorf("Decode(Encode(binary 0001.2000 dscale 2)) = %q, want %q", got, "1.20")
	}
}

func TestDecodeFailsClosed(t *testing.T) {
	good, _ := Encode(nil, Int4, FormatText, []byte("7"), nil)
	postgresStyle := &Session{}
	postgresStyle.Set("DateStyle", "Postgres, MDY")
	badZone := &Session{}
	badZone.Set("TimeZone", "EST5EDT,M3.2.0,M11.1.0x")
	date, _ := Encode(nil, Date, FormatText, []byte("2024-01-02"), nil)
	ts, _ := Encode(nil, Timestamptz, FormatText, []byte("2024-01-02 00:00Z"), nil)
	tests := []struct {
		name  string
		t     Type
		plain []byte
		s     *Session
		code  string
	}{
		{"a plaintext of another type", Int8, good, nil, CodeDataCorrupted},
		{"an empty plaintext", Int4, nil, nil, CodeDataCorrupted},
		{"a truncated plaintext", Int4, good[:3], nil, CodeDataCorrupted},
		{"a non-canonical numeric", Numeric, []byte{byte(Numeric), 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, nil, CodeDataCorrupted},
		{"a bool that is neither 0 nor 1", Bool, []byte{byte(Bool), 2}, nil, CodeDataCorrupted},
		{"a date under DateStyle Postgres", Date, date, postgresStyle, CodeFeatureNotSupported},
		{"a timestamptz under an unknown TimeZone", Timestamptz, ts, badZone, CodeFeatureNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(nil, tt.t, tt.plain, FormatText, tt.s)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Errorf("Decode() = %q, %v, want SQLSTATE %s", got, err, tt.code)
			}
		})
	}
}

func TestSessionSet(t *testing.T) {
	var s Session
	if s.ExtraFloatDigits() != 1 {
		t.Errorf("zero Session ExtraFloatDigits() = %d, want 1", s.ExtraFloatDigits())
	}
	s.Set("extra_float_digits", "0")
	if s.ExtraFloatDigits() != 0 {
		t.Errorf("ExtraFloatDigits() after Set 0 = %d, want 0", s.ExtraFloatDigits())
	}
	s.Set("TimeZone", "<+05:45>-05:45")
	loc, err := s.location()
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 5*3600+45*60 {
		t.Errorf("offset of <+05:45>-05:45 = %d, want %d", off, 5*3600+45*60)
	}
	s.Set("DateStyle", "ISO, DMY")
	if s.Order != DMY || s.checkISO() != nil {
		t.Errorf("DateStyle ISO, DMY gave Order %v, checkISO %v", s.Order, s.checkISO())
	}
}

func TestEqualityFormRefusesJSON(t *testing.T) {
	plain, _ := Encode(nil, JSON, FormatText, []byte("{}"), nil)
	if _, err := EqualityForm(nil, JSON, plain); err == nil {
		t.Error("EqualityForm(json) succeeded, want an error: json has no = operator")
	}
}

func BenchmarkDecodeText(b *testing.B) {
	ny := &Session{}
	ny.Set("TimeZone", "America/New_York")
	for _, c := range []struct {
		t  Type
		in string
	}{{Int8, "1234567890"}, {Float8, "3.141592653589793"}, {Numeric, "12345.6789"}, {Timestamptz, "2024-07-01 12:00:00.123456Z"}, {Text, "alice@example.com"}, {JSONB, `{"a": 1, "b": [true, null]}`}} {
		plain, err := Encode(nil, c.t, FormatText, []byte(c.in), ny)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.t.String(), func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(buf[:0], c.t, plain, FormatText, ny); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeText(b *testing.B) {
	for _, c := range []struct {
		t  Type
		in string
	}{{Int8, "1234567890"}, {Float8, "3.141592653589793"}, {Numeric, "12345.6789"}, {Timestamptz, "2024-07-01 12:00:00.123456Z"}, {Text, "alice@example.com"}, {JSONB, `{"a": 1, "b": [true, null]}`}} {
		b.Run(c.t.String(), func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(buf[:0], c.t, FormatText, []byte(c.in), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestEncodeAndDecodeAppendToDst(t *testing.T) {
	plain, err := Encode([]byte("head"), Int4, FormatText, []byte("5"), nil)
	if err != nil || string(plain[:4]) != "head" {
		t.Fatalf("Encode(dst=head) = %q, %v, want the prefix kept", plain, err)
	}
	out, err := Decode([]byte("row:"), Int4, plain[4:], FormatText, nil)
	if err != nil || string(out) != "row:5" {
		t.Errorf("Decode(dst=row:) = %q, %v, want %q", out, err, "row:5")
	}
	eq, err := EqualityForm([]byte("eq:"), Int4, plain[4:])
	if err != nil || !bytes.HasPrefix(eq, []byte("eq:")) || len(eq) != 3+1+4 {
		t.Errorf("EqualityForm(dst=eq:) = %q, %v, want the prefix, tag and 4 bytes", eq, err)
	}
}

func TestNowIsTheCurrentTime(t *testing.T) {
	before := time.Now().Add(-time.Second)
	plain, err := Encode(nil, Timestamptz, FormatText, []byte(" NOW "), zone(t, "Asia/Kolkata"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(nil, Timestamptz, plain, FormatText, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := time.Parse("2006-01-02 15:04:05.999999-07", string(out))
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", out, err)
	}
	if got.Before(before) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("Decode(Encode(now)) = %s, want about %s", got, time.Now())
	}
}

func TestTodayIsMidnightInTheSessionZone(t *testing.T) {
	s := zone(t, "America/New_York")
	plain, err := Encode(nil, Timestamptz, FormatText, []byte("today"), s)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Decode(nil, Timestamptz, plain, FormatText, s)
	want := time.Now().In(s.TimeZone).Format("2006-01-02") + " 00:00:00"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("Decode(Encode(today)) = %q, want prefix %q", out, want)
	}
}
