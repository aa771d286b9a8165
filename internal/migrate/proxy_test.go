package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/migrate"
)

// TestEncryptWithWriterThroughProxy migrates a live multi-tenant column while the application
// writes through pgseal: the [[encrypt]] entry is configured from the start (pending while the
// column is text), the migration is killed halfway and resumed, and afterwards the database
// holds no plaintext, every row reads back through pgseal as its original value or its latest
// acknowledged update, UNIQUE still holds, and the fixed application queries give the same
// results as before (with the writer's acknowledged writes applied).
func TestEncryptWithWriterThroughProxy(t *testing.T) {
	const rows = 200_000
	phase := phases(t)
	enc := config.Encrypt{Table: "accounts", Column: "email", Type: "text", Search: []string{"eq"}}
	e := newProxyEnv(t, []config.Encrypt{enc})
	e.exec(t, `CREATE TABLE accounts (id bigserial PRIMARY KEY, tenant_id text NOT NULL, email text UNIQUE, name text)`)
	e.exec(t, `INSERT INTO accounts (tenant_id, email, name)
SELECT (ARRAY['acme','globex','initech'])[i % 3 + 1], 'user' || i || '@example.com', 'name ' || i FROM generate_series(1, $1) i`, rows)
	e.exec(t, `UPDATE accounts SET email = NULL WHERE id % 1000 = 7`)
	e.exec(t, `VACUUM ANALYZE accounts`)
	phase("setup")
	col, err := column.FromConfig(enc)
	if err != nil {
		t.Fatalf("column.FromConfig() = %v", err)
	}

	// The application's view before anything happens.
	app := e.connect(t)
	emails := e.sampleEmails(t, 4001)
	before, _ := readApp(t, app, emails)
	if !slices.Equal(before.fields, wantFields) {
		t.Fatalf("SELECT * columns through pgseal = %v, want %v", before.fields, wantFields)
	}
	if d := diff(before, expect(before, nil, nil, emails)); d != nil {
		t.Fatalf("the application's view before the migration is inconsistent:\n%s", joinLines(d))
	}

	phase("application queries before")
	w, stopWriter := startAppWriter(t, e, rows)
	if !waitFor(60*time.Second, func() bool { return w.nOps() >= 300 }) {
		t.Fatalf("writer through pgseal did %d writes in 60s, want 300 (%s)", w.nOps(), w.failures())
	}
	tStart := time.Now()
	phase("writer baseline")

	runKilled(t, e, col)
	phase("killed run")
	hiddenDuring := e.selectStarDuring(t, app)
	rep, tCut := runResumed(t, e, col, rows)
	phase("resumed run")
	e.waitForWriterAfterCutover(t, w, tCut)
	stopWriter()
	tEnd := time.Now()
	phase("writer after the cut-over")

	t.Logf("resumed run: %d rows backfilled (%.0f rows/s), skipped %d, swept %d, final %d, cut-over %d ms in %d attempt(s)",
		rep.Backfilled, rep.RowsPerSecond, rep.Skipped, rep.Swept, rep.FinalSwept, rep.CutoverMillis, rep.LockAttempts)
	base, during, after := w.latencies(time.Time{}, tStart), w.latencies(tStart, tCut), w.latencies(tCut, tEnd)
	t.Logf("writer latency through pgseal, baseline: %s", latencySummary(base))
	t.Logf("writer latency through pgseal, during migration: %s (p50 %.1fx, p99 %.1fx baseline)", latencySummary(during),
		ratio(pctl(during, .5), pctl(base, .5)), ratio(pctl(during, .99), pctl(base, .99)))
	t.Logf("writer latency through pgseal, after cut-over: %s", latencySummary(after))
	t.Logf("writer: %d rows written in total; %s", len(w.want), w.failures())

	if !hiddenDuring {
		t.Errorf("SELECT * through pgseal during the migration showed the shadow column, want %v", wantFields)
	}

	e.checkNoPlaintext(t)
	phase("direct checks")
	extra := map[string][]string{}
	for i, id := range slices.Sorted(maps.Keys(w.want)) {
		if i%25 == 0 { // some of the writer's emails: inserted and updated ones
			tn := w.tenant[id]
			if tn == "" {
				tn = proxyTenants[id%3]
			}
			extra[tn] = append(extra[tn], w.want[id])
		}
	}
	for tn, es := range emails {
		extra[tn] = append(extra[tn], es...)
	}
	want := expect(before, w.want, w.tenant, extra)
	got, retried := readApp(t, app, extra)
	if len(retried) > 0 {
		t.Logf("application queries retried once after the migration: %v", retried)
	}
	if d := diff(got, want); d != nil {
		t.Errorf("the application's view through pgseal after the migration differs from before + acknowledged writes:\n%s", joinLines(d))
	}
	phase("application queries after")
	e.checkUnique(t, app, want)

	// Last, as it adds rows: pgseal's share of a write's latency now that it seals.
	px, dx := e.compareAfter(t, col, 200)
	t.Logf("after the migration, SET + INSERT through pgseal: %s; straight to PostgreSQL, sealed by the test: %s", latencySummary(px), latencySummary(dx))
}

