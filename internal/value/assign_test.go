package value

import (
	"fmt"
	"testing"

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
		{Int4, Float4, true, false}, // float4 = int4 resolves to float48eq on PostgreSQL's side
		{Float4, Float8, true, true},
		{Float8, Float4, true, false}, // float4 = float8 compares in float8
		{Float8, Numeric, false, false},
		{Numeric, Float8, true, false}, // only the literal path converts; a numeric parameter compared is refused
		{Numeric, Float4, true, false},
		{Numeric, Int4, true, false}, // assigned: rounded (numeric_int4); compared: as numeric
		{JSON, JSONB, true, false},
		{Date, Timestamptz, true, false},
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
