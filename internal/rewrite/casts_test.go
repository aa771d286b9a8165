package rewrite

import (
	"strings"
	"testing"

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

// TestNumberRefusalsNameNoValue: the refusals that read a constant's value (float4Exact) still
// name none, as every error of the package.
func TestNumberRefusalsNameNoValue(t *testing.T) {
	s := loadSchema(t)
	for _, sql := range []string{
		"SELECT id FROM readings WHERE v4 = 0.123456789",
		"SELECT id FROM readings WHERE v4 BETWEEN 0.123456789 AND 1",
	} {
		_, err := Analyze(sql, s)
		e, ok := err.(*Error)
		if !ok || e.Code != CodeFeatureNotSupported {
			t.Fatalf("Analyze(%q) = %v, want a 0A000 refusal", sql, err)
		}
		if strings.Contains(e.Message, "123456789") || strings.Contains(e.Hint, "123456789") {
			t.Errorf("Analyze(%q) refusal %q names the value", sql, e.Message)
		}
	}
}
