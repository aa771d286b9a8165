package value

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// assignCases are Assignable's pairs beyond Convertible, with values at their edges: rounding of
// integers into float4/float8, float8 overflow and underflow into float4, jsonb normalisation.
var assignCases = []struct {
	from, to Type
	ins      []string
}{
	{Int2, Numeric, []string{"0", "-32768", "32767"}},
	{Int4, Numeric, []string{"-2147483648", "2147483647", "42"}},
	{Int8, Numeric, []string{"-9223372036854775808", "9223372036854775807", "-1"}},
	{Int4, Float4, []string{"16777217", "-2147483647", "7"}},
	{Int8, Float4, []string{"9223372036854775807", "-9007199254740993", "33554435"}},
	{Int2, Float8, []string{"-32768", "1"}},
	{Int8, Float8, []string{"9007199254740993", "-9223372036854775808", "9223372036854775807"}},
	{Numeric, Int4, []string{"1.5", "-1.5", "2.4999", "0.5", "-0.49999", "0.00001", "1e3", "2147483647.4", "2147483647.5", "-2147483648.5", "1e400", "NaN", "Infinity"}},
	{Numeric, Text, []string{"1e3", "007.50", "-0.0", ".5", "1.5e-3", "-12e-2", "NaN", "-Infinity"}},
	{Numeric, Varchar, []string{"12345678901234567890.5", "0099999999999"}},
	{Numeric, Int2, []string{"32767.49", "-32768.5", "12.5"}},
	{Numeric, Int8, []string{"9223372036854775807.4", "9223372036854775807.5", "-9223372036854775808.5", "-9223372036854775808.4999", "123456789.5"}},
	{Numeric, Float8, []string{"-0.0", "0.1", "-1.5e300", "1e400", "1e-400", "4.9e-324", "12345678901234567890.123456789", "NaN", "-Infinity"}},
	{Numeric, Float4, []string{"-0.0", "0.1", "3.4028235e38", "1e39", "1e-50", "16777217.5", "Infinity"}},
	{Float4, Float8, []string{"1.1", "-0", "NaN", "Infinity", "1e-45", "3.4028235e38"}},
	{Float8, Float4, []string{"1.1", "-0", "NaN", "-Infinity", "3e38", "1e39", "1e-50", "1e-45", "0.1"}},
	{JSON, JSONB, []string{`{"b": 1, "a": [1.50, "x"], "b": 2}`, `  "s"  `, `12.3000`}},
	{JSONB, JSON, []string{`{"b": 1, "a":   2}`, `[true, null]`}},
}

// TestAssignMatchesServer: converting a value of a declared type into the column's type gives
// PostgreSQL's value, in its binary form, or PostgreSQL's SQLSTATE.
func TestAssignMatchesServer(t *testing.T) {
	pc := pgtest.New(t).Conn(t).PgConn()
	for _, c := range assignCases {
		for _, in := range c.ins {
			t.Run(fmt.Sprintf("%q as %s assigned to %s", in, c.from, c.to), func(t *testing.T) {
				if !Assignable(c.from, c.to) {
					t.Fatalf("Assignable(%s, %s) = false, want true", c.from, c.to)
				}
				checkConvert(t, pc, nil, c.from, c.to, in)
			})
		}
	}
}

