package wire

import (
	"testing"

	"github.com/pgseal/pgseal/internal/pgtest"
)

// TestOwnSQLIsImmuneToTheSessionsSearchPath: every statement pgseal itself sends on a client
// session's connection names each function, operator, type and catalog relation with its schema,
// so that no session's search_path (or objects it created) can change the answer that pgseal, and
// through its caches other sessions, rely on. Issue 10, case 1: an unqualified format_type once
// turned encryption off for every session.
func TestOwnSQLIsImmuneToTheSessionsSearchPath(t *testing.T) {
	// The catalog, tenancy and envelope CHECK queries are internal/seal's (its ownsql_test.go).
	for name, sql := range map[string]string{
		"the refusal stand-in": refusedQuery(refusedText(CodeFeatureNotSupported)).String,
		"the Parse stand-in":   refusedParse("", refusedText(CodeFeatureNotSupported)).Query,
	} {
		t.Run(name+" qualifies every name", func(t *testing.T) { pgtest.CheckCatalogQualified(t, sql) })
	}
}
