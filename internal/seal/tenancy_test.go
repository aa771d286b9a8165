package seal

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// insertAs inserts one email through conn and returns the keyset its envelope names.
func (e *sealEnv) insertAs(t *testing.T, conn *pgx.Conn, email string, mode pgx.QueryExecMode) crypto.KeysetID {
	t.Helper()
	return e.keysetOf(t, e.insertID(t, conn, email, mode), email)
}

func (e *sealEnv) insertID(t *testing.T, conn *pgx.Conn, email string, mode pgx.QueryExecMode) int {
	t.Helper()
	var id int
	if err := conn.QueryRow(ctxT(t), "INSERT INTO users (tenant, email) VALUES ('x', $1) RETURNING id", mode, email).Scan(&id); err != nil {
		t.Fatalf("INSERT %s = %v", email, err)
	}
	return id
}

func (e *sealEnv) keysetOf(t *testing.T, id int, email string) crypto.KeysetID {
	t.Helper()
	h, err := crypto.ParseHeader(e.storedEmail(t, id, email))
	if err != nil {
		t.Fatal(err)
	}
	return h.Keyset
}

func TestSealTenancySelectsKeysets(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	ctx := ctxT(t)
	acme, globex := e.keysetID(t, "acme"), e.keysetID(t, "globex")
	n := 0
	email := func() string { n++; return "t" + strings.Repeat("x", n) + "@example.com" }

	t.Run("no tenant in multi mode refuses with 42501 and the session stays usable", func(t *testing.T) {
		conn := e.connect(t, "", "")
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			_, err := conn.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", mode, "a@b")
			if got := stateOf(err); got != sqlstate.InsufficientPrivilege {
				t.Fatalf("INSERT without tenant (%v) = %v, want 42501", mode, err)
			}
			var one int
			if err := conn.QueryRow(ctx, "SELECT 1", mode).Scan(&one); err != nil {
				t.Fatalf("SELECT 1 after refusal = %v", err)
			}
		}
	})
	t.Run("startup options, SET, SET LOCAL, ROLLBACK, RESET, DISCARD ALL and set_config select keysets", func(t *testing.T) {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			conn := e.connect(t, "", "acme")
			steps := []struct {
				sql  string
				want crypto.KeysetID
			}{
				{"", acme},
				{"SET app.tenant = 'globex'", globex},
				{"RESET app.tenant", acme},
				// pgseal.keyset must agree with a tenant setting that is set: unset it first.
				{"SET app.tenant = ''; SET pgseal.keyset = 'globex'", globex},
				{"RESET ALL", acme},
				{"SELECT set_config('app.tenant', 'globex', false)", globex},
				{"DISCARD ALL", acme},
			}
			for _, s := range steps {
				for _, q := range strings.Split(s.sql, "; ") {
					if q == "" {
						continue
					}
					if _, err := conn.Exec(ctx, q, mode); err != nil {
						t.Fatalf("%s = %v", q, err)
					}
					if s.sql == "DISCARD ALL" {
						// pgx's statement cache does not know: tell it (this is DEALLOCATE ALL).
						if err := conn.DeallocateAll(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
				if got := e.insertAs(t, conn, email(), mode); got != s.want {
					t.Fatalf("after %q (%v): keyset %v, want %v", s.sql, mode, got, s.want)
				}
			}
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "SET LOCAL app.tenant = 'globex'", mode); err != nil {
				t.Fatal(err)
			}
			local := email()
			id := e.insertID(t, tx.Conn(), local, mode)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := e.keysetOf(t, id, local); got != globex {
				t.Fatalf("inside SET LOCAL: keyset %v, want globex", got)
			}
			if got := e.insertAs(t, conn, email(), mode); got != acme {
				t.Fatalf("after the SET LOCAL block: keyset %v, want acme", got)
			}
			tx, _ = conn.Begin(ctx)
			_, _ = tx.Exec(ctx, "SET app.tenant = 'globex'", mode)
			_ = tx.Rollback(ctx)
			if got := e.insertAs(t, conn, email(), mode); got != acme {
				t.Fatalf("after a rolled back SET: keyset %v, want acme", got)
			}
			if _, err := conn.Exec(ctx, "SELECT set_config('app.tenant', $1, false)", pgx.QueryExecModeExec, "globex"); err != nil {
				t.Fatal(err)
			}
			if got := e.insertAs(t, conn, email(), mode); got != globex {
				t.Fatalf("after set_config with a parameter: keyset %v, want globex", got)
			}
		}
	})
	t.Run("a tenant setting set to an expression is refused", func(t *testing.T) {
		conn := e.connect(t, "", "acme")
		_, err := conn.Exec(ctx, "SELECT set_config('app.tenant', current_user, false)")
		if got := stateOf(err); got != sqlstate.FeatureNotSupported {
			t.Fatalf("set_config(…, current_user) = %v, want 0A000", err)
		}
	})
}