func TestAssignableAndComparableAs(t *testing.T) {
	tests := []struct {
		from, to               Type
		assignable, comparable bool
	}{
		{Int4, Numeric, true, true},
		{Int8, Float8, true, true},
		{Int4, Float4, true, true}, // float4 = int4 resolves to float48eq: compared in float8 (seal's float8OnFloat4)
		{Float4, Float8, true, true},
		{Float8, Float4, true, true}, // float4 = float8 compares in float8 (seal's float8OnFloat4)
		{Float8, Numeric, false, false},
		{Numeric, Float8, true, true}, // float8 = numeric converts the numeric to float8
		{Numeric, Float4, true, true}, // float48eq too, the numeric converted by numeric_float8
		{Numeric, Int4, true, true},   // assigned: rounded (numeric_int4); compared: as numeric (NumericBound)
		{JSON, JSONB, true, false},
		{Date, Timestamptz, true, true},       // timestamptz = date converts the date (date2timestamptz)
		{Timestamp, Timestamptz, true, true},  // timestamptz = timestamp converts the timestamp
		{Timestamptz, Timestamp, true, false}, // timestamp = timestamptz converts the column's side
		{Timestamp, Date, true, false},        // date = timestamp converts the column's side
		{Text, Int4, false, false},
	}
	for _, tc := range tests {
		if got := Assignable(tc.from, tc.to); got != tc.assignable {
			t.Errorf("Assignable(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.assignable)
		}
		if got := ComparableAs(tc.from, tc.to); got != tc.comparable {
			t.Errorf("ComparableAs(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.comparable)
		}
	}
}

// TestNumericBound places numerics among the int64 values as PostgreSQL's numeric comparison
// with an integer does: ⌊x⌋ and whether x is whole, or beyond every int64.
func TestNumericBound(t *testing.T) {
	for _, tc := range []struct {
		in     string
		floor  int64
		whole  bool
		beyond int
	}{
		{"0", 0, true, 0},
		{"-0.0", 0, true, 0},
		{"1.5", 1, false, 0},
		{"-1.5", -2, false, 0},
		{"-0.000001", -1, false, 0},
		{"17.0000", 17, true, 0},
		{"1e3", 1000, true, 0},
		{"123456789012.00001", 123456789012, false, 0},
		{"9223372036854775807", 9223372036854775807, true, 0},
		{"9223372036854775807.5", 9223372036854775807, false, 0},
		{"9223372036854775808", 0, false, 1},
		{"-9223372036854775808", -9223372036854775808, true, 0},
		{"-9223372036854775808.5", 0, false, -1},
		{"1e30", 0, false, 1},
		{"-1e100000", 0, false, -1},
		{"NaN", 0, false, 1},
		{"Infinity", 0, false, 1},
		{"-Infinity", 0, false, -1},
	} {
		floor, whole, beyond, err := NumericBound(mustEncode(t, Numeric, FormatText, []byte(tc.in)))
		if err != nil || whole != tc.whole || beyond != tc.beyond {
			t.Errorf("NumericBound(%s) = whole %v, beyond %d, %v; want %v, %d", tc.in, whole, beyond, err, tc.whole, tc.beyond)
			continue
		}
		if beyond == 0 && (len(floor) != 9 || Type(floor[0]) != Int8 || readInt(floor[1:]) != tc.floor) {
			t.Errorf("NumericBound(%s) floor = %x, want int8 %d", tc.in, floor, tc.floor)
		}
	}
	if _, _, _, err := NumericBound([]byte{byte(Int4), 0, 0, 0, 1}); err == nil {
		t.Errorf("NumericBound(int4 plaintext) = nil error")
	}
}

// TestNumericHugeIntoIntegerIsQuick: a numeric far beyond bigint is out of range for the integer
// types without working out its integer part (1e131000 took ≈ 0.1 s per value before).
func TestNumericHugeIntoIntegerIsQuick(t *testing.T) {
	for _, in := range []string{"1e131000", "-1e131000", "99999999999999999999.5"} {
		p := mustEncode(t, Numeric, FormatText, []byte(in))
		start := time.Now()
		for range 100 {
			_, err := Convert(nil, Int8, p, nil)
			var ve *Error
			if !errors.As(err, &ve) || ve.Code != CodeNumericValueOutOfRange {
				t.Fatalf("Convert(%s, int8) = %v, want 22003", in, err)
			}
			if _, _, beyond, err := NumericBound(p); err != nil || beyond == 0 {
				t.Fatalf("NumericBound(%s) = beyond %d, %v", in, beyond, err)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("100 conversions of %s took %v", in, d)
		}
	}
}
