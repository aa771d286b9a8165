package rewrite

import "testing"

// TestSearchExprs pins the order-term and match-token expressions to docs/search.md §1: the
// order and match indexes are created with exactly these texts.
func TestSearchExprs(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"OrdExpr", OrdExpr("c", false),
			"CASE WHEN get_byte(c, 2) & 2 = 2 THEN substring(c from 28 for get_byte(c, 23)*256 + get_byte(c, 24)) END"},
		{"OrdExpr eq", OrdExpr("u.c", true),
			"CASE WHEN get_byte(u.c, 2) & 2 = 2 THEN substring(u.c from 44 for get_byte(u.c, 39)*256 + get_byte(u.c, 40)) END"},
		{"MatchExpr", MatchExpr("c", false),
			"CASE WHEN get_byte(c, 2) & 4 = 4 THEN string_to_array(encode(substring(c from 28 + get_byte(c, 23)*256 + " +
				"get_byte(c, 24) for get_byte(c, 25)*256 + get_byte(c, 26)), 'escape'), ' ') END"},
		{"MatchExpr eq", MatchExpr(`"T"."c"`, true),
			`CASE WHEN get_byte("T"."c", 2) & 4 = 4 THEN string_to_array(encode(substring("T"."c" from 44 + get_byte("T"."c", 39)*256 + ` +
				`get_byte("T"."c", 40) for get_byte("T"."c", 41)*256 + get_byte("T"."c", 42)), 'escape'), ' ') END`},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, tc.got, tc.want)
		}
	}
}