// phases returns a function that logs the time since its previous call.
func phases(t *testing.T) func(string) {
	last := time.Now()
	return func(name string) {
		t.Logf("phase %s: %s", name, time.Since(last).Round(time.Millisecond))
		last = time.Now()
	}
}

// runKilled runs the migration until 100 batches of 1,000 rows are committed, then cancels it.
func runKilled(t *testing.T, e *proxyEnv, col migrate.Column) {
	t.Helper()
	ctx, kill := context.WithCancel(testCtx(t))
	defer kill()
	conn := e.db.Conn(t)
	opts := migrate.EncryptOptions{TenantColumn: "tenant_id", Options: migrate.Options{Batch: 1000, AfterBatch: func(n int) {
		if n == 100 {
			kill()
		}
	}}}
	if _, err := migrate.Encrypt(ctx, conn, e.kr.Snapshot(), col, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("Encrypt(killed after 100 batches) = %v, want context.Canceled", err)
	}
	if done := e.count(t, `SELECT rows_done FROM pgseal.migration WHERE table_name = 'public.accounts'`); done < 50_000 || done > 150_000 {
		t.Fatalf("rows_done after the kill = %d, want about 100000", done)
	}
}

// runResumed runs the migration again on a new connection, to the end; it returns the report
// and the time the cut-over had committed.
func runResumed(t *testing.T, e *proxyEnv, col migrate.Column, rows int64) (*migrate.Report, time.Time) {
	t.Helper()
	opts := migrate.EncryptOptions{TenantColumn: "tenant_id", Options: migrate.Options{Batch: 1000, Progress: tlog{t, time.Now()}}}
	rep, err := migrate.Encrypt(testCtx(t), e.db.Conn(t), e.kr.Snapshot(), col, opts)
	if err != nil {
		t.Fatalf("Encrypt(resumed) = %v", err)
	}
	if !rep.Resumed || rep.Backfilled > rows {
		t.Errorf("Encrypt(resumed) = resumed %v, backfilled %d; want a resume of the remaining rows", rep.Resumed, rep.Backfilled)
	}
	return rep, time.Now()
}

