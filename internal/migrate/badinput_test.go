package migrate

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
)

func TestBadInputIsRefusedBeforeAnyChange(t *testing.T) {
	f := newFixture(t, "acme")
	f.exec(t, `CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, tenant text, pts point, tags text[], dflt text DEFAULT 'x', big char(3))`)
	f.exec(t, `CREATE TABLE nopk (email text)`)
	f.exec(t, `CREATE TABLE twopk (a int, b int, email text, PRIMARY KEY (a, b))`)
	f.exec(t, `CREATE TABLE withview (id int PRIMARY KEY, email text)`)
	f.exec(t, `CREATE VIEW v AS SELECT email FROM withview`)
	f.exec(t, `INSERT INTO users VALUES (1, 'a@x', 'acme', '(1,2)', '{a}', 'y', 'abc'), (2, 'b@x', 'nobody', NULL, NULL, NULL, NULL)`)
	snapshot := func() []string {
		rows, _, idx := f.snapshotTable(t, "users")
		_, types, _ := f.snapshotTable(t, "users")
		return slices.Concat(rows, types, idx)
	}
	before := snapshot()
	cases := []struct {
		name string
		col  Column
		opts EncryptOptions
		want string
	}{
		{"an unknown table is refused", mustColumn(t, configEncrypt("nosuch", "email", "text", true)), EncryptOptions{Keyset: "acme"}, "table public.nosuch does not exist"},
		{"an unknown column is refused", mustColumn(t, configEncrypt("users", "nosuch", "text", true)), EncryptOptions{Keyset: "acme"}, "column nosuch does not exist"},
		{"a table without primary key is refused", mustColumn(t, configEncrypt("nopk", "email", "text", true)), EncryptOptions{Keyset: "acme"}, "has no primary key"},
		{"a composite primary key is refused", mustColumn(t, configEncrypt("twopk", "email", "text", true)), EncryptOptions{Keyset: "acme"}, "composite primary key"},
		{"a geometric type cannot be encrypted", mustColumn(t, configEncrypt("users", "pts", "text", false)), EncryptOptions{Keyset: "acme"}, "pgseal cannot encrypt"},
		{"an array cannot be encrypted", mustColumn(t, configEncrypt("users", "tags", "text", false)), EncryptOptions{Keyset: "acme"}, "arrays cannot be encrypted"},
		{"char(n) cannot be encrypted", mustColumn(t, configEncrypt("users", "big", "text", false)), EncryptOptions{Keyset: "acme"}, "pgseal cannot encrypt"},
		{"a configured type that differs is refused", mustColumn(t, configEncrypt("users", "email", "int8", false)), EncryptOptions{Keyset: "acme"}, "but its type is int8"},
		{"a column default is refused", mustColumn(t, configEncrypt("users", "dflt", "text", false)), EncryptOptions{Keyset: "acme"}, "has a default"},
		{"a column used by a view is refused", mustColumn(t, configEncrypt("withview", "email", "text", false)), EncryptOptions{Keyset: "acme"}, "used by view or rule v"},
		{"a unique column without eq search is refused", mustColumn(t, configEncrypt("users", "email", "text", false)), EncryptOptions{Keyset: "acme"}, "needs search = [\"eq\"]"},
		{"an unknown keyset is refused", mustColumn(t, configEncrypt("users", "email", "text", true)), EncryptOptions{Keyset: "nope"}, `keyset "nope" does not exist`},
		{"a tenant without keyset is refused", mustColumn(t, configEncrypt("users", "email", "text", true)), EncryptOptions{TenantColumn: "tenant"}, `tenant "nobody": keyset "nobody" does not exist`},
		{"an unknown tenant column is refused", mustColumn(t, configEncrypt("users", "email", "text", true)), EncryptOptions{TenantColumn: "org"}, "tenant column org does not exist"},
		{"keyset and tenant column together are refused", mustColumn(t, configEncrypt("users", "email", "text", true)), EncryptOptions{Keyset: "acme", TenantColumn: "tenant"}, "exactly one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encrypt(ctxT(t), f.conn, f.snap(), c.col, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Encrypt() = %v, want one line containing %q", err, c.want)
			}
			if got := snapshot(); !slices.Equal(got, before) {
				t.Fatalf("table after a refused Encrypt() = %v, want %v", got, before)
			}
			if n := f.count(t, `SELECT count(*) FROM pg_namespace WHERE nspname = 'pgseal'`); n != 0 {
				t.Fatalf("schema pgseal exists after a refused Encrypt()")
			}
		})
	}
	t.Run("a dry run changes nothing and shows the plan", func(t *testing.T) {
		col := mustColumn(t, configEncrypt("users", "email", "text", true))
		rep, err := Encrypt(ctxT(t), f.conn, f.snap(), col, EncryptOptions{Keyset: "acme", Options: Options{DryRun: true}})
		if err != nil {
			t.Fatalf("Encrypt(dry run) = %v", err)
		}
		plan := strings.Join(rep.Statements, "\n")
		for _, s := range []string{"ADD COLUMN IF NOT EXISTS \"email__pgseal\" bytea", "TYPE bytea USING", "CREATE UNIQUE INDEX \"users_email_key\"", "pgseal_envelope_email"} {
			if !strings.Contains(plan, s) {
				t.Errorf("dry-run plan lacks %q:\n%s", s, plan)
			}
		}
		if rep.Rows != 2 {
			t.Errorf("Encrypt(dry run).Rows = %d, want 2", rep.Rows)
		}
		if got := snapshot(); !slices.Equal(got, before) {
			t.Fatalf("table after a dry run = %v, want %v", got, before)
		}
	})
	t.Run("a wrong master key fails before anything is read", func(t *testing.T) {
		other := base64.StdEncoding.EncodeToString(crypto.RandomSecret().Bytes())
		_, err := keyring.Open(ctxT(t), f.kcfg, func(string) string { return other }, nil)
		if err == nil || !strings.Contains(err.Error(), "different master key") || strings.Contains(err.Error(), other) {
			t.Fatalf("keyring.Open(wrong key) = %v, want a one-line wrong-master-key error", err)
		}
	})
}