func TestSealSingleModeUsesDefault(t *testing.T) {
	e := newSealEnv(t, "single", sealSchema, sealColumns)
	conn := e.connect(t, "", "")
	if got, want := e.insertAs(t, conn, "d@example.com", pgx.QueryExecModeExec), e.keysetID(t, "default"); got != want {
		t.Fatalf("single mode keyset = %v, want default %v", got, want)
	}
}

func TestSealIsolationRevocationAndRotation(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	ctx := ctxT(t)
	a := e.connect(t, "", "acme")
	b := e.connect(t, "", "globex")
	e.insertAs(t, a, "alice@acme", pgx.QueryExecModeExec)
	e.insertAs(t, b, "bob@globex", pgx.QueryExecModeSimpleProtocol)

	t.Run("a tenant cannot read another tenant's rows: 42501, an audit line, the session stays usable", func(t *testing.T) {
		for _, mode := range allModes {
			var s string
			err := b.QueryRow(ctx, "SELECT email FROM users WHERE email = $1", mode, "bob@globex").Scan(&s)
			if err != nil || s != "bob@globex" {
				t.Fatalf("own row (%v) = %q, %v", mode, s, err)
			}
			rows, _ := b.Query(ctx, "SELECT email FROM users ORDER BY id", mode)
			_, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if got := stateOf(err); got != sqlstate.InsufficientPrivilege {
				t.Fatalf("SELECT all under globex (%v) = %v, want 42501", mode, err)
			}
			var one int
			if err := b.QueryRow(ctx, "SELECT 1", mode).Scan(&one); err != nil {
				t.Fatalf("SELECT 1 after 42501 (%v) = %v", mode, err)
			}
		}
		found := false
		for _, l := range e.p.logs.All() {
			if strings.HasPrefix(l.Message, "audit:") {
				m := l.ContextMap()
				found = m["session_keyset"] == "globex" && m["row_keyset"] == "acme" && m["column"] == "public.users.email"
				if strings.Contains(l.Message+m["client"].(string), "alice") {
					t.Fatalf("audit line carries a value: %v", m)
				}
			}
		}
		if !found {
			t.Fatalf("no audit line naming keysets and column")
		}
	})
	t.Run("revoking a grant takes effect at the next statement", func(t *testing.T) {
		if err := e.mgr.Revoke(ctx, "globex", pgtest.Superuser); err != nil {
			t.Fatal(err)
		}
		_, err := b.Exec(ctx, "SELECT email FROM users WHERE email = $1", "bob@globex")
		if got := stateOf(err); got != sqlstate.InsufficientPrivilege {
			t.Fatalf("after revoke = %v, want 42501", err)
		}
		if err := e.mgr.Grant(ctx, "globex", pgtest.Superuser); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Exec(ctx, "SELECT email FROM users WHERE email = $1", "bob@globex"); err != nil {
			t.Fatalf("after grant again = %v", err)
		}
	})
	t.Run("disabling a keyset takes effect at the next statement", func(t *testing.T) {
		if _, err := e.mgr.Disable(ctx, "globex"); err != nil {
			t.Fatal(err)
		}
		_, err := b.Exec(ctx, "INSERT INTO users (email) VALUES ('z@globex')", pgx.QueryExecModeSimpleProtocol)
		if got := stateOf(err); got != sqlstate.InsufficientPrivilege {
			t.Fatalf("after disable = %v, want 42501", err)
		}
		if _, err := e.mgr.Enable(ctx, "globex"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rotation mid-session: old rows still read, new rows use the new generation", func(t *testing.T) {
		if _, err := e.mgr.Rotate(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		var id int
		if err := a.QueryRow(ctx, "INSERT INTO users (email) VALUES ($1) RETURNING id", "new@acme").Scan(&id); err != nil {
			t.Fatal(err)
		}
		h, _ := crypto.ParseHeader(e.storedEmail(t, id, "new@acme"))
		if h.Generation != 2 {
			t.Fatalf("new row generation = %d, want 2", h.Generation)
		}
		rows, _ := a.Query(ctx, "SELECT email FROM users WHERE email IN ('alice@acme', 'new@acme') ORDER BY id")
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(got) != 2 {
			t.Fatalf("old and new rows = %v, %v", got, err)
		}
	})
	t.Run("a tampered ciphertext fails with XX001", func(t *testing.T) {
		d := e.direct(t)
		ks := e.keysetID(t, "acme")
		if _, err := d.Exec(ctx, "UPDATE users SET email = overlay(email placing '\\x00'::bytea from length(email) for 1) WHERE substring(email from 4 for 16) = $1", ks[:]); err != nil {
			t.Fatal(err)
		}
		rows, _ := a.Query(ctx, "SELECT email FROM users WHERE email IN ('alice@acme', 'new@acme')")
		_, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if got := stateOf(err); got != sqlstate.DataCorrupted {
			t.Fatalf("SELECT tampered = %v, want XX001", err)
		}
		var one int
		if err := a.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("SELECT 1 after XX001 = %v", err)
		}
	})
}

func TestSealRowLevelSecurityAlongside(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema+`
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON users USING (tenant = current_setting('app.tenant', true));
`, sealColumns)
	role := "app_" + strings.ToLower(e.db.Name[len(e.db.Name)-8:])
	e.db.Exec(t, "CREATE ROLE "+role+" LOGIN; GRANT ALL ON users TO "+role+"; GRANT USAGE ON SEQUENCE users_id_seq TO "+role)
	t.Cleanup(func() {
		_ = e.db.Server.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role)
	})
	e.client(t, role, "acme", "globex")
	a := e.connect(t, role, "acme")
	b := e.connect(t, role, "globex")
	ctx := ctxT(t)
	for _, c := range []struct {
		conn   *pgx.Conn
		tenant string
	}{{a, "acme"}, {b, "globex"}} {
		if _, err := c.conn.Exec(ctx, "INSERT INTO users (tenant, email) VALUES ($1, $2)", c.tenant, c.tenant+"@x"); err != nil {
			t.Fatalf("INSERT as %s = %v", c.tenant, err)
		}
	}
	rows, _ := b.Query(ctx, "SELECT email FROM users")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(got) != 1 || got[0] != "globex@x" {
		t.Fatalf("SELECT under RLS as globex = %v, %v, want only globex@x", got, err)
	}
	if _, err := b.Exec(ctx, "SET app.tenant = 'acme'"); err != nil {
		t.Fatal(err)
	}
	rows, _ = b.Query(ctx, "SELECT email FROM users")
	if got, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(got) != 1 || got[0] != "acme@x" {
		t.Fatalf("after SET app.tenant = 'acme' = %v, %v, want only acme@x", got, err)
	}
}

