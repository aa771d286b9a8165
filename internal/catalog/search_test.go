package catalog

import (
	"context"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestSearchIndexName(t *testing.T) {
	// printf 'public.users.email' | sha256sum starts 8ca2fcb212ac06f6: docs/search.md §5.
	got := SearchIndexName("public.users.email", IndexOrd)
	if got != "pgseal_8ca2fcb212ac06f6_ord" {
		t.Fatalf("SearchIndexName() = %q, want pgseal_8ca2fcb212ac06f6_ord", got)
	}
	if m := SearchIndexName("public.users.email", IndexMatch); m[:23] != got[:23] || m[23:] != "_match" {
		t.Fatalf("match name %q does not share the ord name's prefix %q", m, got[:23])
	}
	if SearchIndexName("public.users.name", IndexOrd) == got {
		t.Fatal("two columns got the same index name")
	}
	if len(SearchIndexName("s.t.c", IndexMatch)) > 63 {
		t.Fatal("index name longer than NAMEDATALEN-1")
	}
}

func searchCols() []config.Encrypt {
	return []config.Encrypt{
		{Table: "users", Column: "email", Type: "text", Search: []string{"eq", "ord", "match"},
			AcceptLeakage: []string{"ord", "match"}, TextOrder: "bytes"},
		{Table: "users", Column: "age", Type: "int4", Search: []string{"ord"}, AcceptLeakage: []string{"ord"}},
		{Table: "users", Column: "ssn", Type: "text"},
	}
}

func TestBuildSearchReadiness(t *testing.T) {
	c := func(table string, oid, root uint32, col string, n int16) Row {
		return Row{Kind: 'c', Schema: "public", Table: table, TableOID: oid, Root: root, Column: col, Number: n, Bytea: true}
	}
	ix := func(name string, valid bool) Row {
		return Row{Kind: 'i', Schema: "public", Table: "users", TableOID: 10, Root: 10, Relkind: "r", Column: name, Bytea: valid}
	}
	base := []Row{c("users", 10, 10, "email", 1), c("users", 10, 10, "age", 2), c("users", 10, 10, "ssn", 3),
		c("users_child", 11, 10, "email", 1), c("users_child", 11, 10, "age", 2), c("users_child", 11, 10, "ssn", 3)}
	tests := []struct {
		name                         string
		idx                          []Row
		emailOrd, emailMatch, ageOrd bool
	}{
		{"no index: nothing ready", nil, false, false, false},
		{"valid indexes: ready", []Row{ix(SearchIndexName("public.users.email", IndexOrd), true),
			ix(SearchIndexName("public.users.email", IndexMatch), true), ix(SearchIndexName("public.users.age", IndexOrd), true)}, true, true, true},
		{"an invalid index is not ready", []Row{ix(SearchIndexName("public.users.email", IndexOrd), false),
			ix(SearchIndexName("public.users.email", IndexMatch), true)}, false, true, false},
		{"another column's index does not count", []Row{ix(SearchIndexName("public.users.age", IndexMatch), true),
			ix(SearchIndexName("public.users.ssn", IndexOrd), true)}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Build(searchCols(), append(append([]Row{}, base...), tt.idx...))
			if err != nil {
				t.Fatalf("Build() = %v", err)
			}
			u := info.Schema.Tables["public.users"].Encrypted
			if u["email"].OrdReady != tt.emailOrd || u["email"].MatchReady != tt.emailMatch || u["age"].OrdReady != tt.ageOrd {
				t.Errorf("email ord/match ready = %v/%v, age ord ready = %v; want %v/%v, %v", u["email"].OrdReady,
					u["email"].MatchReady, u["age"].OrdReady, tt.emailOrd, tt.emailMatch, tt.ageOrd)
			}
			if u["age"].MatchReady || u["ssn"].OrdReady || u["ssn"].MatchReady {
				t.Error("a column without the search is ready for it")
			}
			if child := info.Schema.Tables["public.users_child"].Encrypted["email"]; child != u["email"] {
				t.Error("the child does not share the root's column (and its readiness)")
			}
			if len(info.Schema.Refused) != 0 {
				t.Errorf("Refused = %v, want none (index rows are not relations)", info.Schema.Refused)
			}
		})
	}
}

// TestLoadSearchReadiness: Load finds pgseal's indexes on the configured table, valid or not, and
// the marker moves when one is created, becomes invalid or is dropped.
func TestLoadSearchReadiness(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE users (id int PRIMARY KEY, email bytea, age bytea, ssn bytea);
CREATE INDEX users_email_plain ON users (email)`)
	conn := db.Conn(t)
	ctx := context.Background()
	cols := searchCols()
	ordName, matchName := SearchIndexName("public.users.email", IndexOrd), SearchIndexName("public.users.email", IndexMatch)
	load := func(t *testing.T) (ord, match bool) {
		t.Helper()
		info, err := Load(ctx, conn, cols)
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		e := info.Schema.Tables["public.users"].Encrypted["email"]
		return e.OrdReady, e.MatchReady
	}
	tables := Tables(cols)
	step := func(t *testing.T, sql string, wantOrd, wantMatch bool) {
		t.Helper()
		before := marker(t, conn, tables)
		db.Exec(t, sql)
		if marker(t, conn, tables) == before {
			t.Errorf("marker did not move after %q", sql)
		}
		if ord, match := load(t); ord != wantOrd || match != wantMatch {
			t.Errorf("after %q: ord/match ready = %v/%v, want %v/%v", sql, ord, match, wantOrd, wantMatch)
		}
	}
	if ord, match := load(t); ord || match {
		t.Fatalf("ready before any index: %v/%v", ord, match)
	}
	step(t, `CREATE INDEX "`+ordName+`" ON users ((substring(email from 44 for 10)))`, true, false)
	step(t, `CREATE INDEX CONCURRENTLY "`+matchName+`" ON users USING gin ((string_to_array(encode(age, 'escape'), ' ')))`, true, true)
	step(t, `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"`+ordName+`"'::regclass`, false, true)
	step(t, `DROP INDEX "`+matchName+`"`, false, false)
	before := marker(t, conn, tables)
	db.Exec(t, `CREATE INDEX users_age_plain ON users (age)`)
	if marker(t, conn, tables) != before {
		t.Error("an index not named like pgseal's moved the marker")
	}
}
