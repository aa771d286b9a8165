package migrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/catalog"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/value"
)

// encryptedAccounts is the accounts table of rows rows with email encrypted, eq search only.
func encryptedAccounts(t *testing.T, f *fixture, rows int) (Column, map[string]*string, []string) {
	t.Helper()
	f.exec(t, `CREATE TABLE accounts (id bigserial PRIMARY KEY, tenant_id text NOT NULL, email text UNIQUE, name text)`)
	f.exec(t, `INSERT INTO accounts (tenant_id, email, name)
SELECT (ARRAY['acme','globex','initech'])[i % 3 + 1], 'user' || i || '@example.com', 'name ' || i FROM generate_series(1, $1) i`, rows)
	f.exec(t, `UPDATE accounts SET email = NULL WHERE id % 100 = 7`)
	colsBefore := f.columnNames(t, "accounts")
	want := f.plainAll(t, "accounts", "id", "email")
	col := mustColumn(t, configEncrypt("accounts", "email", "text", true))
	if _, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{TenantColumn: "tenant_id"}); err != nil {
		t.Fatalf("Encrypt() = %v", err)
	}
	return col, want, colsBefore
}

// searchState is the column's status Search lines.
func searchState(t *testing.T, f *fixture, col Column) []string {
	t.Helper()
	st, err := Status(ctxT(t), f.conn, f.snap(), []Column{col})
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	var out []string
	for _, s := range st[0].Search {
		out = append(out, s.String())
	}
	return out
}

// TestReindexKilledResumedUnderWriters: a column that gains ord and match search is reindexed
// while an application writes (with the terms, as a proxy with the new configuration does); the
// first run is killed and a second resumes; then every value has its terms, decrypts as before,
// the indexes are valid and used for ORDER BY, and a third run has nothing to do.
func TestReindexKilledResumedUnderWriters(t *testing.T) {
	const rows = 20_000
	f := newFixture(t, tenants...)
	col := searchColumn(t, "accounts", "email", "text")
	_, want, colsBefore := encryptedAccounts(t, f, rows)
	lacking := rows - rows/100
	n := itoa(int64(lacking))
	if got := searchState(t, f, col); !slices.Equal(got, []string{"ord:" + n + " lacking,index missing", "match:" + n + " lacking,index missing"}) {
		t.Errorf("status before = %v, want %d values lacking each term and no index", got, lacking)
	}

	w, stopWriter := runWriter(t, f, col, rows, true)
	waitOps(t, w, 100)
	ctx1, kill := context.WithCancel(ctxT(t))
	_, err := Reindex(ctx1, f.db.Conn(t), f.snap(), ReindexOptions{Columns: []Column{col}, Batch: 500,
		AfterBatch: func(n int) {
			if n == 5 {
				kill()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Reindex(killed) = %v, want context.Canceled", err)
	}
	if n := f.count(t, `SELECT count(*) FROM pg_class WHERE relname LIKE 'pgseal\_%' AND relkind = 'i'`); n != 0 {
		t.Errorf("%d pgseal indexes after a killed reindex, want 0", n)
	}
	waitMigrationLockFree(t, f, col)
	rep, err := Reindex(ctxT(t), f.conn, f.snap(), ReindexOptions{Columns: []Column{col}, Batch: 500})
	if err != nil {
		t.Fatalf("Reindex() = %v", err)
	}
	names := []string{catalog.SearchIndexName(col.ID, catalog.IndexOrd), catalog.SearchIndexName(col.ID, catalog.IndexMatch)}
	if got := rep.Indexes[col.ID]; !slices.Equal(got, names) {
		t.Errorf("Reindex().Indexes = %v, want %v", got, names)
	}
	if got := rep.Columns[col.ID]; got < int64(lacking)-2500-3000 || got > int64(lacking)-2500 {
		t.Errorf("Reindex().Columns = %d, want the ~%d values left after the killed run", got, lacking-2500)
	}
	if err := stopWriter(); err != nil {
		t.Fatal(err)
	}
	if got := searchState(t, f, col); !slices.Equal(got, []string{"ord:ready", "match:ready"}) {
		t.Errorf("status after = %v, want both ready", got)
	}
	again, err := Reindex(ctxT(t), f.conn, f.snap(), ReindexOptions{Columns: []Column{col}})
	if err != nil || again.Columns[col.ID] != 0 || len(again.Indexes) != 0 {
		t.Errorf("Reindex() again = %+v, %v; want nothing to do", again, err)
	}
	for id, e := range w.want {
		e := e
		want[itoa(id)] = &e
	}
	f.checkEncrypted(t, col, want, colsBefore)
	checkOrderByOrd(t, f, col, names[0])
}

// checkOrderByOrd: ORDER BY ord(email) within one keyset uses the ord index and returns the
// values in byte order (text_order = "bytes").
func checkOrderByOrd(t *testing.T, f *fixture, col Column, ordName string) {
	t.Helper()
	ks, _ := f.snap().Keyset("acme")
	f.exec(t, "ANALYZE accounts")
	f.exec(t, "SET enable_seqscan = off")
	rows, err := f.conn.Query(ctxT(t), "EXPLAIN SELECT id FROM accounts ORDER BY "+rewrite.OrdExpr(q(col.Name), col.Eq)+" LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !strings.Contains(strings.Join(plan, "\n"), ordName) {
		t.Errorf("plan of ORDER BY ord(email) LIMIT 10 does not use %s (%v):\n%s", ordName, err, strings.Join(plan, "\n"))
	}
	f.exec(t, "RESET enable_seqscan")
	sql := "SELECT email FROM accounts WHERE substring(email from 4 for 16) = $1 ORDER BY " + rewrite.OrdExpr(q(col.Name), col.Eq)
	rows, _ = f.conn.Query(ctxT(t), sql, ks.ID[:])
	envs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil || len(envs) < 1000 {
		t.Fatalf("acme's values: %d, %v", len(envs), err)
	}
	var got []string
	for _, env := range envs {
		plain, _, _, err := col.Open(nil, f.snap(), env, nil)
		if err != nil {
			t.Fatal(err)
		}
		txt, _ := value.Decode(nil, col.Type, plain, value.FormatText, nil)
		got = append(got, string(txt))
	}
	if !slices.IsSorted(got) {
		t.Error("ORDER BY ord(email) did not return acme's values in byte order")
	}
}
