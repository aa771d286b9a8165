package catalog

import (
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/rewrite"
	"reflect"
)

func TestBuildCatalogView(t *testing.T) {
	cols := []config.Encrypt{{Table: "users", Column: "email", Type: "varchar"}, {Table: "users", Column: "born", Type: "date"},
		{Table: "users", Column: "later", Type: "text"}}
	c := func(table string, oid uint32, col string, n int16, bytea bool) Row {
		return Row{Kind: 'c', Schema: "public", Table: table, TableOID: oid, Root: 10, Column: col, Number: n, Bytea: bytea}
	}
	s := func(schema, table, col string, n int16) Row {
		return Row{Kind: 's', Schema: schema, Table: table, TableOID: 1249, Column: col, Number: n}
	}
	rows := []Row{
		c("users", 10, "id", 1, false), c("users", 10, "email", 2, true), c("users", 10, "born", 3, true), c("users", 10, "later", 4, false),
		c("users_child", 11, "email", 1, true), c("users_child", 11, "born", 2, true), c("users_child", 11, "later", 3, false),
		s("information_schema", "columns", "table_name", 1), s("pg_catalog", "pg_attribute", "attrelid", 1), s("pg_catalog", "pg_attribute", "atttypid", 2),
	}
	info, err := Build(cols, rows)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	want := &rewrite.CatalogView{
		AttributeColumns: []string{"attrelid", "atttypid"},
		ColumnsColumns:   []string{"table_name"},
		Attrs: []rewrite.PatchedAttr{ // the pending column "later" keeps its own type
			{Schema: "public", Table: "users", Column: "email", Relid: 10, Attnum: 2, TypeOID: 1043, Typmod: -1},
			{Schema: "public", Table: "users", Column: "born", Relid: 10, Attnum: 3, TypeOID: 1082, Typmod: -1},
			{Schema: "public", Table: "users_child", Column: "email", Relid: 11, Attnum: 1, TypeOID: 1043, Typmod: -1},
			{Schema: "public", Table: "users_child", Column: "born", Relid: 11, Attnum: 2, TypeOID: 1082, Typmod: -1},
		},
	}
	if got := info.Schema.Catalog; !reflect.DeepEqual(got, want) {
		t.Errorf("Schema.Catalog = %+v, want %+v", got, want)
	}
}
