package seal

import (
	"testing"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
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
		t.Run(name+" qualifies every name", func(t *testing.T) { pgtest.CheckCatalogQualified(t, sql) })
	}
}
