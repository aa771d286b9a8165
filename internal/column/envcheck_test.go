package column

import (
	"regexp"
	"strings"
	"testing"
)

// TestEnvelopeCheckIsQualified: every function call and operator of the CHECK names pg_catalog,
// so that the search_path of whoever adds it cannot bind it to look-alikes.
func TestEnvelopeCheckIsQualified(t *testing.T) {
	expr := CheckExpr(`"email"`)
	for _, m := range regexp.MustCompile(`([a-z_.]+)\(`).FindAllStringSubmatch(expr, -1) {
		if !strings.HasPrefix(m[1], "pg_catalog.") && m[1] != "OPERATOR" {
			t.Errorf("CheckExpr() calls %s( unqualified in %s", m[1], expr)
		}
	}
	bare := regexp.MustCompile(`\s(=|>=|<=|<>|<|>)\s`)
	if bare.MatchString(expr) {
		t.Errorf("CheckExpr() uses a bare operator: %s", expr)
	}
}

func TestCheckNameIsCutLikePostgreSQL(t *testing.T) {
	long := strings.Repeat("é", 30) // 60 bytes
	tests := []struct{ col, want string }{
		{"email", "pgseal_envelope_email"},
		{strings.Repeat("a", 47), "pgseal_envelope_" + strings.Repeat("a", 47)},
		{strings.Repeat("a", 60), "pgseal_envelope_" + strings.Repeat("a", 47)},
		{long, "pgseal_envelope_" + strings.Repeat("é", 23)}, // 16 + 46 bytes; a 24th would make 64
	}
	for _, tt := range tests {
		if got := CheckName(tt.col); got != tt.want {
			t.Errorf("CheckName(%q) = %q, want %q", tt.col, got, tt.want)
		}
	}
}
