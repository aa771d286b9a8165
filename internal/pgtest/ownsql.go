package pgtest

import (
	"encoding/json"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// CheckCatalogQualified fails t unless sql (one of pgseal's own statements, sent on a client
// session's connection) names every function, operator and type as pg_catalog.name and every
// relation but its own CTEs with schema pg_catalog: no session's search_path, or objects it
// created, can then change the answer pgseal relies on (issue 10, case 1).
func CheckCatalogQualified(t *testing.T, sql string) {
	t.Helper()
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