func TestSealFailureMidResultFailsTheBlock(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	ctx := ctxT(t)
	a := e.connect(t, "", "acme")
	b := e.connect(t, "", "globex")
	e.insertAs(t, a, "alice@acme", pgx.QueryExecModeExec)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		tx, err := b.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", mode, "bob-"+mode.String()); err != nil {
			t.Fatal(err)
		}
		rows, _ := tx.Query(ctx, "SELECT email FROM users", mode)
		if _, err := pgx.CollectRows(rows, pgx.RowTo[string]); stateOf(err) != sqlstate.InsufficientPrivilege {
			t.Fatalf("SELECT of a foreign row in a block (%v) = %v, want 42501", mode, err)
		}
		if b.PgConn().TxStatus() != 'E' {
			t.Fatalf("TxStatus() after the failure = %c, want E", b.PgConn().TxStatus())
		}
		if _, err := tx.Exec(ctx, "SELECT 1", mode); stateOf(err) != sqlstate.InFailedSQLTransaction {
			t.Fatalf("a statement in the failed block (%v) = %v, want 25P02", mode, err)
		}
		if err := tx.Commit(ctx); err == nil {
			t.Fatalf("Commit() of the failed block = nil, want an error (rolled back)")
		}
		var n int
		if err := e.direct(t).QueryRow(ctx, "SELECT count(*) FROM users WHERE tenant IS NULL").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows of the failed block = %d, %v, want 0 (rolled back)", n, err)
		}
	}
}
