package rewrite

import (
	"testing"
	"time"

	"github.com/pgseal/pgseal/internal/value"
)

// TestCastFamiliesMatchValue keeps the casts Analyze accepts in step with the conversions the
// wire can make: a cast castFamily allows that value.Convertible refuses would be accepted here
// and fail at every execution; the reverse would refuse a cast the wire could follow.
func TestCastFamiliesMatchValue(t *testing.T) {
	for from := value.Text; from <= value.Bytea; from++ {
		for to := value.Text; to <= value.Bytea; to++ {
			f, g := castFamily[from.String()], castFamily[to.String()]
			got := from == to || f != "" && f == g
			if want := value.Convertible(from, to); got != want {
				t.Errorf("castFamily allows %s into %s = %v, value.Convertible = %v", from, to, got, want)
			}
		}
	}
}

// TestWholeInt8 reads decimal constants as bigint only when they are whole and within range, and
// never works out a tiny one exactly (1e-1000000 would take a million-digit power of ten).
func TestWholeInt8(t *testing.T) {
	for _, tc := range []struct {
		lit, want string
		ok        bool
	}{
		{"2.0", "2", true}, {"-1e3", "-1000", true}, {"0.0", "0", true}, {"-0e10", "0", true},
		{"9223372036854775807.0", "9223372036854775807", true}, {"2.5", "", false},
		{"9223372036854775808.0", "", false}, {"1e19", "", false}, {"1e-1000000", "", false},
		{"0.5", "", false}, {"1e400", "", false},
	} {
		start := time.Now()
		got, ok := wholeInt8(tc.lit)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wholeInt8(%s) = %q, %v; want %q, %v", tc.lit, got, ok, tc.want, tc.ok)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("wholeInt8(%s) took %v", tc.lit, d)
		}
	}
}
