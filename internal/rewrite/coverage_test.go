package rewrite

import (
	"os"
	"path/filepath"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
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
			err = a.checkCoverage(collect(tree.Stmts[0].Stmt, s).watched, 0)
			if (err != nil) != tt.refuse {
				t.Errorf("checkCoverage(%q) = %v, want refusal %v", tt.sql, err, tt.refuse)
			}
		})
	}
}

// TestCollectWatchesEveryNode: collect's hand-written walk must list every column reference and
// data-modifying statement a full reflective walk finds, or the coverage check has a blind spot.
func TestCollectWatchesEveryNode(t *testing.T) {
	s := loadSchema(t)
	texts := goldenInputs(t)
	texts = append(texts,
		"SELECT count(email) FILTER (WHERE email = 'x') OVER (PARTITION BY id ORDER BY ssn) FROM users WINDOW w AS (ORDER BY name)",
		"WITH a AS (INSERT INTO users (email) VALUES ('x') RETURNING id), b AS (UPDATE invites SET email = 'y' RETURNING email) "+
			"DELETE FROM orders o USING a WHERE o.id = a.id AND (SELECT email FROM b) IS NULL RETURNING o.*",
		"MERGE INTO users u USING orders o ON u.id = o.user_id WHEN MATCHED THEN UPDATE SET email = o.note",
		"SELECT (u).email, u.*, ARRAY[email], ROW(email)::text FROM users u ORDER BY email COLLATE \"C\" LIMIT (SELECT 1 WHERE email = 'x')",
	)
	for _, sql := range texts {
		tree, err := pg.Parse(sql)
		if err != nil {
			continue
		}
		for _, raw := range tree.Stmts {
			want := map[any]bool{}
			walkAll(raw.Stmt.ProtoReflect(), func(m protoreflect.Message) bool {
				switch v := m.Interface().(type) {
				case *pg.ColumnRef, *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
					want[v] = true
				}
				return true
			})
			got := map[any]bool{}
			for _, m := range collect(raw.Stmt, s).watched {
				got[m] = true
			}
			for m := range want {
				if !got[m] {
					t.Errorf("collect(%q) does not watch a %T", sql, m)
				}
			}
		}
	}
}

func goldenInputs(t *testing.T) []string {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", "*", "input.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	return texts
}
