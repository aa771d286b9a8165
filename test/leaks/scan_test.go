package leaks

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// catalogText lists every catalog text that a statement can leave a literal in: defaults and
// fast-path defaults of added columns, constraints, indexes (expressions and predicates), function
// bodies and their SET clauses, rules and views, comments, policies, extended statistics,
// triggers, collected statistics (ANALYZE keeps most-common values), per-role settings, partition
// bounds, domain defaults and large objects. Only objects made after initdb (oid >= 16384,
// FirstNormalObjectId) can hold a marker, which keeps the scan fast.
var catalogText = []string{
	`SELECT 'default ' || pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE oid >= 16384`,
	`SELECT 'missing value ' || attmissingval::text FROM pg_attribute WHERE atthasmissing`,
	`SELECT 'constraint ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE oid >= 16384`,
	`SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid >= 16384`,
	`SELECT 'function ' || proname || ' ' || prosrc || coalesce(proconfig::text, '') FROM pg_proc WHERE oid >= 16384`,
	`SELECT 'rule ' || pg_get_ruledef(oid) FROM pg_rewrite WHERE oid >= 16384`,
	`SELECT 'comment ' || description FROM pg_description WHERE objoid >= 16384`,
	`SELECT 'shared comment ' || description FROM pg_shdescription WHERE objoid >= 16384`,
	`SELECT 'policy ' || coalesce(pg_get_expr(polqual, polrelid), '') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '') FROM pg_policy`,
	`SELECT 'statistics ' || pg_get_statisticsobjdef(oid) FROM pg_statistic_ext`,
	`SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE oid >= 16384`,
	`SELECT 'collected statistics ' || concat_ws(' ', stavalues1::text, stavalues2::text, stavalues3::text, stavalues4::text, stavalues5::text) FROM pg_statistic WHERE starelid >= 16384`,
	`SELECT 'role setting ' || setconfig::text FROM pg_db_role_setting`,
	`SELECT 'partition bound ' || pg_get_expr(relpartbound, oid) FROM pg_class WHERE relpartbound IS NOT NULL`,
	`SELECT 'type default ' || typdefault FROM pg_type WHERE typdefault IS NOT NULL`,
	`SELECT 'large object ' || data::text FROM pg_largeobject`,
}

// leakHits returns where mk (or its bytes in hex, as a bytea shows it) occurs: lines of the server
// log, rows of any table or materialized view of the database outside the system schemas, and the
// catalog texts. Everything is read over a direct superuser connection whose statements never
// contain mk.
func leakHits(t *testing.T, db *pgtest.DB, mk string) []string {
	t.Helper()
	hx := hex.EncodeToString([]byte(mk))
	needles := []string{mk, hx, strings.ToUpper(hx)}
	found := func(s string) bool {
		for _, n := range needles {
			if strings.Contains(s, n) {
				return true
			}
		}
		return false
	}
	var hits []string
	log, err := db.Server.Log()
	if err != nil {
		t.Fatalf("server log: %v", err)
	}
	for _, line := range bytes.Split(log, []byte("\n")) {
		if found(string(line)) {
			hits = append(hits, "server log: "+clip(string(line)))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.ConnString())
	if err != nil {
		t.Fatalf("connect to scan: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' ORDER BY 1, 2`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []pgx.Identifier
	for rows.Next() {
		var ns, rel string
		if err := rows.Scan(&ns, &rel); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, pgx.Identifier{ns, rel})
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) == 0 {
		t.Fatalf("found no user tables to scan; the scan cannot work")
	}
	var queries []string
	for _, tb := range tables {
		// ONLY: a parent's rows are its children's, scanned as tables of their own.
		queries = append(queries, fmt.Sprintf("SELECT %s || ' ' || t::text FROM ONLY %s t",
			quoteLiteral(tb.Sanitize()), tb.Sanitize()))
	}
	queries = append(queries, catalogText...)
	// One round trip: every text of the database in one result.
	all := strings.Join(queries, "\nUNION ALL\n")
	for _, q := range []string{all} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("scan %q: %v", q, err)
		}
		for rows.Next() {
			var s *string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if s != nil && found(*s) {
				hits = append(hits, "at rest: "+clip(*s))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("scan %q: %v", q, err)
		}
	}
	return hits
}

// assertNoLeak fails t when mk reached PostgreSQL's log or storage.
func assertNoLeak(t *testing.T, db *pgtest.DB, mk string) {
	t.Helper()
	if hits := leakHits(t, db, mk); len(hits) > 0 {
		t.Errorf("plaintext %s reached PostgreSQL (%d places), want it nowhere:\n\t%s", mk, len(hits), strings.Join(hits, "\n\t"))
	}
}

// assertTenantKeysets fails t when a row of users (or of a child table) holds an envelope of a
// keyset other than the one its tenant names: a row that app_a's RLS policy let it write as one
// tenant, sealed under another tenant's keys.
func (e *env) assertTenantKeysets(t *testing.T, db *pgtest.DB) {
	t.Helper()
	for _, m := range e.keysetMismatches(t, db) {
		t.Error(m)
	}
}

// keysetMismatches lists the users rows whose envelopes are not under their tenant's keyset.
func (e *env) keysetMismatches(t *testing.T, db *pgtest.DB) []string {
	t.Helper()
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT id, tenant, email, born, note, doc FROM public.users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var tenant *string
		var vals [4][]byte
		if err := rows.Scan(&id, &tenant, &vals[0], &vals[1], &vals[2], &vals[3]); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if v == nil {
				continue
			}
			col := []string{"email", "born", "note", "doc"}[i]
			h, err := crypto.ParseHeader(v)
			if err != nil {
				out = append(out, fmt.Sprintf("users id %d: %s is not an envelope (%v), want ciphertext", id, col, err))
				continue
			}
			ks := e.names[h.Keyset]
			if tenant == nil || ks != *tenant {
				out = append(out, fmt.Sprintf("users id %d: tenant %v holds %s sealed under keyset %q, want the tenant's own keyset", id, deref(tenant), col, ks))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
