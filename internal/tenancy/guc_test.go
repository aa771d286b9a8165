package tenancy

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// scenarios are sequences of simple Query messages. Each is run against a real PostgreSQL and
// against the model (driven by the events a proxy would see), and app.tenant must agree after
// every message.
var scenarios = []struct {
	name    string
	startup string
	queries []string
}{
	{"a session SET stays", "", []string{"SET app.tenant = 'a'", "SELECT 1"}},
	{"SET inside a committed block stays", "", []string{"BEGIN", "SET app.tenant = 'a'", "COMMIT"}},
	{"SET inside a rolled back block is undone", "", []string{"SET app.tenant = 'z'", "BEGIN", "SET app.tenant = 'a'", "ROLLBACK"}},
	{"SET LOCAL ends with the block", "", []string{"SET app.tenant = 'z'", "BEGIN", "SET LOCAL app.tenant = 'a'", "SELECT 1", "COMMIT"}},
	{"SET after SET LOCAL survives commit", "", []string{"BEGIN", "SET LOCAL app.tenant = 'l'", "SET app.tenant = 's'", "COMMIT"}},
	{"SET LOCAL after SET reverts to the SET value", "", []string{"BEGIN", "SET app.tenant = 's'", "SET LOCAL app.tenant = 'l'", "COMMIT"}},
	{"SET in a failed block is undone by COMMIT", "", []string{"SET app.tenant = 'z'", "BEGIN", "SET app.tenant = 'a'", "SELECT 1/0", "COMMIT"}},
	{"ROLLBACK TO undoes what followed the savepoint", "", []string{"BEGIN", "SET app.tenant = 'a'", "SAVEPOINT s", "SET app.tenant = 'b'", "ROLLBACK TO SAVEPOINT s", "COMMIT"}},
	{"ROLLBACK TO after an error recovers the block", "", []string{"BEGIN", "SET app.tenant = 'a'", "SAVEPOINT s", "SET app.tenant = 'b'", "SELECT 1/0", "ROLLBACK TO s", "SET app.tenant = 'c'", "COMMIT"}},
	{"RELEASE keeps what followed the savepoint", "", []string{"BEGIN", "SAVEPOINT s", "SET app.tenant = 'b'", "RELEASE SAVEPOINT s", "COMMIT"}},
	{"RELEASE then ROLLBACK undoes everything", "", []string{"BEGIN", "SAVEPOINT s", "SET app.tenant = 'b'", "RELEASE s", "ROLLBACK"}},
	{"an error in a multi-statement query undoes its SET", "", []string{"SET app.tenant = 'z'", "SET app.tenant = 'a'; SELECT 1/0"}},
	{"a multi-statement query that succeeds keeps its SET", "", []string{"SET app.tenant = 'a'; SELECT 1"}},
	{"SET LOCAL in a multi-statement query lasts only for it", "", []string{"SET app.tenant = 'z'", "SET LOCAL app.tenant = 'a'; SELECT 1"}},
	{"RESET returns to the startup value", "s0", []string{"SET app.tenant = 'a'", "RESET app.tenant"}},
	{"RESET ALL returns to the startup value", "s0", []string{"SET app.tenant = 'a'", "RESET ALL"}},
	{"DISCARD ALL returns to the startup value", "s0", []string{"SET app.tenant = 'a'", "DISCARD ALL"}},
	{"RESET without a startup value empties it", "", []string{"SET app.tenant = 'a'", "RESET app.tenant"}},
	{"set_config session-wide stays", "", []string{"SELECT set_config('app.tenant', 'a', false)"}},
	{"set_config local in a block ends with it", "", []string{"SET app.tenant = 'z'", "BEGIN", "SELECT set_config('app.tenant', 'a', true)", "COMMIT"}},
	{"COMMIT; then an error undoes only the later SET", "", []string{"BEGIN; SET app.tenant = 'a'; COMMIT; SET app.tenant = 'b'; SELECT 1/0"}},
}

var (
	reSet       = regexp.MustCompile(`^SET (LOCAL )?app\.tenant = '(\w*)'$`)
	reSetConfig = regexp.MustCompile(`^SELECT set_config\('app\.tenant', '(\w*)', (true|false)\)$`)
)

// drive applies one statement's success to g, as the proxy would on its CommandComplete (whose
// tag tells a COMMIT that committed from one that rolled back).
func drive(g *GUC, stmt, tag string) {
	f := strings.Fields(stmt)
	switch {
	case reSet.MatchString(stmt):
		m := reSet.FindStringSubmatch(stmt)
		if m[1] != "" {
			g.SetLocal("app.tenant", m[2])
		} else {
			g.Set("app.tenant", m[2])
		}
	case reSetConfig.MatchString(stmt):
		m := reSetConfig.FindStringSubmatch(stmt)
		if m[2] == "true" {
			g.SetLocal("app.tenant", m[1])
		} else {
			g.Set("app.tenant", m[1])
		}
	case stmt == "RESET app.tenant":
		g.Reset("app.tenant")
	case stmt == "RESET ALL", stmt == "DISCARD ALL":
		g.ResetAll()
	case stmt == "BEGIN":
		g.Begin()
	case stmt == "COMMIT" && tag == "ROLLBACK": // COMMIT of a failed block rolls back
		g.Rollback()
	case stmt == "COMMIT":
		g.Commit()
	case stmt == "ROLLBACK":
		g.Rollback()
	case f[0] == "SAVEPOINT":
		g.Savepoint(f[1])
	case f[0] == "ROLLBACK" && len(f) > 2:
		g.RollbackTo(f[len(f)-1])
	case f[0] == "RELEASE":
		g.Release(f[len(f)-1])
	}
}

