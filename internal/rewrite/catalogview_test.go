package rewrite

import "testing"

// TestCatalogViewPatchesOnlyQueries: only the FROM items of queries are replaced; statements
// that write, define or merely name a catalog relation elsewhere stay byte-identical, and
// without a Catalog nothing changes.
func TestCatalogViewPatchesOnlyQueries(t *testing.T) {
	with := loadSchema(t)
	without := loadSchema(t)
	without.Catalog = nil
	tests := []struct {
		name  string
		s     *Schema
		sql   string
		patch bool
	}{
		{"a query reading pg_attribute is patched", with, "SELECT attname FROM pg_attribute", true},
		{"an upper-case qualified name is patched", with, "SELECT 1 FROM PG_CATALOG.PG_ATTRIBUTE", true},
		{"a quoted upper-case name is another relation", with, `SELECT 1 FROM "PG_ATTRIBUTE"`, false},
		{"a scalar subquery's FROM is patched", with, "SELECT (SELECT count(*) FROM information_schema.columns)", true},
		{"a DECLARE's query is patched", with, "DECLARE c CURSOR FOR SELECT 1 FROM pg_attribute", true},
		{"a COPY's query is patched", with, "COPY (SELECT attname FROM pg_attribute) TO STDOUT", true},
		{"a PREPARE's query is patched", with, "PREPARE p AS SELECT attname FROM pg_attribute", true},
		{"a schema without Catalog patches nothing", without, "SELECT attname FROM pg_attribute", false},
		{"an UPDATE target is not patched", with, "UPDATE pg_attribute SET attnotnull = true WHERE false", false},
		{"CREATE VIEW does not persist the patch", with, "CREATE VIEW v AS SELECT * FROM pg_attribute", false},
		{"CREATE TABLE AS is not patched", with, "CREATE TABLE t AS SELECT * FROM pg_attribute", false},
		{"a column named like the relation is not patched", with, "SELECT pg_attribute FROM t", false},
		{"another schema's pg_attribute is not patched", with, "SELECT 1 FROM app.pg_attribute", false},
		{"a string naming the relation is not patched", with, "SELECT 'pg_attribute'::regclass", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Analyze(tt.sql, tt.s)
			if err != nil {
				t.Fatalf("Analyze() error %v", err)
			}
			out, err := p.Render(nil)
			if err != nil {
				t.Fatalf("Render() error %v", err)
			}
			if got := out != tt.sql; got != tt.patch {
				t.Errorf("Analyze(%q) patched = %v, want %v: %s", tt.sql, got, tt.patch, out)
			}
			if got := readsCatalogView(p); got != tt.patch {
				t.Errorf("Statement.CatalogView = %v, want %v", got, tt.patch)
			}
		})
	}
}
