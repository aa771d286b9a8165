package seal

import (
	"encoding/json"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/tenancy"
)

// TestOwnSQLIsImmuneToTheSessionsSearchPath: every statement pgseal itself sends on a client
// session's connection names each function, operator, type and catalog relation with its schema,
// so that no session's search_path (or objects it created) can change the answer that pgseal, and
// through its caches other sessions, rely on. (The relay's refusal stand-ins: internal/wire's
// ownsql_test.go.) Issue 10, case 1: an unqualified format_type once
// turned encryption off for every session.
func TestOwnSQLIsImmuneToTheSessionsSearchPath(t *testing.T) {
	cols := []config.Encrypt{
		{Table: "public.users", Column: "email", Type: "text", Search: []string{"eq"}},
		{Table: "sec.accounts", Column: "email", Type: "text"},
	}
	var mcols []column.Column
	for _, e := range cols {
		c, err := column.FromConfig(e)
		if err != nil {
			t.Fatal(err)
		}
		mcols = append(mcols, c)
	}
	sl := &Sealer{policy: tenancy.Policy{Setting: "app.tenant"}}
	for name, sql := range map[string]string{
		"the catalog query":       catalog.Query(catalog.Tables(cols)),
		"the tenancy seed":        sl.tenancySQL() + listenSQL,
		"the envelope CHECK read": column.EnvelopeCheckQuery(mcols),
		"the catalog marker":      catalog.MarkerQuery(catalog.Tables(cols)),
		"the fast catalog marker": catalog.FastMarkerQuery(catalog.Tables(cols), "{16384,16390}"),
	} {
		t.Run(name+" qualifies every name", func(t *testing.T) {
			js, err := pg_query.ParseToJSON(sql)
			if err != nil {
				t.Fatalf("ParseToJSON() = %v", err)
			}
			var tree any
			if err := json.Unmarshal([]byte(js), &tree); err != nil {
				t.Fatal(err)
			}
			ctes := map[string]bool{}
			walkJSON(tree, func(kind string, n map[string]any) {
				if kind == "CommonTableExpr" {
					ctes[n["ctename"].(string)] = true
				}
			})
			walkJSON(tree, func(kind string, n map[string]any) {
				switch kind {
				case "FuncCall":
					checkQualified(t, "function", names(n["funcname"]))
				case "A_Expr":
					checkQualified(t, "operator", names(n["name"]))
				case "TypeName":
					checkQualified(t, "type", names(n["names"]))
				case "RangeVar":
					rel, _ := n["relname"].(string)
					if s, _ := n["schemaname"].(string); s != "pg_catalog" && !ctes[rel] {
						t.Errorf("relation %q is not pg_catalog-qualified", rel)
					}
				}
			})
		})
	}
}

func checkQualified(t *testing.T, what string, parts []string) {
	t.Helper()
	if len(parts) != 2 || parts[0] != "pg_catalog" {
		t.Errorf("%s %s is not pg_catalog-qualified", what, strings.Join(parts, "."))
	}
}

// names returns the strings of a pg_query name list ([{"String": {"sval": …}}, …]).
func names(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if s, ok := m["String"].(map[string]any); ok {
				sv, _ := s["sval"].(string)
				out = append(out, sv)
			}
		}
	}
	return out
}

// walkJSON calls fn for every node object {"Kind": {…}} of a pg_query JSON tree.
func walkJSON(v any, fn func(kind string, n map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if m, ok := c.(map[string]any); ok && k != "" && k[0] >= 'A' && k[0] <= 'Z' {
				fn(k, m)
			}
			walkJSON(c, fn)
		}
	case []any:
		for _, c := range x {
			walkJSON(c, fn)
		}
	}
}
