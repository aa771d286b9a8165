package seal

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/pgtest"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// queryValues runs sql in mode and returns the result's column names and its rows' values.
func queryValues(t *testing.T, conn *pgx.Conn, mode pgx.QueryExecMode, sql string) ([]string, [][]any) {
	t.Helper()
	rows, err := conn.Query(ctxT(t), sql, mode)
	if err != nil {
		t.Fatalf("Query(%q) = %v", sql, err)
	}
	defer rows.Close()
	var names []string
	for _, f := range rows.FieldDescriptions() {
		names = append(names, f.Name)
	}
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("Values() = %v", err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("Query(%q) rows = %v", sql, err)
	}
	return names, out
}

// columnsOf runs sql in mode and returns the result's column names and its rows as text.
func columnsOf(t *testing.T, conn *pgx.Conn, mode pgx.QueryExecMode, sql string) (string, string) {
	t.Helper()
	names, rows := queryValues(t, conn, mode, sql)
	var out []string
	for _, vals := range rows {
		var cells []string
		for _, v := range vals {
			if v == nil {
				cells = append(cells, "NULL")
			} else {
				cells = append(cells, strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " ")))
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return strings.Join(names, ","), strings.Join(out, ";")
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int32:
		return itoa32(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return "?"
}

func TestSealHidesMigrationShadowColumns(t *testing.T) {
	pgtest.Shared(t)
	checkGoroutines(t)
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, 'n1'); INSERT INTO users (tenant, email, age) VALUES ('acme', 'u@x', 5)"); err != nil {
		t.Fatalf("INSERT = %v", err)
	}
	// proxy encrypt of notes.body and proxy decrypt of users.email in progress: their shadows.
	direct := e.direct(t)
	if _, err := direct.Exec(ctx, `ALTER TABLE notes ADD COLUMN body__pgseal bytea; UPDATE notes SET body__pgseal = '\x0102';
		ALTER TABLE users ADD COLUMN email__pgseal text; UPDATE users SET email__pgseal = 'plain-shadow'`); err != nil {
		t.Fatalf("add shadow columns = %v", err)
	}
	t.Run("a session whose catalog predates the shadow refuses once, then hides it", func(t *testing.T) {
		_, err := conn.Exec(ctx, "SELECT * FROM notes", pgx.QueryExecModeSimpleProtocol)
		if got := stateOf(err); got != sqlstate.InternalError || !strings.Contains(err.Error(), schemaChangedMessage) {
			t.Fatalf("SELECT * = %v, want XX000 %q", err, schemaChangedMessage)
		}
		if cols, rows := columnsOf(t, conn, pgx.QueryExecModeSimpleProtocol, "SELECT * FROM notes"); cols != "id,body" || rows != "1|n1" {
			t.Fatalf("SELECT * FROM notes = %s: %s, want id,body: 1|n1", cols, rows)
		}
	})
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			for _, c := range []struct{ sql, cols, rows string }{
				{"SELECT * FROM notes ORDER BY id", "id,body", "1|n1"},
				{"SELECT * FROM users ORDER BY id", "id,tenant,email,name,age", "1|acme|u@x|NULL|5"},
				{"SELECT u.*, n.id FROM users u, notes n", "id,tenant,email,name,age,id", "1|acme|u@x|NULL|5|1"},
				{"SELECT email__pgseal AS s, id FROM users", "id", "1"},
			} {
				if cols, rows := columnsOf(t, conn, mode, c.sql); cols != c.cols || rows != c.rows {
					t.Fatalf("Query(%q) = %s: %s, want %s: %s", c.sql, cols, rows, c.cols, c.rows)
				}
			}
		})
	}
	t.Run("after the cut-over drops the shadow, SELECT * is unchanged", func(t *testing.T) {
		before := e.notified()
		if _, err := direct.Exec(ctx, "ALTER TABLE notes DROP COLUMN body__pgseal; SELECT pg_notify('pgseal_catalog', 'public.notes.body')"); err != nil {
			t.Fatalf("drop shadow = %v", err)
		}
		if !eventually(10*time.Second, func() bool { return e.notified() > before }) {
			t.Fatalf("no catalog notification")
		}
		if cols, rows := columnsOf(t, conn, pgx.QueryExecModeCacheDescribe, "SELECT * FROM notes ORDER BY id"); cols != "id,body" || rows != "1|n1" {
			t.Fatalf("SELECT * FROM notes = %s: %s, want id,body: 1|n1", cols, rows)
		}
	})
}
