package seal

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

func TestSealRefusalsKeepTheSessionUsable(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema, sealColumns)
	conn := e.connect(t, "", "acme")
	ctx := ctxT(t)
	cases := []struct {
		name, sql, code string
		pos             int32
	}{
		{"lower(email) = … is not supported", "SELECT id FROM users WHERE lower(email) = 'a'", sqlstate.FeatureNotSupported, 34},
		{"ORDER BY an encrypted column is not supported", "SELECT id FROM users ORDER BY email", sqlstate.FeatureNotSupported, 0},
		{"a syntax error keeps its position", "SELECT id FROM users WHERE email = = 'x'", "42601", 0},
		{"COPY of an encrypted column to a server file is refused", "COPY users (email) TO '/tmp/pgseal-refused'", sqlstate.FeatureNotSupported, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
				if c.name[:4] == "COPY" && mode != pgx.QueryExecModeSimpleProtocol {
					continue
				}
				_, err := conn.Exec(ctx, c.sql, mode)
				if got := stateOf(err); got != c.code {
					t.Fatalf("Exec(%q, %v) = %v, want %s", c.sql, mode, err, c.code)
				}
				if pe := pgError(err); c.pos != 0 && pe.Position != c.pos {
					t.Fatalf("Exec(%q) position = %d, want %d", c.sql, pe.Position, c.pos)
				}
				var one int
				if err := conn.QueryRow(ctx, "SELECT 1", mode).Scan(&one); err != nil {
					t.Fatalf("SELECT 1 after the refusal = %v", err)
				}
			}
		})
	}
	t.Run("a client-declared parameter type other than the column's is refused with 42804", func(t *testing.T) {
		_, err := conn.Prepare(ctx, "bad", "SELECT id FROM users WHERE email = $1::int4")
		if err == nil {
			_, err = conn.Exec(ctx, "bad", 1)
		}
		if got := stateOf(err); got != "0A000" && got != sqlstate.DatatypeMismatch {
			t.Fatalf("Prepare(email = $1::int4) = %v, want 42804 or 0A000", err)
		}
		pc := conn.PgConn()
		_, err = pc.Prepare(ctx, "bad2", "SELECT id FROM users WHERE email = $1", []uint32{23})
		if got := stateOf(err); got != sqlstate.DatatypeMismatch {
			t.Fatalf("Prepare with OID int4 = %v, want 42804", err)
		}
		// varchar is text on the wire (JDBC declares strings as varchar).
		if _, err := pc.Prepare(ctx, "vc", "SELECT id FROM users WHERE email = $1", []uint32{1043}); err != nil {
			t.Fatalf("Prepare with OID varchar for a text column = %v, want nil", err)
		}
	})
	t.Run("a statement prepared with literals under one keyset cannot run under another", func(t *testing.T) {
		if _, err := conn.Prepare(ctx, "lit", "SELECT count(*) FROM users WHERE email = 'a@x'"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SET app.tenant = 'globex'"); err != nil {
			t.Fatal(err)
		}
		_, err := conn.Exec(ctx, "lit")
		if got := stateOf(err); got != sqlstate.FeatureNotSupported {
			t.Fatalf("Exec(lit) under another keyset = %v, want 0A000", err)
		}
	})
}

func TestSealCatalogRefresh(t *testing.T) {
	e := newSealEnv(t, "multi", sealSchema+"CREATE TABLE docs (id int PRIMARY KEY, secret text);",
		append(sealColumns[:len(sealColumns):len(sealColumns)], config.Encrypt{Table: "docs", Column: "secret", Type: "text"}))
	conn := e.connect(t, "", "acme")
	other := e.connect(t, "", "acme")
	ctx := ctxT(t)
	d := e.direct(t)

	t.Run("a pending column is relayed as plaintext", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, $1)", "plain"); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := d.QueryRow(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&s); err != nil || s != "plain" {
			t.Fatalf("stored = %q, %v, want plain", s, err)
		}
	})
	t.Run("after ALTER TABLE through pgseal the column is encrypted at the next statement", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "DELETE FROM notes; ALTER TABLE notes ALTER COLUMN body TYPE bytea USING NULL", pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
		for i, c := range []*pgx.Conn{conn, other} {
			if _, err := c.Exec(ctx, "INSERT INTO notes VALUES ($1, $2)", 10+i, "secret"); err != nil {
				t.Fatalf("INSERT after ALTER = %v", err)
			}
			var raw []byte
			if err := d.QueryRow(ctx, "SELECT body FROM notes WHERE id = $1", 10+i).Scan(&raw); err != nil || bytes.Contains(raw, []byte("secret")) {
				t.Fatalf("stored = %x, %v, want ciphertext", raw, err)
			}
			var s string
			if err := c.QueryRow(ctx, "SELECT body FROM notes WHERE body = 'secret' AND id = $1", 10+i).Scan(&s); err != nil || s != "secret" {
				t.Fatalf("SELECT = %q, %v", s, err)
			}
		}
	})
	t.Run("a result contradicting the catalog is refused, then works after the reload", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "SELECT secret FROM docs"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, "ALTER TABLE docs ALTER COLUMN secret TYPE bytea USING NULL"); err != nil {
			t.Fatal(err)
		}
		_, err := conn.Exec(ctx, "SELECT secret FROM docs")
		if got := stateOf(err); got != sqlstate.InternalError {
			t.Fatalf("SELECT after a direct ALTER = %v, want XX000 schema changed", err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO docs VALUES (1, $1)", "hidden"); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := conn.QueryRow(ctx, "SELECT secret FROM docs").Scan(&s); err != nil || s != "hidden" {
			t.Fatalf("SELECT after reload = %q, %v", s, err)
		}
	})
}
