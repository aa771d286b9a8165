package catalog

import (
	"context"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLoad(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE SCHEMA app;
CREATE TABLE users (id int PRIMARY KEY, email bytea, name text, ssn bytea);
ALTER TABLE users DROP COLUMN name; ALTER TABLE users ADD COLUMN nick text;
CREATE TABLE app.notes (id int, body bytea);
CREATE TABLE plain (id int, email text)`)
	conn := db.Conn(t)
	ctx := context.Background()

	t.Run("configured bytea columns resolve with their origins and full column lists", func(t *testing.T) {
		info, err := Load(ctx, conn, []config.Encrypt{
			{Table: "users", Column: "email", Type: "text", Search: []string{"eq"}},
			{Table: "public.users", Column: "ssn", Type: "text"},
			{Table: "app.notes", Column: "body", Type: "jsonb", Domain: "", Search: nil},
		})
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		users := info.Schema.Tables["public.users"]
		if users == nil || strings.Join(users.Columns, ",") != "id,email,ssn,nick" {
			t.Fatalf("users columns = %+v, want id,email,ssn,nick (dropped columns skipped)", users)
		}
		email := users.Encrypted["email"]
		if email == nil || !email.Eq || email.ID != "public.users.email" || email.Domain != "public.users.email" || email.Type != "text" {
			t.Fatalf("email = %+v", email)
		}
		var found int
		for attr, col := range info.ByAttr {
			if attr.Table == 0 || attr.Number <= 0 {
				t.Fatalf("origin %+v is not a real attribute", attr)
			}
			if col.ID == "public.users.email" && attr.Number == 2 || col.ID == "public.users.ssn" && attr.Number == 4 || col.ID == "app.notes.body" && attr.Number == 2 {
				found++
			}
		}
		if found != 3 {
			t.Fatalf("ByAttr = %+v, want email=2, ssn=4 (after a dropped column), body=2", info.ByAttr)
		}
		if _, ok := info.Schema.Tables["public.plain"]; ok {
			t.Fatal("a table with no encrypted column is in the schema")
		}
	})

	t.Run("a configured column that is not bytea yet is pending, not encrypted", func(t *testing.T) {
		info, err := Load(ctx, conn, []config.Encrypt{{Table: "plain", Column: "email", Type: "text", Search: []string{"eq"}}})
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		if info.Pending["public.plain.email"] != "text" || len(info.PendingAttr) != 1 || len(info.ByAttr) != 0 {
			t.Fatalf("Pending = %v, PendingAttr = %v, ByAttr = %v; want plain.email pending as text only", info.Pending, info.PendingAttr, info.ByAttr)
		}
		if _, ok := info.Schema.Tables["public.plain"]; ok {
			t.Fatal("a pending column's table is in the rewrite schema")
		}
	})

	t.Run("every configuration problem is reported at once", func(t *testing.T) {
		_, err := Load(ctx, conn, []config.Encrypt{
			{Table: "nope", Column: "email", Type: "text"},
			{Table: "users", Column: "nope", Type: "text"},
			{Table: "users", Column: "email", Type: "money"},
			{Table: "app.notes", Column: "body", Type: "json", Search: []string{"eq"}},
		})
		if err == nil {
			t.Fatal("Load() = nil, want errors")
		}
		for _, want := range []string{"table public.nope does not exist", "column nope does not exist", `type "money"`, "no equality search"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Load() error %q does not mention %q", err, want)
			}
		}
	})
}

func TestBuildFindsShadowColumns(t *testing.T) {
	cols := []config.Encrypt{{Table: "users", Column: "email", Type: "text"}}
	rows := []Row{
		{Schema: "public", Table: "users", TableOID: 10, Column: "id", Number: 1, Type: "integer"},
		{Schema: "public", Table: "users", TableOID: 10, Column: "email", Number: 2, Type: "text"},
		{Schema: "public", Table: "users", TableOID: 10, Column: "name__pgseal", Number: 3, Type: "bytea"},
		{Schema: "public", Table: "users", TableOID: 10, Column: "email__pgseal", Number: 4, Type: "bytea"},
	}
	info, err := Build(cols, rows)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	if got := info.Shadow; len(got) != 1 || got[Attr{10, 4}] != "public.users.email" {
		t.Fatalf("Shadow = %v, want only attribute 4 for public.users.email", got)
	}
	if got := info.Columns[Attr{10, 3}]; got != "name__pgseal" || info.Tables[10] != "public.users" {
		t.Fatalf("Columns[3] = %q, Tables[10] = %q, want name__pgseal, public.users", got, info.Tables[10])
	}
}
