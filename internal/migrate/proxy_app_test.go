package migrate_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// appView is what the application's fixed queries return through pgseal, rendered as text:
// SELECT * (per tenant, ORDER BY id), lookups by email and counts per tenant.
type appView struct {
	fields  []string            // SELECT * column names and type OIDs, as the application sees them
	rows    map[int64][]string  // id -> SELECT * row
	counts  map[string][]string // tenant -> [count(*), count(email)]
	lookups map[string][]string // "tenant email" -> ids found by WHERE email = $1
}

// Column positions of accounts in SELECT * (checked against fields by the test).
const (
	colID = iota
	colTenant
	colEmail
	colName
)

var wantFields = []string{"id:20", "tenant_id:25", "email:25", "name:25"}

func render(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

// readApp runs the fixed application queries through pgseal on conn, each under the tenant it
// concerns (SET app.tenant, as the application does), looking up the given emails per tenant.
// Like the writer, it retries a failed query once (a prepared SELECT * fails once with 0A000
// "cached plan must not change result type" after the table's columns changed, in PostgreSQL
// itself); the first failures are kept in retried.
func readApp(t *testing.T, conn *pgx.Conn, emails map[string][]string) (v *appView, retried []string) {
	t.Helper()
	ctx := testCtx(t)
	v = &appView{rows: map[int64][]string{}, counts: map[string][]string{}, lookups: map[string][]string{}}
	// run runs one query, retried once; reset (when set) runs before each attempt.
	run := func(what, sql string, reset func(), each func(pgx.Rows) error, args ...any) {
		t.Helper()
		try := func() error {
			if reset != nil {
				reset()
			}
			return queryEach(ctx, conn, sql, args, each)
		}
		err := try()
		if err != nil {
			retried = append(retried, what+": "+sqlState(err))
			err = try()
		}
		if err != nil {
			t.Fatalf("%s through pgseal (after one retry): %v", what, err)
		}
	}
	for _, tn := range proxyTenants {
		run("SET app.tenant", "SET app.tenant = '"+tn+"'", nil, nil)
		var last int64
		run("SELECT *", "SELECT * FROM accounts WHERE tenant_id = $1 ORDER BY id", func() { last = -1 }, func(rows pgx.Rows) error {
			if last == -1 {
				v.fields = fieldNames(rows)
			}
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			r := make([]string, len(vals))
			for i, x := range vals {
				r[i] = render(x)
			}
			id, _ := vals[colID].(int64)
			if id <= last {
				return fmt.Errorf("ORDER BY id: id %d after %d", id, last)
			}
			last = id
			v.rows[id] = r
			return nil
		}, tn)
		for _, e := range emails[tn] {
			var ids []string
			run("lookup by email", "SELECT id FROM accounts WHERE email = $1 ORDER BY id", func() { ids = []string{} }, func(rows pgx.Rows) error {
				var id int64
				err := rows.Scan(&id)
				ids = append(ids, fmt.Sprint(id))
				return err
			}, e)
			v.lookups[tn+" "+e] = ids
		}
	}
	run("counts per tenant", "SELECT tenant_id, count(*), count(email) FROM accounts GROUP BY tenant_id ORDER BY tenant_id",
		nil, func(rows pgx.Rows) error {
			var tn string
			var n, ne int64
			err := rows.Scan(&tn, &n, &ne)
			v.counts[tn] = []string{fmt.Sprint(n), fmt.Sprint(ne)}
			return err
		})
	return v, retried
}

// queryEach runs sql and calls each for every row (no rows are read when each is nil).
func queryEach(ctx context.Context, conn *pgx.Conn, sql string, args []any, each func(pgx.Rows) error) error {
	if each == nil {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func fieldNames(rows pgx.Rows) []string {
	var out []string
	for _, f := range rows.FieldDescriptions() {
		out = append(out, fmt.Sprintf("%s:%d", f.Name, f.DataTypeOID))
	}
	return out
}

// expect derives, from the rows of a view, the counts and lookups the queries must return;
// with the writer's acknowledged writes applied first when want is not nil. Comparing a view
// read through pgseal with the expectation built from an earlier view is the "same results
// before and after" check, with the concurrent writes accounted for.
func expect(from *appView, want map[int64]string, tenantOf map[int64]string, emails map[string][]string) *appView {
	v := &appView{fields: from.fields, rows: map[int64][]string{}, counts: map[string][]string{}, lookups: map[string][]string{}}
	for id, r := range from.rows {
		v.rows[id] = slices.Clone(r)
	}
	for id, e := range want {
		if r, ok := v.rows[id]; ok {
			r[colEmail] = e
		} else {
			v.rows[id] = []string{fmt.Sprint(id), tenantOf[id], e, "n"}
		}
	}
	byKey := map[string][]string{}
	n, ne := map[string]int{}, map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(v.rows)) {
		r := v.rows[id]
		n[r[colTenant]]++
		if r[colEmail] != "NULL" {
			ne[r[colTenant]]++
			k := r[colTenant] + " " + r[colEmail]
			byKey[k] = append(byKey[k], r[colID])
		}
	}
	for tn := range n {
		v.counts[tn] = []string{fmt.Sprint(n[tn]), fmt.Sprint(ne[tn])}
	}
	for tn, es := range emails {
		for _, e := range es {
			v.lookups[tn+" "+e] = byKey[tn+" "+e]
			if v.lookups[tn+" "+e] == nil {
				v.lookups[tn+" "+e] = []string{}
			}
		}
	}
	return v
}

// diff lists the first differences between two views (nil when they are equal).
func diff(got, want *appView) []string {
	var out []string
	add := func(f string, a ...any) {
		if len(out) < 10 {
			out = append(out, fmt.Sprintf(f, a...))
		}
	}
	if !slices.Equal(got.fields, want.fields) {
		add("SELECT * columns = %v, want %v", got.fields, want.fields)
	}
	if len(got.rows) != len(want.rows) {
		add("SELECT * rows = %d, want %d", len(got.rows), len(want.rows))
	}
	for _, id := range slices.Sorted(maps.Keys(want.rows)) {
		if g := got.rows[id]; !slices.Equal(g, want.rows[id]) {
			add("SELECT * row %d = %v, want %v", id, g, want.rows[id])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.lookups)) {
		if g := got.lookups[k]; !slices.Equal(g, want.lookups[k]) {
			add("lookup by email (%s) = %v, want %v", k, g, want.lookups[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.counts)) {
		if g := got.counts[k]; !slices.Equal(g, want.counts[k]) {
			add("counts of %s = %v, want %v", k, g, want.counts[k])
		}
	}
	if len(got.counts) != len(want.counts) {
		add("counts per tenant = %v, want %v", got.counts, want.counts)
	}
	return out
}

func joinLines(l []string) string { return strings.Join(l, "\n") }