func TestGUCAgreesWithPostgreSQL(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			url := db.ConnString()
			startup := map[string]string{}
			if sc.startup != "" {
				url += "&options=-c%20app.tenant%3D" + sc.startup
				startup["app.tenant"] = sc.startup
			}
			conn, err := pgconn.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			g := New(startup)
			for _, q := range sc.queries {
				results, err := conn.Exec(ctx, q).ReadAll()
				failed := err != nil
				stmts := strings.Split(q, "; ")
				for i, r := range results {
					if r.Err != nil {
						failed = true
						break
					}
					drive(g, stmts[i], r.CommandTag.String())
				}
				if conn.TxStatus() == 'I' {
					g.EndBlock(failed)
				}
				if conn.TxStatus() == 'E' {
					continue // the server answers nothing but ROLLBACK now
				}
				want := currentSetting(t, conn)
				got, _ := g.Get("app.tenant")
				if got != want {
					t.Fatalf("after %q: model app.tenant = %q, PostgreSQL says %q", q, got, want)
				}
			}
		})
	}
}

func currentSetting(t *testing.T, conn *pgconn.PgConn) string {
	t.Helper()
	res := conn.ExecParams(context.Background(), "SELECT coalesce(current_setting('app.tenant', true), '')", nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return string(res.Rows[0][0])
}

// TestCloneSharesNoWrites: clones share frozen maps (copy on write), so a change on either side,
// in or out of a block, with or without savepoints, must never show on the other.
func TestCloneSharesNoWrites(t *testing.T) {
	steps := []struct {
		name string
		do   func(g *GUC)
	}{
		{"Set", func(g *GUC) { g.Set("app.tenant", "x") }},
		{"SetLocal", func(g *GUC) { g.SetLocal("app.tenant", "x") }},
		{"Reset", func(g *GUC) { g.Reset("app.tenant") }},
		{"ResetAll", func(g *GUC) { g.ResetAll() }},
		{"Savepoint then Set", func(g *GUC) { g.Savepoint("s"); g.Set("app.tenant", "x") }},
		{"RollbackTo", func(g *GUC) { g.RollbackTo("s"); g.Set("other", "y") }},
		{"Commit then Set", func(g *GUC) { g.Commit(); g.Set("app.tenant", "x") }},
		{"Rollback then Set", func(g *GUC) { g.Rollback(); g.Set("app.tenant", "x") }},
	}
	starts := []struct {
		name  string
		setup func(g *GUC)
	}{
		{"outside a block", func(g *GUC) {}},
		{"after a committed change", func(g *GUC) { g.Set("app.tenant", "a"); g.Commit() }},
		{"inside a block with a savepoint", func(g *GUC) { g.Begin(); g.Set("app.tenant", "a"); g.Savepoint("s"); g.Set("app.tenant", "b") }},
	}
	for _, st := range starts {
		for _, s := range steps {
			t.Run(st.name+", "+s.name+" on the clone", func(t *testing.T) {
				g := New(map[string]string{"app.tenant": "s0"})
				st.setup(g)
				want, _ := g.Get("app.tenant")
				c := g.Clone()
				s.do(c)
				c.Commit()
				if got, _ := g.Get("app.tenant"); got != want {
					t.Errorf("Get() = %q, want %q", got, want)
				}
				g.Rollback()
				if got, _ := g.Get("other"); got != "" {
					t.Errorf("Get(other) = %q, want none", got)
				}
			})
			t.Run(st.name+", "+s.name+" on the original", func(t *testing.T) {
				g := New(map[string]string{"app.tenant": "s0"})
				st.setup(g)
				c := g.Clone()
				want, _ := c.Get("app.tenant")
				s.do(g)
				g.Commit()
				if got, _ := c.Get("app.tenant"); got != want {
					t.Errorf("Get() = %q, want %q", got, want)
				}
			})
		}
	}
}

// TestCopyFromReplacesEverything: CopyFrom into a GUC in the middle of its own block (changed
// maps, savepoints) leaves nothing of that block, and later changes on either side stay apart.
func TestCopyFromReplacesEverything(t *testing.T) {
	src := New(map[string]string{"app.tenant": "s0"})
	src.Set("app.tenant", "a")
	src.Commit()
	dst := New(map[string]string{"app.tenant": "d0"})
	dst.Begin()
	dst.Set("other", "y")
	dst.Savepoint("s")
	dst.SetLocal("app.tenant", "b")

	dst.CopyFrom(src)
	if v, _ := dst.Get("app.tenant"); v != "a" {
		t.Fatalf("after CopyFrom: app.tenant = %q, want a", v)
	}
	if v, ok := dst.Get("other"); ok {
		t.Fatalf("after CopyFrom: other = %q, want unset", v)
	}
	dst.RollbackTo("s") // no such savepoint any more: nothing happens
	dst.Set("app.tenant", "c")
	dst.Rollback()
	if v, _ := dst.Get("app.tenant"); v != "a" {
		t.Fatalf("after a rolled back change: app.tenant = %q, want a", v)
	}
	dst.Set("app.tenant", "c")
	dst.Commit()
	if v, _ := src.Get("app.tenant"); v != "a" {
		t.Fatalf("the source changed with the copy: app.tenant = %q, want a", v)
	}
	dst.Reset("app.tenant")
	if v, _ := dst.Get("app.tenant"); v != "s0" {
		t.Fatalf("RESET after CopyFrom: app.tenant = %q, want the source's startup value s0", v)
	}
}
