package catalog

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// marker reads MarkerQuery over conn with the raw simple protocol, as the proxy sends it.
func marker(t *testing.T, conn *pgx.Conn, tables []string) string {
	t.Helper()
	m, _ := markerAndTree(t, conn, tables)
	return m
}

// markerAndTree reads MarkerQuery's two columns.
func markerAndTree(t *testing.T, conn *pgx.Conn, tables []string) (string, string) {
	t.Helper()
	res, err := conn.PgConn().Exec(context.Background(), MarkerQuery(tables)).ReadAll()
	if err != nil || len(res) != 1 || res[0].Err != nil || len(res[0].Rows) != 1 || res[0].Rows[0][0] == nil || res[0].Rows[0][1] == nil {
		t.Fatalf("MarkerQuery: %v %+v, want one row of two non-NULL values", err, res)
	}
	return string(res[0].Rows[0][0]), string(res[0].Rows[0][1])
}

// fastMarker reads FastMarkerQuery over the tree MarkerQuery returned.
func fastMarker(t *testing.T, conn *pgx.Conn, tables []string, tree string) string {
	t.Helper()
	res, err := conn.PgConn().Exec(context.Background(), FastMarkerQuery(tables, tree)).ReadAll()
	if err != nil || len(res) != 1 || res[0].Err != nil || len(res[0].Rows) != 1 || res[0].Rows[0][0] == nil {
		t.Fatalf("FastMarkerQuery: %v %+v, want one non-NULL value", err, res)
	}
	return string(res[0].Rows[0][0])
}

// TestMarkerQueryMovesWithTheConfiguredTablesOnly: every DDL a cut-over does (or that changes what
// Query reads of the configured tables' tree) moves the marker; data and maintenance do not.
func TestMarkerQueryMovesWithTheConfiguredTablesOnly(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE users (id int, email text); CREATE TABLE other (x int)")
	conn := db.Conn(t)
	ctx := context.Background()
	tables := Tables([]config.Encrypt{{Table: "users", Column: "email", Type: "text"}})
	tests := []struct {
		name, sql string
		moves     bool
	}{
		{"rows written do not move it", "INSERT INTO users VALUES (1, 'a'); UPDATE users SET id = 2", false},
		{"VACUUM does not move it", "VACUUM users", false},
		{"ANALYZE does not move it", "ANALYZE users", false},
		{"another table's DDL does not move it", "ALTER TABLE other ADD COLUMN y int", false},
		{"a shadow column added moves it", "ALTER TABLE users ADD COLUMN email_shadow bytea", true},
		{"a column retyped moves it", "ALTER TABLE users ALTER COLUMN email TYPE bytea USING NULL", true},
		{"a column renamed moves it", "ALTER TABLE users RENAME COLUMN email_shadow TO email_new", true},
		{"a column dropped moves it", "ALTER TABLE users DROP COLUMN email_new", true},
		{"a child table moves it", "CREATE TABLE users_child () INHERITS (users)", true},
		{"a child's column moves it", "ALTER TABLE users_child ADD COLUMN extra int", true},
		{"a grandchild moves it", "CREATE TABLE users_grandchild () INHERITS (users_child)", true},
		{"a child detached moves it", "ALTER TABLE users_child NO INHERIT users", true},
		{"the table dropped and created again moves it", "DROP TABLE users; CREATE TABLE users (id int, email text)", true},
		{"a partitioned table under the name moves it", "DROP TABLE users; CREATE TABLE users (id int, email text) PARTITION BY RANGE (id)", true},
		{"a partition moves it", "CREATE TABLE users_p1 PARTITION OF users FOR VALUES FROM (0) TO (10)", true},
		{"rows in a partition do not move it", "INSERT INTO users VALUES (1, 'a')", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, tree := markerAndTree(t, conn, tables)
			if fast := fastMarker(t, conn, tables, tree); fast != before {
				t.Fatalf("FastMarkerQuery over MarkerQuery's tree = %q, want the marker %q", fast, before)
			}
			if _, err := conn.Exec(ctx, tt.sql); err != nil {
				t.Fatalf("Exec(%q) = %v", tt.sql, err)
			}
			if moved := marker(t, conn, tables) != before; moved != tt.moves {
				t.Errorf("marker moved = %v, want %v", moved, tt.moves)
			}
			if moved := fastMarker(t, conn, tables, tree) != before; moved != tt.moves {
				t.Errorf("fast marker moved = %v, want %v", moved, tt.moves)
			}
		})
	}
}

// TestMarkerQueryIsImmuneToTheSessionsState: a session that shadows md5 and oid's =
// through its search_path and quotes every identifier reads the same marker.
func TestMarkerQueryIsImmuneToTheSessionsState(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE users (id int, email bytea);
CREATE SCHEMA evil;
CREATE FUNCTION evil.md5(text) RETURNS text LANGUAGE sql AS $$SELECT 'constant'$$;
CREATE FUNCTION evil.f_oid(oid, oid) RETURNS bool LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.f_oid)`)
	tables := Tables([]config.Encrypt{{Table: "users", Column: "email", Type: "text"}})
	clean, tree := markerAndTree(t, db.Conn(t), tables)
	conn := db.Conn(t)
	if _, err := conn.Exec(context.Background(), `SET search_path = evil, pg_catalog; SET quote_all_identifiers = on;
SET standard_conforming_strings = off`); err != nil {
		t.Fatal(err)
	}
	if got := marker(t, conn, tables); got != clean {
		t.Errorf("marker under a hostile search_path = %q, want %q", got, clean)
	}
	if got := fastMarker(t, conn, tables, tree); got != clean {
		t.Errorf("fast marker under a hostile search_path = %q, want %q", got, clean)
	}
}
