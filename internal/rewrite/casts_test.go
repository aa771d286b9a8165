package rewrite

import (
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
