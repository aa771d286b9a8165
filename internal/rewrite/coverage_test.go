package rewrite

import (
	"testing"

	pg "github.com/pganalyze/pg_query_go/v5"
)

// TestCheckCoverage runs the coverage check on statements the precise walk never saw, as if it
// had forgotten a field: it must refuse whatever could hide a comparison or an assignment.
func TestCheckCoverage(t *testing.T) {
	s := loadSchema(t)
	tests := []struct {
		name   string
		sql    string
		refuse bool
	}{
		{"an unexamined column reference is refused", "SELECT 1 FROM users WHERE email = 'x'", true},
		{"an unexamined INSERT is refused", "INSERT INTO users DEFAULT VALUES", true},
		{"an unexamined DELETE is refused", "DELETE FROM users", true},
		{"a statement without column references or modifications passes", "SELECT 1 FROM users", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := pg.Parse(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			a := &analyzer{sql: tt.sql, schema: s, plan: &Plan{SQL: tt.sql}}
			err = a.checkCoverage(tree.Stmts[0].Stmt, 0)
			if (err != nil) != tt.refuse {
				t.Errorf("checkCoverage(%q) = %v, want refusal %v", tt.sql, err, tt.refuse)
			}
		})
	}
}
