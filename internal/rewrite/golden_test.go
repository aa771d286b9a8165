package rewrite

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v5"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testSchema is the JSON form of testdata/schema.json.
type testSchema struct {
	TrackedSettings []string     `json:"tracked_settings"`
	Catalog         *CatalogView `json:"catalog"`
	Tables          []struct {
		Schema    string   `json:"schema"`
		Name      string   `json:"name"`
		Columns   []string `json:"columns"`
		Encrypted []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Eq     bool   `json:"eq"`
			Domain string `json:"domain"`
			// Search terms (docs/search.md).
			Ord        bool `json:"ord"`
			OrdReady   bool `json:"ord_ready"`
			Match      bool `json:"match"`
			MatchReady bool `json:"match_ready"`
			ByteOrder  bool `json:"byte_order"`
		} `json:"encrypted"`
	} `json:"tables"`
}

func loadSchema(t testing.TB) *Schema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ts testSchema
	if err := json.Unmarshal(b, &ts); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	s := NewSchema()
	s.TrackedSettings = ts.TrackedSettings
	s.Catalog = ts.Catalog
	for _, tb := range ts.Tables {
		s.AddTable(tb.Schema, tb.Name, tb.Columns)
		for _, e := range tb.Encrypted {
			_, err := s.AddColumn(Column{Table: tb.Schema + "." + tb.Name, Name: e.Name, Type: e.Type, Eq: e.Eq, Domain: e.Domain,
				Ord: e.Ord, OrdReady: e.OrdReady, Match: e.Match, MatchReady: e.MatchReady, ByteOrder: e.ByteOrder})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// markerFill renders dynamic edits readably for output.sql.
func markerFill(e Edit) (string, error) {
	name := strings.TrimPrefix(e.Column.ID, "public.")
	switch e.Kind {
	case EditTerm:
		return "$TERM(" + name + ")", nil
	case EditTermArray:
		return "$TERMS(" + name + ")", nil
	case EditOrd:
		return "$ORD(" + name + ")", nil
	case EditKeyset:
		return strings.ReplaceAll(e.Text, KeysetPlaceholder, "$KEYSET"), nil
	case EditMatch:
		if e.Not {
			return "$NOMATCH(" + name + ")", nil
		}
		return "$MATCH(" + name + ")", nil
	}
	return "$ENC(" + name + ")", nil
}

// byteaFill renders dynamic edits as PostgreSQL would receive them.
func byteaFill(e Edit) (string, error) {
	switch e.Kind {
	case EditTermArray:
		return `ARRAY['\x00ff'::bytea]`, nil
	case EditMatch:
		return `'{k00,ab12}'::text[]`, nil
	case EditKeyset:
		return strings.ReplaceAll(e.Text, KeysetPlaceholder, `'\x00ff'::bytea`), nil
	}
	return `'\x00ff'::bytea`, nil
}

func TestGolden(t *testing.T) {
	s := loadSchema(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			sql := string(b)
			if *update {
				for _, f := range []string{"plan.json", "error.txt", "output.sql"} {
					_ = os.Remove(filepath.Join(dir, f))
				}
			}
			plan, err := Analyze(sql, s)
			if err != nil {
				var re *Error
				if !errors.As(err, &re) {
					t.Fatalf("Analyze() error %T %v, want *Error", err, err)
				}
				checkGolden(t, filepath.Join(dir, "error.txt"), fmt.Sprintf("%s: %s (position %d)\n", re.Code, re.Message, re.Offset))
				return
			}
			checkInvariants(t, sql, plan)
			j, err := json.MarshalIndent(plan, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, "plan.json"), string(j)+"\n")
			out, err := plan.Render(markerFill)
			if err != nil {
				t.Fatalf("Render() error %v", err)
			}
			checkGolden(t, filepath.Join(dir, "output.sql"), out)
		})
	}
}

// checkInvariants asserts what every plan must satisfy.
func checkInvariants(t *testing.T, sql string, plan *Plan) {
	t.Helper()
	out, err := plan.Render(byteaFill)
	if err != nil {
		t.Fatalf("Render() error %v", err)
	}
	if !plan.Touches() && !readsCatalogView(plan) && out != sql {
		t.Errorf("Render() of an untouched statement = %q, want it byte-identical", out)
	}
	if len(plan.Statements) > 0 {
		if _, err := pg.Parse(out); err != nil {
			t.Errorf("rendered SQL does not reparse: %v\n%s", err, out)
		}
		checkHidden(t, sql, out, plan)
	}
	for i, e := range plan.Edits {
		if i > 0 && e.Start < plan.Edits[i-1].End {
			t.Errorf("Edits[%d] = [%d,%d) overlaps the previous edit", i, e.Start, e.End)
		}
		if e.Kind != EditStatic && len(e.Literal) >= 4 && strings.Contains(out, e.Literal) {
			t.Errorf("rendered SQL contains the plaintext %q of %s", e.Literal, e.Column.ID)
		}
	}
}

// checkHidden asserts that a statement with hidden outputs (LIKE filters) renders a select list
// longer by exactly Hidden items.
func checkHidden(t testing.TB, sql, out string, plan *Plan) {
	t.Helper()
	in, err1 := pg.Parse(sql)
	re, err2 := pg.Parse(out)
	if err1 != nil || err2 != nil || len(in.Stmts) != len(re.Stmts) || len(in.Stmts) != len(plan.Statements) {
		return
	}
	for i, st := range plan.Statements {
		a, b := in.Stmts[i].Stmt.GetSelectStmt(), re.Stmts[i].Stmt.GetSelectStmt()
		if st.Hidden == 0 || a == nil || b == nil {
			continue
		}
		if len(b.TargetList) != len(a.TargetList)+st.Hidden {
			t.Errorf("statement %d: %d select-list items rendered, want %d + Hidden %d\n%s", i, len(b.TargetList), len(a.TargetList), st.Hidden, out)
		}
	}
}

func readsCatalogView(plan *Plan) bool {
	for _, st := range plan.Statements {
		if st.CatalogView {
			return true
		}
	}
	return false
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		other := "plan.json"
		if filepath.Base(path) == "plan.json" {
			other = "error.txt"
		}
		t.Fatalf("golden %s missing (got %s instead? run go test -update): %v\ngot:\n%s", path, other, err, got)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test ./internal/rewrite -update to accept):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing lines, enough to read a golden failure.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			if n++; n >= 8 {
				break
			}
		}
	}
	return b.String()
}