// selectStarDuring runs the application's SELECT * while the shadow column exists and reports
// whether pgseal showed the application's columns only.
func (e *proxyEnv) selectStarDuring(t *testing.T, app *pgx.Conn) bool {
	t.Helper()
	if n := e.count(t, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'email__pgseal' AND NOT attisdropped`); n != 1 {
		t.Fatalf("shadow column email__pgseal after the killed run: %d, want 1", n)
	}
	var fields []string
	sql := "SELECT * FROM accounts WHERE tenant_id = $1 ORDER BY id LIMIT 3"
	each := func(rows pgx.Rows) error { fields = fieldNames(rows); return nil }
	if _, err := app.Exec(testCtx(t), "SET app.tenant = 'acme'"); err != nil {
		t.Fatalf("SET app.tenant through pgseal: %v", err)
	}
	err := queryEach(testCtx(t), app, sql, []any{"acme"}, each)
	if err != nil { // once: the cached plan's result type changed with the new column
		err = queryEach(testCtx(t), app, sql, []any{"acme"}, each)
	}
	if err != nil {
		t.Fatalf("SELECT * through pgseal during the migration: %v", err)
	}
	return slices.Equal(fields, wantFields)
}

// waitForWriterAfterCutover waits until the writer has had 1,000 writes acknowledged after the
// cut-over: pgseal must seal its plaintext now.
func (e *proxyEnv) waitForWriterAfterCutover(t *testing.T, w *appWriter, tCut time.Time) {
	t.Helper()
	switched := waitFor(3*time.Second, func() bool { return w.opsSince(tCut) >= 20 })
	if !switched {
		t.Errorf("writer through pgseal: %d writes acknowledged within 3s of the cut-over, want 20 (%s)", w.opsSince(tCut), w.failures())
	}
	if !waitFor(60*time.Second, func() bool { return w.opsSince(tCut) >= 1000 }) {
		t.Fatalf("writer through pgseal: %d writes acknowledged after the cut-over, want 1000 (%s)", w.opsSince(tCut), w.failures())
	}
	t.Logf("writer: first write acknowledged %s after Encrypt returned", w.firstAfter(tCut).Sub(tCut).Round(time.Millisecond))
}

// checkNoPlaintext asserts in PostgreSQL directly: every value is an envelope, under its
// tenant's keyset, and the shadow column and triggers are gone.
func (e *proxyEnv) checkNoPlaintext(t *testing.T) {
	t.Helper()
	if n := e.count(t, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'email' AND atttypid = 'bytea'::regtype`); n != 1 {
		t.Fatalf("accounts.email is not bytea after the migration")
	}
	if n := e.count(t, `SELECT count(*) FROM accounts WHERE email IS NOT NULL AND (get_byte(email, 0) <> 1 OR length(email) < 67)`); n != 0 {
		t.Errorf("rows whose email is not an envelope = %d, want 0", n)
	}
	if n := e.count(t, `SELECT count(*) FROM accounts WHERE position('@'::bytea in email) > 0 AND position('.example'::bytea in email) > 0`); n != 0 {
		t.Errorf("rows whose email bytes contain an address = %d, want 0", n)
	}
	for _, tn := range proxyTenants {
		ks, _ := e.kr.Snapshot().Keyset(tn)
		if n := e.count(t, `SELECT count(*) FROM accounts WHERE tenant_id = $1 AND substring(email from 4 for 16) <> $2`, tn, ks.ID[:]); n != 0 {
			t.Errorf("rows of tenant %s under another keyset = %d, want 0", tn, n)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname LIKE '%pgseal%' AND NOT attisdropped`); n != 0 {
		t.Errorf("shadow columns left = %d, want 0", n)
	}
}

// checkUnique inserts, through pgseal under the row's tenant, a copy of an existing email: the
// UNIQUE constraint (now on the equality term) must refuse it with 23505.
func (e *proxyEnv) checkUnique(t *testing.T, app *pgx.Conn, v *appView) {
	t.Helper()
	var email string
	for _, id := range slices.Sorted(maps.Keys(v.rows)) {
		if r := v.rows[id]; r[colTenant] == "globex" && r[colEmail] != "NULL" {
			email = r[colEmail]
			break
		}
	}
	ctx := testCtx(t)
	if _, err := app.Exec(ctx, "SET app.tenant = 'globex'"); err != nil {
		t.Fatalf("SET app.tenant through pgseal: %v", err)
	}
	_, err := app.Exec(ctx, "INSERT INTO accounts (tenant_id, email, name) VALUES ('globex', $1, 'dup')", email)
	if sqlState(err) != "23505" {
		t.Errorf("INSERT of a duplicate email through pgseal = %v, want 23505", err)
	}
}

// sampleEmails picks, directly in PostgreSQL, the emails of every step-th row per tenant.
func (e *proxyEnv) sampleEmails(t *testing.T, step int) map[string][]string {
	t.Helper()
	rows, err := e.direct.Query(testCtx(t), `SELECT tenant_id, email FROM accounts WHERE id % $1 = 0 AND email IS NOT NULL ORDER BY id`, step)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var tn, em string
	if _, err := pgx.ForEachRow(rows, []any{&tn, &em}, func() error { out[tn] = append(out[tn], em); return nil }); err != nil {
		t.Fatal(err)
	}
	out["acme"] = append(out["acme"], "nobody@example.com") // a miss
	return out
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// tlog is a progress writer that logs each line with the time since the run started.
type tlog struct {
	t     *testing.T
	start time.Time
}

func (l tlog) Write(p []byte) (int, error) {
	l.t.Logf("%s migrate: %s", time.Since(l.start).Round(time.Millisecond), strings.TrimSpace(string(p)))
	return len(p), nil
}

// compareAfter times n single-row writes (SET app.tenant + INSERT, one batch) through pgseal and
// the same writes straight to PostgreSQL with the envelope sealed by the test, to tell pgseal's
// share of the post-migration write latency from the database's.
func (e *proxyEnv) compareAfter(t *testing.T, col migrate.Column, n int) (proxied, direct []time.Duration) {
	t.Helper()
	ctx := testCtx(t)
	pc := e.connect(t)
	ks, _ := e.kr.Snapshot().Keyset("acme")
	for i := 0; i < 2*n; i++ {
		email := fmt.Sprintf("cmp%d@acme.example", i)
		b := &pgx.Batch{}
		b.Queue("SET app.tenant = 'acme'")
		conn := pc
		var arg any = email
		if i%2 == 1 {
			env, err := col.Seal(nil, ks, append([]byte{byte(col.Type)}, email...))
			if err != nil {
				t.Fatal(err)
			}
			conn, arg = e.direct, env
		}
		b.Queue("INSERT INTO accounts (tenant_id, email, name) VALUES ('acme', $1, 'n')", arg)
		t0 := time.Now()
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			t.Fatalf("compare write %d: %v", i, err)
		}
		if i%2 == 1 {
			direct = append(direct, time.Since(t0))
		} else {
			proxied = append(proxied, time.Since(t0))
		}
	}
	slices.Sort(proxied)
	slices.Sort(direct)
	return proxied, direct
}
